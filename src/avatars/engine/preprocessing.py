"""From a typed table to the numbers the projection works on, and back (method.md §1.2-1.3, §1.10).

:class:`TableEncoder` is fitted on the original table. It turns any table with the same columns
into an :class:`EncodedTable`:

- continuous columns (int, float, datetime as seconds since the epoch) in one float matrix,
  NaN where missing;
- categorical columns (category, bool) as integer codes into the categories seen at fit time,
  ``-1`` where missing or unseen;
- one missingness indicator per column that has missing values in the original
  (``is_missing__<column>``, a two-modality categorical: method.md §1.3).

:meth:`TableEncoder.decode` does the reverse for avatars: it rounds integers half-to-even (an
integer column of at most :data:`INT_GRID_MAX_VALUES` distinct values to the nearest value
observed in the original),
rounds floats to the number of decimals most frequent in the original column, restores
datetimes (and their time zone), categories and booleans, and puts missing values back where
the avatar's indicator says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.errors import InvalidDataError, InvalidParameterError, UnknownColumnError
from avatars.engine.schema import ColumnType, resolve_column_types

MISSING_INDICATOR_PREFIX = "is_missing__"

#: Floats are rounded to at most this many decimals (more is float noise, not data).
MAX_DECIMALS = 10

#: A categorical column with one distinct value per row is an identifier, not a variable;
#: below this many rows the check would flag ordinary small tables.
ID_LIKE_MIN_ROWS = 10


@dataclass
class EncodedTable:
    """A table as numbers: see the module docstring."""

    continuous: np.ndarray  # (n, p_c) float64, NaN = missing
    codes: np.ndarray  # (n, q) int32, -1 = missing or unseen modality
    continuous_names: list[str]
    categorical_names: list[str]

    @property
    def n_rows(self) -> int:
        return int(self.continuous.shape[0] if self.continuous.size else self.codes.shape[0])

    def take(self, rows: np.ndarray) -> EncodedTable:
        return EncodedTable(
            self.continuous[rows], self.codes[rows], self.continuous_names, self.categorical_names
        )


@dataclass
class ColumnFormat:
    """What is needed to give an avatar column the look of the original column."""

    name: str
    type: ColumnType
    dtype: Any  # the original's: a numpy dtype or a pandas extension dtype
    decimals: int | None = None  # floats
    datetime_unit: str | None = None  # "D" when every original datetime is a midnight
    tz: object = None  # datetime_tz
    grid: np.ndarray | None = None  # int columns with few values: the values observed


#: An integer column with at most this many distinct values keeps its avatars on the values
#: observed in the original (scores 60, 70, ..., 100 stay on that grid instead of becoming 73).
INT_GRID_MAX_VALUES = 30


@dataclass
class TableEncoder:
    """Fitted on the original table; encodes tables like it and decodes avatars."""

    column_types: dict[str, ColumnType]
    continuous_columns: list[str] = field(default_factory=list)
    categorical_columns: list[str] = field(default_factory=list)  # data columns only
    categories: dict[str, pd.Index] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)  # columns with NAs in the original
    formats: dict[str, ColumnFormat] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)  # original order

    # -- fitting ------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, df: pd.DataFrame, column_types: Mapping[str, str | ColumnType] | None = None
    ) -> TableEncoder:
        validate_table(df)
        types = resolve_column_types(df, column_types)
        enc = cls(column_types=types, columns=[str(c) for c in df.columns])
        for column in df.columns:
            series = df[column]
            ctype = types[column]
            validate_column(series, ctype, n_rows=len(df))
            fmt = ColumnFormat(name=column, type=ctype, dtype=series.dtype)
            if ctype.is_continuous:
                enc.continuous_columns.append(column)
                values = _to_float(series, ctype, column)
                if ctype == ColumnType.FLOAT:
                    fmt.decimals = _most_frequent_decimals(values)
                elif ctype == ColumnType.INT:
                    observed = np.unique(values[~np.isnan(values)])
                    if len(observed) <= INT_GRID_MAX_VALUES:
                        fmt.grid = observed
                elif ctype in (ColumnType.DATETIME, ColumnType.DATETIME_TZ):
                    finite = values[~np.isnan(values)]
                    fmt.datetime_unit = "D" if np.all(np.mod(finite, 86400) == 0) else "s"
                    if ctype == ColumnType.DATETIME_TZ:
                        fmt.tz = getattr(series.dtype, "tz", None) or "UTC"
            else:
                enc.categorical_columns.append(column)
                enc.categories[column] = _categories_of(series, ctype)
            if series.isna().any():
                enc.missing_columns.append(column)
            enc.formats[column] = fmt
        return enc

    # -- names --------------------------------------------------------------------------
    @property
    def indicator_names(self) -> list[str]:
        return [f"{MISSING_INDICATOR_PREFIX}{c}" for c in self.missing_columns]

    @property
    def all_categorical_names(self) -> list[str]:
        """Categorical variables of the encoded table: data columns, then indicators."""
        return [*self.categorical_columns, *self.indicator_names]

    def n_modalities(self) -> list[int]:
        return [len(self.categories[c]) for c in self.categorical_columns] + [2] * len(
            self.missing_columns
        )

    # -- encoding -----------------------------------------------------------------------
    def encode(self, df: pd.DataFrame) -> EncodedTable:
        """Encode a table with the original's columns (extra columns are ignored)."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise InvalidDataError(
                f"the table lacks column(s) {', '.join(map(repr, missing))} of the original"
            )
        n = len(df)
        continuous = np.empty((n, len(self.continuous_columns)), dtype=np.float64)
        for j, column in enumerate(self.continuous_columns):
            continuous[:, j] = _to_float(df[column], self.column_types[column], column)
        q = len(self.categorical_columns) + len(self.missing_columns)
        codes = np.empty((n, q), dtype=np.int32)
        for j, column in enumerate(self.categorical_columns):
            codes[:, j] = _codes_of(df[column], self.categories[column], self.column_types[column])
        for j, column in enumerate(self.missing_columns, start=len(self.categorical_columns)):
            codes[:, j] = df[column].isna().to_numpy().astype(np.int32)
        return EncodedTable(
            continuous, codes, list(self.continuous_columns), self.all_categorical_names
        )

    # -- decoding -----------------------------------------------------------------------
    def decode(
        self, continuous: np.ndarray, codes: np.ndarray, *, reinsert_missing: bool = True
    ) -> pd.DataFrame:
        """Avatar values (imputed space) → a table that looks like the original.

        ``codes`` holds the data categoricals then the missingness indicators, as produced by
        :meth:`encode`. With ``reinsert_missing`` a value is set missing where the avatar's
        indicator is ``True`` (method.md §1.3); otherwise the imputed value is kept.
        """
        n = continuous.shape[0] if continuous.size else codes.shape[0]
        out: dict[str, pd.Series] = {}
        for j, column in enumerate(self.continuous_columns):
            out[column] = self._format_continuous(column, continuous[:, j])
        for j, column in enumerate(self.categorical_columns):
            out[column] = self._format_categorical(column, codes[:, j])
        frame = pd.DataFrame(out, index=pd.RangeIndex(n))
        if reinsert_missing:
            offset = len(self.categorical_columns)
            for j, column in enumerate(self.missing_columns):
                is_missing = codes[:, offset + j] == 1
                if is_missing.any():
                    frame[column] = _with_missing(frame[column], is_missing)
        return frame[[c for c in self.columns if c in frame.columns]]

    def _format_continuous(self, column: str, values: np.ndarray) -> pd.Series:
        fmt = self.formats[column]
        if fmt.type == ColumnType.INT:
            rounded = np.rint(values) if fmt.grid is None else _snap(values, fmt.grid)
            dtype = fmt.dtype
            if (
                isinstance(dtype, pd.api.extensions.ExtensionDtype)
                or column in self.missing_columns
            ):
                return pd.Series(rounded, dtype="Float64").astype(
                    dtype if isinstance(dtype, pd.api.extensions.ExtensionDtype) else "Int64"
                )
            return pd.Series(rounded.astype(np.dtype(dtype)))
        if fmt.type == ColumnType.FLOAT:
            decimals = fmt.decimals if fmt.decimals is not None else MAX_DECIMALS
            series = pd.Series(np.round(values, decimals))
            if isinstance(fmt.dtype, pd.api.extensions.ExtensionDtype):
                return series.astype(fmt.dtype)
            return series.astype(np.dtype(fmt.dtype))
        # datetimes: seconds since the epoch → timestamps at the original's resolution
        unit_seconds = 86400.0 if fmt.datetime_unit == "D" else 1.0
        seconds = np.rint(values / unit_seconds) * unit_seconds
        stamps = pd.to_datetime(seconds.astype(np.int64), unit="s")
        if fmt.type == ColumnType.DATETIME_TZ:
            stamps = stamps.tz_localize("UTC").tz_convert(fmt.tz)
        series = pd.Series(stamps)
        try:
            return series.astype(fmt.dtype)
        except (TypeError, ValueError):
            return series

    def _format_categorical(self, column: str, codes: np.ndarray) -> pd.Series:
        fmt = self.formats[column]
        labels = self.categories[column]
        values = labels.take(np.clip(codes, 0, len(labels) - 1))
        series = pd.Series(np.asarray(values, dtype=object))
        if fmt.type == ColumnType.BOOL:
            return series.astype(bool) if fmt.dtype == np.dtype(bool) else series.astype("boolean")
        if isinstance(fmt.dtype, pd.CategoricalDtype):
            return series.astype(fmt.dtype)
        try:
            return series.astype(fmt.dtype)
        except (TypeError, ValueError):
            return series


