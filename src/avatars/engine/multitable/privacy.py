"""Privacy metrics of linked avatar tables, per table and computation type (method.md §2.12).

Every computation compares a *view* of the original tables with the same view of the linked
avatar tables, row ``i`` against avatar ``i`` (the *unshuffled* avatars: the avatar tables in
the originals' row order, with their new keys), with :func:`avatars.engine.privacy_metrics`
(hidden rate, local cloaking, DCR, NNDR, ...). The views (our reading of the platform's
``metadata.computation_type``):

- ``standalone``: the table's own columns (individual-level tables);
- ``to_top_enriched``: own columns plus the summaries of its children (number, means,
  modality shares; :mod:`~avatars.engine.multitable.enrichment`), computed on the original
  children for the originals and on the *linked avatar children* for the avatars — what an
  attacker who knows a person and their children's records sees (individual-level tables with
  children);
- ``full_enriched``: own columns, the variables of every parent and the children summaries
  (every table with a parent);
- ``to_bottom_id_propagated``: the rows of a table that is *not* individual level (e.g.
  visits) assessed through the individual they belong to (``reference``): the individual id
  is propagated down the links, and an original row counts as found when its nearest avatar
  row (in the metric space of the table's own columns) belongs to the avatar of its own
  individual. Two rates: per row (``row_hidden_rate``), and per individual
  (``individual_hidden_rate``, the headline): the attacker pools the rows of a person and
  picks the avatar individual that most of their nearest avatar rows belong to (ties: the
  lowest index); the person is hidden when that is not their own avatar.

Non-individual tables also get the per-individual rates on their ``full_enriched`` view.

Series tables (``time_series`` links) are seen through their series *features*
(:class:`~avatars.engine.timeseries.SeriesEncoder`: time frame and FPCA scores or grid values,
one row per individual): the originals' from the encoder fitted on them, the avatars' by
encoding the avatar series on the same grids and projections (what an attacker can compute
from the released series). A series table gets ``to_bottom_id_propagated`` (its features alone,
row ``i`` = individual ``i``) and ``full_enriched`` (its individual table's own columns and its
features), both with its individual table as ``reference``; its individual table's
``to_top_enriched`` view holds the features of all its series tables.
Pseudonymized columns (``TableParameters.pseudonymize``) are in no view: their avatars are
pseudonyms, not synthesized values, so they are not measured as avatarized variables (a
single table's metrics leave them out of the space too).
Results carry ``metadata = {table_name, computation_type, reference}`` as the platform's
privacy files do (``reference``: the individual-level table whose persons are assessed when it
is not the table itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine import ColumnType, PrivacyMetricsResult, privacy_metrics
from avatars.engine.metric_space import MetricSpace
from avatars.engine.multitable.enrichment import (
    ChildrenSummary,
    carries_signal,
    context_types,
    parent_context,
)
from avatars.engine.multitable.schema import (
    Link,
    SchemaError,
    SchemaProblem,
    Table,
    TableGraph,
    TableParameters,
    validate_tables,
)
from avatars.engine.neighbors import build_tree, nearest_lowest_index, tie_tolerance
from avatars.engine.timeseries.features import SeriesEncoder
from avatars.protocol.enums import ComputationType

ProgressCallback = Callable[[float, str], None]


@dataclass
class TablePrivacyMetrics:
    """The privacy of one table under one computation type (and reference individual)."""

    table: str
    computation_type: ComputationType
    reference: str | None  # the individual-level table assessed, when not the table itself
    columns: list[str]  # the view's columns
    metrics: PrivacyMetricsResult
    individual_hidden_rate: float | None = None  # % of the reference's persons hidden
    row_hidden_rate: float | None = None  # % of rows whose nearest avatar row is another person's

    @property
    def hidden_rate(self) -> float | None:
        """The headline: per individual when assessed through a reference, else per row."""
        if self.individual_hidden_rate is not None:
            return self.individual_hidden_rate
        return self.metrics.value("hidden_rate")

    def to_dict(self, *, records_limit: int = 0) -> dict[str, Any]:
        """The platform's privacy document: ``metadata`` then the metric fields."""
        out = self.metrics.to_dict(records_limit=records_limit)
        extra = out.pop("metadata", None)
        metadata = {
            **(extra if isinstance(extra, dict) else {}),
            "table_name": self.table,
            "computation_type": self.computation_type.value,
            "reference": self.reference,
        }
        details: dict[str, Any] = {"columns": self.columns}
        if self.individual_hidden_rate is not None:
            details["individual_hidden_rate"] = self.individual_hidden_rate
            details["row_hidden_rate"] = self.row_hidden_rate
            out["hidden_rate"] = self.individual_hidden_rate
        out["multi_table"] = details
        return {"metadata": metadata, **out}


