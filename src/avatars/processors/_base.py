"""What the processors share: their protocol, their error, and the checks at their edges.

A processor is two pure-ish functions on DataFrames: ``preprocess(df)`` before upload, which
may remember what it needs about the original (bounds, statistics, dtypes), and
``postprocess(source, dest)`` after download, where ``source`` is the original table and
``dest`` the table to bring back (the avatars). Neither modifies its arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from avatars.exceptions import AvatarsError

__all__ = ["Processor", "ProcessorError"]


@runtime_checkable
class Processor(Protocol):
    """What ``Runner`` and notebooks call (the official client's ``avatars.models.Processor``)."""

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame: ...

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame: ...


class ProcessorError(AvatarsError, ValueError):
    """Invalid processor argument or input table; the message names the argument or column.

    A ``ValueError``, as the official client's processors raise, so notebooks that catch it
    keep working.
    """


def _shown(names: Iterable[Any]) -> str:
    return ", ".join(repr(n) for n in names)


def check_columns(df: pd.DataFrame, columns: Sequence[Any], *, argument: str, table: str) -> None:
    """Every name of ``columns`` (given as ``argument``) is a column of ``table``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ProcessorError(
            f"{argument}: column{'s' if len(missing) > 1 else ''} {_shown(missing)} not found "
            f"in {table} (its columns: {_shown(df.columns)})"
        )


def check_new_columns(df: pd.DataFrame, names: Sequence[tuple[str, Any]], *, table: str) -> None:
    """Names of columns to create (``(argument, name)`` pairs) neither exist in ``table`` nor
    repeat one another."""
    seen: dict[Any, str] = {}
    for argument, name in names:
        if name in seen:
            raise ProcessorError(f"{argument}: {name!r} is also given as {seen[name]}")
        seen[name] = argument
        if name in df.columns:
            raise ProcessorError(
                f"{argument}: {name!r} is already a column of {table}; choose another name"
            )


def is_numeric(series: pd.Series) -> bool:
    """Integers and floats, not booleans (categorical for the avatar method)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def check_numeric(df: pd.DataFrame, columns: Sequence[Any], *, argument: str, table: str) -> None:
    for column in columns:
        if not is_numeric(df[column]):
            raise ProcessorError(
                f"{argument}: column {column!r} of {table} must be numeric (int or float), "
                f"got dtype {df[column].dtype}"
            )


def check_no_missing(
    df: pd.DataFrame, columns: Sequence[Any], *, argument: str, table: str
) -> None:
    for column in columns:
        missing = int(df[column].isna().sum())
        if missing:
            raise ProcessorError(
                f"{argument}: column {column!r} of {table} has {missing} missing value"
                f"{'s' if missing > 1 else ''}; this processor needs complete values"
            )


def check_name(value: Any, *, argument: str) -> None:
    if not isinstance(value, str) or not value:
        raise ProcessorError(f"{argument}: expected a column name, got {value!r}")


def check_column_names(**arguments: Any) -> None:
    """Each keyword argument (a constructor argument by its name) is a column name, checked in
    the order given: ``check_column_names(id_variable=id_variable, ...)``."""
    for argument, value in arguments.items():
        check_name(value, argument=argument)


def check_names(value: Any, *, argument: str, allow_empty: bool = False) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ProcessorError(f"{argument}: expected a list of column names, got {value!r}")
    names = list(value)
    if not names and not allow_empty:
        raise ProcessorError(f"{argument}: expected at least one column name, got []")
    for name in names:
        check_name(name, argument=argument)
    if len(set(names)) != len(names):
        raise ProcessorError(f"{argument}: a column is named twice in {names!r}")
    return names


def check_int(value: Any, *, argument: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ProcessorError(f"{argument}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_fitted(fitted: bool, processor: object) -> None:
    if not fitted:
        raise ProcessorError(
            f"{type(processor).__name__}.postprocess needs what preprocess learns from the "
            "original table: call preprocess(df) first"
        )


def ordered_like(dest: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    """``dest`` with the columns it shares with ``source`` first, in ``source``'s order."""
    common = [c for c in source.columns if c in dest.columns]
    others = [c for c in dest.columns if c not in source.columns]
    return dest[common + others]
