"""avatarize: output shape and formats, reproducibility, options, and the paper's settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatars.engine import avatarize
from avatars.engine.avatarization import avatar_weights
from avatars.engine.io import table_to_bytes


def test_output_has_input_columns_dtypes_and_rows(aids, aids_types):
    result = avatarize(aids, k=20, ncp=5, seed=1, column_types=aids_types)
    for table in (result.unshuffled, result.shuffled):
        assert list(table.columns) == list(aids.columns)
        assert len(table) == len(aids)
    assert (result.unshuffled.dtypes == result.shuffled.dtypes).all()
    # continuous columns keep their dtype; cd496 has missing values and stays float
    assert result.unshuffled["age"].dtype == aids["age"].dtype
    assert result.unshuffled["wtkg"].dtype == np.float64
    # the shuffled table holds the same rows as the unshuffled one, in another order
    key = list(aids.columns)
    same = result.unshuffled.sort_values(key).reset_index(drop=True)
    other = result.shuffled.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(same, other)
    assert not result.unshuffled.equals(result.shuffled)
    assert result.original_coordinates.shape == (len(aids), 5)
    assert result.avatar_coordinates.shape == (len(aids), 5)
    assert result.metadata["projection"]["kind"] == "famd"


def test_numeric_avatars_stay_in_range_and_are_formatted(aids, aids_types):
    result = avatarize(aids, k=20, ncp=5, seed=2, column_types=aids_types)
    avatars = result.unshuffled
    numeric = [c for c in aids.columns if c not in aids_types]
    for column in numeric:
        values = avatars[column].dropna()
        assert values.min() >= aids[column].min(), column
        assert values.max() <= aids[column].max(), column
    # integer columns hold integers; wtkg is rounded to its most frequent number of decimals (4)
    assert (avatars["age"] == avatars["age"].round()).all()
    wtkg = avatars["wtkg"]
    assert np.allclose(wtkg, wtkg.round(4), rtol=0, atol=1e-9)
    # categorical avatars only use modalities of the original
    for column in aids_types:
        assert set(avatars[column].dropna()) <= set(aids[column].dropna()), column


def test_missing_values_are_modelled_not_copied(aids, aids_types):
    """cd496 is missing exactly when r = 0; avatars reproduce the share, from their neighbours."""
    shares = []
    for seed in range(3):
        avatars = avatarize(aids, k=20, ncp=5, seed=seed, column_types=aids_types).unshuffled
        missing = avatars["cd496"].isna()
        shares.append(missing.mean())
        # the indicator is drawn like the other categoricals: mostly consistent with r
        assert (avatars.loc[missing, "r"] == 0).mean() > 0.9
        # and not simply the original's missingness pattern row by row
        assert (missing.to_numpy() != aids["cd496"].isna().to_numpy()).any()
    assert abs(np.mean(shares) - aids["cd496"].isna().mean()) < 0.03


def test_return_data_imputed_keeps_imputed_values(aids, aids_types):
    result = avatarize(
        aids, k=20, seed=3, column_types=aids_types, imputation={"return_data_imputed": True}
    )
    assert not result.unshuffled.isna().any().any()
    assert result.imputed_original is not None
    assert not result.imputed_original.isna().any().any()


@pytest.mark.parametrize("method", ["fast_knn", "knn", "mean", "median", "mode"])
def test_every_imputation_method(aids, aids_types, method):
    result = avatarize(
        aids, k=10, seed=4, column_types=aids_types, imputation={"method": method, "k": 3}
    )
    assert result.metadata["imputation"]["method"] == method
    assert "cd496" in result.metadata["imputation"]["columns"]
    assert result.unshuffled["cd496"].isna().mean() > 0.2


def test_same_seed_gives_byte_identical_outputs(aids, aids_types):
    first = avatarize(aids, k=20, seed=42, column_types=aids_types)
    second = avatarize(aids, k=20, seed=42, column_types=aids_types)
    for name in ("shuffled", "unshuffled", "original_coordinates", "avatar_coordinates"):
        assert table_to_bytes(getattr(first, name)) == table_to_bytes(getattr(second, name)), name
    third = avatarize(aids, k=20, seed=43, column_types=aids_types)
    assert table_to_bytes(first.shuffled) != table_to_bytes(third.shuffled)


def test_a_run_without_seed_reports_the_seed_that_replays_it(iris):
    first = avatarize(iris, k=5)
    seed = first.metadata["parameters"]["seed"]
    again = avatarize(iris, k=5, seed=seed)
    pd.testing.assert_frame_equal(first.shuffled, again.shuffled)


def test_paper_spread_of_aids_numeric_columns_within_15_percent(
    aids, aids_types, aids_paper_avatars
):
    """method.md §1.9: the published avatars shrink each variable's spread; ours must match."""
    numeric = [c for c in aids.columns if c not in aids_types]
    stds = [
        avatarize(aids, k=20, ncp=5, seed=seed, column_types=aids_types).unshuffled[numeric].std()
        for seed in range(5)
    ]
    ours = pd.concat(stds, axis=1).mean(axis=1)
    published = aids_paper_avatars[numeric].std()
    relative = (ours - published).abs() / published
    assert (relative <= 0.15).all(), relative.round(3).to_dict()