def _holdouts(graph: TableGraph) -> dict[str, pd.DataFrame]:
    """Each table's ``holdout`` with its own avatarized columns (membership is measured on the
    table alone, its ``standalone`` computation). Refused, naming the table: a holdout of a
    table whose rows are not persons (membership is a person's), or one that lacks columns."""
    problems: list[SchemaProblem] = []
    out: dict[str, pd.DataFrame] = {}
    for name, table in graph.tables.items():
        holdout = table.holdout
        if holdout is None:
            continue
        if not isinstance(holdout, pd.DataFrame) or len(holdout) == 0:
            problems.append(SchemaProblem("holdout must be a DataFrame with rows", name))
            continue
        if not graph.individual_level[name]:
            problems.append(
                SchemaProblem(
                    "a holdout measures the membership of persons: only a table whose rows "
                    "are persons (individual_level) takes one",
                    name,
                )
            )
            continue
        own = graph.own_columns(name)
        missing = [c for c in own if c not in holdout.columns]
        if missing:
            problems.append(
                SchemaProblem(
                    f"the holdout lacks the table's column(s) {', '.join(map(repr, missing))}",
                    name,
                )
            )
            continue
        out[name] = holdout[own].reset_index(drop=True)
    if problems:
        raise SchemaError(problems)
    return out


def _attacker(
    params: TableParameters, columns: Sequence[str], excluded: Sequence[str]
) -> dict[str, Any]:
    """The attacker's knowledge of a table (``known_variables``, ``target``), for a
    computation whose compared columns hold it all (they are the table's own columns: every
    computation of its rows has them unless excluded)."""
    known = list(params.known_variables or ())
    wanted = known + ([params.target] if params.target is not None else [])
    if not known or any(c not in columns or c in excluded for c in wanted):
        return {}
    return {
        "known_variables": known,
        "target": params.target,
        "quantile_threshold": params.quantile_threshold,
    }


