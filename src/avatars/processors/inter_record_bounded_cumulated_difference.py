"""An individual's successive values as changes relative to the room left to the bounds, so
that avatars stay within the original's range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avatars.processors._base import (
    check_column_names,
    check_columns,
    check_numeric,
    ordered_like,
)
from avatars.processors._records import (
    apply_change,
    bounds,
    check_records,
    first_of_group,
    numbers,
    ordered_positions,
    previous_in_group,
    relative_change,
    scatter,
    starts_of_groups,
)

__all__ = ["InterRecordBoundedCumulatedDifferenceProcessor"]


class InterRecordBoundedCumulatedDifferenceProcessor:
    """Replace ``target_variable`` by the individual's first value and, per record, the change
    from the previous record as a share of the room to the bound it moves toward.

    With ``lb``/``ub`` the smallest/largest target of the table, a rise from ``p`` to ``v`` is
    ``(v - p) / (ub - p)`` and a fall ``-(p - v) / (p - lb)``, in [-1, 1] (0 for the first
    record). Records are taken per individual (``id_variable``) in row order.
    ``postprocess`` chains the changes from the first value of the individual's first record
    in ``dest`` (row order), with ``lb``/``ub`` from ``source``: every value stays within
    ``[lb, ub]`` (changes and first values outside their range are clipped to it), a positive
    change never decreases the value and a negative one never increases it.
    ``should_round_output=True`` rounds the values to integers. No missing values.

    Example::

        p = InterRecordBoundedCumulatedDifferenceProcessor("id", "weight", "weight0", "change")
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        id_variable: str,
        target_variable: str,
        new_first_variable_name: str,
        new_difference_variable_name: str,
        should_round_output: bool = False,
    ) -> None:
        check_column_names(
            id_variable=id_variable,
            target_variable=target_variable,
            new_first_variable_name=new_first_variable_name,
            new_difference_variable_name=new_difference_variable_name,
        )
        self.id_variable = id_variable
        self.target_variable = target_variable
        self.new_first_variable_name = new_first_variable_name
        self.new_difference_variable_name = new_difference_variable_name
        self.should_round_output = bool(should_round_output)

    @property
    def round_output(self) -> bool:
        """The official client's attribute name for ``should_round_output``."""
        return self.should_round_output

    @property
    def _new(self) -> dict[str, str]:
        return {
            "new_first_variable_name": self.new_first_variable_name,
            "new_difference_variable_name": self.new_difference_variable_name,
        }

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the target replaced by the first value and relative change columns."""
        check_records(
            df,
            table="df",
            id_variable=self.id_variable,
            numeric={"target_variable": self.target_variable},
            new_columns=self._new,
        )
        lb, ub = bounds(df, [self.target_variable], table="df")
        order = ordered_positions(df[self.id_variable])
        starts = starts_of_groups(df[self.id_variable].iloc[order])
        values = numbers(df[self.target_variable])[order]
        previous = previous_in_group(values, starts, values)
        change = relative_change(values.astype("float64"), previous.astype("float64"), lb, ub)
        out = df.drop(columns=[self.target_variable])
        out[self.new_first_variable_name] = scatter(first_of_group(values, starts), order)
        out[self.new_difference_variable_name] = scatter(change, order)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the target rebuilt within ``source``'s bounds."""
        check_records(dest, table="dest", id_variable=self.id_variable, numeric=self._new)
        check_columns(source, [self.target_variable], argument="target_variable", table="source")
        check_numeric(source, [self.target_variable], argument="target_variable", table="source")
        lb, ub = bounds(source, [self.target_variable], table="source")
        order = ordered_positions(dest[self.id_variable])
        starts = starts_of_groups(dest[self.id_variable].iloc[order])
        first = dest[self.new_first_variable_name].to_numpy(dtype="float64")[order]
        changes = dest[self.new_difference_variable_name].to_numpy(dtype="float64")[order]
        values = np.empty(len(order))
        previous = 0.0
        # a recurrence (each value depends on the previous one): a loop, not a vector formula
        for i in range(len(order)):
            if starts[i]:
                previous = min(max(float(first[i]), lb), ub)
            previous = apply_change(previous, float(changes[i]), lb, ub)
            values[i] = previous
        out = dest.drop(columns=list(self._new.values()))
        rebuilt = scatter(values, order)
        out[self.target_variable] = (
            np.rint(rebuilt).astype("int64") if self.should_round_output else rebuilt
        )
        return ordered_like(out, source)
