"""What the inter-record processors share: the checks of the tables they read, records ordered
per individual, and changes expressed as a share of the room left to a bound.

Bounded change (the ``InterRecordBounded*`` processors): from ``previous`` to ``value`` in
``[lb, ub]``::

    change = (value - previous) / (ub - previous)    if value >= previous   (0 if ub == previous)
    change = (value - previous) / (previous - lb)    if value <  previous   (0 if lb == previous)

so ``change`` is in ``[-1, 1]`` and ``previous + change * (ub - previous)`` (resp.
``previous + change * (previous - lb)``) gives ``value`` back, and never leaves ``[lb, ub]``
for any ``change`` in ``[-1, 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from avatars.processors._base import (
    ProcessorError,
    check_columns,
    check_new_columns,
    check_no_missing,
    check_numeric,
)

__all__ = [
    "apply_change",
    "bounds",
    "check_records",
    "check_start_and_end",
    "cumsum_in_group",
    "first_of_group",
    "numbers",
    "ordered_positions",
    "previous_in_group",
    "relative_change",
    "rows_in_order",
    "scatter",
    "starts_of_groups",
]


def check_records(
    df: pd.DataFrame,
    *,
    table: str,
    id_variable: str,
    numeric: Mapping[str, str],
    sort_by_variable: str | None = None,
    new_columns: Mapping[str, str] | None = None,
) -> None:
    """What an inter-record processor needs of a table: ``id_variable``, each column of
    ``numeric`` (argument name: column) and ``sort_by_variable`` (when given) are columns of
    ``table`` without missing values, those of ``numeric`` numeric; ``new_columns`` (argument
    name: column) are free names. Checked column by column in that order: the error names the
    first argument and column at fault."""
    check_columns(df, [id_variable], argument="id_variable", table=table)
    check_no_missing(df, [id_variable], argument="id_variable", table=table)
    for argument, column in numeric.items():
        check_columns(df, [column], argument=argument, table=table)
        check_numeric(df, [column], argument=argument, table=table)
        check_no_missing(df, [column], argument=argument, table=table)
    if sort_by_variable is not None:
        check_columns(df, [sort_by_variable], argument="sort_by_variable", table=table)
        check_no_missing(df, [sort_by_variable], argument="sort_by_variable", table=table)
    if new_columns is not None:
        check_new_columns(df, list(new_columns.items()), table=table)


def check_start_and_end(target_start_variable: str, target_end_variable: str) -> None:
    """A start/end pair is two columns."""
    if target_start_variable == target_end_variable:
        raise ProcessorError(
            f"target_end_variable: {target_end_variable!r} is also target_start_variable"
        )


def ordered_positions(ids: pd.Series, by: pd.Series | None = None) -> np.ndarray:
    """Row positions grouped by individual (in order of first appearance), each individual's
    rows sorted by ``by`` when given, else kept in their order (stable on ties)."""
    id_codes = pd.factorize(ids, use_na_sentinel=False)[0]
    if by is None:
        return np.argsort(id_codes, kind="stable")
    by_codes = pd.factorize(by, sort=True, use_na_sentinel=False)[0]
    return np.lexsort((by_codes, id_codes))  # the last key sorts first; lexsort is stable


def starts_of_groups(ids_in_order: pd.Series) -> np.ndarray:
    """True where a new individual starts, for rows already grouped by individual."""
    codes = pd.factorize(ids_in_order, use_na_sentinel=False)[0]
    starts = np.ones(len(codes), dtype=bool)
    starts[1:] = codes[1:] != codes[:-1]
    return starts


def previous_in_group(values: np.ndarray, starts: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The previous value of the same individual; ``first`` on each individual's first row."""
    previous = np.empty_like(values)
    previous[1:] = values[:-1]
    previous[starts] = first[starts]
    return previous


def first_of_group(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each row gets the value of its individual's first row."""
    group = np.cumsum(starts) - 1
    return values[starts][group]


def relative_change(value: np.ndarray, previous: np.ndarray, lb: float, ub: float) -> np.ndarray:
    """The change from ``previous`` to ``value`` as a share of the room to the bound."""
    up = value >= previous
    room = np.where(up, ub - previous, previous - lb)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(room != 0, (value - previous) / room, 0.0)
    return np.clip(change, -1.0, 1.0)  # float noise only: value is within [lb, ub]


def apply_change(previous: float, change: float, lb: float, ub: float) -> float:
    """Inverse of :func:`relative_change`, clipped into ``[lb, ub]``."""
    change = min(max(change, -1.0), 1.0)
    value = (
        previous + change * (ub - previous) if change >= 0 else previous + change * (previous - lb)
    )
    return min(max(value, lb), ub)


def bounds(df: pd.DataFrame, columns: list[Any], *, table: str) -> tuple[float, float]:
    """The smallest and largest value over ``columns`` of ``table``."""
    values = np.concatenate([df[c].to_numpy(dtype="float64", na_value=np.nan) for c in columns])
    values = values[~np.isnan(values)]
    if len(values) == 0:
        raise ProcessorError(
            f"{', '.join(repr(c) for c in columns)} of {table} have no values to take the "
            "bounds from"
        )
    return float(values.min()), float(values.max())


def rows_in_order(
    dest: pd.DataFrame,
    ids: Any,
    *,
    source: pd.DataFrame | None = None,
    source_by: Any = None,
    by: Any = None,
) -> np.ndarray:
    """Positions of ``dest``'s rows in decoding order, grouped by individual.

    With ``source`` (``keep_record_order``): the order preprocess gave ``source``'s rows,
    ``source`` sorted by ``[ids, source_by]``; this needs the same index in both tables.
    Otherwise ``dest`` sorted by ``by`` within each individual when ``dest`` has that column,
    else ``dest``'s row order.
    """
    if source is not None:
        if not dest.index.is_unique or not dest.index.sort_values().equals(
            source.index.sort_values()
        ):
            raise ProcessorError(
                "keep_record_order=True needs source and dest with the same (unique) index: "
                "dest must be the unshuffled avatars of source; otherwise use "
                "keep_record_order=False"
            )
        ordered = source.index[ordered_positions(source[ids], source[source_by])]
        positions = dest.index.get_indexer(ordered)
        regrouped = ordered_positions(dest[ids].iloc[positions])  # by dest's own individuals
        return positions[regrouped]
    if by is not None and by in dest.columns:
        return ordered_positions(dest[ids], dest[by])
    return ordered_positions(dest[ids])


def cumsum_in_group(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarted at each individual (rows grouped by individual)."""
    group = np.cumsum(starts) - 1
    return pd.Series(values).groupby(group).cumsum().to_numpy()


def scatter(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Values computed in ``order`` put back at their rows."""
    out = np.empty_like(values)
    out[order] = values
    return out


def numbers(series: pd.Series) -> np.ndarray:
    """A numeric column as int64 (integers) or float64 (anything else) without missing values."""
    if pd.api.types.is_integer_dtype(series):
        return series.to_numpy(dtype="int64")
    return series.to_numpy(dtype="float64", na_value=np.nan)
