"""DatetimeProcessor: datetimes <-> seconds since the epoch, back to the second, same dtype."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY

from avatars.processors import DatetimeProcessor, ProcessorError

moments = (
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 12, 31)) | st.none()
)
zones = st.sampled_from([None, "UTC", "Europe/Paris", "America/New_York"])
units = st.sampled_from(["s", "ms", "us", "ns"])


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 20))
    columns = {}
    for name in ("start", "end"):
        values = pd.Series(draw(st.lists(moments, min_size=n, max_size=n)), dtype="object")
        series = pd.to_datetime(values).astype(f"datetime64[{draw(units)}]")
        zone = draw(zones)
        columns[name] = (
            series.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT") if zone else series
        )
    columns["count"] = list(range(n))
    columns["label"] = [f"l{i}" for i in range(n)]
    return pd.DataFrame(columns, index=draw(st.permutations(range(n))))


@PROPERTY
@given(tables())
def test_round_trip_restores_datetimes_to_the_second_with_their_dtype(df: pd.DataFrame) -> None:
    processor = DatetimeProcessor()
    prepared = processor.preprocess(df)
    assert processor.datetime_variables == ["start", "end"]
    for column in ("start", "end"):
        assert prepared[column].dtype == np.float64
        assert prepared[column].isna().equals(df[column].isna())
    restored = processor.postprocess(df, prepared)
    assert list(restored.columns) == list(df.columns)
    assert restored.index.equals(df.index)
    for column in ("start", "end"):
        assert restored[column].dtype == df[column].dtype
        expected = df[column].dt.round("s")
        pd.testing.assert_series_equal(restored[column], expected, check_names=False)
    pd.testing.assert_frame_equal(restored[["count", "label"]], df[["count", "label"]])


@PROPERTY
@given(tables(), st.lists(st.floats(-2e9, 7e9, allow_nan=False) | st.none(), min_size=1))
def test_any_seconds_become_datetimes_of_those_seconds(
    df: pd.DataFrame, seconds: list[float | None]
) -> None:
    """Avatars are barycentres: any number of seconds maps to the datetime of that many
    (rounded) seconds after the epoch, in the column's time zone; NaN to NaT."""
    processor = DatetimeProcessor()
    processor.preprocess(df)
    n = len(df)
    values = (seconds * n)[:n]
    dest = pd.DataFrame({"start": values, "end": values}, dtype="float64")
    restored = processor.postprocess(df, dest)
    for column in ("start", "end"):
        for value, stamp in zip(values, restored[column], strict=True):
            if value is None:
                assert pd.isna(stamp)
                continue
            utc = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
            assert utc == pd.Timestamp(round(value), unit="s", tz="UTC")


def test_values_are_seconds_since_the_epoch() -> None:
    df = pd.DataFrame(
        {
            "naive": pd.to_datetime(["1970-01-01 00:00:10", "2015-01-01 07:00:00"]),
            "paris": pd.to_datetime(["1970-01-01 01:00:10", "2015-01-01 08:00:00"]).tz_localize(
                "Europe/Paris"
            ),
        }
    )
    prepared = DatetimeProcessor().preprocess(df)
    assert prepared["naive"].tolist() == [10.0, 1420095600.0]
    assert prepared["paris"].tolist() == [10.0, 1420095600.0]


def test_documented_example() -> None:
    df = pd.DataFrame(
        {
            "date_1": ["2015-01-01 07:00:00", "2015-01-01 10:00:00"],
            "date_2": ["2018-01-01 11:00:00", "2020-01-01 11:00:00"],
        }
    ).apply(pd.to_datetime)
    processor = DatetimeProcessor()
    processor.preprocess(df)
    avatar = pd.DataFrame(
        {"date_1": [1.420096e09, 1.537804e09], "date_2": [1.420106e09, 1.568676e09]}
    )
    restored = processor.postprocess(df, avatar)
    assert restored["date_1"].astype(str).tolist() == [
        "2015-01-01 07:06:40",
        "2018-09-24 15:46:40",
    ]
    assert restored["date_2"].astype(str).tolist() == [
        "2015-01-01 09:53:20",
        "2019-09-16 23:20:00",
    ]


def test_errors_name_the_column() -> None:
    df = pd.DataFrame({"when": pd.to_datetime(["2020-01-01", "2021-01-01"])})
    processor = DatetimeProcessor()
    with pytest.raises(ProcessorError, match="call preprocess"):
        processor.postprocess(df, df)
    processor.preprocess(df)
    with pytest.raises(ProcessorError, match="'when' not found in dest"):
        processor.postprocess(df, pd.DataFrame({"other": [1.0]}))
    with pytest.raises(ProcessorError, match="column 'when' of dest must hold seconds"):
        processor.postprocess(df, pd.DataFrame({"when": ["soon", "later"]}))
    with pytest.raises(ProcessorError, match="'when' of dest has dates outside the range"):
        processor.postprocess(df, pd.DataFrame({"when": [1e17]}))
    assert isinstance(ProcessorError("x"), ValueError)  # what notebooks catch
