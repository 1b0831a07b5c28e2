"""GroupModalitiesProcessor: modalities seen at most ``threshold`` times become one."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY

from avatars.processors import GroupModalitiesProcessor, ProcessorError

labels = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]) | st.none()


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    column = st.lists(labels, min_size=n, max_size=n)
    return pd.DataFrame(
        {
            "colour": draw(column),
            "shape": pd.Categorical(draw(column)),
            "size": draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
        },
        index=draw(st.permutations(range(n))),
    )


def _check_grouped(before: pd.Series, after: pd.Series, threshold: int, new: str) -> None:
    """The promise: rare modalities (count <= threshold) read ``new``, the others and the
    missing values stay on their rows."""
    counts = before.value_counts()
    for original, grouped in zip(before, after, strict=True):
        if pd.isna(original):
            assert pd.isna(grouped)
        elif counts[original] <= threshold:
            assert grouped == new
        else:
            assert grouped == original


@PROPERTY
@given(tables(), st.integers(1, 8), st.integers(0, 6))
def test_global_threshold_groups_rare_modalities_of_categorical_columns(
    df: pd.DataFrame, min_unique: int, threshold: int
) -> None:
    processor = GroupModalitiesProcessor(min_unique=min_unique, global_threshold=threshold)
    grouped = processor.preprocess(df)
    expected = [c for c in ("colour", "shape") if df[c].nunique() >= min_unique]
    assert list(processor.thresholds) == expected
    for column in df.columns:
        if column in expected:
            _check_grouped(df[column], grouped[column], threshold, "other")
        else:
            pd.testing.assert_series_equal(grouped[column], df[column])
    assert isinstance(grouped["shape"].dtype, pd.CategoricalDtype)
    # nothing to undo: postprocess gives the avatars back as they are
    pd.testing.assert_frame_equal(processor.postprocess(df, grouped), grouped)


@PROPERTY
@given(tables(), st.integers(0, 6), st.integers(0, 6))
def test_variable_thresholds_apply_per_column(df: pd.DataFrame, first: int, second: int) -> None:
    processor = GroupModalitiesProcessor(
        variable_thresholds={"colour": first, "size": second}, new_category="rare"
    )
    grouped = processor.preprocess(df)
    _check_grouped(df["colour"], grouped["colour"], first, "rare")
    _check_grouped(df["size"], grouped["size"], second, "rare")
    pd.testing.assert_series_equal(grouped["shape"], df["shape"])


def test_documented_example() -> None:
    df = pd.DataFrame(
        {
            "variable_1": ["red", "blue", "blue", "green"],
            "variable_2": ["red", "blue", "blue", "red"],
            "variable_3": ["green", "green", "green", "green"],
        }
    )
    grouped = GroupModalitiesProcessor(min_unique=2, global_threshold=1).preprocess(df)
    assert grouped["variable_1"].tolist() == ["other", "blue", "blue", "other"]
    assert grouped["variable_2"].tolist() == ["red", "blue", "blue", "red"]
    assert grouped["variable_3"].tolist() == ["green"] * 4


def test_errors_name_the_argument() -> None:
    with pytest.raises(ProcessorError, match="min_unique and global_threshold go together"):
        GroupModalitiesProcessor(min_unique=2)
    with pytest.raises(ProcessorError, match="not neither"):
        GroupModalitiesProcessor()
    with pytest.raises(ProcessorError, match="not both"):
        GroupModalitiesProcessor(variable_thresholds={"a": 1}, min_unique=2, global_threshold=1)
    with pytest.raises(ProcessorError, match=r"variable_thresholds\['a'\]: expected an integer"):
        GroupModalitiesProcessor(variable_thresholds={"a": -1})
    processor = GroupModalitiesProcessor(variable_thresholds={"colour": 1, "taste": 2})
    with pytest.raises(ProcessorError, match="variable_thresholds: column 'taste' not found"):
        processor.preprocess(pd.DataFrame({"colour": ["red"]}))
