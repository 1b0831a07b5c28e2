"""Data fidelity: each column's missing rate, and integer columns on their observed grid."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avatars.engine import avatarize
from avatars.engine.avatarization import _calibrate_missingness


def _clinical(n: int = 1_200, seed: int = 0) -> pd.DataFrame:
    """A clinical-like table: ~17 % of the categorical values and ~15 % of the numeric values
    missing, more often for older, sicker patients (missing not at random, as in real data)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 90, n)
    severity = rng.normal(0, 1, n) + (age - 55) / 30
    table = pd.DataFrame(
        {
            "age": age,
            "creatinine": (80 + 15 * severity + rng.normal(0, 8, n)).round(1),
            "albumin": (40 - 3 * severity + rng.normal(0, 3, n)).round(1),
            "smoker": rng.choice(["yes", "no", "former"], n),
            "stage": rng.choice(["I", "II", "III", "IV"], n),
        }
    )
    p_missing = 1 / (1 + np.exp(-(severity - 1.7)))
    table.loc[rng.random(n) < p_missing * 0.6, "creatinine"] = np.nan
    table.loc[rng.random(n) < 0.15, "albumin"] = np.nan
    table.loc[rng.random(n) < p_missing, "smoker"] = None
    table.loc[rng.random(n) < 0.17, "stage"] = None
    return table


#: Stated tolerance: each column's missing share in the avatars equals the original's to one
#: record (the count is reproduced exactly: round(n · rate)).
TOLERANCE = 1


def test_each_columns_missing_rate_is_reproduced():
    table = _clinical()
    categorical = table[["smoker", "stage"]].isna().to_numpy().mean()
    numeric = table[["creatinine", "albumin"]].isna().to_numpy().mean()
    assert 0.15 <= categorical <= 0.19 and 0.13 <= numeric <= 0.17  # the setting
    for seed in (0, 1):
        avatars = avatarize(table, k=20, seed=seed).shuffled
        for column in ("creatinine", "albumin", "smoker", "stage"):
            expected = int(table[column].isna().sum())
            assert abs(int(avatars[column].isna().sum()) - expected) <= TOLERANCE, column


def test_missingness_is_drawn_where_neighbours_miss_values():
    share = np.array([[0.0], [0.9], [0.0], [0.8], [0.1], [0.0]])
    out = _calibrate_missingness(share, np.array([2 / 6]), np.random.default_rng(0))
    assert out[:, 0].sum() == 2
    assert set(np.flatnonzero(out[:, 0])) <= {1, 3, 4}  # never a row whose neighbours all have it
    # more missing values wanted than rows with missing neighbours: the rest are drawn at random
    many = _calibrate_missingness(share, np.array([4 / 6]), np.random.default_rng(0))
    assert many[:, 0].sum() == 4 and many[[1, 3, 4], 0].all()


def test_integer_scores_stay_on_their_grid():
    rng = np.random.default_rng(0)
    n = 400
    ability = rng.normal(0, 1, n)
    table = pd.DataFrame(
        {
            "score": (
                np.clip(np.round(80 + 12 * ability + rng.normal(0, 5, n), -1), 60, 100)
            ).astype(int),
            "hours": (10 + 3 * ability + rng.normal(0, 2, n)).round(1),
            "grade_points": rng.choice([0, 2, 3, 7, 11], n),  # uneven grid with gaps
        }
    )
    assert sorted(table["score"].unique()) == [60, 70, 80, 90, 100]
    avatars = avatarize(table, k=15, seed=0).shuffled
    assert set(avatars["score"]) <= {60, 70, 80, 90, 100}
    assert set(avatars["grade_points"]) <= {0, 2, 3, 7, 11}
    assert avatars["score"].dtype == table["score"].dtype
    assert avatars["score"].nunique() >= 4  # still spread over the grid
