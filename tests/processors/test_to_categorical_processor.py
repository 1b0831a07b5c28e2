"""ToCategoricalProcessor: numeric columns of few values as categories, back to numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY

from avatars.processors import ProcessorError, ToCategoricalProcessor


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    small = st.lists(st.integers(-3, 3), min_size=n, max_size=n)
    wide = st.lists(st.integers(-1000, 1000), min_size=n, max_size=n)
    decimals = st.lists(st.sampled_from([0.5, 1.25, np.nan, -2.0]), min_size=n, max_size=n)
    return pd.DataFrame(
        {
            "small": draw(small),
            "wide": draw(wide),
            "decimals": draw(decimals),
            "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "text": [f"t{i % 4}" for i in range(n)],
            "nullable": pd.array(
                draw(st.lists(st.integers(0, 2) | st.none(), min_size=n, max_size=n)), dtype="Int64"
            ),
        },
        index=draw(st.permutations(range(n))),
    )


@PROPERTY
@given(tables(), st.integers(1, 12), st.booleans())
def test_columns_under_the_threshold_round_trip_exactly(
    df: pd.DataFrame, threshold: int, as_text: bool
) -> None:
    processor = ToCategoricalProcessor(threshold)
    prepared = processor.preprocess(df)
    expected = [
        c for c in ("small", "wide", "decimals", "nullable") if df[c].nunique() <= threshold
    ]
    assert processor.variables == expected
    for column in df.columns:
        if column in expected:
            assert prepared[column].dtype == object
            # every value is kept as a modality, missing ones stay missing
            assert prepared[column].isna().equals(df[column].isna())
            assert [v for v in prepared[column] if pd.notna(v)] == df[column].dropna().tolist()
        else:
            pd.testing.assert_series_equal(prepared[column], df[column])
    # avatars may come back as text ("7", "nan", "<NA>"), as from a text file
    dest = prepared.assign(**{c: prepared[c].map(str) for c in expected}) if as_text else prepared
    restored = processor.postprocess(df, dest)
    pd.testing.assert_frame_equal(restored, df)


@PROPERTY
@given(tables(), st.data())
def test_keep_continuous_fills_the_grouped_category_from_the_copy(
    df: pd.DataFrame, data: st.DataObject
) -> None:
    processor = ToCategoricalProcessor(7, keep_continuous=True, category="other")
    prepared = processor.preprocess(df)
    copies = [f"{c}__cont" for c in processor.variables]
    assert processor.continuous_variables == copies
    assert list(prepared.columns) == [*df.columns, *copies]
    for column, copy in zip(processor.variables, copies, strict=True):
        pd.testing.assert_series_equal(prepared[copy], df[column], check_names=False)
    # a GroupModalitiesProcessor merged some modalities into "other"; their copy says which
    dest = prepared.copy()
    for column, copy in zip(processor.variables, copies, strict=True):
        grouped = data.draw(st.lists(st.booleans(), min_size=len(df), max_size=len(df)))
        mask = np.array(grouped) & df[column].notna().to_numpy()
        dest[column] = dest[column].where(~mask, "other")
        dest[copy] = dest[copy].where(~mask, df[column] * 10)
        restored = processor.postprocess(df, dest)
        expected = df[column].where(~mask, df[column] * 10)
        pd.testing.assert_series_equal(restored[column], expected)
    assert list(processor.postprocess(df, dest).columns) == list(df.columns)


def test_documented_example() -> None:
    df = pd.DataFrame({"variable_1": [1, 7, 7, 1], "variable_2": [1, 2, 7, 1]})
    processor = ToCategoricalProcessor(to_categorical_threshold=2)
    assert processor.preprocess(df).dtypes.astype(str).tolist() == ["object", "int64"]
    avatar = pd.DataFrame({"variable_1": [2, 1, 4, 1], "variable_2": [2, 1, 4, 1]})
    avatar["variable_1"] = avatar["variable_1"].astype("object")
    assert processor.postprocess(df, avatar).dtypes.astype(str).tolist() == ["int64", "int64"]


def test_errors_name_the_column_and_argument() -> None:
    with pytest.raises(ProcessorError, match="to_categorical_threshold: expected an integer"):
        ToCategoricalProcessor(0)
    df = pd.DataFrame({"grade": [1, 2, 2], "grade__cont": [0, 0, 0]})
    with pytest.raises(ProcessorError, match="'grade__cont' is already a column"):
        ToCategoricalProcessor(2, keep_continuous=True).preprocess(df)
    processor = ToCategoricalProcessor(2)
    processor.preprocess(df)
    with pytest.raises(ProcessorError, match="column 'grade' of dest: cannot turn 'other'"):
        processor.postprocess(df, pd.DataFrame({"grade": [1, "other", 2], "grade__cont": 0}))
    with pytest.raises(ProcessorError, match=r"column 'grade' of dest: 1\.5 is not an integer"):
        processor.postprocess(df, pd.DataFrame({"grade": [1, 1.5, 2], "grade__cont": 0}))
    with pytest.raises(ProcessorError, match="'grade' not found in dest"):
        processor.postprocess(df, pd.DataFrame({"grade__cont": [0]}))
