"""Signal metrics of linked avatar tables: per table, and per link the relations between tables.

- Per table: :func:`avatars.engine.signal_metrics` on the table's own columns (keys and
  pseudonymized columns left out: new tokens, no signal of the original values).
- Per link ``parent → child``:

  * **children per parent**: the distribution of the number of children of each parent row,
    original against avatars, compared by the two-sample Kolmogorov-Smirnov statistic
    ``KS = max_x |F_orig(x) − F_avatar(x)|`` (``scipy.stats.ks_2samp``; 0 = same
    distribution), with both distributions' mean, median, maximum and share of parents
    without children;
  * **parent-children correlations**: Pearson correlations between each variable of the
    parent (numeric as is, booleans 0/1, categoricals one dummy per frequent modality) and
    each summary of its children (``log(1 + number)``, means of numeric variables, shares of
    modalities; :mod:`~avatars.engine.multitable.enrichment`), over the parent rows, in the
    originals and in the linked avatars; reported: each pair's correlations and
    ``|ρ_orig − ρ_avatar|``, and their mean (``correlation_difference_mean``).

- Per series table (``time_series`` link):
  :func:`avatars.engine.timeseries.series_signal_metrics` (pointwise and density Hellinger,
  mean-curve and spread errors, autocorrelation) on the grid of its alignment.

The avatar tables may be shuffled: only their keys link them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from avatars.engine import ColumnType, SignalMetricsResult, signal_metrics
from avatars.engine.multitable.enrichment import ChildrenSummary
from avatars.engine.multitable.schema import (
    Link,
    SchemaError,
    SchemaProblem,
    SeriesLink,
    Table,
    TableGraph,
    validate_tables,
)
from avatars.engine.timeseries.alignment import grid_length
from avatars.engine.timeseries.metrics import SeriesSignalResult, series_signal_metrics

ProgressCallback = Callable[[float, str], None]

#: Dummies per categorical parent variable in the parent-children correlations.
MAX_PARENT_MODALITIES = 5


@dataclass
class LinkSignalMetrics:
    """How one link's relation is kept."""

    link: Link
    children_per_parent_ks: float
    children_per_parent: dict[str, dict[str, float]]  # {"original"|"avatars": summary}
    correlations: pd.DataFrame  # parent_variable, children_summary, original, avatars, abs_diff
    correlation_difference_mean: float | None

    def to_dict(self) -> dict[str, Any]:
        pairs = self.correlations.replace({np.nan: None}).to_dict(orient="records")
        return {
            "parent": self.link.parent,
            "child": self.link.child,
            "foreign_key": self.link.foreign_key,
            "method": self.link.method.value,
            "children_per_parent_ks": self.children_per_parent_ks,
            "children_per_parent": self.children_per_parent,
            "correlation_difference_mean": self.correlation_difference_mean,
            "correlations": pairs,
        }


@dataclass
class MultiTableSignalMetrics:
    """Per-table signal metrics and per-link relational metrics."""

    tables: dict[str, SignalMetricsResult]
    links: list[LinkSignalMetrics]
    series: dict[str, SeriesSignalResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tables": {name: result.to_dict() for name, result in self.tables.items()},
            "links": [link.to_dict() for link in self.links],
            "series": {name: result.to_dict() for name, result in self.series.items()},
        }


def signal_metrics_tables(
    tables: Sequence[Table],
    links: Sequence[Link],
    avatars: Mapping[str, pd.DataFrame],
    *,
    progress: ProgressCallback | None = None,
) -> MultiTableSignalMetrics:
    """Signal metrics of linked avatar tables (module docstring).

    ``avatars``: ``{table: avatar table}`` with the avatar keys, in any row order
    (``MultiTableResult.avatars()``).
    """
    report = progress or (lambda fraction, phase: None)
    graph = validate_tables(tables, links)
    avatar_tables = _check_avatars(graph, avatars)
    per_table: dict[str, SignalMetricsResult] = {}
    for position, name in enumerate(graph.order):
        report(0.8 * position / len(graph.order), f"{name}: signal")
        own = graph.own_columns(name)
        per_table[name] = signal_metrics(
            graph.tables[name].data[own].reset_index(drop=True),
            avatar_tables[name][own].reset_index(drop=True),
            column_types=graph.column_types[name],
        )
    relations: list[LinkSignalMetrics] = []
    for link in graph.links:
        report(0.8 + 0.1 * len(relations) / max(1, len(graph.links)), "relations")
        relations.append(_link_metrics(graph, link, avatar_tables))
    per_series: dict[str, SeriesSignalResult] = {}
    for name, series in graph.series.items():
        report(0.9, f"{name}: series signal")
        per_series[name] = series_signal_metrics(
            series.spec(), avatar_tables[name], nb_points=series_grid(series)
        )
    report(1.0, "done")
    return MultiTableSignalMetrics(per_table, relations, per_series)


def series_grid(series: SeriesLink) -> int:
    """The number of grid points of a series table's alignment (its parameters, its
    lengths)."""
    lengths = series.table.data[series.link.foreign_key].value_counts().to_numpy()
    params = series.parameters
    return grid_length(lengths, params.method, params.nb_points)[0]


