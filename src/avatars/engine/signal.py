"""Signal (utility) metrics (method.md §3): ``signal_metrics``.

How well the avatars keep the statistical content of the original table. The avatars may be
shuffled and may have a different number of rows; only distributions are compared.

- Hellinger distance per variable (§3.1): ``H(P, Q) = sqrt(1 − Σ_b sqrt(p_b q_b))`` ∈ [0, 1]
  between the original's and the avatars' marginal distributions (relative frequencies,
  missing values left out; the missing shares are reported separately). Categorical: one bin
  per modality. Continuous (int, float, datetime as seconds): bins
  ``numpy.histogram_bin_edges(original, "auto")`` (at most :data:`MAX_BINS`), avatar values
  clipped to the original's range — the binning is our choice, the platform's is not
  published ([U], the §3.1 recommendation). Summaries: ``hellinger_mean`` and ``hellinger_std``
  (population std) over the variables, lower is better.
- Correlation difference (§3.2): Pearson correlations between every pair of columns of the
  design matrix (continuous columns and the one-hot dummies of categoricals, pairs of dummies
  of the same variable left out), ``correlation_difference_mean = mean |ρ_orig − ρ_avatar|``
  ([I], the §3.2 recommendation; the legacy ``correlation_difference_ratio`` formula is not
  published). Missing continuous values contribute nothing (mean imputation); a correlation with
  a column constant in one table counts as 0.
- Columns constant or missing in every row of the original (passed through unchanged by the
  avatarization) are listed in ``metadata["passed_through"]`` (absent when there are none);
  they are compared on their raw values like identifier-like columns
  (``details["compared_on_raw_values"]``): a constant kept as is has distance 0, an all-missing
  column an undefined one, left out of the summaries.
- 0-100 scores ([I], method.md §3.1-3.2: the 2026 platform reports preservation scores with
  target > 70): ``hellinger_score = 100 · (1 − hellinger_mean)`` and
  ``correlation_score = 100 · (1 − correlation_difference_mean)``; higher is better.

Reference values on the paper's data (numeric-coded columns, these bins): WBCD avatars k = 20
Hellinger mean 0.030 (std 0.013) and mean |Δρ| 0.022 (method.md §3.1-3.2, tested).
Memory: each column is binned on its own and the correlation matrices are accumulated over
bounded row chunks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.common import (
    ProgressCallback,
    Steps,
    align_columns,
    check_table,
    jsonable,
    single_threaded_blas,
)
from avatars.engine.errors import InvalidDataError
from avatars.engine.preprocessing import (
    EncodedTable,
    TableEncoder,
    check_columns_exist,
    pass_through_reason,
    passed_through,
    passed_through_note,
    validate_table,
)
from avatars.engine.schema import ColumnType, resolve_column_types
from avatars.engine.targets import MetricValue, make_metric

#: Most histogram bins per continuous variable ("auto" can ask for far more on long tails).
MAX_BINS = 1000

#: Categorical variables enter the correlation design with at most this many dummies: the most
#: frequent modalities of the original, the others pooled into one.
MAX_CORRELATION_MODALITIES = 30

#: Rows per chunk when accumulating correlation matrices.
CHUNK_ROWS = 65_536

#: Variable pairs listed in ``to_dict()`` (the largest differences first).
MAX_PAIRS_IN_DICT = 1000


@dataclass
class SignalMetricsResult:
    """What :func:`signal_metrics` returns.

    ``variables``: one row per variable (type, Hellinger distance, bins, missing shares);
    ``correlations``: one row per pair of variables (largest and mean |Δρ| over their design
    columns; for two continuous variables also both correlations).
    """

    metrics: list[MetricValue]
    variables: pd.DataFrame
    correlations: pd.DataFrame
    details: dict[str, Any]
    parameters: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> MetricValue | None:
        return next((m for m in self.metrics if m.name == name), None)

    def value(self, name: str) -> float | None:
        found = self.metric(name)
        return None if found is None else found.value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the server's ``<table>.signal.json``): flat legacy fields
        (``hellinger_mean``, ``hellinger_std``, ``correlation_difference_mean``) and scores,
        ``metrics``, ``targets``, ``passed``, and ``details`` with the per-variable Hellinger
        table and the per-pair correlation table (at most :data:`MAX_PAIRS_IN_DICT` pairs)."""
        out: dict[str, Any] = {name: self.value(name) for name in LEGACY_SIGNAL_FIELDS}
        out["metrics"] = [m.to_dict() for m in self.metrics]
        out["targets"] = {m.name: m.target for m in self.metrics}
        out["passed"] = {m.name: m.passed for m in self.metrics}
        pairs = self.correlations.sort_values("max_abs_difference", ascending=False)
        details = dict(self.details)
        details["variables"] = self.variables.to_dict(orient="records")
        details["correlations"] = pairs.head(MAX_PAIRS_IN_DICT).to_dict(orient="records")
        details["n_variable_pairs"] = len(pairs)
        out["details"] = jsonable(details)
        out["parameters"] = jsonable(self.parameters)
        out["metadata"] = jsonable(self.metadata)
        return out


