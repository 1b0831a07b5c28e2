"""RelativeDifferenceProcessor: a variable as its difference to the sum of others."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY, close

from avatars.processors import ProcessorError, RelativeDifferenceProcessor

ages = st.integers(0, 120)


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    t0 = np.array(draw(st.lists(ages, min_size=n, max_size=n)))
    t1 = t0 + np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)))
    t2 = t1 + np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)))
    missing = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return pd.DataFrame(
        {"t0": t0, "t1": t1, "t2": np.where(missing, np.nan, t2), "sex": ["f"] * n},
        index=draw(st.permutations(range(n))),
    )


@PROPERTY
@given(tables(), st.sampled_from([None, 1, 7, 1000]), st.sampled_from([None, "t2_diff"]))
def test_round_trip_restores_the_target(
    df: pd.DataFrame, scaling_unit: int | None, rename: str | None
) -> None:
    processor = RelativeDifferenceProcessor(
        "t2",
        ["t0", "t1"],
        scaling_unit=scaling_unit,
        target_rename=rename,
        drop_original_target=rename is not None,
    )
    prepared = processor.preprocess(df)
    difference = prepared[rename or "t2"]
    assert close(difference, (df["t2"] - df["t0"] - df["t1"]) / (scaling_unit or 1), scale=1e3)
    restored = processor.postprocess(df, prepared)
    assert list(restored.columns) == list(df.columns)
    assert close(restored["t2"], df["t2"], scale=1e3)


@PROPERTY
@given(tables(), st.lists(st.integers(-500, 500).map(lambda tenths: tenths / 10), min_size=1))
def test_any_difference_gives_target_minus_references_times_the_unit(
    df: pd.DataFrame, differences: list[float]
) -> None:
    processor = RelativeDifferenceProcessor("t1", ["t0"], scaling_unit=12)
    dest = processor.preprocess(df)
    dest["t1"] = (differences * len(df))[: len(df)]
    rebuilt = processor.postprocess(df, dest)
    assert close(rebuilt["t1"] - rebuilt["t0"], dest["t1"] * 12, scale=1e3)
    # a non-negative difference keeps t1 >= t0
    assert ((rebuilt["t1"] >= rebuilt["t0"]) == (dest["t1"] >= 0)).all()


@PROPERTY
@given(tables())
def test_chained_processors_undo_in_reverse_order(df: pd.DataFrame) -> None:
    later = RelativeDifferenceProcessor(target="t2", references=["t1"])
    earlier = RelativeDifferenceProcessor(target="t1", references=["t0"])
    prepared = earlier.preprocess(later.preprocess(df))
    restored = later.postprocess(df, earlier.postprocess(df, prepared))
    assert close(restored[["t0", "t1", "t2"]], df[["t0", "t1", "t2"]], scale=1e3)


def test_documented_example() -> None:
    df = pd.DataFrame({"variable_1": [100, 150, 120, 100], "variable_2": [110, 180, 130, np.nan]})
    processor = RelativeDifferenceProcessor(target="variable_2", references=["variable_1"])
    prepared = processor.preprocess(df)
    assert prepared["variable_2"].tolist()[:3] == [10.0, 30.0, 10.0]
    avatar = pd.DataFrame({"variable_1": [110, 105, 115, 107], "variable_2": [12, np.nan, 23, 15]})
    rebuilt = processor.postprocess(prepared, avatar)
    assert rebuilt["variable_2"].tolist()[::2] == [122.0, 138.0]
    assert np.isnan(rebuilt["variable_2"][1])


def test_errors_name_the_argument_and_column() -> None:
    with pytest.raises(ProcessorError, match="drop_original_target=True needs a target_rename"):
        RelativeDifferenceProcessor("a", ["b"], drop_original_target=True)
    with pytest.raises(ProcessorError, match="scaling_unit: expected a number > 0"):
        RelativeDifferenceProcessor("a", ["b"], scaling_unit=0)
    with pytest.raises(ProcessorError, match="references: 'a' is the target itself"):
        RelativeDifferenceProcessor("a", ["a"])
    processor = RelativeDifferenceProcessor("a", ["b", "c"])
    with pytest.raises(ProcessorError, match="references: column 'c' not found in df"):
        processor.preprocess(pd.DataFrame({"a": [1], "b": [1]}))
    with pytest.raises(ProcessorError, match="references: column 'b' of df has 1 missing value"):
        processor.preprocess(pd.DataFrame({"a": [1, 2], "b": [1, None], "c": [1, 1]}))
    with pytest.raises(ProcessorError, match="target: column 'a' of df must be numeric"):
        processor.preprocess(pd.DataFrame({"a": ["x"], "b": [1], "c": [1]}))
