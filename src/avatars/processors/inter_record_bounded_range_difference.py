"""Start/end pairs of an individual's successive records as changes relative to the room
left to the bounds, so that avatars keep their ordering and stay in the original's range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avatars.processors._base import (
    check_column_names,
    check_columns,
    check_name,
    check_numeric,
    ordered_like,
)
from avatars.processors._records import (
    apply_change,
    bounds,
    check_records,
    check_start_and_end,
    first_of_group,
    ordered_positions,
    previous_in_group,
    relative_change,
    rows_in_order,
    scatter,
    starts_of_groups,
)

__all__ = ["InterRecordBoundedRangeDifferenceProcessor"]


class InterRecordBoundedRangeDifferenceProcessor:
    """Replace a start/end pair by the individual's first start, the change from the previous
    record's end to this start, and from this start to this end, each as a share of the room
    to the bound it moves toward.

    With ``lb``/``ub`` the smallest/largest value of both columns, a rise from ``p`` to ``v``
    is ``(v - p) / (ub - p)`` and a fall ``-(p - v) / (p - lb)``, in [-1, 1]. Records are
    sorted per individual (``id_variable``) by ``sort_by_variable`` (row order without it);
    the first record's difference is 0. ``postprocess`` chains start, end, next start, ...
    from the first value of the individual's first record, with ``lb``/``ub`` from ``source``,
    taking ``dest``'s records sorted by ``sort_by_variable`` when ``dest`` has it, else in row
    order. Every value stays in ``[lb, ub]``; a non-negative range gives ``end >= start``, a
    negative one ``end <= start``, and likewise the difference orders a start and the previous
    end. ``should_round_output=True`` (default) rounds to the nearest integer. No missing
    values.

    Example::

        p = InterRecordBoundedRangeDifferenceProcessor(id_variable="id",
            target_start_variable="start", target_end_variable="end", sort_by_variable="visit",
            new_first_variable_name="start0", new_range_variable="range",
            new_difference_variable_name="gap")
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        *,
        id_variable: str,
        target_start_variable: str,
        target_end_variable: str,
        new_first_variable_name: str,
        new_range_variable: str,
        new_difference_variable_name: str,
        sort_by_variable: str | None = None,
        should_round_output: bool = True,
    ) -> None:
        check_column_names(
            id_variable=id_variable,
            target_start_variable=target_start_variable,
            target_end_variable=target_end_variable,
            new_first_variable_name=new_first_variable_name,
            new_range_variable=new_range_variable,
            new_difference_variable_name=new_difference_variable_name,
        )
        if sort_by_variable is not None:
            check_name(sort_by_variable, argument="sort_by_variable")
        check_start_and_end(target_start_variable, target_end_variable)
        self.id_variable = id_variable
        self.target_start_variable = target_start_variable
        self.target_end_variable = target_end_variable
        self.new_first_variable_name = new_first_variable_name
        self.new_range_variable = new_range_variable
        self.new_difference_variable_name = new_difference_variable_name
        self.sort_by_variable = sort_by_variable
        self.should_round_output = bool(should_round_output)

    @property
    def _targets(self) -> list[str]:
        return [self.target_start_variable, self.target_end_variable]

    @property
    def _new(self) -> dict[str, str]:
        return {
            "new_range_variable": self.new_range_variable,
            "new_first_variable_name": self.new_first_variable_name,
            "new_difference_variable_name": self.new_difference_variable_name,
        }

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the start/end pair replaced by range, first and difference columns."""
        check_records(
            df,
            table="df",
            id_variable=self.id_variable,
            numeric={
                "target_start_variable": self.target_start_variable,
                "target_end_variable": self.target_end_variable,
            },
            sort_by_variable=self.sort_by_variable,
            new_columns=self._new,
        )
        lb, ub = bounds(df, self._targets, table="df")
        by = df[self.sort_by_variable] if self.sort_by_variable is not None else None
        order = ordered_positions(df[self.id_variable], by)
        starts = starts_of_groups(df[self.id_variable].iloc[order])
        start = df[self.target_start_variable].to_numpy(dtype="float64")[order]
        end = df[self.target_end_variable].to_numpy(dtype="float64")[order]
        previous_end = previous_in_group(end, starts, start)
        out = df.drop(columns=self._targets)
        out[self.new_range_variable] = scatter(relative_change(end, start, lb, ub), order)
        first = first_of_group(df[self.target_start_variable].to_numpy()[order], starts)
        out[self.new_first_variable_name] = scatter(first, order)
        out[self.new_difference_variable_name] = scatter(
            relative_change(start, previous_end, lb, ub), order
        )
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the start/end pair rebuilt within ``source``'s bounds."""
        check_records(dest, table="dest", id_variable=self.id_variable, numeric=self._new)
        for argument, column in zip(
            ("target_start_variable", "target_end_variable"), self._targets, strict=True
        ):
            check_columns(source, [column], argument=argument, table="source")
            check_numeric(source, [column], argument=argument, table="source")
        lb, ub = bounds(source, self._targets, table="source")
        order = rows_in_order(dest, self.id_variable, by=self.sort_by_variable)
        starts = starts_of_groups(dest[self.id_variable].iloc[order])
        first = dest[self.new_first_variable_name].to_numpy(dtype="float64")[order]
        gaps = dest[self.new_difference_variable_name].to_numpy(dtype="float64")[order]
        ranges = dest[self.new_range_variable].to_numpy(dtype="float64")[order]
        start, end = np.empty(len(order)), np.empty(len(order))
        previous = 0.0
        # a recurrence (each record starts from the previous end): a loop, not a vector formula
        for i in range(len(order)):
            if starts[i]:
                previous = min(max(float(first[i]), lb), ub)
            start[i] = apply_change(previous, float(gaps[i]), lb, ub)
            end[i] = previous = apply_change(start[i], float(ranges[i]), lb, ub)
        out = dest.drop(columns=list(self._new.values()))
        for column, values in zip(self._targets, (start, end), strict=True):
            rebuilt = scatter(values, order)
            out[column] = np.rint(rebuilt).astype("int64") if self.should_round_output else rebuilt
        return ordered_like(out, source)
