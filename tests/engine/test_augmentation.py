"""Data augmentation (method.md §6.4): strategies, counts, sources, barycentres."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatars.engine.augmentation import (
    ORIGINAL_RECORDS,
    augment,
    augmentation_privacy_tables,
    barycentres,
    requested_counts,
)
from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.protocol.enums import AugmentationStrategy, ComputationType
from parameter_tables import classes_table

TYPES = {"label": "category"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return classes_table()  # a: 180, b: 70, c: 50


def test_requested_counts_per_strategy(table: pd.DataFrame) -> None:
    label = table["label"]
    assert requested_counts(None, 300, 2.5) == {None: 750}
    assert requested_counts(label, 300, 2.0) == {"a": 360, "b": 140, "c": 100}
    assert requested_counts(label, 300, "minority") == {"a": 180, "b": 70, "c": 180}
    assert requested_counts(label, 300, AugmentationStrategy.not_majority) == dict.fromkeys(
        "abc", 180
    )
    assert requested_counts(label, 300, {"b": 2, "c": 1.5}) == {"a": 180, "b": 140, "c": 75}
    with pytest.raises(InvalidParameterError, match="modality 'z' is not a value"):
        requested_counts(label, 300, {"z": 2.0})
    with pytest.raises(InvalidParameterError, match="must be ≥ 1"):
        requested_counts(label, 300, {"b": 0.5})
    with pytest.raises(InvalidParameterError, match="target_column"):
        requested_counts(None, 300, "minority")
    with pytest.raises(InvalidParameterError, match="> 1"):
        requested_counts(None, 300, 1.0)


@pytest.mark.parametrize(
    ("strategy", "target", "expected"),
    [
        (2.0, None, None),
        ("minority", "label", {"c": 180}),
        ("not_majority", "label", {"b": 180, "c": 180}),
        ({"b": 2.0, "c": 1.5}, "label", {"b": 140, "c": 75}),
    ],
)
def test_augmented_class_counts_are_the_request(
    table: pd.DataFrame, strategy: object, target: str | None, expected: dict | None
) -> None:
    result = augment(
        table, strategy=strategy, target_column=target, k=5, seed=0, column_types=TYPES
    )
    if expected is None:
        assert len(result.shuffled) == 600
        counts = result.shuffled["label"].value_counts()
        for label, n in table["label"].value_counts().items():
            assert abs(counts[label] - 2 * n) <= 0.01 * 2 * n + 3  # proportions kept
    else:
        counts = result.shuffled["label"].value_counts()
        for label, n in expected.items():
            assert abs(counts[label] - n) <= 0.01 * n
    # each extra avatar was made from a record of its class
    n = len(table)
    extras = result.unshuffled.iloc[n:]
    sources = result.sources[n:]
    assert (extras["label"].to_numpy() == table["label"].to_numpy()[sources]).all()
    assert list(result.unshuffled.columns) == list(table.columns)
    assert result.metadata["augmentation"]["rows"] == len(result.shuffled)
    # no original record in the deliverable
    assert result.shuffled.merge(table, how="inner").empty


def test_same_seed_same_augmented_table(table: pd.DataFrame) -> None:
    first = augment(
        table, strategy="minority", target_column="label", k=5, seed=3, column_types=TYPES
    )
    again = augment(
        table, strategy="minority", target_column="label", k=5, seed=3, column_types=TYPES
    )
    pd.testing.assert_frame_equal(first.shuffled, again.shuffled)


def test_originals_kept_only_when_asked_and_flagged(table: pd.DataFrame) -> None:
    result = augment(
        table,
        strategy="not_majority",
        target_column="label",
        k=5,
        seed=0,
        column_types=TYPES,
        should_anonymize_original_table=False,
    )
    assert len(result.shuffled.merge(table.drop_duplicates(), how="inner")) >= len(table)
    assert [w["code"] for w in result.metadata["warnings"]] == [ORIGINAL_RECORDS]
    assert result.base is None


def test_privacy_pairs_per_computation_type(table: pd.DataFrame) -> None:
    result = augment(
        table, strategy="minority", target_column="label", k=5, seed=0, column_types=TYPES
    )
    pairs = augmentation_privacy_tables(table, result.unshuffled, result.sources, TYPES)
    assert [p[0] for p in pairs] == [
        ComputationType.standalone,
        ComputationType.barycentered,
        ComputationType.class_balancing_barycenter,
    ]
    assert all(len(o) == len(a) for _, o, a in pairs)
    assert len(pairs[2][1]) == len(np.unique(result.sources[len(table) :]))
    assert set(pairs[2][1]["label"]) == {"c"}


def test_barycentre_averages_numbers_and_takes_the_modal_category() -> None:
    avatars = pd.DataFrame(
        {
            "x": [1.0, 3.0, 10.0, 20.0, 5.0],
            "n": [1, 2, 3, 4, 5],
            "c": ["u", "v", "v", "w", "w"],
            "d": pd.to_datetime(
                ["2020-01-01", "2020-01-03", "2021-01-01", "2021-01-01", "2022-05-05"]
            ),
        }
    )
    centres = barycentres(avatars, np.array([0, 0, 0, 1, 1]), 2)
    assert centres["x"].tolist() == pytest.approx([14 / 3, 12.5])
    assert centres["n"].tolist() == [2, 4]  # integers stay integers (4.5 rounds to even)
    assert centres["c"].tolist() == ["v", "w"]
    assert str(centres["d"].iloc[0].date()) == "2020-05-02"


def test_a_class_too_small_is_refused(table: pd.DataFrame) -> None:
    tiny = pd.concat([table, pd.DataFrame([{"u": 0.0, "v": 0.0, "w": 1, "label": "d"}])])
    with pytest.raises(InvalidDataError, match="class d has 1 record"):
        augment(
            tiny, strategy="not_majority", target_column="label", k=5, seed=0, column_types=TYPES
        )


def test_keys_are_refused_with_augmentation(table: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="data_augmentation"):
        augment(table, strategy=2.0, k=5, seed=0, keys=["w"])