def privacy_metrics_tables(
    tables: Sequence[Table],
    links: Sequence[Link],
    unshuffled_avatars: Mapping[str, pd.DataFrame],
    *,
    seed: int | None = None,
    computation_types: Sequence[ComputationType | str] | None = None,
    progress: ProgressCallback | None = None,
) -> list[TablePrivacyMetrics]:
    """Privacy of linked avatar tables (module docstring), in table order then type.

    Parameters
    ----------
    tables, links
        The original schema, as given to :func:`avatarize_tables` (each table's ``ncp``,
        types, weights, imputation and exclusions are used for its metrics).
    unshuffled_avatars
        ``{table: avatars}`` in the originals' row order with the avatar keys
        (``MultiTableResult.unshuffled()``; SENSITIVE).
    seed
        Seed of the metrics' random steps (None means 0).
    computation_types
        Restrict to these types (default: all that apply).
    """
    report = progress or (lambda fraction, phase: None)
    graph = validate_tables(tables, links)
    wanted = {ComputationType(str(getattr(t, "value", t))) for t in computation_types or []}
    avatars = _check_avatars(graph, unshuffled_avatars)
    series = _series_features(graph, unshuffled_avatars, avatars)
    originals = {name: t.data.reset_index(drop=True) for name, t in graph.tables.items()}
    summaries = {
        (link.child, link.foreign_key): ChildrenSummary.fit(graph, link) for link in graph.links
    }
    holdouts = _holdouts(graph)
    plan = _computations(graph, wanted)
    results: list[TablePrivacyMetrics] = []
    for position, (name, ctype) in enumerate(plan):
        report(position / max(1, len(plan)), f"{name}: {ctype.value}")
        if name in graph.series:
            view = _View.of_series(graph, name, ctype, originals, avatars, series)
            owner = graph.series[name].link.parent
        else:
            view = _View.build(graph, name, ctype, originals, avatars, summaries, series)
            owner = name
        params = graph.tables[owner].parameters
        excluded = [c for c in params.exclude_variables if c in view.original.columns]
        only_series = name in graph.series and ctype != ComputationType.full_enriched
        common: dict[str, Any] = {
            # the individual table's ncp is for its own columns; a series' features alone may
            # have fewer dimensions: their default (min(5, rank))
            "ncp": None if only_series else params.ncp,
            "column_types": view.types,
            "column_weights": {
                c: w
                for c, w in {**view.weights, **(params.column_weights or {})}.items()
                if c not in excluded and c in view.original.columns
            },
            "imputation": params.imputation,
            "exclude_variables": excluded,
        }
        # the metrics' own arguments (the metric space below takes only the common ones)
        measured: dict[str, Any] = {}
        if name not in graph.series:
            declared = [c for c in params.not_identifiers if c in view.original.columns]
            measured = {
                **_attacker(params, view.original.columns, excluded),
                "not_identifiers": declared or None,
            }
            if ctype == ComputationType.standalone and name in holdouts:
                measured["holdout"] = holdouts[name][view.columns]
        metrics = privacy_metrics(view.original, view.avatars, seed=seed, **common, **measured)
        if name in graph.series:
            results.append(TablePrivacyMetrics(name, ctype, owner, view.columns, metrics))
            continue
        references = graph.individual_ancestors(name) if not graph.individual_level[name] else []
        if not references:
            results.append(TablePrivacyMetrics(name, ctype, None, view.columns, metrics))
            continue
        space = MetricSpace.fit(view.original, view.avatars, seed=seed, **common)
        atol = tie_tolerance(space.original_coordinates, space.avatar_coordinates)
        nearest, _ = nearest_lowest_index(
            build_tree(space.avatar_coordinates), space.original_coordinates, atol=atol
        )
        for reference, path in references:
            own_original = _owners(path, originals)
            own_avatar = _owners(path, avatars)
            individual, row = _hidden_through(own_original, own_avatar[nearest])
            results.append(
                TablePrivacyMetrics(name, ctype, reference, view.columns, metrics, individual, row)
            )
    report(1.0, "done")
    return results


# =====================================================================================
# views
# =====================================================================================
def _computations(
    graph: TableGraph, wanted: set[ComputationType]
) -> list[tuple[str, ComputationType]]:
    plan: list[tuple[str, ComputationType]] = []
    for name in graph.order:
        has_parent = bool(graph.parent_links(name))
        has_children = bool(graph.child_links(name)) or bool(graph.series_of(name))
        if graph.individual_level[name]:
            types = [ComputationType.standalone]
            if has_children:
                types.append(ComputationType.to_top_enriched)
            if has_parent:
                types.append(ComputationType.full_enriched)
        else:
            types = [ComputationType.to_bottom_id_propagated, ComputationType.full_enriched]
        plan.extend((name, t) for t in types if not wanted or t in wanted)
        for series in graph.series_of(name):
            types = [ComputationType.to_bottom_id_propagated, ComputationType.full_enriched]
            plan.extend((series.name, t) for t in types if not wanted or t in wanted)
    return plan


@dataclass
class _SeriesFeatures:
    """A series table as features: the originals', the avatars' (same rows: individual i of
    the individual table and its unshuffled avatar), their types and weights."""

    original: pd.DataFrame
    avatars: pd.DataFrame
    types: dict[str, ColumnType]
    weights: dict[str, float]


