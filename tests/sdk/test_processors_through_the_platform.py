"""Each client-side processor around a real avatarization (issue 19), as a user runs it:
``processor.preprocess(df)``, the preprocessed table through the platform with our SDK
(``Manager``/``Runner``, the API in this process on SQLite, one standard job), then
``processor.postprocess(df, avatars)``, and what the processor promises checked on the
avatars. The round trips without the platform are property-tested in tests/processors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avatars.manager import Manager
from avatars.models import JobKind
from avatars.processors import (
    DatetimeProcessor,
    ExpectedMeanProcessor,
    GeolocationNormalizationProcessor,
    GroupModalitiesProcessor,
    InterRecordBoundedCumulatedDifferenceProcessor,
    InterRecordBoundedRangeDifferenceProcessor,
    InterRecordCumulatedDifferenceProcessor,
    InterRecordRangeDifferenceProcessor,
    PerturbationProcessor,
    ProportionProcessor,
    RelativeDifferenceProcessor,
    ToCategoricalProcessor,
)

ROWS = 120
#: Individuals of the record tables: several records each, so the column is no identifier.
PATIENTS = 30


@pytest.fixture
def manager(platform: Any, user: Any) -> Manager:
    return platform.manager(api_key=user.api_key)


def _rng() -> np.random.Generator:
    return np.random.default_rng(19)


def _records() -> pd.DataFrame:
    """``patient`` (4 records each, rows shuffled), ``visit`` (1..4 per patient), a
    non-decreasing series ``start_1 <= end_1 <= start_2 ...`` per patient, and noise."""
    rng = _rng()
    patient = np.repeat(np.arange(PATIENTS), ROWS // PATIENTS)
    visit = np.tile(np.arange(1, ROWS // PATIENTS + 1), PATIENTS)
    steps = rng.integers(1, 20, size=(PATIENTS, 2 * (ROWS // PATIENTS))).cumsum(axis=1)
    steps += rng.integers(0, 200, size=(PATIENTS, 1))
    df = pd.DataFrame(
        {
            "patient": patient,
            "visit": visit,
            "start": steps[:, 0::2].ravel(),
            "end": steps[:, 1::2].ravel(),
            "weight": rng.normal(70, 12, ROWS).round(1),
        }
    )
    return df.iloc[rng.permutation(ROWS)].reset_index(drop=True)


def _measures() -> pd.DataFrame:
    rng = _rng()
    return pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], ROWS),
            "age": rng.normal(50, 15, ROWS).round(1),
            "weight": rng.normal(70, 12, ROWS).round(1),
        }
    )


@dataclass
class Case:
    """A processor, its table, and the check of the postprocessed avatars.

    ``check(df, preprocessed, avatars, result)``: the original, the preprocessed table, the
    platform's avatars of it, and ``postprocess(df, avatars)``."""

    name: str
    table: Callable[[], pd.DataFrame]
    processor: Callable[[], Any]
    check: Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame], None]
    unshuffled: bool = False  # the processor needs avatars row-aligned with the original


def _same_columns(df: pd.DataFrame, result: pd.DataFrame) -> None:
    assert list(result.columns) == list(df.columns)
    assert result.dtypes.to_dict() == df.dtypes.to_dict()
    assert len(result) == len(df)


# --- the tables and checks -------------------------------------------------------------------


def _to_categorical_table() -> pd.DataFrame:
    df = _measures()
    # 4 float values: the platform would model a float column as continuous (avatars between
    # the values); as categories, avatars only take these values
    df["stage"] = _rng().integers(1, 5, ROWS) / 2
    return df