# -- validation ------------------------------------------------------------------------------
def validate_table(df: object) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InvalidDataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise InvalidDataError("the table has no columns")
    if df.shape[0] == 0:
        raise InvalidDataError("the table is empty (0 rows)")
    duplicated = df.columns[df.columns.duplicated()].tolist()
    if duplicated:
        raise InvalidDataError(f"duplicated column name(s): {', '.join(map(repr, duplicated))}")
    not_str = [c for c in df.columns if not isinstance(c, str)]
    if not_str:
        raise InvalidDataError(
            f"column names must be strings, got {', '.join(repr(c) for c in not_str[:5])}"
        )


def validate_column(series: pd.Series, ctype: ColumnType, n_rows: int) -> None:
    """Reject what the method cannot model, naming the column (see the Engine issue)."""
    name = str(series.name)
    observed = series.dropna()
    if observed.empty:
        raise InvalidDataError("every value is missing; drop the column", column=name)
    if ctype.is_continuous:
        values = _to_float(series, ctype, name)
        if np.isinf(values).any():
            raise InvalidDataError(
                "contains infinite values; replace them or mark them missing", column=name
            )
    n_distinct = observed.nunique()
    if n_distinct == 1 and len(observed) == n_rows:
        raise InvalidDataError(
            f"is constant (every row is {_show(observed.iloc[0])}): it carries no information; "
            "drop it, or list it in exclude_variables to keep it as is",
            column=name,
        )
    if (
        not ctype.is_continuous
        and ctype != ColumnType.BOOL
        and n_rows >= ID_LIKE_MIN_ROWS
        and n_distinct == n_rows
    ):
        raise InvalidDataError(
            "has one distinct value per row, like an identifier: an avatar cannot be built "
            "from it; drop it, or list it in exclude_variables",
            column=name,
        )