def _series_features(
    graph: TableGraph,
    unshuffled: Mapping[str, pd.DataFrame],
    avatars: dict[str, pd.DataFrame],
) -> dict[str, _SeriesFeatures]:
    """Every series table's features (module docstring)."""
    problems: list[SchemaProblem] = []
    out: dict[str, _SeriesFeatures] = {}
    for parent in sorted({s.link.parent for s in graph.series.values()}):
        members = graph.series_of(parent)
        frames: dict[str, pd.DataFrame] = {}
        for series in members:
            frame = unshuffled.get(series.name) if isinstance(unshuffled, Mapping) else None
            if not isinstance(frame, pd.DataFrame):
                problems.append(SchemaProblem("no avatar table given for it", table=series.name))
                continue
            missing = [c for c in series.table.data.columns if c not in frame.columns]
            if missing:
                problems.append(
                    SchemaProblem(f"the avatars lack column(s) {missing}", table=series.name)
                )
                continue
            frames[series.name] = frame
        if len(frames) < len(members):
            continue
        key = graph.primary_key(parent)
        encoder = SeriesEncoder.fit(
            graph.tables[parent].data[key],
            [series.spec() for series in members],
            {series.name: series.parameters.to_dict() for series in members},
        )
        encoded = encoder.encode(frames, avatars[parent][key])
        for series in members:
            fitted = encoder.table(series.name)
            scores = [c for names in fitted.feature_columns for c in names]
            columns = [*fitted.frame_columns, *scores]
            out[series.name] = _SeriesFeatures(
                encoder.features[columns].reset_index(drop=True),
                encoded[columns].reset_index(drop=True),
                {c: ColumnType(encoder.column_types[c]) for c in columns},
                {c: encoder.column_weights[c] for c in columns if c in encoder.column_weights},
            )
    if problems:
        raise SchemaError(problems)
    return out


@dataclass
class _View:
    original: pd.DataFrame
    avatars: pd.DataFrame
    types: dict[str, ColumnType]
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.original.columns]

    @classmethod
    def build(
        cls,
        graph: TableGraph,
        name: str,
        ctype: ComputationType,
        originals: dict[str, pd.DataFrame],
        avatars: dict[str, pd.DataFrame],
        summaries: dict[tuple[str, str], ChildrenSummary],
        series: dict[str, _SeriesFeatures],
    ) -> _View:
        own = graph.own_columns(name)
        weights: dict[str, float] = {}
        types: dict[str, ColumnType] = dict(graph.column_types[name])
        parts_o = [originals[name][own]]
        parts_a = [avatars[name][own]]
        with_parents = ctype == ComputationType.full_enriched
        with_children = ctype in (ComputationType.to_top_enriched, ComputationType.full_enriched)
        if with_parents:
            for link in graph.parent_links(name):
                parts_o.append(parent_context(graph, link, originals))
                parts_a.append(parent_context(graph, link, avatars))
                types.update(context_types(graph, link))
        if with_children:
            pk = graph.primary_key(name)
            for link in graph.child_links(name):
                summary = summaries[(link.child, link.foreign_key)]
                parts_o.append(summary.apply(originals[name][pk], originals[link.child]))
                parts_a.append(summary.apply(avatars[name][pk], avatars[link.child]))
                types.update(dict.fromkeys(summary.names(), ColumnType.FLOAT))
            for member in graph.series_of(name):
                features = series[member.name]
                parts_o.append(features.original)
                parts_a.append(features.avatars)
                types.update(features.types)
                weights.update(features.weights)
        original = pd.concat([p.reset_index(drop=True) for p in parts_o], axis=1)
        avatar = pd.concat([p.reset_index(drop=True) for p in parts_a], axis=1)
        enrichment = [c for c in original.columns if c not in own]
        keep = own + [c for c in enrichment if carries_signal(original[c])]
        return cls(
            original[keep],
            avatar[keep],
            {c: t for c, t in types.items() if c in keep},
            {c: w for c, w in weights.items() if c in keep},
        )

    @classmethod
    def of_series(
        cls,
        graph: TableGraph,
        name: str,
        ctype: ComputationType,
        originals: dict[str, pd.DataFrame],
        avatars: dict[str, pd.DataFrame],
        series: dict[str, _SeriesFeatures],
    ) -> _View:
        """A series table's view: its features (``to_bottom_id_propagated``), with its
        individual table's own columns before them (``full_enriched``)."""
        features = series[name]
        parts_o, parts_a = [features.original], [features.avatars]
        types = dict(features.types)
        if ctype == ComputationType.full_enriched:
            parent = graph.series[name].link.parent
            own = graph.own_columns(parent)
            parts_o.insert(0, originals[parent][own])
            parts_a.insert(0, avatars[parent][own])
            types.update(graph.column_types[parent])
        original = pd.concat([p.reset_index(drop=True) for p in parts_o], axis=1)
        avatar = pd.concat([p.reset_index(drop=True) for p in parts_a], axis=1)
        keep = [
            c for c in original.columns if c not in features.types or carries_signal(original[c])
        ]
        return cls(
            original[keep],
            avatar[keep],
            {c: t for c, t in types.items() if c in keep},
            {c: w for c, w in features.weights.items() if c in keep},
        )


