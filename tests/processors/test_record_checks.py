"""The checks the inter-record processors share: each names the argument and column at fault,
and when a table has several faults, the first in a fixed order (column by column)."""

from __future__ import annotations

import pandas as pd
import pytest

from avatars.processors import ProcessorError
from avatars.processors._base import check_column_names
from avatars.processors._records import check_records, check_start_and_end


def test_check_column_names_reports_the_first_bad_argument_in_the_order_given() -> None:
    check_column_names(id_variable="id", target_variable="value")
    with pytest.raises(ProcessorError, match=r"^target_variable: expected a column name, got ''"):
        check_column_names(id_variable="id", target_variable="", new_first_variable_name=None)


def test_check_start_and_end_needs_two_columns() -> None:
    check_start_and_end("start", "end")
    with pytest.raises(ProcessorError, match="target_end_variable: 'a' is also target_start"):
        check_start_and_end("a", "a")


def _check(df: pd.DataFrame) -> None:
    check_records(
        df,
        table="df",
        id_variable="id",
        numeric={"target_start_variable": "start", "target_end_variable": "end"},
        sort_by_variable="visit",
        new_columns={"new_range_variable": "range", "new_first_variable": "first"},
    )


def test_check_records_accepts_a_complete_table() -> None:
    _check(pd.DataFrame({"id": [1, 1], "start": [1, 2], "end": [2, 3], "visit": ["a", "b"]}))


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        # the id's missing values come before any fault of a later column
        ({"id": [1, None], "start": ["x", "y"]}, "id_variable: column 'id' of df has 1 missing"),
        ({"id": [1, 1], "start": ["x", "y"]}, "target_start_variable: column 'start' of df must"),
        ({"id": [1, 1], "start": [1, None]}, "target_start_variable: column 'start' of df has 1"),
        ({"id": [1, 1], "start": [1, 2]}, "target_end_variable: column 'end' not found in df"),
        ({"id": [1, 1], "start": [1, 2], "end": [2, True]}, "target_end_variable: column 'end'"),
        ({"id": [1, 1], "start": [1, 2], "end": [2, 3]}, "sort_by_variable: column 'visit' not"),
        (
            {"id": [1, 1], "start": [1, 2], "end": [2, 3], "visit": [1, None], "range": [0, 0]},
            "sort_by_variable: column 'visit' of df has 1 missing",
        ),
        (
            {"id": [1, 1], "start": [1, 2], "end": [2, 3], "visit": [1, 2], "first": [0, 0]},
            "new_first_variable: 'first' is already a column of df",
        ),
    ],
)
def test_check_records_reports_the_first_fault_column_by_column(
    columns: dict[str, list[object]], message: str
) -> None:
    with pytest.raises(ProcessorError, match=message):
        _check(pd.DataFrame(columns))
