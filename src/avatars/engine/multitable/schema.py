"""Tables, links and per-table parameters of a multi-table avatarization, and their validation.

The engine's own small dataclasses (the protocol's pydantic ``Table``/``Link`` models stay in
``avatars.protocol``; a server handler or the CLI converts them):

- :class:`Table`: a name, its data, its primary key, whether its rows are physical persons
  (``individual_level``) and its :class:`TableParameters` (k, ncp, column types, ...; its
  ``pseudonymize`` names columns replaced by pseudonyms: they are not own columns,
  :meth:`TableGraph.own_columns`, and never avatarized);
- :class:`Link`: ``parent.parent_key → child.foreign_key`` with a
  :class:`~avatars.protocol.enums.LinkMethod`.

A *series table* (a table with a ``time_series_time`` column: one row per individual and time
point, method.md §6.2) is the child of its individual table by a ``time_series`` link. It is not
avatarized on its own: its series become feature columns of its individual table
(:class:`~avatars.engine.timeseries.SeriesEncoder`), and the validated graph keeps it apart
(:attr:`TableGraph.series`) from the tables linked by assignment.

An *independent table* (no link starts at it or leads to it, and it has no series table) is
avatarized on its own rows, as a single table; its primary key is optional (if it has one, its
avatars get new pseudonymous keys). Every table that a link uses needs a primary key: a link
starts at its parent's key, and a child's avatars get new keys.

:func:`validate_tables` checks everything before any work and returns a :class:`TableGraph`
(tables in an order where parents come before their children, the links of each table, the
columns that are avatarized). Every problem found is reported at once, each naming its table
and column, in one :class:`SchemaError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine import AvatarsEngineError, ColumnType, resolve_column_types
from avatars.engine.errors import InvalidParameterError
from avatars.engine.imputation import ImputationParameters
from avatars.engine.pseudonymization import PseudonymizationSpec
from avatars.engine.timeseries.data import SeriesDataError, SeriesTable, read_series
from avatars.engine.timeseries.features import (
    ResolvedParameters,
    SeriesParameters,
    resolve_parameters,
)
from avatars.protocol.enums import ExcludeVariablesMethod, LinkMethod

#: Values shown in an error message (duplicated keys, orphan foreign keys).
SHOWN_VALUES = 5

#: Link methods that attach avatar children to avatar parents by an assignment.
ASSIGNMENT_LINK_METHODS = (
    LinkMethod.LINEAR_SUM_ASSIGNMENT,
    LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT,
    LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT,
)

#: Link methods this package runs: the assignments, and ``time_series`` (a series table under
#: its individual table, :mod:`avatars.engine.timeseries`).
SUPPORTED_LINK_METHODS = (*ASSIGNMENT_LINK_METHODS, LinkMethod.TIME_SERIES)


# =====================================================================================
# inputs
# =====================================================================================
@dataclass(frozen=True)
class TableParameters:
    """Avatarization parameters of one table; ``None`` means the advised/default value.

    ``k`` and ``ncp`` as in :func:`avatars.engine.avatarize` (``k=None``: the value of
    :func:`~avatars.engine.multitable.advice.advise_tables`). ``column_types``,
    ``column_weights``, ``imputation``, ``exclude_variables``, ``exclude_method`` and
    ``categorical_assignment`` are passed to it unchanged; they name the table's own columns,
    never its keys. The same ``ncp``, types, weights and imputation are used by the privacy
    metrics and by the space in which the table's avatar children are attached to it.

    ``pseudonymize``: ``{column: strategy}`` (``"FAKER:EMAIL"``, ``"HASH_SHA256"``, a mapping or
    a strategy object: :meth:`~avatars.engine.pseudonymization.PseudonymizationSpec.parse`), as
    :func:`avatars.engine.avatarize`'s: the column is not avatarized (left out of the
    projection, the neighbours, the enrichment of other tables, the links and the metrics) and
    its avatars get pseudonyms of its values, dealt in an order independent of the originals'.
    A pseudonymized column cannot be a key, excluded, weighted or known to the attacker.
    """

    k: int | None = None
    ncp: int | None = None
    column_types: Mapping[str, str | ColumnType] | None = None
    column_weights: Mapping[str, float] | None = None
    imputation: ImputationParameters | Mapping[str, Any] | None = None
    exclude_variables: Sequence[str] = ()
    exclude_method: str | ExcludeVariablesMethod = ExcludeVariablesMethod.ROW_ORDER
    categorical_assignment: str = "draw"
    #: A series table's :class:`~avatars.engine.timeseries.SeriesParameters` (projection,
    #: alignment); the other fields do not apply to a series table, whose series are
    #: avatarized with its individual table (that table's k, ncp, ...).
    time_series: SeriesParameters | Mapping[str, Any] | None = None
    #: The privacy metrics' attacker (:func:`avatars.engine.privacy_metrics`): the table's own
    #: columns they know, the one they want, the quantile threshold of the continuous
    #: inference. Measured wherever the table's rows are compared (its computations).
    known_variables: Sequence[str] = ()
    target: str | None = None
    quantile_threshold: int | None = None
    pseudonymize: Mapping[str, Any] | None = None
    #: Own columns that the identifier detection flags wrongly, declared not to identify anyone
    #: (as :func:`avatars.engine.avatarize`'s ``not_identifiers``): avatarized as variables.
    not_identifiers: Sequence[str] = ()


@dataclass(frozen=True, eq=False)
class Table:
    """One table of the schema.

    ``individual_level``: its rows are distinct physical persons (privacy is measured on them);
    ``None`` means True for a table without parent (which must be individual level) and False
    for a child table. ``time_series_time``: the time column of a series table (then
    ``primary_key`` is an optional row identifier). ``primary_key`` is optional for a table
    that no link uses (an independent table); every table that a link uses needs one.
    ``holdout``: records of the same population that ``data`` does not hold (an individual-level
    table's, with its own columns); the privacy metrics then measure membership on the table
    alone (DCR share, membership-inference AUC: :func:`avatars.engine.privacy_metrics`).
    """

    name: str
    data: pd.DataFrame
    primary_key: str | None = None
    individual_level: bool | None = None
    parameters: TableParameters = field(default_factory=TableParameters)
    time_series_time: str | None = None
    holdout: pd.DataFrame | None = None


@dataclass(frozen=True)
class Link:
    """``parent.parent_key → child.foreign_key``: each child row belongs to one parent row.

    The argument order is the official client's ``add_link(parent_table_name, parent_field,
    child_table_name, child_field, method)``.
    """

    parent: str
    parent_key: str
    child: str
    foreign_key: str
    method: LinkMethod = LinkMethod.LINEAR_SUM_ASSIGNMENT

    def describe(self) -> str:
        return f"{self.parent}.{self.parent_key} → {self.child}.{self.foreign_key}"


# =====================================================================================
# errors
# =====================================================================================
@dataclass(frozen=True)
class SchemaProblem:
    """One thing wrong with the input, and where."""

    message: str
    table: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.table is not None:
            where = f"table '{self.table}'"
            if self.column is not None:
                where += f", column '{self.column}'"
            where += ": "
        return where + self.message


class SchemaError(AvatarsEngineError):
    """The tables and links cannot be avatarized together: every problem found, each with its
    table and column (``problems``)."""

    def __init__(self, problems: Sequence[SchemaProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"invalid multi-table input ({count} problem(s)):\n{lines}")


# =====================================================================================
# the validated graph
# =====================================================================================
@dataclass(frozen=True, eq=False)
class SeriesLink:
    """A validated series table, its ``time_series`` link and its resolved parameters."""

    table: Table
    link: Link
    parameters: ResolvedParameters

    @property
    def name(self) -> str:
        return self.table.name

    def spec(self, data: pd.DataFrame | None = None) -> SeriesTable:
        """The table for :mod:`avatars.engine.timeseries` (``data``: another table shaped
        like it, e.g. its avatars)."""
        assert self.table.time_series_time is not None
        return SeriesTable(
            self.table.name,
            self.table.data if data is None else data,
            individual_key=self.link.foreign_key,
            time=self.table.time_series_time,
            primary_key=self.table.primary_key,
        )

    def key_columns(self) -> list[str]:
        return [c for c in (self.table.primary_key, self.link.foreign_key) if c is not None]


@dataclass(frozen=True, eq=False)
class TableGraph:
    """Validated tables and links. ``order``: every parent before its children (ties by name)."""

    tables: dict[str, Table]
    links: tuple[Link, ...]
    order: tuple[str, ...]
    individual_level: dict[str, bool]
    column_types: dict[str, dict[str, ColumnType]]  # own columns, resolved
    series: dict[str, SeriesLink] = field(default_factory=dict)  # series tables, by name
    #: each table's pseudonymized columns and their parsed strategies (in the data's order)
    pseudonymized: dict[str, dict[str, PseudonymizationSpec]] = field(default_factory=dict)

    def primary_key(self, table: str) -> str:
        """The primary key of a table that a link uses (validated: always set; a table that no
        link uses may have none, see :meth:`is_independent`)."""
        key = self.tables[table].primary_key
        assert key is not None, f"table '{table}' has no primary key"
        return key

    def is_independent(self, table: str) -> bool:
        """True for a table that no link uses (no parent, no child, no series table): it is
        avatarized on its own rows, like a single table; its primary key is optional."""
        return not (self.parent_links(table) or self.child_links(table) or self.series_of(table))

    def series_of(self, table: str) -> list[SeriesLink]:
        """The series tables whose individual table is ``table``, by name."""
        return sorted(
            (s for s in self.series.values() if s.link.parent == table), key=lambda s: s.name
        )

    def parent_links(self, table: str) -> list[Link]:
        """Links where ``table`` is the child, by foreign key name."""
        return sorted(
            (link for link in self.links if link.child == table), key=lambda k: k.foreign_key
        )

    def child_links(self, table: str) -> list[Link]:
        """Links where ``table`` is the parent, by (child, foreign key)."""
        return sorted(
            (link for link in self.links if link.parent == table),
            key=lambda k: (k.child, k.foreign_key),
        )

    def key_columns(self, table: str) -> list[str]:
        """The primary key (if any) and the foreign keys: replaced by new pseudonymous values."""
        key = self.tables[table].primary_key
        return ([] if key is None else [key]) + [k.foreign_key for k in self.parent_links(table)]

    def own_columns(self, table: str) -> list[str]:
        """The columns that are avatarized: all but the primary and foreign keys and the
        pseudonymized columns (their avatars get pseudonyms, not synthesized values)."""
        keys = set(self.key_columns(table)) | set(self.pseudonymized_columns(table))
        return [str(c) for c in self.tables[table].data.columns if c not in keys]

    def pseudonymized_columns(self, table: str) -> list[str]:
        """The table's pseudonymized columns (``TableParameters.pseudonymize``)."""
        return list(self.pseudonymized.get(table, {}))

    def modelled_columns(self, table: str) -> list[str]:
        """Own columns that are not excluded: what enriches other tables and links them."""
        excluded = set(self.tables[table].parameters.exclude_variables)
        return [c for c in self.own_columns(table) if c not in excluded]

    def individual_ancestors(self, table: str) -> list[tuple[str, list[Link]]]:
        """``(individual-level table, links from it down to table)``: the persons whose rows
        ``table``'s rows are, following parent links up to the nearest individual-level table
        of each branch (first path in name order when several lead to the same table)."""
        found: dict[str, list[Link]] = {}

        def climb(name: str, path: list[Link]) -> None:
            for link in self.parent_links(name):
                down = [link, *path]
                if self.individual_level[link.parent]:
                    found.setdefault(link.parent, down)
                else:
                    climb(link.parent, down)

        climb(table, [])
        return sorted(found.items())