def _owners(path: list[Link], tables: Mapping[str, pd.DataFrame]) -> np.ndarray:
    """For each row of the last table of ``path``, the row of the first table (the
    individual) it belongs to, following the foreign keys up."""
    rows: np.ndarray | None = None
    for link in reversed(path):
        parent = pd.Index(tables[link.parent][link.parent_key])
        child_keys = tables[link.child][link.foreign_key]
        up = parent.get_indexer(child_keys)
        rows = up if rows is None else up[rows]
    assert rows is not None
    return rows


def _hidden_through(owner: np.ndarray, found: np.ndarray) -> tuple[float, float]:
    """``(individual hidden rate, row hidden rate)`` in %: ``owner[j]`` is row j's person,
    ``found[j]`` the person of its nearest avatar row (same numbering: the unshuffled avatar
    of person i is avatar row i)."""
    row = 100.0 * float(np.mean(found != owner))
    votes = pd.DataFrame({"person": owner, "guess": found})
    counts = votes.groupby(["person", "guess"]).size().rename("n").reset_index()
    counts = counts.sort_values(["person", "n", "guess"], ascending=[True, False, True])
    guess = counts.drop_duplicates("person")
    individual = 100.0 * float(np.mean(guess["guess"].to_numpy() != guess["person"].to_numpy()))
    return individual, row


# =====================================================================================
# input checks
# =====================================================================================
def _check_avatars(
    graph: TableGraph, avatars: Mapping[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    problems: list[SchemaProblem] = []
    out: dict[str, pd.DataFrame] = {}
    for name, table in graph.tables.items():
        frame = avatars.get(name) if isinstance(avatars, Mapping) else None
        if not isinstance(frame, pd.DataFrame):
            problems.append(SchemaProblem("no avatar table given for it", table=name))
            continue
        missing = [c for c in table.data.columns if c not in frame.columns]
        if missing:
            problems.append(SchemaProblem(f"the avatars lack column(s) {missing}", table=name))
            continue
        if len(frame) != len(table.data):
            problems.append(
                SchemaProblem(
                    f"{len(frame)} avatar rows for {len(table.data)} original rows: privacy "
                    "metrics need the unshuffled avatars, one per original row",
                    table=name,
                )
            )
            continue
        key = table.primary_key  # None: an independent table without one
        if key is not None and (frame[key].isna().any() or frame[key].duplicated().any()):
            problems.append(
                SchemaProblem("the avatar primary key is missing or not unique", name, key)
            )
            continue
        out[name] = frame.reset_index(drop=True)
    if not problems:
        for link in graph.links:
            parent_keys = pd.Index(out[link.parent][link.parent_key])
            orphans = int((parent_keys.get_indexer(out[link.child][link.foreign_key]) < 0).sum())
            if orphans:
                problems.append(
                    SchemaProblem(
                        f"{orphans} avatar row(s) point to no avatar row of '{link.parent}'",
                        table=link.child,
                        column=link.foreign_key,
                    )
                )
    if problems:
        raise SchemaError(problems)
    return out
