"""ProportionProcessor: parts as shares of a total, back as parts that add up to it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from processor_strategies import PROPERTY, close

from avatars.processors import ProcessorError, ProportionProcessor

PARTS = ["rent", "food", "leisure"]
amounts = st.integers(0, 100_000)  # in tenths: amounts with one decimal


@st.composite
def budgets(draw: st.DrawFn) -> pd.DataFrame:
    """Parts with one decimal whose total is the reference; some parts are 0."""
    n = draw(st.integers(1, 25))
    tenths = np.array(draw(st.lists(st.tuples(amounts, amounts, amounts), min_size=n, max_size=n)))
    df = pd.DataFrame(tenths / 10, columns=PARTS)
    df.insert(0, "spending", tenths.sum(axis=1) / 10)
    df["city"] = [f"c{i % 3}" for i in range(n)]
    return df.set_axis(draw(st.permutations(range(n))))


@PROPERTY
@given(budgets())
def test_shares_sum_to_one_and_round_trip_restores_the_parts(df: pd.DataFrame) -> None:
    processor = ProportionProcessor(PARTS, "spending")
    shares = processor.preprocess(df)
    assert list(shares.columns) == list(df.columns)
    total = shares[PARTS].sum(axis=1)
    spent = df["spending"] > 0
    assert close(total[spent], 1.0)
    assert (shares[PARTS][~spent] == 0).all().all()  # nothing spent: zero shares, not NaN
    assert ((shares[PARTS] == 0) == (df[PARTS] == 0)).all().all()
    restored = processor.postprocess(df, shares)
    pd.testing.assert_frame_equal(restored, df.astype({c: float for c in PARTS}))


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.floats(0, 1e5),  # any total, not rounded
            st.floats(0, 1),
            st.floats(0, 1),
            st.floats(0, 1),
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 3),
)
def test_any_shares_become_parts_that_add_up_to_the_rounded_total(
    rows: list[tuple[float, float, float, float]], decimals: int
) -> None:
    """Avatars have any total and shares that need not sum to one: the parts are rescaled to
    the total, and rounded so that they still add up to the rounded total, each part within
    one unit of the last decimal of its exact share."""
    dest = pd.DataFrame(rows, columns=["spending", *PARTS])
    assume((dest[PARTS].sum(axis=1) > 1e-6).all())
    processor = ProportionProcessor(PARTS, "spending", decimal_count=decimals)
    parts = processor.postprocess(dest, dest)[PARTS].to_numpy()
    unit = 10.0**decimals
    scaled = parts * unit
    assert np.allclose(scaled, np.round(scaled), atol=1e-6)  # decimal_count decimals
    assert np.array_equal(
        np.round(scaled).sum(axis=1), np.round(dest["spending"].to_numpy() * unit)
    )
    exact = (
        dest[PARTS].to_numpy() * (dest["spending"] / dest[PARTS].sum(axis=1)).to_numpy()[:, None]
    )
    assert np.all(np.abs(parts - exact) < 1 / unit + 1e-9)
    assert np.all(parts >= 0)


@PROPERTY
@given(budgets(), st.data())
def test_without_sum_to_one_parts_are_shares_of_the_reference(
    df: pd.DataFrame, data: st.DataObject
) -> None:
    assume((df["spending"] > 0).all())
    processor = ProportionProcessor(PARTS, "spending", sum_to_one=False)
    shares = processor.preprocess(df)
    assert close(shares[PARTS].to_numpy(), df[PARTS].to_numpy() / df[["spending"]].to_numpy())
    assert close(processor.postprocess(df, shares)[PARTS], df[PARTS], scale=1e4)
    # any reference: the parts scale with it
    dest = shares.assign(spending=data.draw(st.floats(0, 1e4)))
    assert close(
        processor.postprocess(df, dest)[PARTS],
        shares[PARTS] * dest[["spending"]].to_numpy(),
        scale=1e4,
    )


def test_missing_parts_stay_missing_and_count_as_zero() -> None:
    df = pd.DataFrame({"total": [10.0, 10.0], "a": [np.nan, 4.0], "b": [10.0, 6.0]})
    processor = ProportionProcessor(["a", "b"], "total")
    shares = processor.preprocess(df)
    assert np.isnan(shares.loc[0, "a"]) and shares.loc[0, "b"] == 1.0
    restored = processor.postprocess(df, shares)
    assert np.isnan(restored.loc[0, "a"]) and restored.loc[0, "b"] == 10.0
    assert restored.loc[1, ["a", "b"]].tolist() == [4.0, 6.0]


def test_documented_examples() -> None:
    df = pd.DataFrame({"variable_1": [100, 10], "variable_2": [10, 10], "variable_3": [90, 30]})
    processor = ProportionProcessor(["variable_2", "variable_3"], "variable_1")
    assert processor.preprocess(df)["variable_2"].tolist() == [0.1, 0.25]
    avatar = pd.DataFrame(
        {"variable_1": [60, 15], "variable_2": [0.15, 0.88], "variable_3": [0.18, 0.77]}
    )
    restored = processor.postprocess(df, avatar)
    assert restored["variable_2"].tolist() == [27.3, 8.0]
    assert restored["variable_3"].tolist() == [32.7, 7.0]
    processor = ProportionProcessor(["variable_2", "variable_3"], "variable_1", sum_to_one=False)
    avatar = pd.DataFrame(
        {"variable_1": [60, 15], "variable_2": [0.15, 0.88], "variable_3": [1.5, 2.8]}
    )
    restored = processor.postprocess(df, avatar)
    assert restored["variable_2"].tolist() == pytest.approx([9.0, 13.2])
    assert restored["variable_3"].tolist() == pytest.approx([90.0, 42.0])


def test_errors_name_the_argument_and_column() -> None:
    with pytest.raises(ProcessorError, match="reference: 'a' is also one of variable_names"):
        ProportionProcessor(["a", "b"], "a")
    with pytest.raises(ProcessorError, match="variable_names: expected at least one"):
        ProportionProcessor([], "total")
    with pytest.raises(ProcessorError, match="decimal_count: expected an integer >= 0"):
        ProportionProcessor(["a"], "total", decimal_count=-1)
    processor = ProportionProcessor(["a", "b"], "total")
    with pytest.raises(ProcessorError, match="reference: column 'total' not found in df"):
        processor.preprocess(pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(ProcessorError, match="variable_names: column 'b' of df must be numeric"):
        processor.preprocess(pd.DataFrame({"total": [1], "a": [1], "b": ["x"]}))
    with pytest.raises(ProcessorError, match=r"the sum of variable_names is 0 on rows \[7\]"):
        processor.preprocess(pd.DataFrame({"total": [0], "a": [1], "b": [-1]}, index=[7]))
    with pytest.raises(ProcessorError, match="variable_names: column 'b' not found in dest"):
        processor.postprocess(pd.DataFrame(), pd.DataFrame({"total": [1], "a": [1]}))