def _check_to_categorical(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert pre["stage"].dtype == object and pre["age"].dtype == df["age"].dtype
    _same_columns(df, result)
    assert set(result["stage"]) <= set(df["stage"])  # only values seen in the original


def _datetime_table() -> pd.DataFrame:
    df = _measures()
    seconds = _rng().integers(0, 3 * 365 * 86_400, ROWS)
    df["admitted"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(seconds, unit="s")
    return df


def _check_datetime(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert pd.api.types.is_float_dtype(pre["admitted"])
    assert pre["admitted"].iloc[0] == df["admitted"].iloc[0].timestamp()
    _same_columns(df, result)
    admitted = result["admitted"]
    assert admitted.notna().all() and (admitted == admitted.dt.round("s")).all()
    # avatars of dates from 2020 to 2022 are dates near that span, not seconds read as dates
    assert admitted.between(pd.Timestamp("2019-01-01"), pd.Timestamp("2024-01-01")).all()


def _check_expected_mean(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(pre, df)
    _same_columns(df, result)
    for sex, group in result.groupby("sex"):
        original = df.loc[df["sex"] == sex, "weight"]
        assert np.isclose(group["weight"].mean(), original.mean())
        assert np.isclose(group["weight"].std(), original.std())
    pd.testing.assert_series_equal(result["age"], avatars["age"])


def _geolocation_table() -> pd.DataFrame:
    """Points in two towns 10 degrees of longitude apart, on the same latitudes."""
    rng = _rng()
    east = rng.random(ROWS) < 0.5
    return pd.DataFrame(
        {
            "lat": rng.uniform(45.0, 46.0, ROWS).round(4),
            "lon": (np.where(east, 30.0, 20.0) + rng.uniform(0, 1, ROWS)).round(4),
            "income": rng.normal(2000, 300, ROWS).round(0),
        }
    )


def _check_geolocation(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert pre["lon"].between(0, 1).all()
    _same_columns(df, result)
    pd.testing.assert_series_equal(result["lat"], avatars["lat"])
    # avatars land only in occupied longitude bins (10 bins of ~1.1 degrees): never between
    # the towns, where the avatarized positions would fall without the processor
    lon = result["lon"]
    assert (lon.between(19.9, 21.2) | lon.between(28.8, 31.1)).all()
    assert lon.between(19.9, 21.2).any() and lon.between(28.8, 31.1).any()


def _group_modalities_table() -> pd.DataFrame:
    df = _measures()
    cities = ["Paris"] * 50 + ["Lyon"] * 40 + [f"village{i}" for i in range(ROWS - 90)]
    df["city"] = _rng().permutation(cities)
    return df


def _check_group_modalities(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert set(pre["city"]) == {"Paris", "Lyon", "rare"}
    assert (pre["city"] == "rare").sum() == ROWS - 90
    _same_columns(df, result)
    assert set(result["city"]) <= {"Paris", "Lyon", "rare"}  # no rare village comes back


def _check_bounded_range(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert {"start", "end"}.isdisjoint(pre.columns)
    assert pre["range"].between(-1, 1).all() and pre["gap"].between(-1, 1).all()
    assert set(result.columns) == set(df.columns) and len(result) == ROWS
    low, high = df[["start", "end"]].min().min(), df[["start", "end"]].max().max()
    for column in ("start", "end"):
        values = result[column].to_numpy(dtype=float)
        assert ((values >= low) & (values <= high)).all()
        assert (values == np.round(values)).all()  # should_round_output (default)
    # the sign of each avatar's range orders its end and start (rounding keeps the order)
    rising = avatars.loc[result.index, "range"] >= 0
    assert (result.loc[rising, "end"] >= result.loc[rising, "start"]).all()
    assert (result.loc[~rising, "end"] <= result.loc[~rising, "start"]).all()


def _check_cumulated(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert "weight" not in pre.columns and (pre["step"] >= 0).all()
    assert set(result.columns) == set(df.columns) and len(result) == ROWS
    # records taken in the avatars' row order: each differs from the previous record of its
    # patient by its step, and the first one is its first value (plus its own step, as the
    # official client chains them: 0 for an original first record)
    for _, group in result.groupby("patient", sort=False):
        raw = avatars.loc[group.index]
        assert np.isclose(group["weight"].iloc[0], raw["weight0"].iloc[0] + raw["step"].iloc[0])
        assert np.allclose(group["weight"].diff().iloc[1:], raw["step"].iloc[1:])


def _check_bounded_cumulated(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert pre["change"].between(-1, 1).all()
    assert set(result.columns) == set(df.columns) and len(result) == ROWS
    weight = result["weight"]
    assert weight.between(df["weight"].min(), df["weight"].max()).all()
    for _, group in result.groupby("patient", sort=False):
        change = avatars.loc[group.index, "change"].iloc[1:].to_numpy()
        moves = group["weight"].diff().iloc[1:].to_numpy()
        assert (moves[change > 0] >= -1e-9).all() and (moves[change < 0] <= 1e-9).all()


def _check_perturbation(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(pre, df)
    _same_columns(df, result)
    halfway = df["weight"] + 0.5 * (avatars["weight"] - df["weight"])
    assert np.allclose(result["weight"], halfway)
    pd.testing.assert_series_equal(result["age"], df["age"])  # level 0: the original
    pd.testing.assert_series_equal(result["sex"], avatars["sex"])  # not named: the avatar


def _proportion_table() -> pd.DataFrame:
    rng = _rng()
    parts = rng.dirichlet([4, 3, 2], ROWS) * rng.uniform(500, 3000, (ROWS, 1))
    df = pd.DataFrame(parts.round(1), columns=["rent", "food", "leisure"])
    df["spending"] = df.sum(axis=1).round(1)
    df["age"] = rng.normal(40, 10, ROWS).round(0)
    return df


def _check_proportion(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert np.allclose(pre[["rent", "food", "leisure"]].sum(axis=1), 1)
    _same_columns(df, result)
    parts = result[["rent", "food", "leisure"]]
    assert np.allclose(parts.sum(axis=1), result["spending"].round(1))
    assert np.allclose(parts, parts.round(1))  # decimal_count=1
    pd.testing.assert_series_equal(result["spending"], avatars["spending"])


def _relative_difference_table() -> pd.DataFrame:
    df = _measures()
    df["age_later"] = df["age"] + _rng().uniform(0, 10, ROWS).round(1)
    return df


def _check_relative_difference(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert "age_later" not in pre.columns and (pre["ageing"] >= 0).all()
    _same_columns(df, result)
    # the avatar's later age is its age plus its avatarized (relative) difference
    assert np.allclose(result["age_later"] - result["age"], avatars["ageing"])


def _check_range(
    df: pd.DataFrame, pre: pd.DataFrame, avatars: pd.DataFrame, result: pd.DataFrame
) -> None:
    assert (pre["range"] > 0).all() and (pre["gap"] >= 0).all()
    assert set(result.columns) == set(df.columns) and len(result) == ROWS
    # each record's end - start is its avatarized range, exactly
    assert np.allclose(result["end"] - result["start"], avatars.loc[result.index, "range"])
    # and, taking the avatars (unshuffled) in the order preprocess took the original's rows
    # (patients in order of appearance, each by visit), grouped by their own patient, each
    # start is the previous end of that avatar patient plus the avatarized gap
    ordered = df.index[np.lexsort((df["visit"], pd.factorize(df["patient"])[0]))]
    for _, group in result.loc[ordered].groupby("patient", sort=False):
        rows = group.index
        starts, ends = result.loc[rows, "start"].to_numpy(), result.loc[rows, "end"].to_numpy()
        assert np.allclose(starts[1:] - ends[:-1], avatars.loc[rows[1:], "gap"])


CASES = [
    Case(
        "to_categorical",
        _to_categorical_table,
        lambda: ToCategoricalProcessor(to_categorical_threshold=5),
        _check_to_categorical,
    ),
    Case("datetime", _datetime_table, DatetimeProcessor, _check_datetime),
    Case(
        "expected_mean",
        _measures,
        lambda: ExpectedMeanProcessor(["weight"], groupby_variables=["sex"], same_std=True),
        _check_expected_mean,
    ),
    Case(
        "geolocation_normalization",
        _geolocation_table,
        lambda: GeolocationNormalizationProcessor(
            latitude_variable="lat", longitude_variable="lon", n_reference_lat=3, n_bins=10
        ),
        _check_geolocation,
    ),
    Case(
        "group_modalities",
        _group_modalities_table,
        lambda: GroupModalitiesProcessor(variable_thresholds={"city": 3}, new_category="rare"),
        _check_group_modalities,
    ),
    Case(
        "inter_record_bounded_range_difference",
        _records,
        lambda: InterRecordBoundedRangeDifferenceProcessor(
            id_variable="patient",
            target_start_variable="start",
            target_end_variable="end",
            sort_by_variable="visit",
            new_first_variable_name="start0",
            new_range_variable="range",
            new_difference_variable_name="gap",
        ),
        _check_bounded_range,
    ),
    Case(
        "inter_record_cumulated_difference",
        _records,
        lambda: InterRecordCumulatedDifferenceProcessor(
            id_variable="patient",
            target_variable="weight",
            new_first_variable_name="weight0",
            new_difference_variable_name="step",
        ),
        _check_cumulated,
    ),
    Case(
        "inter_record_bounded_cumulated_difference",
        _records,
        lambda: InterRecordBoundedCumulatedDifferenceProcessor(
            "patient", "weight", "weight0", "change"
        ),
        _check_bounded_cumulated,
    ),
    Case(
        "perturbation",
        _measures,
        lambda: PerturbationProcessor({"weight": 0.5, "age": 0.0}, seed=0),
        _check_perturbation,
        unshuffled=True,
    ),
    Case(
        "proportion",
        _proportion_table,
        lambda: ProportionProcessor(["rent", "food", "leisure"], reference="spending"),
        _check_proportion,
    ),
    Case(
        "relative_difference",
        _relative_difference_table,
        lambda: RelativeDifferenceProcessor(
            target="age_later",
            references=["age"],
            target_rename="ageing",
            drop_original_target=True,
        ),
        _check_relative_difference,
    ),
    Case(
        "inter_record_range_difference",
        _records,
        lambda: InterRecordRangeDifferenceProcessor(
            id_variable="patient",
            target_start_variable="start",
            target_end_variable="end",
            sort_by_variable="visit",
            new_first_variable="start0",
            new_range_variable="range",
            new_difference_variable="gap",
            keep_record_order=True,
        ),
        _check_range,
        unshuffled=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_processor_through_the_platform(manager: Manager, case: Case) -> None:
    df = case.table()
    processor = case.processor()
    preprocessed = processor.preprocess(df)

    runner = manager.create_runner(f"processor_{case.name}", seed=19)
    runner.add_table("data", preprocessed)
    runner.set_parameters("data", k=5)
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.sensitive_unshuffled("data") if case.unshuffled else runner.shuffled("data")
    assert list(avatars.columns) == list(preprocessed.columns) and len(avatars) == len(df)

    result = processor.postprocess(df, avatars)
    case.check(df, preprocessed, avatars, result)
