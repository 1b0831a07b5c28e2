"""ExpectedMeanProcessor: avatars moved to the original's mean (and std) in each group."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY, close

from avatars.processors import ExpectedMeanProcessor, ProcessorError

values = st.floats(-1e4, 1e4, allow_nan=False) | st.just(np.nan)
groups = st.sampled_from(["a", "b", "c"]) | st.none()


@st.composite
def tables(draw: st.DrawFn, *, rows: tuple[int, int] = (1, 30)) -> pd.DataFrame:
    n = draw(st.integers(*rows))
    return pd.DataFrame(
        {
            "weight": draw(st.lists(values, min_size=n, max_size=n)),
            "height": draw(st.lists(st.integers(100, 200), min_size=n, max_size=n)),
            "sex": draw(st.lists(groups, min_size=n, max_size=n)),
            "smoker": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        },
        index=draw(st.permutations(range(n))),
    )


def _by_group(df: pd.DataFrame, by: list[str] | None) -> dict[object, pd.DataFrame]:
    if not by:
        return {(): df}
    return {
        tuple(None if pd.isna(k) else k for k in (key if isinstance(key, tuple) else (key,))): rows
        for key, rows in df.groupby(by, dropna=False)
    }


@PROPERTY
@given(
    tables(),
    tables(),
    st.sampled_from([None, ["sex"], ["sex", "smoker"]]),
    st.booleans(),
)
def test_each_group_gets_the_original_mean_and_std(
    df: pd.DataFrame, dest: pd.DataFrame, by: list[str] | None, same_std: bool
) -> None:
    processor = ExpectedMeanProcessor(["weight", "height"], groupby_variables=by, same_std=same_std)
    assert processor.preprocess(df).equals(df)  # nothing changes before avatarization
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moved = processor.postprocess(df, dest)
    assert moved.index.equals(dest.index)
    pd.testing.assert_frame_equal(moved[["sex", "smoker"]], dest[["sex", "smoker"]])
    originals = _by_group(df, by)
    for key, rows in _by_group(dest, by).items():
        after = moved.loc[rows.index]
        for target in ("weight", "height"):
            before = rows[target].astype(float)
            if key not in originals or originals[key][target].isna().all():
                assert close(after[target], before)  # nothing to match: unchanged
                continue
            reference = originals[key][target]
            if before.isna().all():
                assert after[target].isna().all()
                continue
            scale = 1e4
            assert close(after[target].mean(), reference.mean(), scale=scale)
            assert after[target].isna().equals(before.isna())
            ref_std, std = reference.std(), before.std()
            scaled = same_std and std > 0 and np.isfinite(ref_std)
            if scaled:
                assert close(after[target].std(), ref_std, scale=scale)
            else:
                shift = (after[target] - before).dropna()
                assert close(shift, reference.mean() - before.mean(), scale=scale)
            # an increasing affine map: the order of values within the group is kept
            known = before.notna()
            order = np.argsort(before[known].to_numpy(), kind="stable")
            assert np.all(np.diff(after[target][known].to_numpy()[order]) >= -1e-6)


def test_documented_example_by_group() -> None:
    df = pd.DataFrame(
        {"variable_1": [11, 24, 23.5, 12], "variable_2": ["red", "blue", "blue", "red"]}
    )
    processor = ExpectedMeanProcessor(["variable_1"], groupby_variables=["variable_2"])
    processor.preprocess(df)
    avatar = pd.DataFrame(
        {"variable_1": [12, 13.5, 23.5, 22], "variable_2": ["red", "red", "blue", "blue"]}
    )
    assert processor.postprocess(df, avatar)["variable_1"].tolist() == [10.75, 12.25, 24.5, 23.0]


def test_groups_unknown_to_the_original_are_left_alone_with_a_warning() -> None:
    df = pd.DataFrame({"x": [1.0, 3.0], "g": ["a", "a"]})
    processor = ExpectedMeanProcessor(["x"], groupby_variables=["g"])
    processor.preprocess(df)
    dest = pd.DataFrame({"x": [5.0, 7.0, 9.0], "g": ["a", "z", "a"]})
    with pytest.warns(UserWarning, match=r"groups \[\('z',\)\] of dest are not in the original"):
        moved = processor.postprocess(df, dest)
    assert moved["x"].tolist() == [0.0, 7.0, 4.0]  # group "a": mean 7 -> 2; "z" unchanged


def test_errors_name_the_argument_and_column() -> None:
    with pytest.raises(ProcessorError, match="groupby_variables: \\['g'\\] are also target"):
        ExpectedMeanProcessor(["g"], groupby_variables=["g"])
    processor = ExpectedMeanProcessor(["x"], groupby_variables=["g"])
    with pytest.raises(ProcessorError, match="call preprocess"):
        processor.postprocess(pd.DataFrame(), pd.DataFrame({"x": [1.0], "g": ["a"]}))
    with pytest.raises(ProcessorError, match="groupby_variables: column 'g' not found in df"):
        processor.preprocess(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(ProcessorError, match="target_variables: column 'x' of df must be numeric"):
        processor.preprocess(pd.DataFrame({"x": ["heavy"], "g": ["a"]}))