LEGACY_SIGNAL_FIELDS = (
    "hellinger_mean",
    "hellinger_std",
    "correlation_difference_mean",
    "hellinger_score",
    "correlation_score",
)


# =====================================================================================
# array-level functions
# =====================================================================================
def hellinger_distance(p: np.ndarray, q: np.ndarray) -> float:
    """``sqrt(1 − Σ_b sqrt(p_b q_b))`` between two histograms (counts or shares, normalized
    here); NaN when either is empty (method.md §3.1).

    Computed as the equal ``sqrt(½ Σ_b (√p_b − √q_b)²)``, which has no cancellation: identical
    histograms give exactly 0.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    sp, sq = p.sum(), q.sum()
    if sp <= 0 or sq <= 0:
        return float("nan")
    gap = np.sqrt(p / sp) - np.sqrt(q / sq)
    return float(min(1.0, np.sqrt(0.5 * float(np.sum(gap * gap)))))


def hellinger_continuous(
    original: np.ndarray, avatars: np.ndarray, *, max_bins: int = MAX_BINS
) -> tuple[float, int]:
    """Hellinger distance of two samples of a continuous variable: ``(H, number of bins)``.

    Bins: ``numpy.histogram_bin_edges(original, "auto")``, at most ``max_bins`` equal-width
    bins; avatar values clipped to the original range; NaN left out.
    """
    xo = original[~np.isnan(original)]
    xa = avatars[~np.isnan(avatars)]
    if xo.size == 0 or xa.size == 0:
        return float("nan"), 0
    low, high = float(xo.min()), float(xo.max())
    if low == high:
        edges = np.array([low - 0.5, high + 0.5])
    else:
        edges = np.histogram_bin_edges(xo, bins="auto")
        if len(edges) - 1 > max_bins:
            edges = np.linspace(low, high, max_bins + 1)
    p, _ = np.histogram(xo, bins=edges)
    q, _ = np.histogram(np.clip(xa, edges[0], edges[-1]), bins=edges)
    return hellinger_distance(p, q), len(edges) - 1


def hellinger_categorical(original: np.ndarray, avatars: np.ndarray, n_modalities: int) -> float:
    """Hellinger distance of two samples of codes ``0..n_modalities-1``; ``-1`` (missing) left
    out. Avatar modalities unseen in the original must be given code ``n_modalities`` (one
    pooled bin: the original has none of them, so pooling does not change H)."""
    co = original[original >= 0]
    ca = avatars[avatars >= 0]
    p = np.bincount(co, minlength=n_modalities + 1)
    q = np.bincount(ca, minlength=n_modalities + 1)
    return hellinger_distance(p, q)


# =====================================================================================
# the public entry point
# =====================================================================================
@single_threaded_blas
def signal_metrics(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    *,
    column_types: Mapping[str, str | ColumnType] | None = None,
    exclude_variables: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> SignalMetricsResult:
    """Signal metrics of ``avatars`` (any row order, any number of rows) against ``original``.

    Parameters
    ----------
    original, avatars
        Tables with the same columns.
    column_types
        Type overrides (``int``, ``float``, ``bool``, ``category``, ``datetime``, ...); by
        default types come from the original's dtypes.
    exclude_variables
        Columns left out of every signal metric.
    progress
        Called as ``progress(fraction, phase)``.
    """
    steps = Steps(progress)
    validate_table(original)
    check_table(avatars, "avatars")
    avatars = align_columns(original, avatars, "avatars")
    exclude = check_columns_exist("exclude_variables", exclude_variables, original)
    if column_types:
        check_columns_exist("column_types", list(column_types), original)
    keep = [c for c in original.columns if c not in exclude]
    if not keep:
        raise InvalidDataError("exclude_variables leaves no column to compare")
    with steps.step(0.0, "encoding"):
        tables = _SignalTables.encode(original[keep], avatars[keep], column_types)
    with steps.step(0.2, "hellinger"):
        variables = _hellinger_by_variable(tables)
    with steps.step(0.5, "correlations"):
        correlations, corr_summary = _correlation_differences(
            tables.original, tables.avatars, tables.encoder
        )
    hellinger = _hellinger_summary(variables)
    metrics = _signal_metric_values(
        hellinger["mean"], hellinger["std"], corr_summary["mean_abs_difference"]
    )
    steps.report(1.0, "done")
    details = {
        "n_original": len(original),
        "n_avatars": len(avatars),
        "hellinger": hellinger,
        "correlation": corr_summary,
        "compared_on_raw_values": tables.degenerate,
        "timings_seconds": steps.seconds(),
    }
    parameters = {
        "column_types": {c: t.value for c, t in tables.encoder.column_types.items()},
        "exclude_variables": exclude,
    }
    return SignalMetricsResult(
        metrics=metrics,
        variables=variables,
        correlations=correlations,
        details=details,
        parameters=parameters,
        metadata=passed_through_note(passed_through(original, keep)),
    )


def _signal_metric_values(
    h_mean: float, h_std: float, corr_mean: float | None
) -> list[MetricValue]:
    """The five signal metrics (method.md §3.1-3.2): the Hellinger mean and std over the
    variables, the mean |Δρ|, and their 0-100 scores ``100 · (1 − value)``."""
    return [
        make_metric(
            "hellinger_mean",
            h_mean,
            "Average distance between the original and avatar distributions of each variable "
            "(0 = identical, 1 = disjoint).",
            provisional=True,
        ),
        make_metric(
            "hellinger_std",
            h_std,
            "Spread of that distance across variables.",
            provisional=True,
        ),
        make_metric(
            "correlation_difference_mean",
            corr_mean,
            "Average absolute change of the correlation between two variables.",
            provisional=True,
        ),
        make_metric(
            "hellinger_score",
            100.0 * (1.0 - h_mean),
            "How well each variable's distribution is preserved (0-100).",
            provisional=True,
        ),
        make_metric(
            "correlation_score",
            100.0 * (1.0 - corr_mean) if corr_mean is not None else None,
            "How well the correlations between pairs of variables are preserved (0-100).",
            provisional=True,
        ),
    ]


@dataclass
class _SignalTables:
    """Both tables encoded for comparison with an encoder fitted on the original.

    Constant and identifier-like columns (``degenerate``, see :func:`_is_degenerate`) stay out
    of the encoding: their values are compared as they are. Missingness indicators are off:
    values are compared, and the missing shares are reported on their own.
    """

    original_frame: pd.DataFrame
    avatars_frame: pd.DataFrame
    encoder: TableEncoder
    original: EncodedTable
    avatars: EncodedTable
    degenerate: list[str]

    @classmethod
    def encode(
        cls,
        original: pd.DataFrame,
        avatars: pd.DataFrame,
        column_types: Mapping[str, str | ColumnType] | None,
    ) -> _SignalTables:
        columns = list(original.columns)
        types = {c: t for c, t in (column_types or {}).items() if c in columns}
        resolved = resolve_column_types(original, types)
        degenerate = [c for c in columns if _is_degenerate(original[c], resolved[c])]
        modelled = [c for c in columns if c not in degenerate]
        if modelled:
            encoder = TableEncoder.fit(original[modelled], {c: resolved[c] for c in modelled})
        else:
            encoder = TableEncoder(column_types={}, columns=[])
        encoder.column_types.update({c: resolved[c] for c in degenerate})
        encoder.missing_columns = []
        return cls(
            original,
            avatars,
            encoder,
            encoder.encode(original[modelled]),
            encoder.encode(avatars[modelled]),
            degenerate,
        )


def _hellinger_by_variable(tables: _SignalTables) -> pd.DataFrame:
    """One row per variable, in table order: its Hellinger distance (method.md §3.1) on the
    binned values (continuous), the modalities (categorical, avatar modalities unseen in the
    original pooled) or the raw values (degenerate columns), with the missing shares."""
    original, avatars = tables.original_frame, tables.avatars_frame
    enc_o, enc_a, encoder = tables.original, tables.avatars, tables.encoder
    rows = []
    for j, column in enumerate(enc_o.continuous_names):
        h, bins = hellinger_continuous(enc_o.continuous[:, j], enc_a.continuous[:, j])
        rows.append(_variable_row(column, "continuous", h, bins, original, avatars, encoder))
    for j, column in enumerate(enc_o.categorical_names):
        m = len(encoder.categories[column])
        unseen = (enc_a.codes[:, j] < 0) & avatars[column].notna().to_numpy()
        codes_a = np.where(unseen, m, enc_a.codes[:, j])
        h = hellinger_categorical(enc_o.codes[:, j], codes_a, m)
        rows.append(_variable_row(column, "categorical", h, m, original, avatars, encoder))
    for column in tables.degenerate:  # constant or one value per row: compare the raw values
        codes, uniques = pd.factorize(
            pd.concat([original[column], avatars[column]], ignore_index=True)
        )
        n_o = len(original)
        h = hellinger_categorical(codes[:n_o], codes[n_o:], len(uniques))
        rows.append(_variable_row(column, "values", h, len(uniques), original, avatars, encoder))
    order = {c: i for i, c in enumerate(original.columns)}
    variables = pd.DataFrame(rows).sort_values("variable", key=lambda s: s.map(order))
    return variables.reset_index(drop=True)


def _hellinger_summary(variables: pd.DataFrame) -> dict[str, Any]:
    """Mean, population std, median and max of the variables' Hellinger distances (those that
    could be computed)."""
    distances = variables["hellinger"].to_numpy(dtype=np.float64)
    distances = distances[~np.isnan(distances)]
    return {
        "mean": float(distances.mean()) if distances.size else float("nan"),
        "std": float(distances.std()) if distances.size else float("nan"),
        "median": float(np.median(distances)) if distances.size else None,
        "max": float(distances.max()) if distances.size else None,
        "binning": f"numpy 'auto' edges of the original, at most {MAX_BINS} bins",
    }


# =====================================================================================
# internals
# =====================================================================================
def _is_degenerate(series: pd.Series, ctype: ColumnType) -> bool:
    """Constant or all-missing columns (passed through by the avatarization) and
    identifier-like categoricals: the projection encoder rejects them, but their distributions
    can still be compared value by value (an all-missing column has none: its distance is
    undefined and left out of the summaries); they have no correlation with anything."""
    if pass_through_reason(series) is not None:
        return True
    observed = series.dropna()
    n_distinct = observed.nunique()
    return (
        not ctype.is_continuous
        and ctype != ColumnType.BOOL
        and len(series) >= 10
        and n_distinct == len(series)
    )


def _variable_row(
    column: str,
    kind: str,
    hellinger: float,
    bins: int,
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    encoder: TableEncoder,
) -> dict[str, Any]:
    missing_o = 100.0 * float(original[column].isna().mean())
    missing_a = 100.0 * float(avatars[column].isna().mean())
    return {
        "variable": column,
        "type": encoder.column_types[column].value,
        "kind": kind,
        "hellinger": hellinger,
        "bins": int(bins),
        "missing_original": missing_o,
        "missing_avatars": missing_a,
        "missing_difference": missing_a - missing_o,
    }


@dataclass
class _Design:
    """Columns of the correlation design matrix: continuous columns, then kept dummies."""

    variable_of_column: list[str]
    continuous_index: list[int]
    dummy_columns: list[tuple[int, np.ndarray]]  # (categorical j, code → design column or -1)
    n_columns: int


def _design(enc: EncodedTable, encoder: TableEncoder) -> _Design:
    variables = list(enc.continuous_names)
    dummies = []
    col = len(variables)
    for j, name in enumerate(enc.categorical_names):
        m = len(encoder.categories[name])
        counts = np.bincount(enc.codes[:, j][enc.codes[:, j] >= 0], minlength=m)
        mapping = np.full(m, -1, dtype=np.int64)
        if m <= MAX_CORRELATION_MODALITIES:
            kept = np.arange(m)
            pooled = False
        else:  # the most frequent modalities, then one dummy for all the others
            kept = np.sort(np.argsort(-counts, kind="stable")[: MAX_CORRELATION_MODALITIES - 1])
            pooled = True
        mapping[kept] = col + np.arange(kept.size)
        col += kept.size
        if pooled:
            mapping[mapping < 0] = col
            col += 1
        variables.extend([name] * (col - len(variables)))
        dummies.append((j, mapping))
    return _Design(variables, list(range(len(enc.continuous_names))), dummies, col)


def _correlation(enc: EncodedTable, design: _Design) -> np.ndarray:
    """Pearson correlation matrix of the design columns, accumulated over row chunks.

    Two passes: the column means, then the centered cross-products (no cancellation on
    large-valued columns such as datetimes). Missing continuous values are set to the mean.
    """
    n = enc.n_rows
    d = design.n_columns
    p_c = len(design.continuous_index)
    means = np.zeros(d)
    if p_c:
        means[:p_c] = np.nanmean(enc.continuous, axis=0) if n else 0.0
        means[:p_c] = np.nan_to_num(means[:p_c])
    for j, mapping in design.dummy_columns:
        codes = enc.codes[:, j]
        present = codes >= 0
        cols = mapping[codes[present]]
        means += np.bincount(cols[cols >= 0], minlength=d)[:d] / max(n, 1)
    gram = np.zeros((d, d))
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        block = np.zeros((stop - start, d))
        if p_c:
            block[:, :p_c] = np.nan_to_num(enc.continuous[start:stop] - means[:p_c])
        for j, mapping in design.dummy_columns:
            codes = enc.codes[start:stop, j]
            cols = np.where(codes >= 0, mapping[np.maximum(codes, 0)], -1)
            rows = np.flatnonzero(cols >= 0)
            block[rows, cols[rows]] = 1.0
            dummy_cols = np.unique(mapping[mapping >= 0])
            block[:, dummy_cols] -= means[dummy_cols]
        gram += block.T @ block
    std = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    scale = np.max(std) if std.size else 0.0
    ok = std > 1e-12 * max(scale, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = gram / np.outer(std, std)
    corr[~ok, :] = 0.0
    corr[:, ~ok] = 0.0
    return np.clip(corr, -1.0, 1.0)


def _correlation_differences(
    enc_o: EncodedTable, enc_a: EncodedTable, encoder: TableEncoder
) -> tuple[pd.DataFrame, dict[str, Any]]:
    design = _design(enc_o, encoder)
    corr_o = _correlation(enc_o, design)
    corr_a = _correlation(enc_a, design)
    variable = np.array(design.variable_of_column, dtype=object)
    iu, ju = np.triu_indices(design.n_columns, k=1)
    between = variable[iu] != variable[ju]
    iu, ju = iu[between], ju[between]
    diff = np.abs(corr_o[iu, ju] - corr_a[iu, ju])
    summary: dict[str, Any] = {
        "mean_abs_difference": float(diff.mean()) if diff.size else None,
        "max_abs_difference": float(diff.max()) if diff.size else None,
        "n_design_columns": design.n_columns,
        "n_design_pairs": int(diff.size),
        "max_dummies_per_variable": MAX_CORRELATION_MODALITIES,
    }
    frame = pd.DataFrame(
        {
            "variable_1": variable[iu],
            "variable_2": variable[ju],
            "difference": diff,
            "original": corr_o[iu, ju],
            "avatars": corr_a[iu, ju],
        }
    )
    if frame.empty:
        columns = ["variable_1", "variable_2", "max_abs_difference", "mean_abs_difference"]
        return pd.DataFrame(columns=[*columns, "original", "avatars"]), summary
    grouped = frame.groupby(["variable_1", "variable_2"], sort=False)
    pairs = grouped["difference"].agg(max_abs_difference="max", mean_abs_difference="mean")
    pairs = pairs.reset_index()
    # two continuous variables have a single correlation each: report it
    single = grouped.size().reset_index(name="n")
    firsts = grouped[["original", "avatars"]].first().reset_index()
    pairs = pairs.merge(single, on=["variable_1", "variable_2"]).merge(
        firsts, on=["variable_1", "variable_2"]
    )
    continuous = set(enc_o.continuous_names)
    both = pairs["variable_1"].isin(continuous) & pairs["variable_2"].isin(continuous)
    pairs.loc[~both, ["original", "avatars"]] = np.nan
    return pairs.drop(columns="n"), summary
