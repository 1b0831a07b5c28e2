"""Start/end pairs of an individual's successive records as a first start, ranges and gaps
(the client-side processor of older clients; the server-side one is
:class:`~avatars.protocol.parameters.InterRecordRangeDifferenceParameters`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avatars.processors._base import (
    check_column_names,
    check_columns,
    check_no_missing,
    ordered_like,
)
from avatars.processors._records import (
    check_records,
    check_start_and_end,
    cumsum_in_group,
    first_of_group,
    numbers,
    ordered_positions,
    previous_in_group,
    rows_in_order,
    scatter,
    starts_of_groups,
)

__all__ = ["InterRecordRangeDifferenceProcessor"]


class InterRecordRangeDifferenceProcessor:
    """Replace a start/end pair by the individual's first start (``new_first_variable``),
    the record's range ``end - start`` (``new_range_variable``) and the gap from the previous
    record's end, ``start - previous end`` (``new_difference_variable``, 0 for the first).

    Records are sorted per individual (``id_variable``) by ``sort_by_variable``. For
    quantities like ``start_1 <= end_1 <= start_2 <= end_2 ...``, whose ranges and gaps are
    non-negative. ``postprocess`` rebuilds ``start = first + gaps so far + earlier ranges``
    and ``end = start + range``, from the first value of the individual's first record: each
    record's ``end - start`` is its range and ``start - previous end`` its gap, exactly.
    Records are taken in the order preprocess gave the same rows of ``source`` with
    ``keep_record_order=True`` (``dest`` must have ``source``'s index: the unshuffled
    avatars), else sorted by ``sort_by_variable`` when ``dest`` has it, else in row order.
    No missing values.

    Example::

        p = InterRecordRangeDifferenceProcessor(id_variable="id", target_start_variable="start",
            target_end_variable="end", sort_by_variable="visit", new_first_variable="start0",
            new_range_variable="range", new_difference_variable="gap")
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        *,
        id_variable: str,
        target_start_variable: str,
        target_end_variable: str,
        sort_by_variable: str,
        new_first_variable: str,
        new_range_variable: str,
        new_difference_variable: str,
        keep_record_order: bool = False,
    ) -> None:
        check_column_names(
            id_variable=id_variable,
            target_start_variable=target_start_variable,
            target_end_variable=target_end_variable,
            sort_by_variable=sort_by_variable,
            new_first_variable=new_first_variable,
            new_range_variable=new_range_variable,
            new_difference_variable=new_difference_variable,
        )
        check_start_and_end(target_start_variable, target_end_variable)
        self.id_variable = id_variable
        self.target_start_variable = target_start_variable
        self.target_end_variable = target_end_variable
        self.sort_by_variable = sort_by_variable
        self.new_first_variable = new_first_variable
        self.new_range_variable = new_range_variable
        self.new_difference_variable = new_difference_variable
        self.keep_record_order = bool(keep_record_order)

    @property
    def _targets(self) -> list[str]:
        return [self.target_start_variable, self.target_end_variable]

    @property
    def _new(self) -> dict[str, str]:
        return {
            "new_range_variable": self.new_range_variable,
            "new_first_variable": self.new_first_variable,
            "new_difference_variable": self.new_difference_variable,
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
        order = ordered_positions(df[self.id_variable], df[self.sort_by_variable])
        starts = starts_of_groups(df[self.id_variable].iloc[order])
        start = numbers(df[self.target_start_variable])[order]
        end = numbers(df[self.target_end_variable])[order]
        gap = start - previous_in_group(end, starts, start)
        out = df.drop(columns=self._targets)
        out[self.new_range_variable] = scatter(end - start, order)
        out[self.new_first_variable] = scatter(first_of_group(start, starts), order)
        out[self.new_difference_variable] = scatter(gap, order)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the start/end pair rebuilt from first value, gaps and ranges."""
        check_records(dest, table="dest", id_variable=self.id_variable, numeric=self._new)
        if self.keep_record_order:
            check_columns(source, [self.id_variable], argument="id_variable", table="source")
            check_columns(
                source, [self.sort_by_variable], argument="sort_by_variable", table="source"
            )
            check_no_missing(
                source, [self.sort_by_variable], argument="sort_by_variable", table="source"
            )
        order = rows_in_order(
            dest,
            self.id_variable,
            source=source if self.keep_record_order else None,
            source_by=self.sort_by_variable,
            by=self.sort_by_variable,
        )
        starts = starts_of_groups(dest[self.id_variable].iloc[order])
        first = first_of_group(numbers(dest[self.new_first_variable])[order], starts)
        ranges = numbers(dest[self.new_range_variable])[order]
        gaps = numbers(dest[self.new_difference_variable])[order]
        none_yet = np.zeros_like(ranges)
        earlier_ranges = previous_in_group(cumsum_in_group(ranges, starts), starts, none_yet)
        start = first + cumsum_in_group(gaps, starts) + earlier_ranges
        out = dest.drop(columns=list(self._new.values()))
        out[self.target_start_variable] = scatter(start, order)
        out[self.target_end_variable] = scatter(start + ranges, order)
        return ordered_like(out, source)
