"""Series tables inside a multi-table avatarization (``time_series`` links): one
``avatarize_tables`` call for the sensors (an individual table and two series tables) and the
patient / doctor / visit tables together; bad series input named before any work."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from avatars.engine.multitable import (
    Link,
    SchemaError,
    Table,
    TableParameters,
    advise_tables,
    avatarize_tables,
    privacy_metrics_tables,
    signal_metrics_tables,
)
from avatars.protocol.enums import ComputationType, LinkMethod

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


@pytest.fixture(scope="module")
def schema() -> tuple[list[Table], list[Link]]:
    frames = {
        name: pd.read_csv(EXAMPLES / f"{name}.csv")
        for name in (
            "sensors_vanilla",
            "sensors_timeseries1",
            "sensors_timeseries2",
            "patient",
            "doctor",
            "visit",
        )
    }
    tables = [
        Table("sensors_vanilla", frames["sensors_vanilla"], "id", parameters=TableParameters(k=30)),
        Table(
            "sensors_timeseries1",
            frames["sensors_timeseries1"],
            "primary_key",
            time_series_time="t",
            parameters=TableParameters(time_series={"nf": 3, "nb_points": 30}),
        ),
        Table("sensors_timeseries2", frames["sensors_timeseries2"], None, time_series_time="t"),
        Table("patient", frames["patient"], "p_id"),
        Table("doctor", frames["doctor"], "d_id"),
        Table("visit", frames["visit"], "visit_id"),
    ]
    links = [
        Link("sensors_vanilla", "id", "sensors_timeseries1", "id", LinkMethod.TIME_SERIES),
        Link("sensors_vanilla", "id", "sensors_timeseries2", "id", LinkMethod.TIME_SERIES),
        Link("patient", "p_id", "visit", "patient_id"),
        Link("doctor", "d_id", "visit", "doctor_id", LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT),
    ]
    return tables, links


def test_one_call_for_linked_and_series_tables(schema: tuple[list[Table], list[Link]]) -> None:
    tables, links = schema
    result = avatarize_tables(tables, links, seed=0)
    avatars = result.avatars()
    originals = {t.name: t.data for t in tables}
    assert set(avatars) == set(originals)
    vanilla = avatars["sensors_vanilla"]
    assert vanilla["id"].is_unique and not set(vanilla["id"]) & set(
        originals["sensors_vanilla"]["id"].astype(str)
    )
    for name in ("sensors_timeseries1", "sensors_timeseries2"):
        series = avatars[name]
        assert list(series.columns) == list(originals[name].columns)
        assert series["id"].isin(vanilla["id"]).all()  # referential integrity
        assert (
            series.groupby("id", sort=False)["t"].apply(lambda t: t.is_monotonic_increasing).all()
        )
        # the unshuffled table holds the same rows, grouped in the originals' individual order
        unshuffled = result.unshuffled()[name]
        assert sorted(map(tuple, unshuffled.astype(str).values)) == sorted(
            map(tuple, series.astype(str).values)
        )
    keys = avatars["sensors_timeseries1"]["primary_key"]
    assert keys.is_unique and not set(keys) & set(
        originals["sensors_timeseries1"]["primary_key"].astype(str)
    )
    assert [r.solver for r in result.links if r.link.method == LinkMethod.TIME_SERIES] == [
        "time_series",
        "time_series",
    ]
    assert result.metadata["series"] == {
        "sensors_timeseries1": "sensors_vanilla",
        "sensors_timeseries2": "sensors_vanilla",
    }
    again = avatarize_tables(tables, links, seed=0).avatars()
    assert all(again[name].equals(frame) for name, frame in avatars.items())


def test_series_privacy_and_signal(schema: tuple[list[Table], list[Link]]) -> None:
    tables, links = schema
    result = avatarize_tables(tables, links, seed=1)
    privacy = privacy_metrics_tables(tables, links, result.unshuffled(), seed=0)
    found = {(p.table, p.computation_type, p.reference): p.hidden_rate for p in privacy}
    for name in ("sensors_timeseries1", "sensors_timeseries2"):
        for ctype in (ComputationType.to_bottom_id_propagated, ComputationType.full_enriched):
            assert found[(name, ctype, "sensors_vanilla")] >= 80
    # the individual table's to_top_enriched view holds its series features
    top = next(
        p
        for p in privacy
        if p.table == "sensors_vanilla" and p.computation_type == ComputationType.to_top_enriched
    )
    assert any(c.startswith("sensors_timeseries1.sensor1.fpc") for c in top.columns)
    signal = signal_metrics_tables(tables, links, result.avatars())
    assert set(signal.series) == {"sensors_timeseries1", "sensors_timeseries2"}
    assert signal.series["sensors_timeseries1"].value("mean_curve_error") < 0.5


def test_series_advice() -> None:
    vanilla = pd.read_csv(EXAMPLES / "sensors_vanilla.csv")
    series = pd.read_csv(EXAMPLES / "sensors_timeseries1.csv")
    tables = [Table("v", vanilla, "id"), Table("s", series, "primary_key", time_series_time="t")]
    links = [Link("v", "id", "s", "id", LinkMethod.TIME_SERIES)]
    advice = advise_tables(tables, links)
    assert advice["v"]["k"] >= 10 and advice["s"]["k"] is None
    assert {"nf", "nb_points", "method", "projection_type"} <= set(advice["s"]["time_series"])


def _refused(tables: list[Table], links: list[Link]) -> str:
    with pytest.raises(SchemaError) as caught:
        avatarize_tables(tables, links, seed=0)
    return str(caught.value)


def test_bad_series_input_is_named() -> None:
    vanilla = pd.read_csv(EXAMPLES / "sensors_vanilla.csv")
    series = pd.read_csv(EXAMPLES / "sensors_timeseries1.csv")
    link = Link("v", "id", "s", "id", LinkMethod.TIME_SERIES)
    swapped = series.copy()
    swapped.loc[[0, 1], "t"] = swapped.loc[[1, 0], "t"].to_numpy()
    message = _refused(
        [Table("v", vanilla, "id"), Table("s", swapped, "primary_key", time_series_time="t")],
        [link],
    )
    assert "table 's', column 't'" in message and "increasing" in message
    orphans = series.copy()
    orphans.loc[orphans["id"] == 3, "id"] = 9999
    message = _refused(
        [Table("v", vanilla, "id"), Table("s", orphans, "primary_key", time_series_time="t")],
        [link],
    )
    assert "table 's', column 'id'" in message
    message = _refused(
        [Table("v", vanilla, "id"), Table("s", series, "primary_key", time_series_time="t")], []
    )
    assert "without a time_series link" in message
    message = _refused(
        [Table("v", vanilla, "id"), Table("s", series, "primary_key", time_series_time="t")],
        [Link("v", "id", "s", "id")],
    )
    assert "method time_series" in message
    message = _refused(
        [
            Table("v", vanilla, "id"),
            Table(
                "s",
                series,
                "primary_key",
                time_series_time="t",
                parameters=TableParameters(time_series={"nf": 0}),
            ),
        ],
        [link],
    )
    assert "table 's'" in message and "time_series_nf" in message