# =====================================================================================
# validation
# =====================================================================================
def validate_tables(tables: Sequence[Table], links: Sequence[Link]) -> TableGraph:
    """Check the tables and links before any work; see the module docstring.

    Structure first (names, keys, link ends, one foreign key per parent, no cycle, tables
    without parent individual level, parameters naming existing non-key columns, series tables
    under one individual table each), then, once the structure is sound, the data: primary
    keys present and unique (duplicates counted), foreign keys present and every value found
    among the parent's keys (orphans counted), series times increasing within an individual
    (:func:`avatars.engine.timeseries.read_series`). Raises :class:`SchemaError` listing every
    problem of the first failing stage.
    """
    problems: list[SchemaProblem] = []
    every_table = _check_tables(tables, problems)
    keyed_links = _check_linked_keys(links, every_table, problems)
    good_links = _check_links(keyed_links, every_table, problems)
    if problems:
        raise SchemaError(problems)
    by_name = {n: t for n, t in every_table.items() if t.time_series_time is None}
    assigned = [link for link in good_links if link.method != LinkMethod.TIME_SERIES]
    series = _series_links(every_table, good_links, problems)
    if problems:
        raise SchemaError(problems)
    order = _topological_order(by_name, assigned, problems)
    individual = _individual_levels(by_name, assigned, problems)
    if problems:
        raise SchemaError(problems)
    child_keys: dict[str, set[str]] = {name: set() for name in by_name}
    for link in assigned:
        child_keys[link.child].add(link.foreign_key)
    types: dict[str, dict[str, ColumnType]] = {}
    pseudonymized: dict[str, dict[str, PseudonymizationSpec]] = {}
    for name, table in by_name.items():
        keys = {str(k) for k in {table.primary_key} - {None} | child_keys[name]}
        pseudonymized[name] = _check_pseudonymized(table, keys, problems)
        types[name] = _check_parameters(table, keys, set(pseudonymized[name]), problems)
    resolved = _check_series_parameters(every_table, series, problems)
    if problems:
        raise SchemaError(problems)
    for table in every_table.values():
        if table.primary_key is not None:
            _check_primary_key(table, problems)
    for link in assigned:
        _check_foreign_key(link, by_name, problems)
    if problems:
        raise SchemaError(problems)
    for name, link in series.items():
        _check_series_data(every_table[name], link, every_table[link.parent], problems)
    if problems:
        raise SchemaError(problems)
    return TableGraph(
        tables=by_name,
        links=tuple(assigned),
        order=tuple(order),
        individual_level=individual,
        column_types=types,
        series={
            name: SeriesLink(every_table[name], link, resolved[name])
            for name, link in sorted(series.items())
        },
        pseudonymized={name: specs for name, specs in pseudonymized.items() if specs},
    )


