"""A variable as its difference to the sum of others (the client-side processor of older
clients; the server-side one is
:class:`~avatars.protocol.parameters.RelativeDifferenceParameters`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from avatars.processors._base import (
    ProcessorError,
    check_columns,
    check_name,
    check_names,
    check_new_columns,
    check_no_missing,
    check_numeric,
    ordered_like,
)

__all__ = ["RelativeDifferenceProcessor"]


class RelativeDifferenceProcessor:
    """Express ``target`` as ``(target - sum(references)) / scaling_unit``, and back.

    Keeps relations such as ``age_at_t1 >= age_at_t0`` (a non-negative difference) or
    ``total = a + b`` through avatarization. ``preprocess`` writes the difference in
    ``target_rename`` (``target`` itself by default), dropping ``target`` when
    ``drop_original_target=True`` (which needs a ``target_rename``). ``postprocess`` sets
    ``target = difference * scaling_unit + sum(references)`` and drops a renamed difference
    column, so ``dest`` gets ``source``'s columns back. References must have no missing
    values; a missing target gives a missing difference and back. Chain several processors
    by postprocessing in the reverse order of preprocessing.

    Example::

        p = RelativeDifferenceProcessor(target="age_at_t1", references=["age_at_t0"])
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        target: str,
        references: list[str],
        scaling_unit: int | None = None,
        target_rename: str | None = None,
        drop_original_target: bool | None = False,
    ) -> None:
        check_name(target, argument="target")
        self.references = check_names(references, argument="references")
        if target in self.references:
            raise ProcessorError(f"references: {target!r} is the target itself")
        if scaling_unit is not None and (
            isinstance(scaling_unit, bool)
            or not isinstance(scaling_unit, int | float | np.integer | np.floating)
            or not math.isfinite(scaling_unit)
            or scaling_unit <= 0
        ):
            raise ProcessorError(
                f"scaling_unit: expected a number > 0 (or None for 1), got {scaling_unit!r}"
            )
        if target_rename is not None:
            check_name(target_rename, argument="target_rename")
            if target_rename in self.references:
                raise ProcessorError(f"target_rename: {target_rename!r} is one of references")
        if drop_original_target and target_rename is None:
            raise ProcessorError(
                "drop_original_target=True needs a target_rename: the difference would be "
                "dropped with the target"
            )
        self.target = target
        self.scaling_unit = scaling_unit or 1
        self.target_rename = target_rename if target_rename is not None else target
        self.drop_original_target = bool(drop_original_target)

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the difference of ``target`` to the references."""
        check_columns(df, [self.target], argument="target", table="df")
        check_columns(df, self.references, argument="references", table="df")
        check_numeric(df, [self.target], argument="target", table="df")
        check_numeric(df, self.references, argument="references", table="df")
        check_no_missing(df, self.references, argument="references", table="df")
        if self.target_rename != self.target:
            check_new_columns(df, [("target_rename", self.target_rename)], table="df")
        out = df.copy()
        out[self.target_rename] = (df[self.target] - _total(df, self.references)) / (
            self.scaling_unit
        )
        if self.drop_original_target:
            out = out.drop(columns=[self.target])
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with ``target`` rebuilt from the difference and the references."""
        check_columns(dest, [self.target_rename], argument="target_rename", table="dest")
        check_columns(dest, self.references, argument="references", table="dest")
        check_numeric(dest, [self.target_rename], argument="target_rename", table="dest")
        check_numeric(dest, self.references, argument="references", table="dest")
        check_no_missing(dest, self.references, argument="references", table="dest")
        out = dest.copy()
        out[self.target] = dest[self.target_rename] * self.scaling_unit + _total(
            dest, self.references
        )
        if self.target_rename != self.target:
            out = out.drop(columns=[self.target_rename])
        return ordered_like(out, source)


def _total(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    total = df[columns[0]]
    for column in columns[1:]:
        total = total + df[column]
    return total
