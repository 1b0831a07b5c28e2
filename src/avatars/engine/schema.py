"""Column types: what each column is, inferred from pandas dtypes and overridable per column.

The platform's types (method.md §1.2) are ``int``, ``float``, ``bool``, ``category``,
``datetime`` and ``datetime_tz``. The default typing follows Octopize's client: a dtype whose
name contains ``float`` is float, ``int`` is int, ``bool`` is bool, ``datetime64[..., tz]`` is
datetime_tz, ``datetime64`` is datetime; anything else (object, string, category) is category.

For the projection, int/float/datetime are continuous and category/bool are categorical.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from avatars.engine.errors import InvalidParameterError, UnknownColumnError
from avatars.protocol.enums import ColumnType

#: Accepted spellings of the types (the YAML's ``numeric`` is the client's name for float).
_ALIASES = {
    "numeric": ColumnType.FLOAT,
    "number": ColumnType.FLOAT,
    "integer": ColumnType.INT,
    "boolean": ColumnType.BOOL,
    "categorical": ColumnType.CATEGORY,
    "string": ColumnType.CATEGORY,
    "object": ColumnType.CATEGORY,
}


def parse_column_type(value: str | ColumnType, column: str = "?") -> ColumnType:
    if isinstance(value, ColumnType):
        return value
    text = str(value).strip().lower()
    if text in _ALIASES:
        return _ALIASES[text]
    try:
        return ColumnType(text)
    except ValueError:
        allowed = ", ".join(t.value for t in ColumnType)
        raise InvalidParameterError(
            "column_types",
            f"column '{column}' has unknown type {value!r}; expected one of {allowed}",
        ) from None


def infer_column_type(series: pd.Series) -> ColumnType:
    """The default type of one column, from its pandas dtype."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return ColumnType.DATETIME_TZ
    name = str(dtype).lower()
    if "datetime" in name:
        return ColumnType.DATETIME
    if "bool" in name:
        return ColumnType.BOOL
    if "float" in name:
        return ColumnType.FLOAT
    if "int" in name:
        return ColumnType.INT
    return ColumnType.CATEGORY


def resolve_column_types(
    df: pd.DataFrame, overrides: Mapping[str, str | ColumnType] | None = None
) -> dict[str, ColumnType]:
    """Every column's type: inferred from its dtype unless ``overrides`` names it."""
    overrides = dict(overrides or {})
    unknown = [c for c in overrides if c not in df.columns]
    if unknown:
        raise UnknownColumnError("column_types", unknown, [str(c) for c in df.columns])
    types: dict[str, ColumnType] = {}
    for column in df.columns:
        if column in overrides:
            types[column] = parse_column_type(overrides[column], str(column))
        else:
            types[column] = infer_column_type(df[column])
    return types


def categorical_under_threshold(df: pd.DataFrame, threshold: int = 10) -> list[str]:
    """Numeric columns with at most ``threshold`` distinct values.

    The paper treated such columns as categorical (method.md §1.2); pass them as
    ``column_types={c: "category" ...}`` to do the same.
    """
    columns = []
    for column in df.columns:
        series = df[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if numeric and series.nunique(dropna=True) <= threshold:
            columns.append(str(column))
    return columns


#: A ``category`` column of more distinct dates than this is a time variable, not categories.
DATES_MAX_MODALITIES = 20
#: A ``category`` column of numbers with more distinct values than this share of its values
#: (and than :data:`DATES_MAX_MODALITIES`) is a measurement, not categories.
NUMBERS_DISTINCT_SHARE = 0.5

_ISO_DATETIME = (
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def reconcile_declared_types(
    df: pd.DataFrame, column_types: Mapping[str, str | ColumnType] | None = None
) -> tuple[pd.DataFrame, dict[str, ColumnType], list[dict[str, str]]]:
    """Columns typed ``category`` (declared, or text) whose values say otherwise, retyped by
    their real nature: ``(table, types, notes)``, one note per retyped column.

    - every value an ISO 8601 date or date-time, more than :data:`DATES_MAX_MODALITIES`
      distinct: ``datetime`` (``datetime_tz`` with offsets) — the official client declares any
      text column ``category``, and a date column of one value per row would be refused as an
      identifier (EPL's ``career_start_date``);
    - every value a number, more than :data:`DATES_MAX_MODALITIES` distinct and more than
      :data:`NUMBERS_DISTINCT_SHARE` of the values: ``float`` (``int`` when all are whole).

    Other text stays categorical, however many modalities (names of people remain refused as
    identifiers). Pure: the table is copied only when a column changes.
    """
    types = resolve_column_types(df, column_types)
    notes: list[dict[str, str]] = []
    out = df
    for column, ctype in types.items():
        if ctype != ColumnType.CATEGORY:
            continue
        observed = df[column].dropna()
        distinct = pd.Series(observed.unique()).astype(str).str.strip()
        if len(distinct) <= DATES_MAX_MODALITIES:
            continue
        new_type, values = _real_nature(df[column], observed, distinct)
        if new_type is None:
            continue
        if out is df:
            out = df.copy()
        out[column] = values
        types[column] = new_type
        what = "dates" if new_type in (ColumnType.DATETIME, ColumnType.DATETIME_TZ) else "numbers"
        notes.append(
            {
                "column": str(column),
                "declared": ColumnType.CATEGORY.value,
                "used": new_type.value,
                "reason": f"declared category, but its {len(distinct)} distinct values are all "
                f"{what}: avatarized as {new_type.value}",
            }
        )
    return out, types, notes


def _real_nature(
    series: pd.Series, observed: pd.Series, distinct: pd.Series
) -> tuple[ColumnType | None, pd.Series | None]:
    if distinct.str.fullmatch(_ISO_DATETIME).all():
        text = series.astype("string").str.strip()
        try:
            parsed = pd.to_datetime(text, format="ISO8601", utc=False)
        except (ValueError, TypeError):
            try:
                parsed = pd.to_datetime(text, format="ISO8601", utc=True)
            except (ValueError, TypeError):
                return None, None
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            return ColumnType.DATETIME_TZ, parsed
        return ColumnType.DATETIME, parsed
    numbers = pd.to_numeric(distinct, errors="coerce")
    if numbers.notna().all() and len(distinct) > NUMBERS_DISTINCT_SHARE * len(observed):
        values = pd.to_numeric(series.astype("string").str.strip(), errors="coerce")
        whole = bool((values.dropna() % 1 == 0).all())
        if whole:
            return ColumnType.INT, values.astype("Int64")
        return ColumnType.FLOAT, values.astype("float64")
    return None, None