def _series_links(
    tables: dict[str, Table], links: list[Link], problems: list[SchemaProblem]
) -> dict[str, Link]:
    """``{series table: its time_series link}``; every series table has exactly one, from a
    table that is not itself a series table, and is linked by nothing else."""
    found: dict[str, Link] = {}
    for link in links:
        parent, child = tables[link.parent], tables[link.child]
        if parent.time_series_time is not None:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: a series table cannot be the parent of a link; "
                    "its rows are points of series, not records others refer to",
                    table=link.parent,
                    column=link.parent_key,
                )
            )
        elif link.method == LinkMethod.TIME_SERIES and child.time_series_time is None:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: a time_series link leads to a series table, and "
                    "this table has no time column: declare it (time_series_time=...)",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
        elif link.method != LinkMethod.TIME_SERIES and child.time_series_time is not None:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: '{link.child}' is a series table (time column "
                    f"'{child.time_series_time}'); it is linked to its individual table with "
                    f"method time_series, not {link.method.value}",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
        elif link.method == LinkMethod.TIME_SERIES:
            if link.foreign_key == child.time_series_time:
                problems.append(
                    SchemaProblem(
                        f"link {link.describe()}: the foreign key cannot be the time column",
                        table=link.child,
                        column=link.foreign_key,
                    )
                )
            elif link.child in found:
                problems.append(
                    SchemaProblem(
                        f"has two time_series links (from '{found[link.child].parent}' and "
                        f"'{link.parent}'); a series table belongs to one individual table",
                        table=link.child,
                        column=link.foreign_key,
                    )
                )
            else:
                found[link.child] = link
    for name, table in sorted(tables.items()):
        if table.time_series_time is not None and name not in found and not problems:
            problems.append(
                SchemaProblem(
                    "is a series table (time column "
                    f"'{table.time_series_time}') without a time_series link: link it to its "
                    "individual table (add_link(..., method=LinkMethod.TIME_SERIES))",
                    table=name,
                )
            )
    return found


def _check_series_parameters(
    tables: dict[str, Table], series: dict[str, Link], problems: list[SchemaProblem]
) -> dict[str, ResolvedParameters]:
    """Each series table's parameters resolved; time-series parameters of a table that is
    not a series table are refused."""
    resolved: dict[str, ResolvedParameters] = {}
    for name, table in sorted(tables.items()):
        given = table.parameters.time_series
        if name not in series:
            if given is not None:
                problems.append(
                    SchemaProblem(
                        "has time_series parameters but is not a series table (no "
                        "time_series_time column and time_series link)",
                        table=name,
                    )
                )
            continue
        try:
            resolved[name] = resolve_parameters(name, given)
        except InvalidParameterError as error:
            problems.append(SchemaProblem(str(error), table=name))
        _refuse_series_pseudonyms(table, series[name], problems)
    return resolved


def _refuse_series_pseudonyms(table: Table, link: Link, problems: list[SchemaProblem]) -> None:
    """A series table's columns are its keys, its time and the values of its series (numbers,
    avatarized as series with its individual table): none of them can be pseudonymized."""
    given = table.parameters.pseudonymize
    for column in given or {}:
        if column == table.time_series_time:
            message = "the time column of a series table cannot be pseudonymized"
        elif column in (table.primary_key, link.foreign_key):
            message = (
                "pseudonymize names a key column; keys are replaced by new pseudonymous "
                "values already (a key cannot be pseudonymized)"
            )
        else:
            message = (
                "a series table's values are avatarized as series with its individual table; "
                "they cannot be pseudonymized (pseudonymize a column of the individual table)"
            )
        problems.append(SchemaProblem(message, table=table.name, column=str(column)))


def _check_series_data(
    table: Table, link: Link, parent: Table, problems: list[SchemaProblem]
) -> None:
    """What :func:`~avatars.engine.timeseries.read_series` refuses (times not increasing
    within an individual, orphan keys, values that are not numbers, ...), named."""
    assert table.time_series_time is not None
    spec = SeriesTable(
        table.name, table.data, link.foreign_key, table.time_series_time, table.primary_key
    )
    try:
        read_series(spec, pd.Index(parent.data[link.parent_key]))
    except SeriesDataError as error:
        problems.append(SchemaProblem(error.detail, table=error.table, column=error.column))
    except AvatarsEngineError as error:
        problems.append(SchemaProblem(str(error), table=table.name))


def _check_tables(tables: Sequence[Table], problems: list[SchemaProblem]) -> dict[str, Table]:
    if isinstance(tables, Table) or not isinstance(tables, Sequence) or not tables:
        problems.append(SchemaProblem("expected a non-empty list of Table"))
        return {}
    by_name: dict[str, Table] = {}
    for position, table in enumerate(tables):
        if not isinstance(table, Table):
            problems.append(
                SchemaProblem(f"item {position} is a {type(table).__name__}, not a Table")
            )
            continue
        name = table.name
        if not isinstance(name, str) or not name:
            problems.append(SchemaProblem(f"item {position}: a table needs a non-empty name"))
            continue
        if name in by_name:
            problems.append(SchemaProblem("two tables have this name", table=name))
            continue
        if not isinstance(table.data, pd.DataFrame):
            problems.append(
                SchemaProblem(f"data is a {type(table.data).__name__}, not a DataFrame", name)
            )
            continue
        if len(table.data) == 0:
            problems.append(SchemaProblem("the table is empty (0 rows)", table=name))
            continue
        non_str = [c for c in table.data.columns if not isinstance(c, str)]
        if non_str:
            problems.append(SchemaProblem(f"column names must be strings, got {non_str[:5]}", name))
            continue
        duplicated = table.data.columns[table.data.columns.duplicated()].tolist()
        if duplicated:
            problems.append(SchemaProblem(f"duplicated column name(s) {duplicated}", name))
            continue
        time = table.time_series_time
        if time is not None and (not isinstance(time, str) or time not in table.data.columns):
            problems.append(
                SchemaProblem(
                    f"the time column is not a column of the table (columns: "
                    f"{_list(table.data.columns)})",
                    table=name,
                    column=str(time),
                )
            )
            continue
        # optional here (a series table's row identifier, an independent table's key); a
        # table that a link starts at or leads to needs one (_check_linked_keys)
        if table.primary_key is not None and (
            not isinstance(table.primary_key, str) or not table.primary_key
        ):
            problems.append(
                SchemaProblem(
                    f"the primary key must be a column name or None, got {table.primary_key!r}",
                    table=name,
                )
            )
            continue
        if time is not None and table.primary_key == time:
            problems.append(
                SchemaProblem(
                    "the primary key and the time column must be different columns",
                    table=name,
                    column=time,
                )
            )
            continue
        if table.primary_key is not None and table.primary_key not in table.data.columns:
            problems.append(
                SchemaProblem(
                    f"the primary key is not a column of the table (columns: "
                    f"{_list(table.data.columns)})",
                    table=name,
                    column=table.primary_key,
                )
            )
            continue
        if table.individual_level is not None and not isinstance(table.individual_level, bool):
            problems.append(SchemaProblem("individual_level must be True, False or None", name))
            continue
        if not isinstance(table.parameters, TableParameters):
            problems.append(SchemaProblem("parameters must be a TableParameters", table=name))
            continue
        by_name[name] = table
    return by_name


def _check_linked_keys(
    links: Sequence[Link], tables: dict[str, Table], problems: list[SchemaProblem]
) -> Sequence[Link]:
    """A table without primary key is avatarized on its own; one that a link starts at (its
    parent key) or leads to (the new keys its avatars get) needs one: named once per table.
    Returns the links whose tables have their keys (the others are not checked further)."""
    if isinstance(links, Link) or not isinstance(links, Sequence):
        return links  # _check_links says what is wrong
    keyless: set[str] = set()
    kept: list[Link] = []
    for link in links:
        if not isinstance(link, Link):
            kept.append(link)
            continue
        ends = [(link.parent, "starts at")]
        child = tables.get(link.child)
        if child is not None and child.time_series_time is None:
            ends.append((link.child, "leads to"))  # a series table's row identifier: optional
        missing = [
            (name, verb)
            for name, verb in ends
            if name in tables and tables[name].primary_key is None
        ]
        for name, verb in missing:
            if name not in keyless:
                keyless.add(name)
                problems.append(
                    SchemaProblem(
                        f"has no primary key, and link {link.describe()} {verb} it: a table "
                        "that a link uses needs a primary key column (declare it; only a table "
                        "that no link uses is avatarized without one)",
                        table=name,
                    )
                )
        if not missing:
            kept.append(link)
    return kept


def _check_links(
    links: Sequence[Link], tables: dict[str, Table], problems: list[SchemaProblem]
) -> list[Link]:
    # Long on purpose: one flat sequence of independent checks per link, each with its own
    # message, in the order a user fixes them (method, ends, keys, one foreign key per parent).
    if isinstance(links, Link) or not isinstance(links, Sequence):
        problems.append(SchemaProblem("links: expected a list of Link"))
        return []
    good: list[Link] = []
    for position, link in enumerate(links):
        if not isinstance(link, Link):
            problems.append(
                SchemaProblem(f"link {position} is a {type(link).__name__}, not a Link")
            )
            continue
        try:
            method = LinkMethod(str(getattr(link.method, "value", link.method)))
        except ValueError:
            allowed = ", ".join(m.value for m in SUPPORTED_LINK_METHODS)
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: unknown method {link.method!r}; expected one of "
                    f"{allowed}",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
            continue
        bad = False
        for role, name in (("parent", link.parent), ("child", link.child)):
            if name not in tables:
                known = _list(tables)
                problems.append(
                    SchemaProblem(
                        f"link {link.describe()}: unknown {role} table '{name}' (tables: {known})",
                        table=name,
                    )
                )
                bad = True
        if bad:
            continue
        parent, child = tables[link.parent], tables[link.child]
        if link.parent == link.child:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: a table cannot be its own parent (cycle)",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
            continue
        if link.parent_key not in parent.data.columns:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: the parent has no such column",
                    table=link.parent,
                    column=link.parent_key,
                )
            )
            continue
        if link.parent_key != parent.primary_key:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: a link starts at the parent's primary key "
                    f"'{parent.primary_key}'",
                    table=link.parent,
                    column=link.parent_key,
                )
            )
            continue
        if link.foreign_key not in child.data.columns:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: the child has no such column (columns: "
                    f"{_list(child.data.columns)})",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
            continue
        if link.foreign_key == child.primary_key:
            problems.append(
                SchemaProblem(
                    f"link {link.describe()}: the foreign key cannot be the child's primary key "
                    "(a one-to-one extension of a table belongs in that table)",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
            continue
        twice = next((g for g in good if g.parent == link.parent and g.child == link.child), None)
        if twice is not None:
            problems.append(
                SchemaProblem(
                    f"references table '{link.parent}' twice (foreign keys "
                    f"'{twice.foreign_key}' and '{link.foreign_key}'); a child has one foreign "
                    "key per parent",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
            continue
        shared = next(
            (g for g in good if g.child == link.child and g.foreign_key == link.foreign_key), None
        )
        if shared is not None:
            problems.append(
                SchemaProblem(
                    f"is the foreign key of two links (to '{shared.parent}' and "
                    f"'{link.parent}'); a child has one foreign key per parent",
                    table=link.child,
                    column=link.foreign_key,
                )
            )
            continue
        good.append(Link(link.parent, link.parent_key, link.child, link.foreign_key, method))
    return good


def _topological_order(
    tables: dict[str, Table], links: list[Link], problems: list[SchemaProblem]
) -> list[str]:
    """Kahn's algorithm, smallest name first among the ready tables; a cycle is named."""
    parents: dict[str, set[str]] = {name: set() for name in tables}
    for link in links:
        parents[link.child].add(link.parent)
    order: list[str] = []
    remaining = {name: set(p) for name, p in parents.items()}
    while remaining:
        ready = sorted(name for name, p in remaining.items() if not p)
        if not ready:
            cycle = _find_cycle(remaining)
            problems.append(
                SchemaProblem(
                    "the links form a cycle: " + " → ".join(cycle) + " (parent → child)",
                    table=cycle[0],
                )
            )
            return order
        for name in ready:
            order.append(name)
            del remaining[name]
        for p in remaining.values():
            p.difference_update(ready)
    return order


def _find_cycle(parents: dict[str, set[str]]) -> list[str]:
    """A cycle among tables that all still have a parent: walk up until a table repeats."""
    start = min(parents)
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        current = min(p for p in parents[current] if p in parents)
        if current in seen:
            loop = path[seen[current] :]
            return [*reversed(loop), loop[-1]] if len(loop) > 1 else [current, current]
        seen[current] = len(path)
        path.append(current)


def _individual_levels(
    tables: dict[str, Table], links: list[Link], problems: list[SchemaProblem]
) -> dict[str, bool]:
    has_parent = {link.child for link in links}
    levels: dict[str, bool] = {}
    for name, table in tables.items():
        if name not in has_parent:
            if table.individual_level is False:
                problems.append(
                    SchemaProblem(
                        "has no parent table, so its rows must be individuals: set "
                        "individual_level=True (or link it to a parent)",
                        table=name,
                    )
                )
            levels[name] = True
        else:
            levels[name] = bool(table.individual_level)
    return levels


def _check_parameters(
    table: Table, keys: set[str], pseudonymized: set[str], problems: list[SchemaProblem]
) -> dict[str, ColumnType]:
    """Parameters that name columns name own columns; k and ncp are in range. Returns the
    resolved types of the own columns (empty when a problem prevents it). ``pseudonymized``:
    the table's pseudonymized columns, which are not own columns (a type given them is not
    used; a weight, the attacker's knowledge or target naming them is refused)."""
    name, params, data = table.name, table.parameters, table.data
    own = [c for c in data.columns if c not in keys and c not in pseudonymized]
    bad = _check_named_columns(table, keys, pseudonymized, own, problems)
    if not own:
        problems.append(
            SchemaProblem(
                "has no column besides its keys and pseudonymized columns: there is nothing to "
                "avatarize (a pure link table should be expressed as links)",
                table=name,
            )
        )
        bad = True
    n = len(data)
    k = params.k
    if k is not None and (not isinstance(k, int | np.integer) or isinstance(k, bool)):
        problems.append(SchemaProblem(f"k must be an integer, got {k!r}", table=name))
    elif k is not None and not 2 <= k < n:
        problems.append(
            SchemaProblem(f"k must satisfy 2 ≤ k < number of rows ({n}), got k={k}", table=name)
        )
    elif k is None and n < 3:
        problems.append(SchemaProblem(f"has {n} row(s); avatarization needs at least 3", name))
    ncp = params.ncp
    if ncp is not None and (
        not isinstance(ncp, int | np.integer) or isinstance(ncp, bool) or ncp < 1
    ):
        problems.append(SchemaProblem(f"ncp must be an integer ≥ 1, got {ncp!r}", table=name))
    try:
        ExcludeVariablesMethod(str(getattr(params.exclude_method, "value", params.exclude_method)))
    except ValueError:
        allowed = ", ".join(m.value for m in ExcludeVariablesMethod)
        problems.append(
            SchemaProblem(
                f"exclude_method must be one of {allowed}, got {params.exclude_method!r}", name
            )
        )
    try:
        ImputationParameters.parse(params.imputation)
    except AvatarsEngineError as error:
        problems.append(SchemaProblem(str(error), table=name))
    if bad:
        return {}
    declared = {c: t for c, t in (params.column_types or {}).items() if c not in pseudonymized}
    try:
        return resolve_column_types(data[own], declared or None)
    except AvatarsEngineError as error:
        problems.append(SchemaProblem(str(error), table=name))
        return {}


def _check_named_columns(
    table: Table,
    keys: set[str],
    pseudonymized: set[str],
    own: list[str],
    problems: list[SchemaProblem],
) -> bool:
    """Every column a parameter names is a column of the table, not a key, and not a
    pseudonymized column where it would be modelled; True when a problem was found."""
    params, data = table.parameters, table.data
    named: list[tuple[str, Sequence[str]]] = [
        ("column_types", list(params.column_types or {})),
        ("column_weights", list(params.column_weights or {})),
        ("exclude_variables", list(params.exclude_variables or ())),
        ("known_variables", list(params.known_variables or ())),
        ("not_identifiers", list(params.not_identifiers or ())),
        ("target", [params.target] if params.target is not None else []),
    ]
    found = len(problems)
    for parameter, columns in named:
        for column in columns:
            if column in keys:
                message = (
                    f"{parameter} names a key column; keys are replaced by new pseudonymous "
                    "values, never avatarized"
                )
            elif column not in data.columns:
                message = f"{parameter} names an unknown column (own columns: {_list(own)})"
            elif column in pseudonymized and parameter not in ("column_types", "exclude_variables"):
                message = (
                    f"{parameter} names a pseudonymized column; it is not avatarized (its "
                    "avatars get pseudonyms), so it cannot be weighted or known to the attacker"
                )
            else:
                continue
            problems.append(SchemaProblem(message, table=table.name, column=column))
    return len(problems) > found


def _check_pseudonymized(
    table: Table, keys: set[str], problems: list[SchemaProblem]
) -> dict[str, PseudonymizationSpec]:
    """``TableParameters.pseudonymize`` parsed, in the data's column order: each column is a
    column of the table, neither a key nor excluded, with a strategy
    :meth:`~avatars.engine.pseudonymization.PseudonymizationSpec.parse` accepts."""
    given = table.parameters.pseudonymize
    if not given:
        return {}
    if not isinstance(given, Mapping):
        problems.append(
            SchemaProblem(f"pseudonymize: expected {{column: strategy}}, got {given!r}", table.name)
        )
        return {}
    excluded = set(table.parameters.exclude_variables or ())
    specs: dict[str, PseudonymizationSpec] = {}
    for column, spec in given.items():
        if column in keys:
            message = (
                "pseudonymize names a key column; keys are replaced by new pseudonymous "
                "values already (a key cannot be pseudonymized)"
            )
        elif column not in table.data.columns:
            message = f"pseudonymize names an unknown column (columns: {_list(table.data.columns)})"
        elif column in excluded:
            message = (
                "the column is both excluded and pseudonymized: give it one treatment "
                "(exclude_variables or pseudonymize)"
            )
        else:
            try:
                specs[str(column)] = PseudonymizationSpec.parse(spec, str(column))
            except AvatarsEngineError as error:
                problems.append(SchemaProblem(str(error), table=table.name, column=str(column)))
            continue
        problems.append(SchemaProblem(message, table=table.name, column=str(column)))
    return {str(c): specs[str(c)] for c in table.data.columns if str(c) in specs}


def _check_primary_key(table: Table, problems: list[SchemaProblem]) -> None:
    keys = table.data[table.primary_key]
    missing = int(keys.isna().sum())
    if missing:
        problems.append(
            SchemaProblem(
                f"the primary key has {missing} missing value(s)",
                table=table.name,
                column=table.primary_key,
            )
        )
    duplicated = keys[keys.duplicated(keep=False) & keys.notna()]
    if len(duplicated):
        values = duplicated.drop_duplicates()
        problems.append(
            SchemaProblem(
                f"the primary key is not unique: {len(values)} value(s) appear more than once "
                f"({len(duplicated)} rows), e.g. {_values(values)}",
                table=table.name,
                column=table.primary_key,
            )
        )


def _check_foreign_key(link: Link, tables: dict[str, Table], problems: list[SchemaProblem]) -> None:
    child = tables[link.child].data[link.foreign_key]
    parent = tables[link.parent].data[link.parent_key]
    missing = int(child.isna().sum())
    if missing:
        problems.append(
            SchemaProblem(
                f"the foreign key to '{link.parent}' has {missing} missing value(s): every row "
                "of a child table belongs to a parent row",
                table=link.child,
                column=link.foreign_key,
            )
        )
    observed = child[child.notna()]
    orphan = ~observed.isin(parent)
    n_orphans = int(orphan.sum())
    if n_orphans:
        hint = ""
        if n_orphans == len(observed) and child.dtype != parent.dtype:
            hint = f" (the key types differ: {child.dtype} here, {parent.dtype} in the parent)"
        problems.append(
            SchemaProblem(
                f"{n_orphans} row(s) have a foreign key value absent from "
                f"'{link.parent}.{link.parent_key}' (orphans), e.g. "
                f"{_values(observed[orphan].drop_duplicates())}{hint}",
                table=link.child,
                column=link.foreign_key,
            )
        )


def _list(names: Any) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _values(series: pd.Series) -> str:
    return ", ".join(repr(v) for v in series.head(SHOWN_VALUES).tolist())
