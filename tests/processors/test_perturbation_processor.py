"""PerturbationProcessor: avatars moved back toward their originals by a level in [0, 1]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY, close, finite

from avatars.processors import PerturbationProcessor, ProcessorError

levels = st.floats(0, 1)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An original table and its unshuffled avatars (same rows, other values)."""
    n = draw(st.integers(1, 30))

    def table() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "amount": draw(st.lists(finite, min_size=n, max_size=n)),
                "count": draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n)),
                "when": pd.to_datetime(
                    draw(st.lists(st.integers(0, 2_000_000_000), min_size=n, max_size=n)),
                    unit="s",
                ),
                "colour": draw(st.lists(st.sampled_from("rgb"), min_size=n, max_size=n)),
                "untouched": draw(st.lists(st.integers(), min_size=n, max_size=n)),
            }
        )

    return table(), table()


@PROPERTY
@given(pairs(), levels, levels, levels, levels, st.integers(0, 2**32 - 1))
def test_each_value_moves_the_given_fraction_of_the_way_to_the_avatar(
    pair: tuple[pd.DataFrame, pd.DataFrame],
    amount: float,
    count: float,
    when: float,
    colour: float,
    seed: int,
) -> None:
    source, avatars = pair
    level = {"amount": amount, "count": count, "when": when, "colour": colour}
    processor = PerturbationProcessor(level, seed=seed)
    assert processor.preprocess(source).equals(source)
    moved = processor.postprocess(source, avatars)
    for column in ("amount", "count"):
        start = source[column].to_numpy(dtype=float)
        end = avatars[column].to_numpy(dtype=float)
        assert close(moved[column], start + level[column] * (end - start), scale=1e6)
        # between the original and the avatar
        assert np.all(np.abs(moved[column] - start) <= np.abs(end - start) + 1e-6)
    offset = (avatars["when"] - source["when"]) * when
    assert (moved["when"] - (source["when"] + offset)).abs().max() <= pd.Timedelta(1, "us")
    # a categorical value is either the original's or the avatar's
    for original, avatar, value in zip(
        source["colour"], avatars["colour"], moved["colour"], strict=True
    ):
        assert value in (original, avatar)
    if colour == 0:
        assert moved["colour"].tolist() == source["colour"].tolist()
    if colour == 1:
        assert moved["colour"].tolist() == avatars["colour"].tolist()
    pd.testing.assert_series_equal(moved["untouched"], avatars["untouched"])
    # one seed, one result
    again = PerturbationProcessor(level, seed=seed).postprocess(source, avatars)
    pd.testing.assert_frame_equal(moved, again)


@pytest.mark.parametrize("level", [0.1, 0.5, 0.8])
def test_categorical_values_keep_the_avatar_with_probability_level(level: float) -> None:
    n = 4000
    source = pd.DataFrame({"colour": ["red"] * n})
    avatars = pd.DataFrame({"colour": ["blue"] * n})
    moved = PerturbationProcessor({"colour": level}, seed=3).postprocess(source, avatars)
    share = (moved["colour"] == "blue").mean()
    # five standard deviations of a binomial proportion
    assert abs(share - level) < 5 * np.sqrt(level * (1 - level) / n)


def test_documented_example() -> None:
    df = pd.DataFrame(np.zeros(3), columns=["column"], dtype="float")
    avatar = pd.DataFrame(np.ones(3), columns=["column"], dtype="float")
    moved = PerturbationProcessor(perturbation_level={"column": 0.3}, seed=1).postprocess(
        df, avatar
    )
    assert moved["column"].tolist() == pytest.approx([0.3, 0.3, 0.3])


def test_errors_name_the_column() -> None:
    with pytest.raises(ProcessorError, match=r"perturbation_level\['age'\]: expected a number"):
        PerturbationProcessor({"age": 1.5})
    processor = PerturbationProcessor({"age": 0.5})
    df = pd.DataFrame({"age": [30, 40]})
    with pytest.raises(ProcessorError, match="perturbation_level: column 'age' not found in dest"):
        processor.postprocess(df, pd.DataFrame({"weight": [1, 2]}))
    with pytest.raises(ProcessorError, match="needs the unshuffled avatars"):
        processor.postprocess(df, pd.DataFrame({"age": [1, 2, 3]}))
    with pytest.raises(ProcessorError, match=r"perturbation_level\['age'\]: source is int64"):
        processor.postprocess(df, pd.DataFrame({"age": ["thirty", "forty"]}))
    assert PerturbationProcessor().postprocess(df, df.iloc[:1]).equals(df.iloc[:1])
