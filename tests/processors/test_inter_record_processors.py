"""The inter-record processors: an individual's successive records as a first value and
differences (cumulated, range) or changes relative to the bounds (bounded variants)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY, close, finite, records

from avatars.processors import (
    InterRecordBoundedCumulatedDifferenceProcessor,
    InterRecordBoundedRangeDifferenceProcessor,
    InterRecordCumulatedDifferenceProcessor,
    InterRecordRangeDifferenceProcessor,
    ProcessorError,
)

changes = st.floats(-1.5, 1.5, allow_nan=False)  # beyond [-1, 1] too: clipped


def _in_dest_order(dest: pd.DataFrame, by: str | None = None) -> list[pd.DataFrame]:
    """Each individual's rows of ``dest``, in row order (or sorted by ``by``, stable)."""
    groups = []
    for _, rows in dest.groupby("id", sort=False):
        groups.append(rows.sort_values(by, kind="stable") if by else rows)
    return groups


# -- InterRecordCumulatedDifferenceProcessor ------------------------------------------------


def cumulated(keep_record_order: bool = True) -> InterRecordCumulatedDifferenceProcessor:
    return InterRecordCumulatedDifferenceProcessor(
        id_variable="id",
        target_variable="value",
        new_first_variable_name="first",
        new_difference_variable_name="step",
        keep_record_order=keep_record_order,
    )


@PROPERTY
@given(records(values=st.integers(-10_000, 10_000)) | records(values=finite))
def test_cumulated_round_trip_restores_the_table(df: pd.DataFrame) -> None:
    processor = cumulated()
    prepared = processor.preprocess(df)
    assert list(prepared.columns) == ["id", "other", "first", "step"]
    assert prepared.index.equals(df.index)
    # records sorted by value: the first value is the smallest, the steps are non-negative
    assert (prepared["first"] == df.groupby("id")["value"].transform("min")).all()
    assert (prepared["step"] >= 0).all()
    restored = processor.postprocess(df, prepared)
    if pd.api.types.is_integer_dtype(df["value"]):
        pd.testing.assert_frame_equal(restored, df)
    else:
        assert close(restored["value"], df["value"], scale=1e6)
        assert list(restored.columns) == list(df.columns)


@PROPERTY
@given(
    records(values=st.tuples(st.integers(-100, 100), st.integers(-20, 20)), max_rows=30),
)
def test_cumulated_successive_records_differ_by_their_step(pairs: pd.DataFrame) -> None:
    """Any avatars: in dest's row order, each individual starts at the first value of its
    first record plus its step, and each record adds its step."""
    dest = pd.DataFrame(
        {
            "id": pairs["id"],
            "first": [p[0] for p in pairs["value"]],
            "step": [p[1] for p in pairs["value"]],
        },
        index=pairs.index,
    )
    rebuilt = cumulated(keep_record_order=False).postprocess(pd.DataFrame(), dest)
    for rows in _in_dest_order(dest):
        values = rebuilt.loc[rows.index, "value"].to_numpy()
        assert values[0] == rows["first"].iloc[0] + rows["step"].iloc[0]
        assert np.array_equal(np.diff(values), rows["step"].to_numpy()[1:])


def test_cumulated_documented_examples() -> None:
    df = pd.DataFrame({"id": [1, 2, 1, 1, 2, 2], "value": [1025, 20042, 1000, 1130, 20000, 20040]})
    prepared = cumulated().preprocess(df)
    assert prepared["first"].tolist() == [1000, 20000, 1000, 1000, 20000, 20000]
    assert prepared["step"].tolist() == [25, 2, 0, 105, 0, 40]
    dest = pd.DataFrame(
        {
            "id": [1, 2, 1, 1, 2, 2, 2],
            "first": [1000, 20000, 1000, 1000, 20000, 20000, 20000],
            "step": [25, 2, 0, 105, 0, 40, 8],
        }
    )
    rebuilt = cumulated(keep_record_order=False).postprocess(df, dest)
    assert rebuilt["value"].tolist() == [1025, 20002, 1025, 1130, 20002, 20042, 20050]


# -- InterRecordBoundedCumulatedDifferenceProcessor ------------------------------------------


def bounded_cumulated(rounded: bool = False) -> InterRecordBoundedCumulatedDifferenceProcessor:
    return InterRecordBoundedCumulatedDifferenceProcessor(
        "id", "value", "first", "change", should_round_output=rounded
    )


