"""Parts of a total expressed as shares, so that avatars keep ``total = part_1 + part_2 ...``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avatars.processors._base import (
    ProcessorError,
    check_columns,
    check_int,
    check_name,
    check_names,
    check_numeric,
)

__all__ = ["ProportionProcessor"]


class ProportionProcessor:
    """Express ``variable_names`` as proportions, and back as amounts of ``reference``.

    With ``sum_to_one=True`` (default) ``preprocess`` divides each variable by the row's sum
    of the variables (the proportions of a row sum to 1), and ``postprocess`` gives each
    variable its share of the row's ``reference``, rounded to ``decimal_count`` decimals so
    that the rounded parts still add up to ``reference`` rounded the same way (largest
    remainders get the last units). With ``sum_to_one=False`` each variable is divided by
    ``reference`` and multiplied back, unrounded.

    A variable equal to 0 stays 0; a missing value stays missing and counts as 0 in the sum.
    A row whose proportions are all 0 (or missing) gets parts of 0.

    Example::

        p = ProportionProcessor(["rent", "food"], reference="spending")
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        variable_names: list[str],
        reference: str,
        *,
        sum_to_one: bool = True,
        decimal_count: int = 1,
    ) -> None:
        self.variable_names = check_names(variable_names, argument="variable_names")
        check_name(reference, argument="reference")
        if reference in self.variable_names:
            raise ProcessorError(
                f"reference: {reference!r} is also one of variable_names {self.variable_names}"
            )
        self.reference = reference
        self.sum_to_one = bool(sum_to_one)
        self.decimal_count = check_int(decimal_count, argument="decimal_count", minimum=0)

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with ``variable_names`` as proportions (same columns, same order)."""
        self._check(df, "df")
        parts = _floats(df, self.variable_names)
        if self.sum_to_one:
            total = np.nansum(parts, axis=1)
        else:
            total = df[self.reference].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = parts / total[:, None]
        shares[parts == 0] = 0.0
        infinite = np.isinf(shares).any(axis=1)
        if infinite.any():
            rows = df.index[infinite][:5].tolist()
            divisor = "the sum of variable_names" if self.sum_to_one else "reference"
            raise ProcessorError(
                f"variable_names: {divisor} is 0 on rows {rows} where a variable is not; "
                "proportions of a zero total are undefined"
            )
        out = df.copy()
        for position, column in enumerate(self.variable_names):
            out[column] = shares[:, position]
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the proportions turned back into amounts of ``reference``."""
        self._check(dest, "dest")
        shares = _floats(dest, self.variable_names)
        reference = dest[self.reference].to_numpy(dtype="float64", na_value=np.nan)
        if self.sum_to_one:
            total = np.nansum(shares, axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                parts = shares * (reference / total)[:, None]
            parts[(shares == 0) | ((total == 0)[:, None] & ~np.isnan(shares))] = 0.0
            parts = _round_keeping_sum(parts, reference, self.decimal_count)
        else:
            parts = shares * reference[:, None]
        out = dest.copy()
        for position, column in enumerate(self.variable_names):
            out[column] = parts[:, position]
        return out

    def _check(self, df: pd.DataFrame, table: str) -> None:
        check_columns(df, [self.reference], argument="reference", table=table)
        check_columns(df, self.variable_names, argument="variable_names", table=table)
        check_numeric(df, [self.reference], argument="reference", table=table)
        check_numeric(df, self.variable_names, argument="variable_names", table=table)


def _floats(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return np.column_stack([df[c].to_numpy(dtype="float64", na_value=np.nan) for c in columns])


def _round_keeping_sum(parts: np.ndarray, reference: np.ndarray, decimals: int) -> np.ndarray:
    """Round each row of ``parts`` to ``decimals`` so that its (non-missing) parts add up to
    the row's ``reference`` rounded to ``decimals`` (largest remainder method, per row).

    A row without a reference, or whose parts do not add up to its reference (all parts 0),
    is rounded value by value.
    """
    unit = 10.0**decimals
    # the 1e-6 unit snapping removes float noise: 2.9999999999 units is 3 units, not 2 + 1
    scaled = np.round(parts * unit, 6)
    present = ~np.isnan(scaled)
    floors = np.floor(np.where(present, scaled, 0.0))
    remainders = np.where(present, scaled - floors, -np.inf)
    target = np.round(reference * unit)
    missing_units = target - floors.sum(axis=1)
    counts = present.sum(axis=1)
    # rows where the rounded parts can reach the rounded reference with at most one unit each
    adjustable = ~np.isnan(target) & (counts > 0) & (missing_units >= 0) & (missing_units <= counts)
    order = np.argsort(-remainders, axis=1, kind="stable")  # largest remainders first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(parts.shape[1])[None, :], axis=1)
    extra = (ranks < np.where(adjustable, missing_units, 0)[:, None]) & present
    rounded = np.where(adjustable[:, None], floors + extra, np.round(scaled))
    return np.where(present, rounded / unit, np.nan)