def test_weights_follow_the_published_distribution():
    """method.md §1.8: with equal distances the sorted weights average ≈ .556, .224, .108, .055."""
    rng = np.random.default_rng(0)
    weights = avatar_weights(np.ones((50_000, 12)), 1e-12, rng)
    assert np.allclose(weights.sum(axis=1), 1.0)
    mean_sorted = np.sort(weights, axis=1)[:, ::-1].mean(axis=0)
    assert np.allclose(mean_sorted[:4], [0.556, 0.224, 0.108, 0.055], atol=0.01)
    effective = 1.0 / (weights**2).sum(axis=1)
    assert 2.3 < np.median(effective) < 3.1


def test_weights_favour_closer_neighbours():
    rng = np.random.default_rng(1)
    distances = np.tile(np.array([1.0, 10.0]), (20_000, 1))
    weights = avatar_weights(distances, 1e-12, rng)
    assert weights[:, 0].mean() > 0.8


def test_exact_duplicates_share_the_weight():
    """d = 0 is guarded (ε) instead of dividing by zero."""
    rng = np.random.default_rng(2)
    weights = avatar_weights(np.array([[0.0, 0.0, 1.0, 2.0]] * 1000), 1e-9, rng)
    assert np.isfinite(weights).all()
    assert weights[:, :2].sum(axis=1).mean() > 0.99


def test_argmax_assignment_takes_the_heaviest_modality(wbcd):
    types = {c: "category" for c in wbcd.columns}
    draw = avatarize(wbcd, k=20, ncp=2, seed=5, column_types=types).unshuffled
    argmax = avatarize(
        wbcd, k=20, ncp=2, seed=5, column_types=types, categorical_assignment="argmax"
    ).unshuffled
    # argmax makes rare modalities rarer than the weighted draw (method.md §1.9)
    rare_draw = (draw["Mitoses"].astype(str) != "1").mean()
    rare_argmax = (argmax["Mitoses"].astype(str) != "1").mean()
    assert rare_argmax < rare_draw


def test_excluded_variables_row_order_and_coordinate_similarity(aids, aids_types):
    by_row = avatarize(
        aids, k=20, seed=6, column_types=aids_types, exclude_variables=["days", "arms"]
    ).unshuffled
    assert (by_row["days"] == aids["days"]).all()
    assert (by_row["arms"] == aids["arms"]).all()
    similar = avatarize(
        aids,
        k=20,
        seed=6,
        column_types=aids_types,
        exclude_variables=["days"],
        exclude_method="coordinate_similarity",
    ).unshuffled
    assert set(similar["days"]) <= set(aids["days"])
    assert not (similar["days"] == aids["days"]).all()
    assert list(similar.columns) == list(aids.columns)


def test_column_weight_pulls_avatars_towards_that_column(aids, aids_types):
    def error(weights):
        avatars = avatarize(
            aids, k=20, seed=7, column_types=aids_types, column_weights=weights
        ).unshuffled
        return (avatars["age"] - aids["age"]).abs().mean()

    assert error({"age": 20.0}) < 0.7 * error(None)


def test_datetimes_bools_and_time_zones_are_restored(epl):
    table = epl.copy()
    table["signed_abroad"] = table["minutes_played_away"] > table["minutes_played_home"]
    table["club_signing_date"] = table["club_signing_date"].dt.tz_localize("Europe/Paris")
    avatars = avatarize(table, k=10, seed=8).unshuffled
    assert avatars["career_start_date"].dtype.kind == "M"
    assert str(avatars["club_signing_date"].dt.tz) == "Europe/Paris"
    assert avatars["signed_abroad"].dtype == bool
    start = avatars["career_start_date"]
    assert start.min() >= epl["career_start_date"].min()
    assert start.max() <= epl["career_start_date"].max()


def test_dates_without_time_stay_dates():
    days = pd.date_range("2020-01-01", periods=200, freq="D")
    table = pd.DataFrame({"when": days, "x": np.arange(200.0) % 7})
    avatars = avatarize(table, k=5, seed=9).unshuffled
    assert (avatars["when"] == avatars["when"].dt.normalize()).all()


def test_extreme_k_values_work(iris):
    assert len(avatarize(iris, k=2, seed=0).shuffled) == 150
    assert len(avatarize(iris, k=149, seed=0).shuffled) == 150


def test_progress_is_reported_and_can_abort(iris):
    seen: list[tuple[float, str]] = []
    avatarize(iris, k=5, seed=0, progress=lambda f, p: seen.append((f, p)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"projection", "neighbors", "avatars"} <= {p for _, p in seen}

    class Stop(Exception):
        pass

    def stop(fraction, phase):
        if phase == "neighbors":
            raise Stop

    with pytest.raises(Stop):
        avatarize(iris, k=5, seed=0, progress=stop)