@PROPERTY
@given(records(values=st.integers(-10_000, 10_000)) | records(values=finite))
def test_bounded_cumulated_round_trip_restores_the_table(df: pd.DataFrame) -> None:
    integers = pd.api.types.is_integer_dtype(df["value"])
    processor = bounded_cumulated(rounded=integers)
    prepared = processor.preprocess(df)
    assert list(prepared.columns) == ["id", "other", "first", "change"]
    assert prepared["change"].between(-1, 1).all()
    restored = processor.postprocess(df, prepared)
    if integers:
        pd.testing.assert_frame_equal(restored, df)
    else:
        assert close(restored["value"], df["value"], scale=1e6)


@PROPERTY
@given(
    records(values=st.integers(-1000, 1000), min_rows=2),
    records(values=st.tuples(st.floats(-2000, 2000), changes), max_rows=30),
)
def test_bounded_cumulated_stays_within_bounds_and_follows_the_sign_of_changes(
    df: pd.DataFrame, pairs: pd.DataFrame
) -> None:
    dest = pd.DataFrame(
        {
            "id": pairs["id"],
            "first": [p[0] for p in pairs["value"]],
            "change": [p[1] for p in pairs["value"]],
        }
    )
    processor = bounded_cumulated()
    processor.preprocess(df)
    rebuilt = processor.postprocess(df, dest)
    lb, ub = df["value"].min(), df["value"].max()
    assert rebuilt["value"].between(lb, ub).all()
    for rows in _in_dest_order(dest):
        values = rebuilt.loc[rows.index, "value"].to_numpy()
        first = min(max(rows["first"].iloc[0], lb), ub)
        previous = np.concatenate([[first], values[:-1]])
        rising = rows["change"].to_numpy() >= 0
        assert np.all(values[rising] >= previous[rising] - 1e-9)
        assert np.all(values[~rising] <= previous[~rising] + 1e-9)


# -- InterRecordBoundedRangeDifferenceProcessor ----------------------------------------------


def bounded_range(
    rounded: bool = True, sort_by: str | None = "visit"
) -> InterRecordBoundedRangeDifferenceProcessor:
    return InterRecordBoundedRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        new_first_variable_name="first",
        new_range_variable="range",
        new_difference_variable_name="gap",
        sort_by_variable=sort_by,
        should_round_output=rounded,
    )


@st.composite
def visits(draw: st.DrawFn, *, values: st.SearchStrategy[float | int]) -> pd.DataFrame:
    """Records with a start, an end and a visit number (unique per individual, shuffled)."""
    df = draw(records(values=st.tuples(values, values)))
    df["start"] = [p[0] for p in df["value"]]
    df["end"] = [p[1] for p in df["value"]]
    df["visit"] = draw(st.permutations(range(len(df))))
    return df.drop(columns="value")


@PROPERTY
@given(visits(values=st.integers(-1000, 1000)) | visits(values=finite), st.booleans())
def test_bounded_range_round_trip_restores_the_table(df: pd.DataFrame, sorted_by: bool) -> None:
    integers = pd.api.types.is_integer_dtype(df["start"])
    processor = bounded_range(rounded=integers, sort_by="visit" if sorted_by else None)
    prepared = processor.preprocess(df)
    assert list(prepared.columns) == ["id", "other", "visit", "range", "first", "gap"]
    assert prepared[["range", "gap"]].stack().between(-1, 1).all()
    # avatars come back in any row order: the visit number orders each individual's records
    shuffled = prepared.sample(frac=1, random_state=0) if sorted_by else prepared
    restored = processor.postprocess(df, shuffled).loc[df.index]
    if integers:
        pd.testing.assert_frame_equal(restored, df)
    else:
        assert close(restored[["start", "end"]], df[["start", "end"]], scale=1e6)