#: Why a column passes through an avatarization unchanged (see :func:`passed_through`).
CONSTANT = "constant"
ALL_MISSING = "all_missing"


def pass_through_reason(series: pd.Series) -> str | None:
    """``"constant"`` when every value is the same (none missing), ``"all_missing"`` when every
    value is missing, None otherwise.

    Such a column carries no information: nothing to protect (every record has the same value)
    and nothing to blend (an avatar could only get that value). The avatarization passes it
    through unchanged — left out of the projection, copied to the avatars as it is — and the
    metrics leave it out of their space. A column with one value *and* missing values is not
    constant: its missingness is information, modelled like any other.
    """
    observed = series.dropna()
    if observed.empty:
        return ALL_MISSING
    if len(observed) == len(series) and observed.nunique() == 1:
        return CONSTANT
    return None


def passed_through(df: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, str]]:
    """The columns of ``df`` (or of ``columns``) that pass through unchanged, in table order,
    as ``[{"column": name, "reason": "constant" | "all_missing"}]`` (the metadata's form)."""
    names = list(df.columns) if columns is None else list(columns)
    out = []
    for column in names:
        reason = pass_through_reason(df[column])
        if reason is not None:
            out.append({"column": str(column), "reason": reason})
    return out


def passed_through_note(passed: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """The metrics results' ``metadata`` entry: ``{"passed_through": [...]}``, or nothing when
    no column passed through (the server merges this metadata into the files that the official
    client reads; it stays as it was for ordinary tables)."""
    return {"passed_through": passed} if passed else {}


def check_columns_exist(parameter: str, names: Sequence[str] | None, df: pd.DataFrame) -> list[str]:
    names = list(names or [])
    unknown = [c for c in names if c not in df.columns]
    if unknown:
        raise UnknownColumnError(parameter, unknown, [str(c) for c in df.columns])
    return names


def check_column_weights(weights: Mapping[str, float] | None, df: pd.DataFrame) -> dict[str, float]:
    weights = dict(weights or {})
    check_columns_exist("column_weights", list(weights), df)
    for column, value in weights.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not np.isfinite(number) or number <= 0:
            raise InvalidParameterError(
                "column_weights", f"weight of column '{column}' must be a number > 0, got {value!r}"
            )
        weights[column] = number
    return weights


# -- helpers ---------------------------------------------------------------------------------
def _to_float(series: pd.Series, ctype: ColumnType, column: str) -> np.ndarray:
    """A continuous column as float64 (datetimes: seconds since the epoch, NaN = missing)."""
    if ctype in (ColumnType.DATETIME, ColumnType.DATETIME_TZ):
        try:
            stamps = pd.to_datetime(series, utc=ctype == ColumnType.DATETIME_TZ)
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(
                f"cannot be read as {ctype.value}: {exc}", column=column
            ) from None
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):  # compare instants in UTC
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        nanos = stamps.to_numpy(dtype="datetime64[ns]")
        seconds = nanos.astype(np.int64).astype(np.float64) / 1e9
        seconds[np.isnat(nanos)] = np.nan
        return seconds
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        numbers = pd.to_numeric(series, errors="raise")
    except (TypeError, ValueError):
        bad = series[pd.to_numeric(series, errors="coerce").isna() & series.notna()]
        example = bad.iloc[0] if len(bad) else "?"
        raise InvalidDataError(
            f"is typed {ctype.value} but holds non-numeric values such as {_show(example)}",
            column=column,
        ) from None
    return pd.Series(numbers).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _categories_of(series: pd.Series, ctype: ColumnType) -> pd.Index:
    if ctype == ColumnType.BOOL:
        values = series.dropna()
        unknown = values[~values.isin([True, False])]
        if len(unknown):
            raise InvalidDataError(
                f"is typed bool but holds {unknown.iloc[0]!r}", column=str(series.name)
            )
        return pd.Index([False, True], dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = series.dropna().unique()
        cats = [c for c in series.cat.categories if c in set(present)]
        return pd.Index(cats, dtype=object)
    uniques = pd.unique(series.dropna())
    try:
        uniques = np.sort(uniques)
    except TypeError:  # mixed types: sort by their text, deterministically
        uniques = np.array(sorted(uniques, key=lambda v: (type(v).__name__, str(v))), dtype=object)
    return pd.Index(uniques, dtype=object)


def _codes_of(series: pd.Series, categories: pd.Index, ctype: ColumnType) -> np.ndarray:
    values = series.astype(object)
    if ctype == ColumnType.BOOL:
        values = values.map(
            lambda v: v if v is None or v is pd.NA or isinstance(v, float) else bool(v)
        )
    codes = categories.get_indexer(values)
    return codes.astype(np.int32)


def _most_frequent_decimals(values: np.ndarray, sample: int = 20_000) -> int:
    """The number of decimals most frequent in the column (method.md §1.10).

    Computed on a deterministic sample: a value has d decimals when rounding it to d
    decimals leaves it unchanged (up to float representation).
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return MAX_DECIMALS
    if finite.size > sample:
        finite = finite[np.linspace(0, finite.size - 1, sample).astype(np.int64)]
    decimals = np.full(finite.shape, MAX_DECIMALS, dtype=np.int64)
    undecided = np.ones(finite.shape, dtype=bool)
    for d in range(MAX_DECIMALS + 1):
        scale = np.abs(finite) * 1e-12 + 1e-12
        exact = undecided & (np.abs(np.round(finite, d) - finite) <= scale)
        decimals[exact] = d
        undecided &= ~exact
        if not undecided.any():
            break
    counts = np.bincount(decimals, minlength=MAX_DECIMALS + 1)
    return int(np.argmax(counts))


def _show(value: object) -> str:
    """A value as users wrote it: numpy scalars without their type wrapper."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _snap(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Each value replaced by the nearest value of the sorted ``grid`` (NaN stays NaN; a value
    half-way between two grid values goes to the lower one)."""
    upper = np.clip(np.searchsorted(grid, values), 1, len(grid) - 1) if len(grid) > 1 else None
    if upper is None:
        return np.where(np.isnan(values), np.nan, grid[0])
    lower_values, upper_values = grid[upper - 1], grid[upper]
    nearest = np.where(values - lower_values <= upper_values - values, lower_values, upper_values)
    return np.where(np.isnan(values), np.nan, nearest)


def _with_missing(series: pd.Series, is_missing: np.ndarray) -> pd.Series:
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(
        dtype, pd.api.extensions.ExtensionDtype
    ):
        series = series.astype("Int64")
    elif pd.api.types.is_bool_dtype(dtype) and not isinstance(
        dtype, pd.api.extensions.ExtensionDtype
    ):
        series = series.astype("boolean")
    series = series.copy()
    series[is_missing] = (
        pd.NA if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) else np.nan
    )
    return series
