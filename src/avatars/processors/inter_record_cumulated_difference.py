"""A cumulative value of an individual's records as its first value plus increments."""

from __future__ import annotations

import pandas as pd

from avatars.processors._base import (
    check_column_names,
    check_columns,
    ordered_like,
)
from avatars.processors._records import (
    check_records,
    cumsum_in_group,
    first_of_group,
    numbers,
    ordered_positions,
    previous_in_group,
    rows_in_order,
    scatter,
    starts_of_groups,
)

__all__ = ["InterRecordCumulatedDifferenceProcessor"]


class InterRecordCumulatedDifferenceProcessor:
    """Replace ``target_variable`` by its first value and the increment from the previous
    record, per individual (``id_variable``), records taken in increasing target order.

    ``preprocess`` sorts each individual's records by the target; ``new_first_variable_name``
    is the individual's smallest value, ``new_difference_variable_name`` the difference to the
    previous record (0 for the first). ``postprocess`` rebuilds the target as the first value
    of the individual's first record plus the running sum of the differences, so consecutive
    records differ exactly by their difference (non-negative differences: a non-decreasing
    series). Records are taken in ``dest``'s row order, or, with ``keep_record_order=True``,
    in the order preprocess gave the same rows of ``source`` (``dest`` must then have
    ``source``'s index: the unshuffled avatars). Neither column may have missing values.

    Example::

        p = InterRecordCumulatedDifferenceProcessor(id_variable="id", target_variable="dose",
            new_first_variable_name="dose0", new_difference_variable_name="step",
            keep_record_order=True)  # avatarize returns the unshuffled avatars (df's index)
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        *,
        id_variable: str,
        target_variable: str,
        new_first_variable_name: str,
        new_difference_variable_name: str,
        keep_record_order: bool = False,
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
        self.keep_record_order = bool(keep_record_order)

    @property
    def _new(self) -> dict[str, str]:
        return {
            "new_first_variable_name": self.new_first_variable_name,
            "new_difference_variable_name": self.new_difference_variable_name,
        }

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the target replaced by the first value and difference columns."""
        check_records(
            df,
            table="df",
            id_variable=self.id_variable,
            numeric={"target_variable": self.target_variable},
            new_columns=self._new,
        )
        order = ordered_positions(df[self.id_variable], df[self.target_variable])
        starts = starts_of_groups(df[self.id_variable].iloc[order])
        values = numbers(df[self.target_variable])[order]
        first = first_of_group(values, starts)
        difference = values - previous_in_group(values, starts, values)
        out = df.drop(columns=[self.target_variable])
        out[self.new_first_variable_name] = scatter(first, order)
        out[self.new_difference_variable_name] = scatter(difference, order)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the target rebuilt from the first value and the differences."""
        check_records(dest, table="dest", id_variable=self.id_variable, numeric=self._new)
        if self.keep_record_order:
            check_columns(source, [self.id_variable], argument="id_variable", table="source")
            check_columns(
                source, [self.target_variable], argument="target_variable", table="source"
            )
        order = rows_in_order(
            dest,
            self.id_variable,
            source=source if self.keep_record_order else None,
            source_by=self.target_variable,
        )
        starts = starts_of_groups(dest[self.id_variable].iloc[order])
        first = first_of_group(numbers(dest[self.new_first_variable_name])[order], starts)
        steps = numbers(dest[self.new_difference_variable_name])[order]
        out = dest.drop(columns=list(self._new.values()))
        out[self.target_variable] = scatter(first + cumsum_in_group(steps, starts), order)
        return ordered_like(out, source)