@PROPERTY
@given(
    visits(values=st.integers(-1000, 1000)),
    records(values=st.tuples(st.integers(-2000, 2000), changes, changes), max_rows=30),
    st.booleans(),
)
def test_bounded_range_stays_within_bounds_and_keeps_orderings(
    df: pd.DataFrame, triples: pd.DataFrame, rounded: bool
) -> None:
    dest = pd.DataFrame(
        {
            "id": triples["id"],
            "first": [t[0] for t in triples["value"]],
            "gap": [t[1] for t in triples["value"]],
            "range": [t[2] for t in triples["value"]],
        }
    )
    processor = bounded_range(rounded=rounded, sort_by=None)
    processor.preprocess(df)
    rebuilt = processor.postprocess(df, dest)
    lb = min(df["start"].min(), df["end"].min())
    ub = max(df["start"].max(), df["end"].max())
    assert rebuilt[["start", "end"]].stack().between(lb, ub).all()
    tolerance = 0 if rounded else 1e-9
    for rows in _in_dest_order(dest):
        start = rebuilt.loc[rows.index, "start"].to_numpy()
        end = rebuilt.loc[rows.index, "end"].to_numpy()
        up = rows["range"].to_numpy() >= 0
        assert np.all(end[up] >= start[up] - tolerance)
        assert np.all(end[~up] <= start[~up] + tolerance)
        later = rows["gap"].to_numpy()[1:] >= 0
        assert np.all(start[1:][later] >= end[:-1][later] - tolerance)
        assert np.all(start[1:][~later] <= end[:-1][~later] + tolerance)


def test_bounded_range_documented_example() -> None:
    df = pd.DataFrame(
        {
            "quantity_start": [30, 100, 80, 70, 40, 70],
            "quantity_end": [10, 80, 70, 60, 30, 5],
            "b": [4, 3, 0, 0, 2, 4],
            "id": [1, 1, 1, 2, 2, 2],
        }
    )
    processor = InterRecordBoundedRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="quantity_start",
        target_end_variable="quantity_end",
        new_first_variable_name="quantity_s_first_val",
        new_difference_variable_name="quantity_diff_to_bound",
        new_range_variable="quantity_range",
    )
    prepared = processor.preprocess(df)
    assert list(prepared.columns) == [
        "b",
        "id",
        "quantity_range",
        "quantity_s_first_val",
        "quantity_diff_to_bound",
    ]
    assert prepared["quantity_range"].round(6).tolist() == [
        -0.8,
        -0.210526,
        -0.133333,
        -0.153846,
        -0.285714,
        -1.0,
    ]
    assert prepared["quantity_diff_to_bound"].round(6).tolist() == [
        0.0,
        1.0,
        0.0,
        0.0,
        -0.363636,
        0.571429,
    ]
    pd.testing.assert_frame_equal(processor.postprocess(df, prepared), df)


# -- InterRecordRangeDifferenceProcessor -------------------------------------------------------


def range_difference(keep_record_order: bool = True) -> InterRecordRangeDifferenceProcessor:
    return InterRecordRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        sort_by_variable="visit",
        new_first_variable="first",
        new_range_variable="range",
        new_difference_variable="gap",
        keep_record_order=keep_record_order,
    )


@PROPERTY
@given(visits(values=st.integers(-1000, 1000)) | visits(values=finite), st.booleans())
def test_range_difference_round_trip_restores_the_table(df: pd.DataFrame, keep: bool) -> None:
    processor = range_difference(keep_record_order=keep)
    prepared = processor.preprocess(df)
    assert list(prepared.columns) == ["id", "other", "visit", "range", "first", "gap"]
    assert (prepared["range"] == df["end"] - df["start"]).all()
    shuffled = prepared.sample(frac=1, random_state=1)  # the visit number restores the order
    restored = processor.postprocess(df, shuffled).loc[df.index]
    if pd.api.types.is_integer_dtype(df["start"]):
        pd.testing.assert_frame_equal(restored, df)
    else:
        assert close(restored[["start", "end"]], df[["start", "end"]], scale=1e6)


@PROPERTY
@given(records(values=st.tuples(st.integers(-100, 100), st.integers(-9, 9), st.integers(-9, 9))))
def test_range_difference_records_get_exactly_their_range_and_gap(triples: pd.DataFrame) -> None:
    dest = pd.DataFrame(
        {
            "id": triples["id"],
            "first": [t[0] for t in triples["value"]],
            "gap": [t[1] for t in triples["value"]],
            "range": [t[2] for t in triples["value"]],
        },
        index=triples.index,
    )
    rebuilt = range_difference(keep_record_order=False).postprocess(pd.DataFrame(), dest)
    for rows in _in_dest_order(dest):
        start = rebuilt.loc[rows.index, "start"].to_numpy()
        end = rebuilt.loc[rows.index, "end"].to_numpy()
        assert start[0] == rows["first"].iloc[0] + rows["gap"].iloc[0]
        assert np.array_equal(end - start, rows["range"].to_numpy())
        assert np.array_equal(start[1:] - end[:-1], rows["gap"].to_numpy()[1:])


