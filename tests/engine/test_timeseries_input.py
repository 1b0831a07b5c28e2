"""Series tables: bad input gets a message naming the table, the column and how many
individuals; good input of every kind (int/float/datetime times, missing values, individuals
without series) is read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatars.engine import InvalidDataError, InvalidParameterError
from avatars.engine.timeseries import (
    SeriesDataError,
    SeriesEncoder,
    SeriesParameters,
    SeriesTable,
    avatarize_time_series,
    read_series,
    resolve_parameters,
)


def _series(n_individuals: int = 6, points: int = 5) -> pd.DataFrame:
    rows = [
        {"row": i * points + j, "pid": i, "t": j, "x": float(i + j), "y": float(i * j)}
        for i in range(n_individuals)
        for j in range(points)
    ]
    return pd.DataFrame(rows)


KEYS = pd.Index(range(6))


def _read(df: pd.DataFrame) -> None:
    read_series(SeriesTable("visits", df, "pid", "t", "row"), KEYS)


def test_time_not_increasing_names_table_column_and_individual_count() -> None:
    df = _series()
    # individuals 1 and 4: two points swapped
    for pid in (1, 4):
        rows = df.index[df.pid == pid][[1, 2]]
        df.loc[rows, "t"] = df.loc[rows[::-1], "t"].to_numpy()
    with pytest.raises(SeriesDataError) as error:
        _read(df)
    message = str(error.value)
    assert "table 'visits', column 't'" in message
    assert "not strictly increasing within 2 individual(s)" in message
    assert "e.g. 1, 4" in message
    assert error.value.n_individuals == 2
    assert isinstance(error.value, InvalidDataError)


def test_repeated_time_is_not_increasing() -> None:
    df = _series()
    df.loc[df.pid == 3, "t"] = [0, 1, 1, 2, 3]
    with pytest.raises(SeriesDataError, match=r"within 1 individual\(s\) \(e.g. 3\)"):
        _read(df)


def test_individual_with_one_point() -> None:
    df = _series()
    df = df[~((df.pid.isin([2, 5])) & (df.t > 0))]
    with pytest.raises(SeriesDataError) as error:
        _read(df)
    assert "table 'visits', column 't': 2 individual(s) have a single point (e.g. 2, 5)" in str(
        error.value
    )


def test_non_numeric_values() -> None:
    df = _series()
    df["x"] = df["x"].astype(object)
    df.loc[(df.pid == 0) & (df.t == 1), "x"] = "high"
    df.loc[(df.pid == 3) & (df.t == 2), "x"] = "low"
    with pytest.raises(SeriesDataError) as error:
        _read(df)
    message = str(error.value)
    assert "table 'visits', column 'x'" in message
    assert "non-numeric values (e.g. 'high') in 2 individual(s)" in message


def test_categorical_series_is_rejected() -> None:
    df = _series()
    df["y"] = pd.Categorical(np.where(df.t > 2, "a", "b"))
    with pytest.raises(SeriesDataError, match=r"column 'y'.*dtype category.*6 individual"):
        _read(df)


def test_numeric_strings_are_read() -> None:
    df = _series()
    df["x"] = df["x"].astype(str)
    read_series(SeriesTable("visits", df, "pid", "t", "row"), KEYS)


def test_time_column_of_text_is_rejected() -> None:
    df = _series()
    df["t"] = df["t"].astype(str)
    with pytest.raises(SeriesDataError, match="column 't': the time column must hold numbers"):
        _read(df)


def test_missing_times() -> None:
    df = _series()
    df["t"] = df["t"].astype(float)
    df.loc[(df.pid == 1) & (df.t == 3), "t"] = np.nan
    with pytest.raises(SeriesDataError, match=r"column 't': 1 missing time\(s\) in 1 individual"):
        _read(df)


def test_infinite_values() -> None:
    df = _series()
    df.loc[(df.pid == 2) & (df.t == 3), "y"] = np.inf
    with pytest.raises(SeriesDataError, match=r"column 'y': infinite values in 1 individual"):
        _read(df)


def test_unknown_and_missing_individual_keys() -> None:
    df = _series()
    df.loc[df.pid == 5, "pid"] = 50
    with pytest.raises(SeriesDataError) as error:
        _read(df)
    assert "column 'pid': 1 individual(s) are not in the individual table (e.g. 50)" in str(
        error.value
    )
    df = _series()
    df["pid"] = df["pid"].astype(float)
    df.loc[0, "pid"] = np.nan
    with pytest.raises(SeriesDataError, match=r"column 'pid': 1 row\(s\) have no individual key"):
        _read(df)


def test_role_columns_must_exist_and_differ() -> None:
    df = _series()
    with pytest.raises(SeriesDataError, match="column 'when': the time column is not in"):
        read_series(SeriesTable("visits", df, "pid", "when"), KEYS)
    with pytest.raises(SeriesDataError, match="must be different columns"):
        read_series(SeriesTable("visits", df, "pid", "pid"), KEYS)
    with pytest.raises(SeriesDataError, match="no series variable"):
        read_series(SeriesTable("visits", df[["pid", "t"]], "pid", "t"), KEYS)
    with pytest.raises(SeriesDataError, match="the table is empty"):
        read_series(SeriesTable("visits", df.iloc[:0], "pid", "t"), KEYS)


def test_rows_are_grouped_by_individual_in_the_individual_tables_order() -> None:
    df = _series(3, 3).sample(frac=1.0, random_state=0)  # individuals interleaved
    df = df.sort_values("t", kind="stable")  # each individual's rows still in time order
    data = read_series(SeriesTable("s", df, "pid", "t", "row"), pd.Index([2, 0, 1, 9]))
    assert data.lengths.tolist() == [3, 3, 3, 0]  # individual 9 has no series
    assert data.values[:3, 0].tolist() == [2.0, 3.0, 4.0]  # x = pid + t for pid 2
    assert data.times.tolist() == [0, 1, 2] * 3


def test_datetime_times_with_a_time_zone_round_trip() -> None:
    df = _series(2, 4)
    df["t"] = pd.Timestamp("2024-03-30 22:00", tz="Europe/Paris") + pd.to_timedelta(
        df["t"] * 90, unit="min"
    )
    data = read_series(SeriesTable("s", df, "pid", "t", "row"), pd.Index([0, 1]))
    assert data.time_format.timezone == "Europe/Paris"
    assert data.time_format.resolution_ns == 1_000_000_000
    back = data.time_format.to_column(data.times)
    assert back.tolist() == df["t"].tolist()  # across the daylight-saving change


def test_parameters_are_checked_with_their_names() -> None:
    with pytest.raises(InvalidParameterError, match=r"time_series_nf.*table 'ts'.*integer"):
        resolve_parameters("ts", {"nf": 2.5})
    with pytest.raises(InvalidParameterError, match=r"time_series_nb_points.*required"):
        resolve_parameters("ts", {"method": "specified"})
    with pytest.raises(InvalidParameterError, match="only used with the 'specified'"):
        resolve_parameters("ts", {"method": "max", "nb_points": 20})
    with pytest.raises(InvalidParameterError, match=r"time_series_projection_type.*fpca, flatten"):
        resolve_parameters("ts", {"projection_type": "wavelets"})
    with pytest.raises(InvalidParameterError, match="nf=30 components need a grid of at least"):
        resolve_parameters("ts", SeriesParameters(nf=30, nb_points=20))
    with pytest.raises(InvalidParameterError, match="unknown parameter"):
        resolve_parameters("ts", {"n_components": 3})
    resolved = resolve_parameters("ts", {"nb_points": 20})
    assert resolved.method.value == "specified" and resolved.nf == 5
    assert resolve_parameters("ts", None).method.value == "max"


def test_derived_grid_too_short_for_nf_names_the_table() -> None:
    df = _series(6, 3)
    with pytest.raises(InvalidParameterError, match=r"table 'visits': nf=5 .* got 3 \(max length"):
        SeriesEncoder.fit(KEYS, [SeriesTable("visits", df, "pid", "t", "row")])


def test_individual_table_key_checks() -> None:
    individuals = pd.DataFrame({"pid": [0, 1, 1, 3, 4, 5], "age": [1, 2, 3, 4, 5, 6]})
    table = SeriesTable("visits", _series(), "pid", "t", "row")
    with pytest.raises(InvalidDataError, match="column 'pid': the individual key must be unique"):
        avatarize_time_series(individuals, [table], individual_key="pid", k=2)
    with pytest.raises(InvalidParameterError, match=r"individual_key.*'id' is not in"):
        avatarize_time_series(individuals, [table], individual_key="id", k=2)
    with pytest.raises(InvalidParameterError, match="parameters given for unknown series table"):
        SeriesEncoder.fit(KEYS, [table], {"vists": {"nf": 2}})
