"""Figures comparing an original table with its avatars (method.md §3.3, protocol.md §5.5).

Two steps, so that every output format draws the same numbers:

1. :func:`prepare_figure_data` reduces the tables to what a figure shows — a deterministic
   subsample of the projected points, histograms, association matrices, summary statistics —
   in one pass over all rows. Nothing later touches the full tables, so figures stay small and
   fast whatever the table size (a plotly figure built from raw rows embeds every row in the
   HTML).
2. :func:`plotly_figures` draws them with plotly for the interactive HTML; the PDF and DOCX
   reports draw the same :class:`FigureData` with matplotlib
   (:mod:`avatars.engine.reports.static`).

:func:`build_figures` does both steps for the standard job, and :func:`figure_documents` turns
the result into one self-contained HTML document per (table, plot kind); the server names them
(``<table>.<plot kind>.html``) and lists them in ``figures_metadata.json`` for the official
client (``runner.render_plot``): the engine names no result file.

Choices

- Scatter plots show at most :data:`MAX_SCATTER_POINTS` points per set, drawn without
  replacement by a fixed-seed generator: the same inputs always give the same figure.
- Histograms use bins from the originals (integer-centred bins for integer columns with a
  small range, numpy's ``"auto"`` edges otherwise, at most :data:`MAX_BINS`), shares in % of
  the non-missing values; categorical variables show their :data:`MAX_MODALITIES` most frequent
  original modalities, the others pooled.
- Associations are one number per pair of *variables*, whatever their cardinality: Pearson's r
  between two numeric variables (signed, −1..1), the correlation ratio η between a numeric and
  a categorical variable, Cramér's V between two categorical ones (both 0..1), on pairwise
  complete rows. A matrix over one-hot dummies (what the signal metric averages) grows with the
  number of modalities and becomes unreadable; this one keeps one row per column.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from avatars.engine.metric_rows import MetricRow, metric_rows, unwrap_result
from avatars.engine.schema import ColumnType, infer_column_type, parse_column_type
from avatars.engine.texts import (
    Language,
    check_language,
    format_metric_value,
    format_number,
    format_target,
    metric_meaning,
    metric_name,
    tr,
)
from avatars.protocol.enums import PlotKind

#: Points per set (originals, avatars) in the projection scatter plots.
MAX_SCATTER_POINTS = 5_000
#: Most bins of a numeric histogram.
MAX_BINS = 40
#: Modalities shown per categorical variable in the distributions; the others are pooled.
MAX_MODALITIES = 20
#: Modalities kept per categorical variable for Cramér's V and η (the others pooled).
MAX_ASSOCIATION_MODALITIES = 50
#: Variables shown in the association heatmaps (the first ones, in table order).
MAX_HEATMAP_VARIABLES = 60
#: Projected dimensions shown in the contribution chart.
MAX_CONTRIBUTION_DIMENSIONS = 5
#: Numeric variables in the aggregate statistics table.
MAX_AGGREGATE_VARIABLES = 50
#: Seed of the scatter-plot subsampling.
SAMPLE_SEED = 0

#: Label of the pooled rare modalities, translated when drawn.
OTHER_MODALITIES = "\x00other"

ORIGINAL_COLOR = "#3b6ea8"
AVATAR_COLOR = "#e8793a"

PlotlyJs = Literal["inline", "cdn"]
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


# =============================================================================================
# step 1: what the figures show
# =============================================================================================
@dataclass
class ProjectionSample:
    """Up to three projected coordinates of a subsample of each set."""

    original: np.ndarray
    avatars: np.ndarray
    axis_labels: list[str]
    n_original: int
    n_avatars: int

    @property
    def subsampled(self) -> bool:
        return len(self.original) < self.n_original or len(self.avatars) < self.n_avatars


@dataclass
class Distribution:
    """One variable's distribution in both sets, as shares (%) of its non-missing values.

    Numeric variables have ``edges`` (``len(labels) + 1`` values; seconds since the epoch for
    dates); categorical ones only ``labels``.
    """

    column: str
    kind: Literal["numeric", "categorical"]
    labels: list[str]
    original: np.ndarray
    avatars: np.ndarray
    missing_original: float
    missing_avatars: float
    edges: np.ndarray | None = None
    is_datetime: bool = False
    hellinger: float | None = None

    def display_labels(self, language: Language) -> list[str]:
        other = tr("other_modalities", language)
        return [other if label == OTHER_MODALITIES else label for label in self.labels]

    @property
    def centers(self) -> np.ndarray:
        assert self.edges is not None
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def widths(self) -> np.ndarray:
        assert self.edges is not None
        return np.diff(self.edges)


@dataclass
class FigureData:
    """Everything the figures of one table show, computed once from the full tables."""

    projection: ProjectionSample | None
    distributions: list[Distribution]
    n_variables: int
    association_original: pd.DataFrame | None
    association_avatars: pd.DataFrame | None
    contributions: pd.DataFrame | None
    aggregate: pd.DataFrame
    privacy: list[MetricRow] = field(default_factory=list)
    signal: list[MetricRow] = field(default_factory=list)

    @property
    def association_difference(self) -> pd.DataFrame | None:
        if self.association_original is None or self.association_avatars is None:
            return None
        return self.association_avatars - self.association_original

    def available_kinds(self) -> list[PlotKind]:
        """The plot kinds this data can draw, in the order the reports show them."""
        kinds = []
        if self.association_original is not None and len(self.association_original) >= 2:
            kinds += [PlotKind.CORRELATION, PlotKind.CORRELATION_DIFFERENCE]
        if self.contributions is not None and not self.contributions.empty:
            kinds.append(PlotKind.CONTRIBUTION)
        if self.projection is not None:
            kinds.append(PlotKind.PROJECTION_2D)
            if self.projection.original.shape[1] >= 3:
                kinds.append(PlotKind.PROJECTION_3D)
        if self.distributions:
            kinds.append(PlotKind.DISTRIBUTION)
        kinds.append(PlotKind.AGGREGATE_STATS)
        if self.privacy or self.signal:
            kinds.append(PlotKind.METRICS_SUMMARY)
        return kinds


def prepare_figure_data(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    *,
    original_coordinates: pd.DataFrame | np.ndarray | None,
    avatar_coordinates: pd.DataFrame | np.ndarray | None,
    contributions: pd.DataFrame | Mapping[str, Any] | None = None,
    privacy: Mapping[str, Any] | Sequence[Any] | None = None,
    signal: Mapping[str, Any] | Sequence[Any] | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    max_distribution_plots: int | None = None,
    explained_variance: Sequence[float] | None = None,
) -> FigureData:
    """Reduce the tables to the numbers the figures show (see the module docstring).

    ``avatars`` may be shuffled and the coordinates in any row order: only distributions are
    compared. ``column_types`` (the avatarization metadata's) override the dtype-inferred types
    of the columns they name; unknown names are ignored, so the metadata of a run on a subset
    of columns still applies.
    """
    columns = [c for c in original.columns if c in avatars.columns]
    types = _column_types(original[columns], column_types)
    hellinger = _hellinger_by_variable(signal)

    shown = columns if max_distribution_plots is None else columns[: max(0, max_distribution_plots)]
    distributions = []
    for column in shown:
        dist = _distribution(original[column], avatars[column], types[column])
        if dist is not None:
            dist.hellinger = hellinger.get(str(column))
            distributions.append(dist)

    heatmap_columns = columns[:MAX_HEATMAP_VARIABLES]
    association_original = association_avatars = None
    if len(heatmap_columns) >= 2:
        association_original = association_matrix(original[heatmap_columns], types)
        association_avatars = association_matrix(avatars[heatmap_columns], types)

    return FigureData(
        projection=_projection_sample(original_coordinates, avatar_coordinates, explained_variance),
        distributions=distributions,
        n_variables=len(columns),
        association_original=association_original,
        association_avatars=association_avatars,
        contributions=_contributions_frame(contributions),
        aggregate=_aggregate(original, avatars, columns, types),
        privacy=metric_rows(privacy, "privacy"),
        signal=metric_rows(signal, "signal"),
    )


def _column_types(
    df: pd.DataFrame, overrides: Mapping[str, str | ColumnType] | None
) -> dict[str, ColumnType]:
    types = {c: infer_column_type(df[c]) for c in df.columns}
    for column, value in (overrides or {}).items():
        if column in types:
            types[column] = parse_column_type(value, str(column))
    return types


def _hellinger_by_variable(signal: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, float]:
    variables = unwrap_result(signal).get("details", {}).get("variables") or []
    out = {}
    for row in variables:
        value = row.get("hellinger") if isinstance(row, Mapping) else None
        if value is not None and math.isfinite(value):
            out[str(row.get("variable"))] = float(value)
    return out


# -- projections -------------------------------------------------------------------------------
def _projection_sample(
    original: pd.DataFrame | np.ndarray | None,
    avatars: pd.DataFrame | np.ndarray | None,
    explained_variance: Sequence[float] | None,
) -> ProjectionSample | None:
    if original is None or avatars is None:
        return None
    if isinstance(original, pd.DataFrame):  # a CSV written with its index has an extra column
        original = original.loc[:, ~original.columns.astype(str).str.startswith("Unnamed: ")]
    if isinstance(avatars, pd.DataFrame):
        avatars = avatars.loc[:, ~avatars.columns.astype(str).str.startswith("Unnamed: ")]
    o = np.asarray(original, dtype=np.float64)
    a = np.asarray(avatars, dtype=np.float64)
    dims = min(o.shape[1], a.shape[1], 3) if o.ndim == 2 and a.ndim == 2 else 0
    if dims < 2 or len(o) == 0 or len(a) == 0:
        return None
    if isinstance(original, pd.DataFrame):
        names = [str(c) for c in original.columns[:dims]]
    else:
        names = [f"Dim. {i + 1}" for i in range(dims)]
    labels = []
    for i, name in enumerate(names):
        if explained_variance is not None and i < len(explained_variance):
            labels.append(f"{name} ({100 * explained_variance[i]:.1f} %)")
        else:
            labels.append(name)
    return ProjectionSample(
        original=_subsample(o[:, :dims], SAMPLE_SEED),
        avatars=_subsample(a[:, :dims], SAMPLE_SEED + 1),
        axis_labels=labels,
        n_original=len(o),
        n_avatars=len(a),
    )


def _subsample(points: np.ndarray, seed: int) -> np.ndarray:
    """At most :data:`MAX_SCATTER_POINTS` rows, in table order, always the same ones."""
    if len(points) <= MAX_SCATTER_POINTS:
        return points
    rows = np.random.default_rng(seed).choice(len(points), MAX_SCATTER_POINTS, replace=False)
    return points[np.sort(rows)]


# -- distributions -----------------------------------------------------------------------------
def _is_numeric(column_type: ColumnType) -> bool:
    return column_type.is_continuous


def numeric_values(series: pd.Series, column_type: ColumnType) -> np.ndarray:
    """A numeric or date column as float64 (dates in seconds since the epoch), NaN if missing.

    Tolerant of what a CSV round trip does to a column (dates as strings, numbers as text).
    """
    if column_type in (ColumnType.DATETIME, ColumnType.DATETIME_TZ):
        moments = pd.to_datetime(series, errors="coerce", utc=True)
        seconds = (moments - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(series, errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def category_labels(series: pd.Series) -> pd.Series:
    """Values as strings, the same for ``1``, ``1.0`` and ``"1"``; missing stays missing.

    A categorical column read back from CSV may come as floats (when it has NaN) while the
    original has ints: both must give the same labels.
    """
    if pd.api.types.is_bool_dtype(series):
        return series.astype("string")
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if finite.size and np.all(finite == np.round(finite)):
            return series.astype("Int64").astype("string")
        return series.astype("string")
    return series.astype("string")


def _distribution(
    original: pd.Series, avatars: pd.Series, column_type: ColumnType
) -> Distribution | None:
    missing_o = 100.0 * float(original.isna().mean()) if len(original) else 0.0
    missing_a = 100.0 * float(avatars.isna().mean()) if len(avatars) else 0.0
    if _is_numeric(column_type):
        o = numeric_values(original, column_type)
        a = numeric_values(avatars, column_type)
        o, a = o[np.isfinite(o)], a[np.isfinite(a)]
        if o.size == 0 and a.size == 0:
            return None
        edges = _bin_edges(o, a)
        is_date = column_type in (ColumnType.DATETIME, ColumnType.DATETIME_TZ)
        return Distribution(
            column=str(original.name),
            kind="numeric",
            labels=_bin_labels(edges, is_date),
            original=_shares(_counts(o, edges)),
            avatars=_shares(_counts(a, edges)),
            missing_original=missing_o,
            missing_avatars=missing_a,
            edges=edges,
            is_datetime=is_date,
        )
    lo, la = category_labels(original).dropna(), category_labels(avatars).dropna()
    if lo.empty and la.empty:
        return None
    kept = _most_frequent(lo, MAX_MODALITIES)
    if len(kept) < MAX_MODALITIES:  # modalities only the avatars have
        kept += _most_frequent(la[~la.isin(kept)], MAX_MODALITIES - len(kept))
    kept = _natural_order(kept)
    share_o = lo.value_counts(normalize=True).reindex(kept, fill_value=0).to_numpy() * 100
    share_a = la.value_counts(normalize=True).reindex(kept, fill_value=0).to_numpy() * 100
    other_o, other_a = 100 - share_o.sum(), 100 - share_a.sum()
    labels = [str(k) for k in kept]
    if max(other_o, other_a) > 1e-9 and not (lo.empty or la.empty):
        labels.append(OTHER_MODALITIES)
        share_o, share_a = np.append(share_o, other_o), np.append(share_a, other_a)
    return Distribution(
        column=str(original.name),
        kind="categorical",
        labels=labels,
        original=np.asarray(share_o, dtype=np.float64) if not lo.empty else np.zeros(len(labels)),
        avatars=np.asarray(share_a, dtype=np.float64) if not la.empty else np.zeros(len(labels)),
        missing_original=missing_o,
        missing_avatars=missing_a,
    )


def _most_frequent(labels: pd.Series, count: int) -> list[str]:
    """The ``count`` most frequent labels, ties broken by label so the order never varies."""
    counts = labels.value_counts()
    order = sorted(
        zip(counts.index, counts.to_numpy(), strict=True), key=lambda lc: (-lc[1], lc[0])
    )
    return [label for label, _ in order[:count]]


def _natural_order(labels: list[Any]) -> list[Any]:
    """Numbers in numeric order (scores 1..10 read left to right), other labels as given."""
    try:
        return sorted(labels, key=float)
    except (TypeError, ValueError):
        return labels


def _bin_edges(original: np.ndarray, avatars: np.ndarray) -> np.ndarray:
    reference = original if original.size else avatars
    lo = float(min(reference.min(), avatars.min() if avatars.size else np.inf))
    hi = float(max(reference.max(), avatars.max() if avatars.size else -np.inf))
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    if np.all(reference == np.round(reference)) and hi - lo < MAX_BINS:
        # integers with a small range: one bar per value, centred on it
        return np.arange(math.floor(lo) - 0.5, math.ceil(hi) + 1.0, 1.0)
    edges = np.histogram_bin_edges(reference, bins="auto", range=(lo, hi))
    if len(edges) - 1 > MAX_BINS:
        edges = np.linspace(lo, hi, MAX_BINS + 1)
    return edges


def _counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram counts over equal-width ``edges``: given as a bin count and a range, numpy
    computes each value's bin directly instead of a binary search (several times faster)."""
    return np.histogram(values, bins=len(edges) - 1, range=(edges[0], edges[-1]))[0]


def _bin_labels(edges: np.ndarray, is_date: bool) -> list[str]:
    if is_date:
        moments = pd.to_datetime(edges, unit="s")
        return [f"{a:%Y-%m-%d}–{b:%Y-%m-%d}" for a, b in itertools.pairwise(moments)]
    return [f"{a:.4g}–{b:.4g}" for a, b in itertools.pairwise(edges)]


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts * (100.0 / total) if total else counts.astype(np.float64)


# -- associations ------------------------------------------------------------------------------
def association_matrix(df: pd.DataFrame, types: Mapping[str, ColumnType]) -> pd.DataFrame:
    """Variable × variable associations (module docstring): r, η or Cramér's V per pair.

    Pairwise complete rows; NaN where a variable is constant (on those rows) or fewer than
    three rows are complete. Cost O(rows × variables²) with bincounts, no one-hot matrix.
    """
    names = [str(c) for c in df.columns]
    numeric = {}
    codes: dict[str, tuple[np.ndarray, int]] = {}
    for column, name in zip(df.columns, names, strict=True):
        ctype = types[column]
        if _is_numeric(ctype):
            numeric[name] = numeric_values(df[column], ctype)
        else:
            codes[name] = _codes(df[column])
    p = len(names)
    out = np.full((p, p), np.nan)
    index = {name: i for i, name in enumerate(names)}

    num_names = list(numeric)
    if num_names:
        frame = pd.DataFrame(numeric)
        pearson = frame.corr(min_periods=3).to_numpy()
        for a, name_a in enumerate(num_names):
            for b, name_b in enumerate(num_names):
                out[index[name_a], index[name_b]] = pearson[a, b]
    if num_names and codes:
        matrix = np.column_stack([numeric[name] for name in num_names])
        etas = correlation_ratios(matrix, list(codes.values()))
        for name_c, row in zip(codes, etas, strict=True):
            for name_n, eta in zip(num_names, row, strict=True):
                out[index[name_c], index[name_n]] = out[index[name_n], index[name_c]] = eta
    cat_names = list(codes)
    for a, name_a in enumerate(cat_names):
        out[index[name_a], index[name_a]] = 1.0 if codes[name_a][1] > 1 else np.nan
        for name_b in cat_names[a + 1 :]:
            v = _cramers_v(*codes[name_a], *codes[name_b])
            out[index[name_a], index[name_b]] = out[index[name_b], index[name_a]] = v
    return pd.DataFrame(out, index=names, columns=names)


def _codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes (−1 = missing) of the :data:`MAX_ASSOCIATION_MODALITIES` most frequent
    modalities, the rarer ones pooled into one code."""
    codes, uniques = pd.factorize(category_labels(series), use_na_sentinel=True)
    m = len(uniques)
    if m > MAX_ASSOCIATION_MODALITIES:
        counts = np.bincount(codes[codes >= 0], minlength=m)
        order = np.argsort(-counts, kind="stable")
        remap = np.full(m, MAX_ASSOCIATION_MODALITIES, dtype=np.int64)
        remap[order[:MAX_ASSOCIATION_MODALITIES]] = np.arange(MAX_ASSOCIATION_MODALITIES)
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        m = MAX_ASSOCIATION_MODALITIES + 1
    return np.asarray(codes, dtype=np.int64), m


#: Rows per chunk when accumulating group sums (memory O(chunk × numeric columns)).
CHUNK_ROWS = 131_072


def correlation_ratios(
    values: np.ndarray, categoricals: Sequence[tuple[np.ndarray, int]]
) -> np.ndarray:
    """η of each categorical variable (``(codes, modalities)``, code −1 = missing) with each
    column of ``values`` (NaN = missing), on each pair's complete rows: a ``categoricals ×
    columns`` array.

    η² = between-group / total sum of squares, from per-group counts, sums and sums of squares.
    Those are sparse products of the group indicator matrix with the (chunked) columns: one
    pass over the rows for all pairs, instead of a masked pass per pair. NaN for fewer than
    three rows, a constant column, or a single group (one group explains nothing: undefined,
    not 0).
    """
    from scipy import sparse

    n, p = values.shape
    centred = values - np.nanmean(values, axis=0) if n else values  # better conditioned sums
    shapes = [(m, p) for _, m in categoricals]
    counts = [np.zeros(shape) for shape in shapes]
    sums = [np.zeros(shape) for shape in shapes]
    squares = [np.zeros(shape) for shape in shapes]
    for start in range(0, n, CHUNK_ROWS):
        block = centred[start : start + CHUNK_ROWS]
        present = ~np.isnan(block)
        y = np.where(present, block, 0.0)
        blocks = (present.astype(np.float64), y, y * y)
        for c, (codes, m) in enumerate(categoricals):
            part = codes[start : start + CHUNK_ROWS]
            rows = np.flatnonzero(part >= 0)  # rows with a missing category count nowhere
            groups = sparse.csr_matrix(
                (np.ones(rows.size), (part[rows], rows)), shape=(m, len(part))
            )
            counts[c] += groups @ blocks[0]
            sums[c] += groups @ blocks[1]
            squares[c] += groups @ blocks[2]
    out = np.full((len(categoricals), p), np.nan)
    for c in range(len(categoricals)):
        n_g, sum_g = counts[c], sums[c]
        n_all, sum_all, sq_all = n_g.sum(axis=0), sum_g.sum(axis=0), squares[c].sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            correction = sum_all**2 / n_all  # n · mean²
            total = sq_all - correction
            between = (sum_g**2 / np.where(n_g > 0, n_g, 1.0)).sum(axis=0) - correction
            eta = np.sqrt(np.clip(between / total, 0.0, 1.0))
        undefined = (n_all < 3) | ~(total > 1e-12 * np.maximum(sq_all, 1e-300))
        undefined |= (n_g > 0).sum(axis=0) < 2
        out[c] = np.where(undefined, np.nan, eta)
    return out


def _cramers_v(codes_a: np.ndarray, m_a: int, codes_b: np.ndarray, m_b: int) -> float:
    keep = (codes_a >= 0) & (codes_b >= 0)
    a, b = codes_a[keep], codes_b[keep]
    n = a.size
    if n < 3:
        return float("nan")
    table = np.bincount(a * m_b + b, minlength=m_a * m_b).reshape(m_a, m_b).astype(np.float64)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    if min(r, c) < 2:
        return float("nan")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return math.sqrt(min(1.0, chi2 / (n * (min(r, c) - 1))))


# -- contributions and aggregate statistics ---------------------------------------------------
def _contributions_frame(
    contributions: pd.DataFrame | Mapping[str, Any] | None,
) -> pd.DataFrame | None:
    if contributions is None:
        return None
    frame = (
        contributions if isinstance(contributions, pd.DataFrame) else pd.DataFrame(contributions)
    )
    if frame.empty:
        return None
    return frame.iloc[:, :MAX_CONTRIBUTION_DIMENSIONS].astype(np.float64)


def _aggregate(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    columns: Sequence[Any],
    types: Mapping[Any, ColumnType],
) -> pd.DataFrame:
    rows = []
    numeric = [c for c in columns if types[c] in (ColumnType.INT, ColumnType.FLOAT)]
    for column in numeric[:MAX_AGGREGATE_VARIABLES]:
        o = numeric_values(original[column], types[column])
        a = numeric_values(avatars[column], types[column])
        rows.append(
            {
                "variable": str(column),
                "mean_original": _nan_stat(np.nanmean, o),
                "mean_avatars": _nan_stat(np.nanmean, a),
                "std_original": _nan_stat(np.nanstd, o),
                "std_avatars": _nan_stat(np.nanstd, a),
            }
        )
    columns_out = ["variable", "mean_original", "mean_avatars", "std_original", "std_avatars"]
    return pd.DataFrame(rows, columns=columns_out)


def _nan_stat(function: Any, values: np.ndarray) -> float:
    return float(function(values)) if np.isfinite(values).any() else float("nan")


# =============================================================================================
# step 2: plotly figures
# =============================================================================================
def build_figures(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    *,
    original_coordinates: pd.DataFrame | np.ndarray | None,
    avatar_coordinates: pd.DataFrame | np.ndarray | None,
    contributions: pd.DataFrame | Mapping[str, Any] | None = None,
    privacy: Mapping[str, Any] | Sequence[Any] | None = None,
    signal: Mapping[str, Any] | Sequence[Any] | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    max_distribution_plots: int | None = None,
    explained_variance: Sequence[float] | None = None,
    language: str = "en",
) -> dict[PlotKind, Any]:
    """The standard job's figures: ``{plot kind: plotly Figure | HTML fragment}``.

    Kinds: correlation, correlation_difference, contribution (with ``contributions``),
    2d_projection, 3d_projection (with ≥ 3 projected dimensions), distribution (at most
    ``max_distribution_plots`` variables, all by default), aggregate_stats and, with metrics,
    metrics_summary — the last two are HTML tables (no JavaScript needed).
    """
    data = prepare_figure_data(
        original,
        avatars,
        original_coordinates=original_coordinates,
        avatar_coordinates=avatar_coordinates,
        contributions=contributions,
        privacy=privacy,
        signal=signal,
        column_types=column_types,
        max_distribution_plots=max_distribution_plots,
        explained_variance=explained_variance,
    )
    return plotly_figures(data, language=check_language(language))


def plotly_figures(data: FigureData, *, language: Language = "en") -> dict[PlotKind, Any]:
    """Draw every available kind of :class:`FigureData` (plotly, or HTML for the tables)."""
    drawers = {
        PlotKind.CORRELATION: _plotly_correlation,
        PlotKind.CORRELATION_DIFFERENCE: _plotly_correlation_difference,
        PlotKind.CONTRIBUTION: _plotly_contribution,
        PlotKind.PROJECTION_2D: _plotly_projection_2d,
        PlotKind.PROJECTION_3D: _plotly_projection_3d,
        PlotKind.DISTRIBUTION: _plotly_distribution,
        PlotKind.AGGREGATE_STATS: aggregate_stats_html,
        PlotKind.METRICS_SUMMARY: metrics_summary_html,
    }
    return {kind: drawers[kind](data, language) for kind in data.available_kinds()}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "template": "plotly_white",
        "font": {"family": "Helvetica, Arial, sans-serif", "size": 12},
        "margin": {"l": 60, "r": 30, "t": 70, "b": 50},
        **extra,
    }


def _plotly_projection_2d(data: FigureData, language: Language) -> Any:
    import plotly.graph_objects as go

    projection = data.projection
    assert projection is not None
    figure = go.Figure()
    for points, name, color in (
        (projection.original, tr("originals", language), ORIGINAL_COLOR),
        (projection.avatars, tr("avatars", language), AVATAR_COLOR),
    ):
        figure.add_trace(
            go.Scattergl(
                x=points[:, 0],
                y=points[:, 1],
                mode="markers",
                name=name,
                marker={"color": color, "size": 5, "opacity": 0.55},
            )
        )
    figure.update_layout(
        **_layout(
            _with_subsample_note(tr("fig_2d_projection", language), projection, language),
            height=620,
            xaxis_title=projection.axis_labels[0],
            yaxis_title=projection.axis_labels[1],
        )
    )
    return figure


def _plotly_projection_3d(data: FigureData, language: Language) -> Any:
    import plotly.graph_objects as go

    projection = data.projection
    assert projection is not None
    figure = go.Figure()
    for points, name, color in (
        (projection.original, tr("originals", language), ORIGINAL_COLOR),
        (projection.avatars, tr("avatars", language), AVATAR_COLOR),
    ):
        figure.add_trace(
            go.Scatter3d(
                x=points[:, 0],
                y=points[:, 1],
                z=points[:, 2],
                mode="markers",
                name=name,
                marker={"color": color, "size": 2, "opacity": 0.6},
            )
        )
    labels = projection.axis_labels
    figure.update_layout(
        **_layout(
            _with_subsample_note(tr("fig_3d_projection", language), projection, language),
            height=700,
            scene={
                "xaxis_title": labels[0],
                "yaxis_title": labels[1],
                "zaxis_title": labels[2],
            },
        )
    )
    return figure


def _with_subsample_note(title: str, projection: ProjectionSample, language: Language) -> str:
    if not projection.subsampled:
        return title
    note = tr(
        "subsample_note",
        language,
        shown=format_number(len(projection.original), language, 0),
        total=format_number(projection.n_original, language, 0),
    )
    return f"{title}<br><sup>{html.escape(note)}</sup>"


def distribution_title(dist: Distribution, language: Language) -> str:
    """Panel title: the variable, its Hellinger distance and missing shares when any."""
    parts = [dist.column]
    if dist.hellinger is not None:
        parts.append(f"H = {format_number(dist.hellinger, language, 3)}")
    if dist.missing_original or dist.missing_avatars:
        parts.append(
            f"NA {format_number(dist.missing_original, language, 1)} % → "
            f"{format_number(dist.missing_avatars, language, 1)} %"
        )
    return " · ".join(parts)


def _plotly_distribution(data: FigureData, language: Language) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    dists = data.distributions
    cols = min(3, len(dists))
    rows = math.ceil(len(dists) / cols)
    figure = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[distribution_title(d, language) for d in dists],
        vertical_spacing=min(0.12, 0.6 / rows),
        horizontal_spacing=0.07,
    )
    for i, dist in enumerate(dists):
        row, col = i // cols + 1, i % cols + 1
        for shares, name, color, offset in (
            (dist.original, tr("originals", language), ORIGINAL_COLOR, -0.4),
            (dist.avatars, tr("avatars", language), AVATAR_COLOR, 0.0),
        ):
            common = {
                "name": name,
                "legendgroup": name,
                "showlegend": i == 0,
                "marker_color": color,
                "y": shares,
            }
            if dist.kind == "numeric":
                x: Any = dist.centers
                if dist.is_datetime:
                    x = pd.to_datetime(dist.centers, unit="s")
                    width = dist.widths * 1000.0  # date axes are in milliseconds
                else:
                    width = dist.widths
                trace = go.Bar(x=x, width=width, opacity=0.55, customdata=dist.labels, **common)
                trace.hovertemplate = "%{customdata}: %{y:.2f} %"
            else:
                trace = go.Bar(x=dist.display_labels(language), offset=offset, width=0.4, **common)
                trace.hovertemplate = "%{x}: %{y:.2f} %"
            figure.add_trace(trace, row=row, col=col)
        if dist.kind == "categorical":
            figure.update_xaxes(type="category", row=row, col=col)
    title = tr("fig_distribution", language)
    notes = [tr("distribution_note", language)]
    if len(dists) < data.n_variables:
        notes.append(
            tr("distribution_truncated", language, shown=len(dists), total=data.n_variables)
        )
    figure.update_layout(
        **_layout(
            f"{title}<br><sup>{html.escape(' '.join(notes))}</sup>",
            height=max(350, 260 * rows + 90),
            barmode="overlay",
            bargap=0.05,
        )
    )
    figure.update_annotations(font_size=11)
    figure.update_yaxes(ticksuffix=" %")
    return figure


def _heatmap(matrix: pd.DataFrame, *, zmin: float, zmax: float, text: bool, **extra: Any) -> Any:
    import plotly.graph_objects as go

    z = matrix.to_numpy()
    options: dict[str, Any] = {}
    if text:
        options = {"text": np.round(z, 2), "texttemplate": "%{text:.2f}", "textfont": {"size": 9}}
    return go.Heatmap(
        z=z,
        x=list(matrix.columns),
        y=list(matrix.index),
        zmin=zmin,
        zmax=zmax,
        colorscale="RdBu_r",
        hovertemplate="%{y} / %{x}: %{z:.3f}<extra></extra>",
        **options,
        **extra,
    )


def _plotly_correlation(data: FigureData, language: Language) -> Any:
    from plotly.subplots import make_subplots

    assert data.association_original is not None and data.association_avatars is not None
    p = len(data.association_original)
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[tr("originals", language), tr("avatars", language)],
        horizontal_spacing=0.12,
    )
    figure.add_trace(
        _heatmap(data.association_original, zmin=-1, zmax=1, text=p <= 15, coloraxis="coloraxis"),
        row=1,
        col=1,
    )
    figure.add_trace(
        _heatmap(data.association_avatars, zmin=-1, zmax=1, text=p <= 15, coloraxis="coloraxis"),
        row=1,
        col=2,
    )
    side = max(420, min(900, 28 * p + 200))
    figure.update_layout(
        **_layout(
            f"{tr('fig_correlation', language)}<br><sup>"
            f"{html.escape(tr('association_note', language))}</sup>",
            height=side,
            coloraxis={"colorscale": "RdBu_r", "cmin": -1, "cmax": 1},
        )
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def _plotly_correlation_difference(data: FigureData, language: Language) -> Any:
    import plotly.graph_objects as go

    difference = data.association_difference
    assert difference is not None
    limit = difference_limit(difference)
    p = len(difference)
    figure = go.Figure(_heatmap(difference, zmin=-limit, zmax=limit, text=p <= 20))
    side = max(450, min(900, 30 * p + 200))
    figure.update_layout(
        **_layout(
            f"{tr('fig_correlation_difference', language)}<br><sup>"
            f"{html.escape(tr('association_note', language))}</sup>",
            height=side,
            width=side + 120,
        )
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def difference_limit(difference: pd.DataFrame) -> float:
    """Symmetric colour range of a difference heatmap: its largest |value|, at least 0.1 so that
    small differences stay pale instead of filling the scale."""
    values = np.abs(difference.to_numpy())
    values = values[np.isfinite(values)]
    return float(max(0.1, values.max() if values.size else 0.1))


def _plotly_contribution(data: FigureData, language: Language) -> Any:
    import plotly.graph_objects as go

    frame = data.contributions
    assert frame is not None
    order = frame.iloc[:, 0].sort_values(ascending=False).index
    frame = frame.loc[order]
    figure = go.Figure()
    for dimension in frame.columns:
        figure.add_trace(
            go.Bar(
                x=[str(v) for v in frame.index],
                y=frame[dimension].to_numpy(),
                name=str(dimension),
                hovertemplate="%{x}: %{y:.1f} %",
            )
        )
    figure.update_layout(
        **_layout(
            tr("fig_contribution", language),
            height=480,
            barmode="group",
            yaxis_title=tr("contribution_percent", language),
        )
    )
    return figure


# -- HTML tables (no JavaScript) -----------------------------------------------------------------
TABLE_CSS = """
body { font-family: Helvetica, Arial, sans-serif; color: #1f2933; margin: 24px; }
h1, h2, h3 { color: #102a43; }
table.avatars { border-collapse: collapse; margin: 12px 0 18px; font-size: 13px; }
table.avatars th { background: #243b53; color: #fff; text-align: left; padding: 6px 10px; }
table.avatars td { border-bottom: 1px solid #d9e2ec; padding: 5px 10px; vertical-align: top; }
table.avatars td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.avatars tr:nth-child(even) td { background: #f5f7fa; }
.pass { color: #1e7b34; font-weight: bold; }
.fail { color: #b42318; font-weight: bold; }
.na { color: #627d98; }
.note { color: #627d98; font-size: 12px; }
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="num"' if i in numeric else ""
            cells.append(f"<td{css}>{cell}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="avatars"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def aggregate_stats_html(data: FigureData, language: Language) -> str:
    """Mean and standard deviation of the numeric variables in both sets (an HTML table)."""
    title = f"<h3>{html.escape(tr('fig_aggregate_stats', language))}</h3>"
    if data.aggregate.empty:
        return f'{title}<p class="note">{html.escape(tr("no_numeric_columns", language))}</p>'
    o, a = tr("originals", language), tr("avatars", language)
    mean, std = tr("mean", language), tr("std", language)
    header = [
        tr("column", language),
        f"{mean} ({o})",
        f"{mean} ({a})",
        f"{std} ({o})",
        f"{std} ({a})",
    ]
    rows = [
        [
            html.escape(str(r.variable)),
            *(
                format_number(v, language, 3)
                for v in (r.mean_original, r.mean_avatars, r.std_original, r.std_avatars)
            ),
        ]
        for r in data.aggregate.itertuples(index=False)
    ]
    return title + _html_table(header, rows, numeric={1, 2, 3, 4})


def verdict_html(row: MetricRow, language: Language) -> str:
    if row.passed is True:
        return f'<span class="pass">{html.escape(tr("verdict_pass", language))}</span>'
    if row.passed is False:
        return f'<span class="fail">{html.escape(tr("verdict_fail", language))}</span>'
    return f'<span class="na">{html.escape(tr("verdict_none", language))}</span>'


def metrics_table_html(rows: Sequence[MetricRow], language: Language) -> str:
    header = [tr(k, language) for k in ("metric", "value", "target", "result", "meaning")]
    body = [
        [
            html.escape(metric_name(r.name, language) + (" *" if r.provisional else "")),
            html.escape(format_metric_value(r.value, r.unit, language)),
            html.escape(format_target(r.target, language)),
            verdict_html(r, language),
            html.escape(metric_meaning(r.name, language, r.description)),
        ]
        for r in rows
    ]
    return _html_table(header, body, numeric={1, 2})


def metrics_summary_html(data: FigureData, language: Language) -> str:
    """Privacy and signal metrics with their targets and verdicts (an HTML table)."""
    parts = [f"<h3>{html.escape(tr('fig_metrics_summary', language))}</h3>"]
    for rows, key in ((data.privacy, "privacy_metrics"), (data.signal, "signal_metrics")):
        if rows:
            parts.append(f"<h4>{html.escape(tr(key, language))}</h4>")
            parts.append(metrics_table_html(rows, language))
    if any(r.provisional for r in [*data.privacy, *data.signal]):
        parts.append(f'<p class="note">{html.escape(tr("provisional_note", language))}</p>')
    return "".join(parts)


# =============================================================================================
# documents of the standard job
# =============================================================================================
def plotly_js_script(plotlyjs: PlotlyJs = "inline") -> str:
    """The ``<script>`` that loads plotly.js: the whole bundle inline (works offline, ~4.8 MB)
    or a reference to plotly's CDN (small files, needs the network)."""
    if plotlyjs == "inline":
        from plotly.offline import get_plotlyjs

        return f'<script type="text/javascript">{get_plotlyjs()}</script>'
    if plotlyjs == "cdn":
        import plotly

        version = _plotlyjs_version() or plotly.__version__
        return (
            f'<script src="https://cdn.plot.ly/plotly-{version}.min.js" charset="utf-8"></script>'
        )
    raise ValueError(f"plotlyjs must be 'inline' or 'cdn', got {plotlyjs!r}")


def _plotlyjs_version() -> str | None:
    try:
        from plotly.offline import get_plotlyjs_version

        return str(get_plotlyjs_version())
    except ImportError:  # pragma: no cover - very old plotly
        return None


def figure_div(figure: Any, div_id: str) -> str:
    """A plotly figure as an HTML fragment without plotly.js, with a fixed element id so that
    the same figure always gives the same bytes."""
    return str(
        figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
    )


def html_document(title: str, body: str, *, head: str = "", language: str = "en") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{TABLE_CSS}</style>\n{head}\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def figure_documents(
    table_name: str, figures: Mapping[PlotKind, Any], *, plotlyjs: PlotlyJs = "inline"
) -> dict[tuple[str, PlotKind], str]:
    """One self-contained HTML document per figure of one table, keyed by ``(table name, plot
    kind)``, in the order of ``figures``.

    Plotly figures carry plotly.js as chosen by ``plotlyjs``; the HTML tables (aggregate_stats,
    metrics_summary) need no JavaScript. Naming the files is the caller's business (the server
    uses ``avatars.protocol.results.figure_file_name``).
    """
    script = (
        plotly_js_script(plotlyjs) if any(not isinstance(f, str) for f in figures.values()) else ""
    )
    documents = {}
    for key, figure in figures.items():
        kind = PlotKind(key)
        title = f"{table_name} — {kind.value}"
        if isinstance(figure, str):
            text = html_document(title, figure)
        else:
            div_id = element_id(table_name, kind)
            text = html_document(title, figure_div(figure, div_id), head=script)
        documents[(table_name, kind)] = text
    return documents


def element_id(table_name: str, kind: PlotKind | str) -> str:
    """A stable HTML element id for a table's figure (``aids-2d_projection``): the table name
    with every character but ASCII letters, digits, ``-`` and ``_`` written ``_``, then the kind.
    """
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', table_name)}-{PlotKind(kind).value}"