def children_per_parent(parent: pd.DataFrame, child: pd.DataFrame, link: Link) -> np.ndarray:
    """The number of ``child`` rows of each ``parent`` row (parent order)."""
    position = pd.Index(parent[link.parent_key]).get_indexer(child[link.foreign_key])
    return np.bincount(position[position >= 0], minlength=len(parent))


def _link_metrics(
    graph: TableGraph, link: Link, avatars: dict[str, pd.DataFrame]
) -> LinkSignalMetrics:
    parent_o, child_o = graph.tables[link.parent].data, graph.tables[link.child].data
    parent_a, child_a = avatars[link.parent], avatars[link.child]
    counts_o = children_per_parent(parent_o, child_o, link)
    counts_a = children_per_parent(parent_a, child_a, link)
    ks = float(ks_2samp(counts_o, counts_a).statistic)
    summary = ChildrenSummary.fit(graph, link)
    design = _ParentDesign.fit(graph, link.parent)
    corr_o = _cross_correlations(
        design.apply(parent_o), summary.apply(parent_o[link.parent_key], child_o)
    )
    corr_a = _cross_correlations(
        design.apply(parent_a), summary.apply(parent_a[link.parent_key], child_a)
    )
    pairs = corr_o.stack(future_stack=True).rename("original").to_frame()
    pairs["avatars"] = corr_a.stack(future_stack=True)
    pairs.index.names = ["parent_variable", "children_summary"]
    pairs = pairs.reset_index()
    pairs["abs_difference"] = (pairs["original"] - pairs["avatars"]).abs()
    differences = pairs["abs_difference"].dropna()
    return LinkSignalMetrics(
        link=link,
        children_per_parent_ks=ks,
        children_per_parent={"original": _describe(counts_o), "avatars": _describe(counts_a)},
        correlations=pairs,
        correlation_difference_mean=float(differences.mean()) if len(differences) else None,
    )


@dataclass
class _ParentDesign:
    """The parent's modelled variables as numbers (fitted on the original parent table)."""

    numeric: list[str]
    dummies: list[tuple[str, object]]

    @classmethod
    def fit(cls, graph: TableGraph, name: str) -> _ParentDesign:
        data = graph.tables[name].data
        numeric: list[str] = []
        dummies: list[tuple[str, object]] = []
        for column in graph.modelled_columns(name):
            ctype = graph.column_types[name][column]
            if ctype in (ColumnType.INT, ColumnType.FLOAT, ColumnType.BOOL):
                numeric.append(column)
            elif ctype == ColumnType.CATEGORY:
                counts = data[column].value_counts(dropna=True)
                ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
                kept = ranked[: min(MAX_PARENT_MODALITIES, max(0, len(ranked) - 1))]
                dummies.extend((column, modality) for modality, _ in kept)
        return cls(numeric, dummies)

    def apply(self, parent: pd.DataFrame) -> pd.DataFrame:
        columns: dict[str, np.ndarray] = {}
        for column in self.numeric:
            columns[column] = pd.to_numeric(parent[column], errors="coerce").to_numpy(
                dtype=np.float64
            )
        for column, modality in self.dummies:
            series = parent[column]
            columns[f"{column}={modality}"] = np.where(
                series.isna().to_numpy(), np.nan, (series == modality).to_numpy(dtype=np.float64)
            )
        return pd.DataFrame(columns, index=range(len(parent)))


def _cross_correlations(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation of every column of ``left`` with every column of ``right`` (rows
    aligned; pairwise complete observations; NaN when a side is constant)."""
    out = pd.DataFrame(index=left.columns, columns=right.columns, dtype=np.float64)
    for a in left.columns:
        x = left[a].to_numpy(dtype=np.float64)
        for b in right.columns:
            y = right[b].to_numpy(dtype=np.float64)
            seen = ~(np.isnan(x) | np.isnan(y))
            if seen.sum() < 3:
                continue
            xs, ys = x[seen], y[seen]
            if xs.std() == 0 or ys.std() == 0:
                continue
            out.loc[a, b] = float(np.corrcoef(xs, ys)[0, 1])
    return out


def _describe(counts: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(np.mean(counts)),
        "median": float(np.median(counts)),
        "max": float(np.max(counts)),
        "share_without_children": float(np.mean(counts == 0)),
    }


def _check_avatars(
    graph: TableGraph, avatars: Mapping[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    problems: list[SchemaProblem] = []
    out: dict[str, pd.DataFrame] = {}
    every = {**graph.tables, **{name: s.table for name, s in graph.series.items()}}
    for name, table in every.items():
        frame = avatars.get(name) if isinstance(avatars, Mapping) else None
        if not isinstance(frame, pd.DataFrame):
            problems.append(SchemaProblem("no avatar table given for it", table=name))
            continue
        missing = [c for c in table.data.columns if c not in frame.columns]
        if missing:
            problems.append(SchemaProblem(f"the avatars lack column(s) {missing}", table=name))
            continue
        out[name] = frame.reset_index(drop=True)
    if problems:
        raise SchemaError(problems)
    return out
