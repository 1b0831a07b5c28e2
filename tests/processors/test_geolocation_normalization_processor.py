"""GeolocationNormalizationProcessor: longitudes as positions among the occupied ranges of
their latitude; avatars land only where original points were."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from processor_strategies import PROPERTY

from avatars.processors import GeolocationNormalizationProcessor, ProcessorError

latitudes = st.floats(40, 50, allow_nan=False)
longitudes = st.floats(-5, 10, allow_nan=False)


@st.composite
def points(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    lat = draw(st.lists(latitudes, min_size=n, max_size=n))
    lon = draw(st.lists(longitudes, min_size=n, max_size=n))
    return pd.DataFrame(
        {"y": lat, "x": lon, "name": [f"p{i}" for i in range(n)]},
        index=draw(st.permutations(range(n))),
    )


def processor(references: int, bins: int) -> GeolocationNormalizationProcessor:
    return GeolocationNormalizationProcessor(
        latitude_variable="y", longitude_variable="x", n_reference_lat=references, n_bins=bins
    )


@PROPERTY
@given(points(), st.integers(1, 8), st.integers(1, 12))
def test_round_trip_restores_the_longitudes(df: pd.DataFrame, references: int, bins: int) -> None:
    geo = processor(references, bins)
    normalized = geo.preprocess(df)
    assert normalized["x"].between(0, 1).all()
    pd.testing.assert_series_equal(normalized["y"], df["y"])
    restored = geo.postprocess(df, normalized)
    np.testing.assert_allclose(restored["x"], df["x"], rtol=0, atol=1e-9)
    pd.testing.assert_frame_equal(restored[["y", "name"]], df[["y", "name"]])


@PROPERTY
@given(points(), st.integers(1, 8), st.integers(1, 12), st.data())
def test_any_position_lands_in_an_occupied_range_of_the_nearest_reference(
    df: pd.DataFrame, references: int, bins: int, data: st.DataObject
) -> None:
    """The promise: whatever the avatars' (latitude, position), the longitude is inside a bin
    of the nearest reference latitude that held original points (gaps stay empty)."""
    geo = processor(references, bins)
    geo.preprocess(df)
    n = data.draw(st.integers(1, 30))
    dest = pd.DataFrame(
        {
            "y": data.draw(st.lists(st.floats(35, 55), min_size=n, max_size=n)),
            "x": data.draw(st.lists(st.floats(-0.5, 1.5), min_size=n, max_size=n)),
        }
    )
    restored = geo.postprocess(df, dest)
    for lat, lon in zip(restored["y"], restored["x"], strict=True):
        nearest = np.abs(geo.reference_latitudes - lat).argmin()
        members = df[np.abs(df["y"] - geo.reference_latitudes[nearest]) <= _half_step(geo, df)]
        members = pd.concat([members, df[_nearest_of(geo, df) == nearest]])
        low, high = members["x"].min(), members["x"].max()
        assert low - 1e-9 <= lon <= high + 1e-9
        if high == low:
            continue
        width = (high - low) / bins
        bin_of_lon = min(int((lon - low) // width), bins - 1)
        occupied = {min(int((x - low) // width), bins - 1) for x in members["x"]}
        # on the edge between bins k - 1 and k the longitude belongs to both
        k = round((lon - low) / width)
        edge = abs((lon - low) / width - k) < 1e-7
        assert bin_of_lon in occupied or (edge and bool({k - 1, min(k, bins - 1)} & occupied))


def _half_step(geo: GeolocationNormalizationProcessor, df: pd.DataFrame) -> float:
    n = geo.n_reference_lat
    return (df["y"].max() - df["y"].min()) / (n - 1) / 2 if n > 1 else 0.0


def _nearest_of(geo: GeolocationNormalizationProcessor, df: pd.DataFrame) -> np.ndarray:
    return np.abs(df["y"].to_numpy()[:, None] - geo.reference_latitudes[None, :]).argmin(axis=1)


def test_documented_example() -> None:
    df = pd.DataFrame({"lat": [49.1, 49.2, 49.3, 49.3], "lon": [3.21, 3.19, 3.11, 3.18]})
    geo = GeolocationNormalizationProcessor(
        latitude_variable="lat", longitude_variable="lon", n_reference_lat=3, n_bins=5
    )
    normalized = geo.preprocess(df)
    assert normalized["lon"].tolist() == pytest.approx([0.5, 0.5, 0.0, 1.0])
    assert geo.postprocess(df, normalized)["lon"].tolist() == pytest.approx(df["lon"].tolist())


def test_a_lake_stays_empty() -> None:
    """Points west and east of a lake at every latitude: no avatar lands in the lake."""
    rng = np.random.default_rng(0)
    lat = rng.uniform(45, 46, 400)
    lon = np.where(rng.random(400) < 0.5, rng.uniform(0, 1, 400), rng.uniform(3, 4, 400))
    df = pd.DataFrame({"lat": lat, "lon": lon})
    geo = GeolocationNormalizationProcessor(
        latitude_variable="lat", longitude_variable="lon", n_reference_lat=5, n_bins=8
    )
    normalized = geo.preprocess(df)
    # avatars: averages of neighbours, anywhere in [0, 1]
    dest = pd.DataFrame({"lat": rng.uniform(45, 46, 1000), "lon": rng.uniform(0, 1, 1000)})
    restored = geo.postprocess(df, dest)
    assert not restored["lon"].between(1.5, 2.5).any()
    assert normalized["lon"].between(0, 1).all()


def test_missing_coordinates_stay_missing() -> None:
    df = pd.DataFrame({"lat": [1.0, 2.0, np.nan], "lon": [1.0, np.nan, 3.0]})
    geo = GeolocationNormalizationProcessor(
        latitude_variable="lat", longitude_variable="lon", n_reference_lat=2, n_bins=2
    )
    normalized = geo.preprocess(df)
    assert normalized["lon"].isna().tolist() == [False, True, True]
    assert geo.postprocess(df, normalized)["lon"].isna().tolist() == [False, True, True]


def test_errors_name_the_argument() -> None:
    with pytest.raises(ProcessorError, match="n_bins: expected an integer >= 1"):
        GeolocationNormalizationProcessor(
            latitude_variable="lat", longitude_variable="lon", n_reference_lat=2, n_bins=0
        )
    geo = GeolocationNormalizationProcessor(
        latitude_variable="lat", longitude_variable="lon", n_reference_lat=2, n_bins=2
    )
    with pytest.raises(ProcessorError, match="call preprocess"):
        geo.postprocess(pd.DataFrame(), pd.DataFrame({"lat": [1.0], "lon": [0.5]}))
    with pytest.raises(ProcessorError, match="longitude_variable: column 'lon' not found in df"):
        geo.preprocess(pd.DataFrame({"lat": [1.0]}))
    with pytest.raises(ProcessorError, match="latitude_variable: column 'lat' of df must be"):
        geo.preprocess(pd.DataFrame({"lat": ["north"], "lon": [1.0]}))
