"""Series tables: what they are, their checks, and their values as arrays.

A series table is a long table with one row per (individual, time point): a foreign key naming
the individual (a value of the individual table's primary key), a time column (numbers or
datetimes), optionally a row identifier (``primary_key``, renumbered in the avatars, never
modelled) and one or more numeric *series variables*. :func:`read_series` checks it against the
individuals' keys and returns a :class:`SeriesData`: the rows grouped by individual (in the
order of the individual table) and the times as float64, ready for the alignment.

What is rejected, each with the table, the column and the number of individuals concerned:

- a time column that is neither numeric nor datetime, missing times, times that are not
  strictly increasing within an individual (row order is the series order: sort the table by
  individual and time), an individual with a single point (a series needs a time range);
- series values that are not numbers, or infinite;
- foreign keys that are missing or absent from the individual table.

Missing series *values* are allowed (a point observed for some variables and not others); an
individual of the individual table without any row in a series table is allowed too (its
series features are missing and imputed by the avatarization).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from avatars.engine.errors import InvalidDataError

#: Key values quoted in an error message.
SHOWN_KEYS = 3

NANOSECONDS = 1_000_000_000

#: Float times with at most this many decimals are kept on that many decimals, strictly
#: increasing (finer ones are only rounded).
MAX_QUANTUM_DECIMALS = 6


class SeriesDataError(InvalidDataError):
    """A series table cannot be used: names the table, the column and how many individuals."""

    def __init__(
        self, table: str, column: str | None, message: str, n_individuals: int | None = None
    ) -> None:
        self.table = table
        self.n_individuals = n_individuals
        self.detail = message  # the message without its "table ..., column ...: " prefix
        where = f"table '{table}'" + (f", column '{column}'" if column is not None else "")
        super().__init__(f"{where}: {message}")
        self.column = column


@dataclass(frozen=True, eq=False)
class SeriesTable:
    """One series table of an individual table (a ``time_series`` link).

    ``individual_key``: the column holding the individual's key (the foreign key);
    ``time``: the time column; ``primary_key``: an optional row identifier (left out and
    renumbered ``0..n-1`` in the avatars). Every other column is a series variable.
    """

    name: str
    data: pd.DataFrame
    individual_key: str
    time: str
    primary_key: str | None = None

    def variable_names(self) -> list[str]:
        roles = {self.individual_key, self.time, self.primary_key}
        return [str(c) for c in self.data.columns if c not in roles]


class TimeKind(StrEnum):
    INT = "int"
    FLOAT = "float"
    DATETIME = "datetime"


@dataclass(frozen=True)
class TimeFormat:
    """How times were read, so that avatar times are written back alike.

    Times are float64 in the arrays: the numbers themselves, or seconds since ``origin_ns``
    (the earliest time of the table, which keeps sub-microsecond precision) for datetimes.
    """

    kind: TimeKind
    dtype: str  # the original dtype, e.g. "int64", "datetime64[ns, UTC]"
    origin_ns: int = 0
    resolution_ns: int = 1  # datetimes are rounded to this (the coarsest unit exact for all)
    timezone: str | None = None
    decimals: int | None = None  # floats are rounded to their most frequent decimals

    @property
    def quantum(self) -> float | None:
        """The step that times are multiples of: 1 for integers, the resolution (in seconds)
        for datetimes, ``10^−d`` for floats with ``d ≤ 6`` decimals, None for other floats."""
        if self.kind == TimeKind.INT:
            return 1.0
        if self.kind == TimeKind.DATETIME:
            return self.resolution_ns / NANOSECONDS
        if self.decimals is not None and self.decimals <= MAX_QUANTUM_DECIMALS:
            return float(10.0**-self.decimals)
        return None

    def to_column(self, times: np.ndarray) -> pd.Series:
        """Float times (as in :class:`SeriesData`) back into a column of the original type."""
        if self.kind == TimeKind.INT:
            return pd.Series(np.rint(times).astype(np.dtype(self.dtype)))
        if self.kind == TimeKind.FLOAT:
            rounded = times if self.decimals is None else np.round(times, self.decimals)
            return pd.Series(rounded.astype(np.dtype(self.dtype)))
        steps = np.rint(times * (NANOSECONDS / self.resolution_ns)).astype(np.int64)
        stamps = pd.to_datetime(self.origin_ns + steps * self.resolution_ns, unit="ns")
        if self.timezone is not None:
            stamps = stamps.tz_localize("UTC").tz_convert(self.timezone)
        return pd.Series(stamps)


@dataclass
class SeriesData:
    """A checked series table as arrays, rows grouped by individual and in time order.

    Rows of individual ``i`` (position ``i`` in the individual table) are
    ``offsets[i]:offsets[i + 1]``; an individual without series has an empty range.
    """

    table: str
    variables: list[str]
    offsets: np.ndarray  # (n_individuals + 1,) int64
    times: np.ndarray  # (n_rows,) float64, strictly increasing within an individual
    values: np.ndarray  # (n_rows, n_variables) float64, NaN = missing
    time_format: TimeFormat
    integer_variables: list[bool] = field(default_factory=list)
    decimals: list[int] = field(default_factory=list)  # most frequent decimals (floats)

    @property
    def n_individuals(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def owner(self) -> np.ndarray:
        """The individual (position) of each row."""
        return np.repeat(np.arange(self.n_individuals), self.lengths)


def read_series(table: SeriesTable, individual_keys: pd.Series | pd.Index) -> SeriesData:
    """Check ``table`` against the individuals' keys (see the module docstring) and return its
    rows as arrays, grouped by individual in the order of ``individual_keys``."""
    df = _check_frame(table)
    variables = _check_roles(table, df)
    keys = pd.Index(individual_keys)
    if keys.has_duplicates:
        raise InvalidDataError(
            f"the individual keys of series table '{table.name}' are not unique: "
            f"{int(keys.duplicated().sum())} duplicated value(s)"
        )
    owner = _owner_positions(table, df[table.individual_key], keys)
    times, time_format = _read_times(table, df[table.time], owner)
    order = np.argsort(owner, kind="stable")  # rows grouped by individual, row order kept
    owner_sorted, times_sorted = owner[order], times[order]
    _check_time_order(table, owner_sorted, times_sorted, keys)
    values = np.empty((len(df), len(variables)))
    integer_variables, decimals = [], []
    for v, column in enumerate(variables):
        values[:, v], is_integer = _read_values(table, column, df[column], owner, keys)
        integer_variables.append(is_integer)
        decimals.append(0 if is_integer else most_frequent_decimals(values[:, v]))
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(keys)), out=offsets[1:])
    return SeriesData(
        table=table.name,
        variables=variables,
        offsets=offsets,
        times=times_sorted,
        values=values[order],
        time_format=time_format,
        integer_variables=integer_variables,
        decimals=decimals,
    )


# -- checks ----------------------------------------------------------------------------------
def _check_frame(table: SeriesTable) -> pd.DataFrame:
    df = table.data
    if not isinstance(df, pd.DataFrame):
        raise InvalidDataError(
            f"series table '{table.name}': expected a pandas DataFrame, got {type(df).__name__}"
        )
    if len(df) == 0:
        raise SeriesDataError(table.name, None, "the table is empty (0 rows)")
    duplicated = df.columns[df.columns.duplicated()].tolist()
    if duplicated:
        raise SeriesDataError(
            table.name, None, f"duplicated column name(s): {', '.join(map(repr, duplicated))}"
        )
    return df.reset_index(drop=True)


def _check_roles(table: SeriesTable, df: pd.DataFrame) -> list[str]:
    roles = {"individual_key": table.individual_key, "time": table.time}
    if table.primary_key is not None:
        roles["primary_key"] = table.primary_key
    for role, column in roles.items():
        if column not in df.columns:
            shown = ", ".join(repr(str(c)) for c in df.columns[:20])
            raise SeriesDataError(
                table.name, column, f"the {role} column is not in the table (it has {shown})"
            )
    if len(set(roles.values())) < len(roles):
        raise SeriesDataError(
            table.name,
            None,
            "the individual key, time and primary key columns must be different columns, got "
            + ", ".join(f"{role}={column!r}" for role, column in roles.items()),
        )
    variables = table.variable_names()
    if not variables:
        raise SeriesDataError(
            table.name, None, "no series variable: the table has only its key and time columns"
        )
    return variables


def _owner_positions(table: SeriesTable, foreign: pd.Series, keys: pd.Index) -> np.ndarray:
    missing = foreign.isna()
    if missing.any():
        raise SeriesDataError(
            table.name,
            table.individual_key,
            f"{int(missing.sum())} row(s) have no individual key (missing value)",
        )
    positions = keys.get_indexer(foreign)
    unknown = positions < 0
    if unknown.any():
        strays = pd.unique(foreign[unknown])
        shown = ", ".join(repr(_plain(v)) for v in strays[:SHOWN_KEYS])
        raise SeriesDataError(
            table.name,
            table.individual_key,
            f"{len(strays)} individual(s) are not in the individual table (e.g. {shown}); "
            "check that the key columns hold the same values and types",
            n_individuals=len(strays),
        )
    return positions.astype(np.int64)


def _read_times(
    table: SeriesTable, column: pd.Series, owner: np.ndarray
) -> tuple[np.ndarray, TimeFormat]:
    name = table.time
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)
    ):
        raise SeriesDataError(
            table.name,
            name,
            f"the time column must hold numbers or datetimes, got dtype {dtype}",
        )
    missing = column.isna().to_numpy()
    if missing.any():
        count = len(np.unique(owner[missing]))
        raise SeriesDataError(
            table.name,
            name,
            f"{int(missing.sum())} missing time(s) in {count} individual(s); every point needs "
            "a time",
            n_individuals=count,
        )
    if pd.api.types.is_datetime64_any_dtype(dtype):
        timezone = None
        stamps = column
        if isinstance(dtype, pd.DatetimeTZDtype):
            timezone = str(dtype.tz)
            stamps = column.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        origin = int(ns.min())
        resolution = _resolution_ns(ns - origin)
        times = (ns - origin).astype(np.float64) / NANOSECONDS
        fmt = TimeFormat(TimeKind.DATETIME, str(dtype), origin, resolution, timezone)
        return times, fmt
    times = column.to_numpy(dtype=np.float64)
    if not np.isfinite(times).all():
        count = len(np.unique(owner[~np.isfinite(times)]))
        raise SeriesDataError(
            table.name, name, f"infinite times in {count} individual(s)", n_individuals=count
        )
    if pd.api.types.is_integer_dtype(dtype):
        numpy_dtype = "int64" if isinstance(dtype, pd.api.extensions.ExtensionDtype) else str(dtype)
        return times, TimeFormat(TimeKind.INT, numpy_dtype)
    return times, TimeFormat(TimeKind.FLOAT, "float64", decimals=most_frequent_decimals(times))


def _resolution_ns(ns: np.ndarray) -> int:
    """The coarsest of s, ms, µs, ns in which every time is a whole number."""
    for unit in (NANOSECONDS, 1_000_000, 1_000):
        if not (ns % unit).any():
            return unit
    return 1


def _check_time_order(
    table: SeriesTable, owner: np.ndarray, times: np.ndarray, keys: pd.Index
) -> None:
    """Strictly increasing times within each individual, and at least two points each."""
    same = owner[1:] == owner[:-1]
    bad_rows = np.flatnonzero(same & (times[1:] <= times[:-1]))
    if bad_rows.size:
        individuals = np.unique(owner[bad_rows])
        raise SeriesDataError(
            table.name,
            table.time,
            f"times are not strictly increasing within {len(individuals)} individual(s) "
            f"(e.g. {_shown(keys, individuals)}); sort the table by individual and time and "
            "remove duplicated times",
            n_individuals=len(individuals),
        )
    counts = np.bincount(owner, minlength=len(keys))
    single = np.flatnonzero(counts == 1)
    if single.size:
        raise SeriesDataError(
            table.name,
            table.time,
            f"{len(single)} individual(s) have a single point (e.g. {_shown(keys, single)}); "
            "a series needs at least two points",
            n_individuals=len(single),
        )


def _read_values(
    table: SeriesTable, name: str, column: pd.Series, owner: np.ndarray, keys: pd.Index
) -> tuple[np.ndarray, bool]:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return column.astype("float64").to_numpy(), True
    if pd.api.types.is_numeric_dtype(dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        is_integer = pd.api.types.is_integer_dtype(dtype)
    elif isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        bad = column.notna().to_numpy()
        raise _non_numeric(table, name, owner, keys, bad, f"dtype {dtype}")
    else:
        converted = pd.to_numeric(column, errors="coerce")
        bad = (converted.isna() & column.notna()).to_numpy()
        if bad.any():
            example = column[bad].iloc[0]
            raise _non_numeric(table, name, owner, keys, bad, f"e.g. {example!r}")
        values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
        is_integer = False
    infinite = np.isinf(values)
    if infinite.any():
        individuals = np.unique(owner[infinite])
        raise SeriesDataError(
            table.name,
            name,
            f"infinite values in {len(individuals)} individual(s) "
            f"(e.g. {_shown(keys, individuals)}); replace them or mark them missing",
            n_individuals=len(individuals),
        )
    return values, is_integer


def _non_numeric(
    table: SeriesTable,
    name: str,
    owner: np.ndarray,
    keys: pd.Index,
    bad: np.ndarray,
    what: str,
) -> SeriesDataError:
    individuals = np.unique(owner[bad])
    return SeriesDataError(
        table.name,
        name,
        f"series values must be numbers: non-numeric values ({what}) in {len(individuals)} "
        f"individual(s) (e.g. {_shown(keys, individuals)})",
        n_individuals=len(individuals),
    )


def _shown(keys: pd.Index, positions: np.ndarray) -> str:
    return ", ".join(repr(_plain(keys[p])) for p in positions[:SHOWN_KEYS])


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def most_frequent_decimals(values: np.ndarray, *, sample: int = 20_000, limit: int = 10) -> int:
    """The number of decimals most frequent among the finite ``values`` (a deterministic
    sample of at most ``sample``): avatar values are rounded to it, as the avatarization rounds
    float columns (method.md §1.10). A value has ``d`` decimals when rounding it to ``d``
    decimals leaves it unchanged up to float representation."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return limit
    if finite.size > sample:
        finite = finite[np.linspace(0, finite.size - 1, sample).astype(np.int64)]
    decimals = np.full(finite.shape, limit, dtype=np.int64)
    undecided = np.ones(finite.shape, dtype=bool)
    scale = 1e-9 * np.maximum(1.0, np.abs(finite))
    for d in range(limit + 1):
        exact = undecided & (np.abs(np.round(finite, d) - finite) <= scale)
        decimals[exact] = d
        undecided &= ~exact
    return int(np.bincount(decimals, minlength=limit + 1).argmax())
