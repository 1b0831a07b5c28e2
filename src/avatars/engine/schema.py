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