def test_range_difference_documented_examples() -> None:
    df = pd.DataFrame(
        {"id": [1, 2, 1, 1, 2, 2], "start": [7, 14, 6, 12, 10, 23], "end": [8, 18, 7, 15, 12, 24]}
    )
    processor = InterRecordRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        sort_by_variable="start",
        new_first_variable="first_value",
        new_range_variable="range_value",
        new_difference_variable="value_difference",
        keep_record_order=True,
    )
    prepared = processor.preprocess(df)
    assert prepared["range_value"].tolist() == [1, 4, 1, 3, 2, 1]
    assert prepared["first_value"].tolist() == [6, 10, 6, 6, 10, 10]
    assert prepared["value_difference"].tolist() == [0, 2, 0, 4, 0, 5]
    pd.testing.assert_frame_equal(processor.postprocess(df, prepared), df)
    processor.keep_record_order = False
    dest = pd.DataFrame(
        {
            "id": [1, 2, 1, 1, 2, 2, 2],
            "range_value": [1, 4, 1, 3, 2, 1, 2],
            "first_value": [6, 10, 6, 6, 10, 10, 10],
            "value_difference": [0, 2, 0, 4, 0, 5, 1],
        }
    )
    rebuilt = processor.postprocess(df, dest)
    assert rebuilt["start"].tolist() == [6, 12, 7, 12, 16, 23, 25]
    assert rebuilt["end"].tolist() == [7, 16, 8, 15, 18, 24, 27]


# -- errors ------------------------------------------------------------------------------------


def test_errors_name_the_argument_and_column() -> None:
    df = pd.DataFrame({"id": [1, 1], "value": [1.0, 2.0], "first": [0, 0]})
    with pytest.raises(ProcessorError, match="target_variable: column 'dose' not found in df"):
        InterRecordCumulatedDifferenceProcessor(
            id_variable="id",
            target_variable="dose",
            new_first_variable_name="f",
            new_difference_variable_name="d",
        ).preprocess(df)
    with pytest.raises(ProcessorError, match="new_first_variable_name: 'first' is already a"):
        cumulated().preprocess(df)
    with pytest.raises(ProcessorError, match="target_variable: column 'value' of df has 1 missing"):
        bounded_cumulated().preprocess(pd.DataFrame({"id": [1, 1], "value": [1.0, None]}))
    with pytest.raises(ProcessorError, match="id_variable: column 'id' of df has 1 missing"):
        bounded_cumulated().preprocess(pd.DataFrame({"id": [1, None], "value": [1.0, 2.0]}))
    with pytest.raises(ProcessorError, match="target_start_variable: column 'start' of df must"):
        bounded_range().preprocess(
            pd.DataFrame({"id": [1], "start": ["a"], "end": [1], "visit": [1]})
        )
    with pytest.raises(ProcessorError, match="sort_by_variable: column 'visit' not found in df"):
        range_difference().preprocess(pd.DataFrame({"id": [1], "start": [1], "end": [1]}))
    with pytest.raises(ProcessorError, match="target_end_variable: 'a' is also target_start"):
        InterRecordBoundedRangeDifferenceProcessor(
            id_variable="id",
            target_start_variable="a",
            target_end_variable="a",
            new_first_variable_name="f",
            new_range_variable="r",
            new_difference_variable_name="d",
        )
    source = pd.DataFrame({"id": [1, 1], "start": [1, 2], "end": [2, 3], "visit": [1, 2]})
    prepared = range_difference().preprocess(source)
    with pytest.raises(ProcessorError, match="keep_record_order=True needs source and dest"):
        range_difference().postprocess(source, prepared.iloc[:1])
    with pytest.raises(ProcessorError, match="new_range_variable: column 'range' not found in"):
        range_difference().postprocess(source, prepared.drop(columns="range"))
    with pytest.raises(ProcessorError, match="new_difference_variable_name: column 'change' of"):
        bounded_cumulated().postprocess(
            pd.DataFrame({"value": [1, 2]}),
            pd.DataFrame({"id": [1], "first": [1], "change": [np.nan]}),
        )
