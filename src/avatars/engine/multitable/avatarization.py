"""``avatarize_tables``: linked tables in, linked avatar tables out (design: the package docstring).

1. validate the tables and links (:func:`~avatars.engine.multitable.schema.validate_tables`);
2. enrich every table from the originals: parents with summaries of their children, children
   with their parents' variables (:mod:`~avatars.engine.multitable.enrichment`), then check
   every enriched table as the avatarization will — all before any avatar is built;
3. avatarize every enriched table on its own with :func:`avatars.engine.avatarize` (its k, ncp,
   types, weights, imputation and exclusions);
4. for each link, attach the avatar children to the avatar parents: every avatar parent gets
   its avatar number of children (apportioned to the number of avatar children), and the
   children are assigned by the link's method in the parent's projection, where an avatar
   parent is its own variables and an avatar child is the parent variables it was avatarized
   with (:mod:`~avatars.engine.multitable.assignment`);
5. give every avatar row a new pseudonymous primary key (:mod:`~avatars.engine.multitable.keys`),
   set the foreign keys from the assignment, deal each pseudonymized column's pseudonyms to
   the avatars (:func:`table_pseudonyms`, :func:`deal`: a random derangement, so that no
   pseudonym rides on the avatar of its own original row), and shuffle every table.

Pseudonymized columns (``TableParameters.pseudonymize``) are not avatarized: they are not own
columns (:meth:`~avatars.engine.multitable.schema.TableGraph.own_columns`), so steps 2-4 and
the metrics never see them; ``HASH_SHA256`` needs ``pseudonymization_secret`` (refused before
any work without it, naming table and column), which no result or metadata holds.

An *independent* table (no link uses it, no series table) has no enrichment and no link: it is
the single-table avatarization of its own rows, then step 5 (new keys if it has a primary key,
which is optional for it; shuffled rows).

Series tables (``time_series`` links, :mod:`avatars.engine.timeseries`) take another road: their
series are aligned and projected (:class:`~avatars.engine.timeseries.SeriesEncoder`, fitted in
step 2, before any avatar is built), the features join their individual table's enriched table
in step 3 (with the encoder's types and weights; the user's weights win), and the avatar series
are rebuilt from each avatar individual's features in step 5, under that avatar's new key. A
series table's rows are grouped by avatar individual (time order kept), the individuals in an
order of its own; its row identifier, if any, gets new pseudonymous values.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars import __version__
from avatars.engine import (
    AvatarizationResult,
    AvatarsEngineError,
    ColumnType,
    InvalidParameterError,
    avatarize,
)
from avatars.engine.metric_space import MetricSpace
from avatars.engine.multitable.advice import advise_tables
from avatars.engine.multitable.assignment import (
    capacities,
    greedy_assignment,
    linear_sum_assignment,
)
from avatars.engine.multitable.enrichment import (
    ChildrenSummary,
    carries_signal,
    context_types,
    count_column,
    parent_context,
)
from avatars.engine.multitable.keys import pseudonymous_keys
from avatars.engine.multitable.schema import (
    Link,
    SchemaError,
    SchemaProblem,
    Table,
    TableGraph,
    validate_tables,
)
from avatars.engine.preprocessing import TableEncoder
from avatars.engine.pseudonymization import (
    PseudonymizationSpec,
    derangement,
    pseudonymize_values,
)
from avatars.engine.timeseries.data import SeriesDataError
from avatars.engine.timeseries.features import SeriesEncoder
from avatars.protocol.enums import ExcludeVariablesMethod, LinkMethod

ProgressCallback = Callable[[float, str], None]

#: Warning carried by a result whose link keeps the original parent-child pairing.
SENSITIVE_LINK_WARNING = (
    "link {link} uses sensitive_original_order_assignment: the avatar tables keep the original "
    "association between parent and child rows (HIGH PRIVACY BREACH: the family structure of "
    "every individual is released as it is)"
)

#: Original fan-outs are released as means of this many (or the parent's k if smaller)
#: consecutive sorted values (assignment.capacities): 3 to 5 is the usual size in statistical
#: disclosure control; 5 keeps the distribution (KS 0.04-0.06 on 50 doctors; groups of 10: 0.12).
MICROAGGREGATION_GROUP = 5

#: Warning carried by a result whose series table was given avatarization parameters.
SERIES_PARAMETERS_WARNING = (
    "table '{table}' is a series table: its series are avatarized with its individual table "
    "'{parent}' (whose k, ncp, weights and imputation apply); its own {names} are not used"
)

# purposes of the seed streams (a stream per table or link and purpose; new ones appended)
_AVATARIZE, _KEYS, _SHUFFLE, _ASSIGN, _SPACE, _SERIES, _PSEUDONYMS, _DEAL = range(8)


# =====================================================================================
# results
# =====================================================================================
@dataclass
class AvatarTable:
    """The avatars of one table.

    ``avatars`` is the deliverable: the original columns, new primary and foreign keys, rows in
    random order. ``unshuffled`` has the same rows in the originals' order (row ``i`` is the
    avatar of original row ``i``, with its new keys): SENSITIVE, only for privacy metrics.
    ``avatarization`` is the single-table run on the enriched table (its frames hold the
    enrichment columns and no keys).

    For a series table, ``avatars`` holds the avatar series, grouped by avatar individual
    (individuals in a random order, each one's points in time order), and ``unshuffled`` the
    same rows with the individuals in their individual table's original order (SENSITIVE);
    ``avatarization`` is its individual table's run.
    """

    name: str
    avatars: pd.DataFrame
    unshuffled: pd.DataFrame
    avatarization: AvatarizationResult
    enrichment_columns: list[str]
    parameters: dict[str, Any]


@dataclass
class LinkResult:
    """How the avatar children of one link were attached to the avatar parents."""

    link: Link
    solver: str  # dense | blockwise | greedy | original_order | random
    keeps_original_association: bool
    n_parents: int
    n_children: int
    mean_distance: float | None  # in the parent's projection; None for original_order
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "parent": self.link.parent,
            "parent_key": self.link.parent_key,
            "child": self.link.child,
            "foreign_key": self.link.foreign_key,
            "method": self.link.method.value,
            "solver": self.solver,
            "keeps_original_association": self.keeps_original_association,
            "n_parents": self.n_parents,
            "n_children": self.n_children,
            "mean_distance": self.mean_distance,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class MultiTableResult:
    """What :func:`avatarize_tables` returns: one :class:`AvatarTable` per table, one
    :class:`LinkResult` per link, warnings (e.g. a sensitive link) and metadata."""

    tables: dict[str, AvatarTable]
    links: list[LinkResult]
    warnings: list[str]
    seed: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def keeps_original_association(self) -> bool:
        """True when a link kept the original parent-child pairing (SENSITIVE)."""
        return any(link.keeps_original_association for link in self.links)

    def avatars(self) -> dict[str, pd.DataFrame]:
        """The deliverable tables, by name."""
        return {name: table.avatars for name, table in self.tables.items()}

    def unshuffled(self) -> dict[str, pd.DataFrame]:
        """The avatar tables in the originals' row order (SENSITIVE), by name."""
        return {name: table.unshuffled for name, table in self.tables.items()}


# =====================================================================================
# the entry point
# =====================================================================================
def avatarize_tables(
    tables: Sequence[Table],
    links: Sequence[Link],
    *,
    seed: int | None = None,
    summarize_children: bool = True,
    pseudonymization_secret: bytes | str | None = None,
    progress: ProgressCallback | None = None,
) -> MultiTableResult:
    """Avatarize linked tables (see the module and package docstrings).

    Parameters
    ----------
    tables, links
        The schema: :class:`~avatars.engine.multitable.schema.Table` (data, primary key,
        ``individual_level``, parameters) and
        :class:`~avatars.engine.multitable.schema.Link` (``parent.parent_key →
        child.foreign_key`` and its method). Everything is validated before any work.
    seed
        Makes the run reproducible byte for byte; drawn (and reported) when None. Each table
        and link gets its own stream, derived from the seed and its name, so the result does
        not depend on the order of ``tables`` and ``links``.
    summarize_children
        Enrich parents with the means and modality shares of their children's variables
        (always with their number of children). Off: parents see only the counts.
    pseudonymization_secret
        The key of the ``HASH_SHA256`` pseudonyms (HMAC-SHA256) of the tables'
        ``TableParameters.pseudonymize``; required when a column uses it. Never reported in
        the result or its metadata.
    progress
        Called as ``progress(fraction, phase)``; it may raise to abort the run.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, phase: None)
    graph = validate_tables(tables, links)
    _check_secret(graph, pseudonymization_secret)
    seed = _check_seed(seed)
    unset = [name for name in graph.order if graph.tables[name].parameters.k is None]
    advice = advise_tables(tables, links, graph=graph, names=unset)
    encoders = _fit_series(graph)
    summaries = {
        (link.child, link.foreign_key): ChildrenSummary.fit(
            graph, link, summaries=summarize_children
        )
        for link in graph.links
    }
    originals = {name: table.data for name, table in graph.tables.items()}
    plans = {
        name: _plan(graph, name, originals, summaries, advice.get(name, {}), encoders.get(name))
        for name in graph.order
    }
    _precheck(plans)
    warnings = _warnings(graph)

    timings: dict[str, float] = {}
    runs = _avatarize_each(graph, plans, seed, report, timings)

    # -- attach children to parents ----------------------------------------------------
    report(0.85, "linking")
    assignments: dict[tuple[str, str], np.ndarray] = {}
    link_results: list[LinkResult] = []
    for position, link in enumerate(graph.links):
        parents, result = _attach(graph, link, plans, runs, seed)
        assignments[(link.child, link.foreign_key)] = parents
        link_results.append(result)
        timings[f"link:{link.describe()}"] = result.seconds
        report(0.85 + 0.1 * (position + 1) / max(1, len(graph.links)), "linking")

    report(0.95, "keys")
    out = _assemble(graph, plans, runs, assignments, seed, pseudonymization_secret)
    series_started = time.perf_counter()
    out.update(_assemble_series(graph, encoders, runs, out, seed))
    for parent in encoders:
        for series in graph.series_of(parent):
            link_results.append(
                LinkResult(
                    series.link,
                    "time_series",
                    False,
                    len(graph.tables[parent].data),
                    len(series.table.data),
                    None,
                    time.perf_counter() - series_started,
                )
            )
    timings["series"] = time.perf_counter() - series_started
    timings["total"] = time.perf_counter() - started
    report(1.0, "done")
    metadata = {
        "engine": "avatars",
        "engine_version": __version__,
        "method": "avatar_multi_table",
        "seed": seed,
        "order": list(graph.order),
        "individual_level": graph.individual_level,
        "series": {name: series.link.parent for name, series in graph.series.items()},
        "summarize_children": summarize_children,
        "tables": {name: out[name].parameters for name in [*graph.order, *graph.series]},
        "links": [r.to_dict() for r in link_results],
        "keeps_original_association": any(r.keeps_original_association for r in link_results),
        "pseudonymized": {name: graph.pseudonymized_columns(name) for name in graph.pseudonymized},
        "warnings": warnings,
        "timings_seconds": {key: round(value, 4) for key, value in timings.items()},
    }
    return MultiTableResult(
        tables=out, links=link_results, warnings=warnings, seed=seed, metadata=metadata
    )


def _avatarize_each(
    graph: TableGraph,
    plans: dict[str, _Plan],
    seed: int,
    report: ProgressCallback,
    timings: dict[str, float],
) -> dict[str, AvatarizationResult]:
    """One single-table avatarization per enriched table (85 % of the progress, by rows)."""
    total_rows = sum(len(t.data) for t in graph.tables.values())
    done = 0.0
    runs: dict[str, AvatarizationResult] = {}
    for name in graph.order:
        plan = plans[name]
        params = graph.tables[name].parameters
        share = len(plan.data) / total_rows

        def table_progress(
            fraction: float, phase: str, _o: float = done, _s: float = share, _n: str = name
        ) -> None:
            report(0.85 * (_o + _s * fraction), f"{_n}: {phase}")

        t = time.perf_counter()
        runs[name] = avatarize(
            plan.data,
            k=plan.k,
            ncp=plan.ncp,
            seed=_stream_seed(seed, name, _AVATARIZE),
            column_types=plan.types,
            column_weights=plan.weights,
            imputation=params.imputation,
            exclude_variables=list(params.exclude_variables),
            exclude_method=params.exclude_method,
            categorical_assignment=params.categorical_assignment,
            not_identifiers=[c for c in params.not_identifiers if c in plan.data.columns],
            progress=table_progress,
        )
        timings[f"avatarize:{name}"] = time.perf_counter() - t
        done += share
    return runs


def _assemble(
    graph: TableGraph,
    plans: dict[str, _Plan],
    runs: dict[str, AvatarizationResult],
    assignments: dict[tuple[str, str], np.ndarray],
    seed: int,
    secret: bytes | str | None = None,
) -> dict[str, AvatarTable]:
    """New keys, foreign keys from the assignments, pseudonyms, the original columns, shuffled
    rows (an independent table without primary key: its avatars' own columns, shuffled)."""
    forbidden = _original_key_values(graph)
    new_keys = {
        name: pseudonymous_keys(len(graph.tables[name].data), _rng(seed, name, _KEYS), forbidden)
        for name in graph.order
    }
    out: dict[str, AvatarTable] = {}
    for name in graph.order:
        table = graph.tables[name]
        unshuffled = runs[name].unshuffled[graph.own_columns(name)].copy()
        if table.primary_key is not None:  # optional for an independent table
            unshuffled[table.primary_key] = new_keys[name]
        for link in graph.parent_links(name):
            parent_rows = assignments[(link.child, link.foreign_key)]
            unshuffled[link.foreign_key] = new_keys[link.parent][parent_rows]
        for column, spec in graph.pseudonymized.get(name, {}).items():
            pseudonyms = table_pseudonyms(table.data[column], spec, seed, name, secret)
            unshuffled[column] = deal(pseudonyms, seed, name, column)
        unshuffled = unshuffled[[str(c) for c in table.data.columns]]
        permutation = _rng(seed, name, _SHUFFLE).permutation(len(unshuffled))
        out[name] = AvatarTable(
            name=name,
            avatars=unshuffled.iloc[permutation].reset_index(drop=True),
            unshuffled=unshuffled,
            avatarization=runs[name],
            enrichment_columns=plans[name].enrichment,
            parameters={
                "n_rows": len(table.data),
                "k": plans[name].k,
                "k_advised": table.parameters.k is None,
                "ncp": runs[name].metadata["parameters"]["ncp"],
                "enrichment_columns": plans[name].enrichment,
                "pseudonymized": {
                    c: spec.to_dict() for c, spec in graph.pseudonymized.get(name, {}).items()
                },
            },
        )
    return out


# =====================================================================================
# pseudonyms
# =====================================================================================
def table_pseudonyms(
    values: pd.Series,
    spec: PseudonymizationSpec,
    seed: int,
    table: str,
    secret: bytes | str | None = None,
) -> np.ndarray:
    """The pseudonyms of one column's original values, row ``i`` that of original row ``i``
    (:func:`~avatars.engine.pseudonymization.pseudonymize_values`: consistent within the
    column, ``HASH_SHA256`` keyed with ``secret``), drawn from the table's pseudonym stream
    (the run's seed and the table's name; the column's name is mixed in by
    ``pseudonymize_values``). Before :func:`deal`, which gives them to the avatars."""
    pseudonyms = pseudonymize_values(
        values.reset_index(drop=True),
        spec,
        seed=_stream_seed(seed, table, _PSEUDONYMS),
        secret=secret,
    )
    return pseudonyms.to_numpy(dtype=object)


def deal(pseudonyms: np.ndarray, seed: int, table: str, column: str) -> np.ndarray:
    """The pseudonyms of :func:`table_pseudonyms` dealt to the unshuffled avatars: avatar ``i``
    gets pseudonym ``π(i)``, ``π`` a random derangement (a permutation without a fixed point)
    from the stream of the run's seed and ``table.column``. The order is independent of the
    originals', and a pseudonym never rides on the avatar of its own original row, where
    whoever holds the secret (or replays the seed) would link the two."""
    return pseudonyms[derangement(len(pseudonyms), _rng(seed, f"{table}.{column}", _DEAL))]


def _check_secret(graph: TableGraph, secret: bytes | str | None) -> None:
    """``HASH_SHA256`` is a keyed hash: refused without ``pseudonymization_secret``, naming
    every table and column that uses it."""
    if secret is not None and len(secret) > 0:
        return
    problems = [
        SchemaProblem(
            "pseudonymized with HASH_SHA256, a keyed hash (HMAC-SHA256): give the secret that "
            "keys it (pseudonymization_secret); a plain hash of an identifier falls to a "
            "dictionary attack",
            table=name,
            column=column,
        )
        for name, specs in graph.pseudonymized.items()
        for column, spec in specs.items()
        if spec.strategy == "HASH_SHA256"
    ]
    if problems:
        raise SchemaError(problems)


# =====================================================================================
# enrichment plans
# =====================================================================================
@dataclass
class _Plan:
    """One table as it is avatarized: own columns plus enrichment, types, weights, k, ncp."""

    name: str
    data: pd.DataFrame
    types: dict[str, ColumnType]
    weights: dict[str, float]
    enrichment: list[str]
    k: int
    ncp: int | None
    excluded: list[str]
    series_features: list[str] = field(default_factory=list)


def _plan(
    graph: TableGraph,
    name: str,
    tables: dict[str, pd.DataFrame],
    summaries: dict[tuple[str, str], ChildrenSummary],
    advice: dict[str, Any],
    encoder: SeriesEncoder | None = None,
) -> _Plan:
    table = graph.tables[name]
    own = graph.own_columns(name)
    parts = [table.data[own].reset_index(drop=True)]
    types: dict[str, ColumnType] = dict(graph.column_types[name])
    series_weights: dict[str, float] = {}
    if encoder is not None:  # series features: always kept (constant ones pass through)
        parts.append(encoder.features.reset_index(drop=True))
        types.update({c: ColumnType(t) for c, t in encoder.column_types.items()})
        series_weights = dict(encoder.column_weights)
    for link in graph.parent_links(name):
        parts.append(parent_context(graph, link, tables))
        types.update(context_types(graph, link))
    for link in graph.child_links(name):
        summary = summaries[(link.child, link.foreign_key)]
        frame = summary.apply(table.data[graph.primary_key(name)], tables[link.child])
        parts.append(frame)
        types.update(dict.fromkeys(frame.columns, ColumnType.FLOAT))
    clashes = sorted(set(own) & {c for part in parts[1:] for c in part.columns})
    if clashes:
        raise SchemaError(
            [
                SchemaProblem(
                    "the column name clashes with an enrichment column; rename it",
                    table=name,
                    column=column,
                )
                for column in clashes
            ]
        )
    data = pd.concat(parts, axis=1)
    features = [str(c) for c in encoder.features.columns] if encoder is not None else []
    enrichment = [
        c
        for part in parts[1:]
        for c in part.columns
        if c in series_weights or c in features or carries_signal(data[c])
    ]
    data = data[own + enrichment]
    params = table.parameters
    user_weights = {c: float(w) for c, w in (params.column_weights or {}).items()}
    return _Plan(
        name=name,
        data=data,
        types={c: t for c, t in types.items() if c in data.columns},
        weights={**series_weights, **user_weights},
        enrichment=enrichment,
        k=int(params.k if params.k is not None else advice["k"]),
        ncp=params.ncp,
        excluded=list(params.exclude_variables),
        series_features=features,
    )


def _precheck(plans: dict[str, _Plan]) -> None:
    """What the avatarization would refuse (constant, identifier-like or empty columns), for
    every table before the first one is avatarized."""
    problems: list[SchemaProblem] = []
    for name, plan in plans.items():
        # series features are built here, numbers by construction (a constant one, e.g. every
        # series of the same length, passes through the avatarization)
        data = plan.data.drop(columns=[*plan.excluded, *plan.series_features])
        if data.shape[1] == 0:
            problems.append(
                SchemaProblem("exclude_variables excludes every column; nothing is left", name)
            )
            continue
        try:
            TableEncoder.fit(data, {c: t for c, t in plan.types.items() if c in data.columns})
        except AvatarsEngineError as error:
            problems.append(SchemaProblem(str(error), table=name))
    if problems:
        raise SchemaError(problems)


def _warnings(graph: TableGraph) -> list[str]:
    warnings = [
        SENSITIVE_LINK_WARNING.format(link=link.describe())
        for link in graph.links
        if link.method == LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT
    ]
    for name, series in graph.series.items():
        params = series.table.parameters
        unused = [
            label
            for label, value in (
                ("k", params.k),
                ("ncp", params.ncp),
                ("column_weights", params.column_weights),
                ("imputation", params.imputation),
                ("exclude_variables", params.exclude_variables),
            )
            if value
        ]
        if unused:
            warnings.append(
                SERIES_PARAMETERS_WARNING.format(
                    table=name, parent=series.link.parent, names=", ".join(unused)
                )
            )
    for name in graph.order:
        params = graph.tables[name].parameters
        method = str(getattr(params.exclude_method, "value", params.exclude_method))
        if params.exclude_variables and method == ExcludeVariablesMethod.ROW_ORDER.value:
            columns = ", ".join(repr(c) for c in params.exclude_variables)
            warnings.append(
                f"table '{name}': excluded variable(s) {columns} are re-attached by row order "
                "(SENSITIVE: each avatar carries its original's values; use "
                "coordinate_similarity to avoid it)"
            )
    return warnings


# =====================================================================================
# series tables
# =====================================================================================
def _fit_series(graph: TableGraph) -> dict[str, SeriesEncoder]:
    """One encoder per individual table with series tables (its series in name order),
    fitted before any avatarization; what it refuses becomes a :class:`SchemaError`."""
    encoders: dict[str, SeriesEncoder] = {}
    problems: list[SchemaProblem] = []
    parents = sorted({series.link.parent for series in graph.series.values()})
    for parent in parents:
        members = graph.series_of(parent)
        keys = graph.tables[parent].data[graph.primary_key(parent)]
        try:
            encoder = SeriesEncoder.fit(
                keys,
                [series.spec() for series in members],
                {series.name: series.parameters.to_dict() for series in members},
            )
        except SeriesDataError as error:
            problems.append(SchemaProblem(error.detail, table=error.table, column=error.column))
            continue
        except AvatarsEngineError as error:
            problems.append(SchemaProblem(str(error), table=members[0].name))
            continue
        own = set(graph.own_columns(parent))
        clashes = sorted(own & {str(c) for c in encoder.features.columns})
        problems.extend(
            SchemaProblem(
                "the column name clashes with a series feature column; rename it",
                table=parent,
                column=column,
            )
            for column in clashes
        )
        encoders[parent] = encoder
    if problems:
        raise SchemaError(problems)
    return encoders


def _assemble_series(
    graph: TableGraph,
    encoders: dict[str, SeriesEncoder],
    runs: dict[str, AvatarizationResult],
    assembled: dict[str, AvatarTable],
    seed: int,
) -> dict[str, AvatarTable]:
    """The avatar series tables, rebuilt from the avatar individuals' features under their
    new keys (module docstring)."""
    forbidden = _original_key_values(graph)
    out: dict[str, AvatarTable] = {}
    for parent, encoder in encoders.items():
        parent_keys = pd.Index(assembled[parent].unshuffled[graph.primary_key(parent)])
        features = runs[parent].unshuffled[list(encoder.features.columns)]
        decoded, notes = encoder.decode(
            features, parent_keys, seed=_stream_seed(seed, parent, _SERIES)
        )
        for series in graph.series_of(parent):
            frame = decoded[series.name]
            key = series.table.primary_key
            if key is not None:
                frame[key] = pseudonymous_keys(
                    len(frame), _rng(seed, series.name, _KEYS), forbidden
                )
            owner = parent_keys.get_indexer(frame[series.link.foreign_key])
            rank = np.empty(len(parent_keys), dtype=np.int64)
            rank[_rng(seed, series.name, _SHUFFLE).permutation(len(parent_keys))] = np.arange(
                len(parent_keys)
            )
            order = np.argsort(rank[owner], kind="stable")  # time order kept within an avatar
            fitted = encoder.table(series.name)
            out[series.name] = AvatarTable(
                name=series.name,
                avatars=frame.iloc[order].reset_index(drop=True),
                unshuffled=frame,
                avatarization=runs[parent],
                enrichment_columns=[],
                parameters={
                    "n_rows": len(frame),
                    "n_rows_original": len(series.table.data),
                    "individual_table": parent,
                    "time_series": fitted.metadata(),
                    "decoding": notes[series.name],
                },
            )
    return out


# =====================================================================================
# linking
# =====================================================================================
def _attach(
    graph: TableGraph,
    link: Link,
    plans: dict[str, _Plan],
    runs: dict[str, AvatarizationResult],
    seed: int,
) -> tuple[np.ndarray, LinkResult]:
    """The avatar parent row of each avatar child row of ``link``."""
    started = time.perf_counter()
    parent = graph.tables[link.parent].data
    child = graph.tables[link.child].data
    n_parents, n_children = len(parent), len(child)
    original_rows = pd.Index(parent[link.parent_key]).get_indexer(child[link.foreign_key])
    if link.method == LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT:
        # SENSITIVE by request: avatar child i goes to the avatar of original child i's parent
        return original_rows, LinkResult(
            link,
            "original_order",
            True,
            n_parents,
            n_children,
            None,
            time.perf_counter() - started,
        )
    rng = _rng(seed, f"{link.child}.{link.foreign_key}", _ASSIGN)
    original_counts = np.bincount(original_rows, minlength=n_parents)
    avatar_parents = runs[link.parent].unshuffled
    name = count_column(link)
    # the avatar parents' avatarized number of children ranks them (constant: not enriched)
    scores = (
        avatar_parents[name].to_numpy(dtype=np.float64)
        if name in avatar_parents.columns
        else np.zeros(n_parents)
    )
    group = min(plans[link.parent].k, MICROAGGREGATION_GROUP)
    capacity = capacities(scores, original_counts, group, rng.permutation(n_parents))
    parent_points, child_points = _link_space(graph, link, runs, capacity, seed)
    if parent_points is None or child_points is None:
        # nothing to compare (the parent has no modelled variable): a random assignment
        order = rng.permutation(n_children)
        assigned = np.empty(n_children, dtype=np.int64)
        assigned[order] = np.repeat(np.arange(n_parents), capacity)
        return assigned, LinkResult(
            link, "random", False, n_parents, n_children, None, time.perf_counter() - started
        )
    # children and parents in a random order: no tie ever follows the originals' row order
    child_order = rng.permutation(n_children)
    parent_order = rng.permutation(n_parents)
    if link.method == LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT:
        local = greedy_assignment(
            child_points[child_order], parent_points[parent_order], capacity[parent_order]
        )
        solver = "greedy"
    else:
        local, solver = linear_sum_assignment(
            child_points[child_order], parent_points[parent_order], capacity[parent_order]
        )
    assigned = np.empty(n_children, dtype=np.int64)
    assigned[child_order] = parent_order[local]
    distance = np.linalg.norm(child_points - parent_points[assigned], axis=1)
    return assigned, LinkResult(
        link,
        solver,
        False,
        n_parents,
        n_children,
        float(distance.mean()),
        time.perf_counter() - started,
    )


def _link_space(
    graph: TableGraph,
    link: Link,
    runs: dict[str, AvatarizationResult],
    capacity: np.ndarray,
    seed: int,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Avatar parents and avatar children as points of the parent's projection.

    The projection is fitted on the original parents: their modelled variables and their
    number of children. Avatar parents are their avatar variables and their capacity; avatar
    children are the parent variables and sibling count they were avatarized with. Columns
    constant among the original parents are left out (they separate nothing).
    """
    parent_table = graph.tables[link.parent]
    columns = graph.modelled_columns(link.parent)
    count = count_column(link)
    original = parent_table.data[columns].reset_index(drop=True)
    original[count] = np.log1p(
        np.bincount(
            pd.Index(parent_table.data[link.parent_key]).get_indexer(
                graph.tables[link.child].data[link.foreign_key]
            ),
            minlength=len(original),
        )
    )
    kept = [c for c in original.columns if original[c].dropna().nunique() > 1]
    if not kept:
        return None, None
    avatar_parents = runs[link.parent].unshuffled[columns].reset_index(drop=True)
    avatar_parents[count] = np.log1p(capacity)
    # the children's context, as avatarized; a context column the child's plan dropped
    # (constant among the children) takes that constant
    context = parent_context(
        graph, link, {link.parent: parent_table.data, link.child: graph.tables[link.child].data}
    )
    child_avatars = runs[link.child].unshuffled
    for column in context.columns:
        if column in child_avatars.columns:
            context[column] = child_avatars[column].to_numpy()
    context.columns = [*columns, count]
    types = {c: t for c, t in graph.column_types[link.parent].items() if c in kept}
    types[count] = ColumnType.FLOAT
    weights = {c: w for c, w in (parent_table.parameters.column_weights or {}).items() if c in kept}
    space = MetricSpace.fit(
        original[kept],
        pd.concat([avatar_parents[kept], context[kept]], ignore_index=True),
        ncp=parent_table.parameters.ncp,  # None: min(5, rank), as for the metrics
        column_types={c: t for c, t in types.items() if c in kept},
        column_weights=weights,
        imputation=parent_table.parameters.imputation,
        seed=_stream_seed(seed, f"{link.child}.{link.foreign_key}", _SPACE),
        parameter_prefix=f"{link.parent}.",
    )
    points = space.avatar_coordinates
    n_parents = len(avatar_parents)
    return points[:n_parents], points[n_parents:]


# =====================================================================================
# helpers
# =====================================================================================
def _original_key_values(graph: TableGraph) -> set[str]:
    values: set[str] = set()
    for name, table in graph.tables.items():
        for column in graph.key_columns(name):
            values.update(str(v) for v in pd.unique(table.data[column].dropna()))
    for series in graph.series.values():
        for column in series.key_columns():
            values.update(str(v) for v in pd.unique(series.table.data[column].dropna()))
    return values


def _check_seed(seed: object) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise InvalidParameterError("seed", f"expected an integer ≥ 0, got {seed!r}")
    return int(seed)


def _sequence(seed: int, name: str, purpose: int) -> np.random.SeedSequence:
    """The stream of one table or link and purpose: independent of the other tables' order."""
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode("utf-8")), purpose))


def _stream_seed(seed: int, name: str, purpose: int) -> int:
    return int(_sequence(seed, name, purpose).generate_state(1)[0])


def _rng(seed: int, name: str, purpose: int) -> np.random.Generator:
    return np.random.default_rng(_sequence(seed, name, purpose))
