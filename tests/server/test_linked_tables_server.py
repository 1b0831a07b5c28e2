"""Linked tables and series tables through the server's HTTP API (raw YAML): bad input ends
the job ``error`` naming the table and column, with nothing in storage; the links advice.

The happy paths run through both SDKs in ``tests/sdk/test_linked_tables_sdk.py`` and
``tests/interop/test_linked_tables_official.py``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from server_helpers import create_job, put_set

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def _schema_yaml(
    display_name: str,
    tables: list[dict[str, Any]],
    *,
    parameters: dict[str, int] | None = None,
    time_series: str = "",
    advice: list[str] | None = None,
    check_links: bool | None = None,
) -> str:
    """A resource set as the official client writes it: tables with their key columns and
    links (on the parent), a standard document with ``k`` per table."""
    lines = [
        "kind: AvatarMetadata",
        "metadata:",
        f"  name: avatar-metadata-{display_name}",
        "spec:",
        f"  display_name: {display_name}",
        "---",
        "kind: AvatarSchema",
        "metadata:",
        "  name: schema",
        "spec:",
    ]
    if check_links is not None:
        lines.append(f"  check_links_between_tables: {str(check_links).lower()}")
    lines.append("  tables:")
    for table in tables:
        lines += [
            f"  - name: {table['name']}",
            "    data:",
            "      volume: input",
            f"      file: {table['file']}",
        ]
        if "individual_level" in table:
            lines.append(f"    individual_level: {str(table['individual_level']).lower()}")
        columns = table.get("columns") or []
        if columns:
            lines.append("    columns:")
            for field, flag in columns:  # a flag with a colon is written as it is
                lines += [
                    f"    - field: {field}",
                    f"      {flag if ':' in flag else flag + ': true'}",
                ]
        links = table.get("links") or []
        if links:
            lines.append("    links:")
            for field, child, child_field, method in links:
                lines += [
                    f"    - field: {field}",
                    "      to:",
                    f"        table: {child}",
                    f"        field: {child_field}",
                    f"      method: {method}",
                ]
    if parameters is not None:
        lines += [
            "---",
            "kind: AvatarParameters",
            "metadata:",
            "  name: standard",
            "spec:",
            "  schema: schema",
            "  avatarization:",
        ]
        for name, k in parameters.items():
            lines += [f"    {name}:", f"      k: {k}"]
        lines += time_series.splitlines()
        lines += ["  results:", "    volume: results", "    path: standard", "  seed: 0"]
    if advice is not None:
        lines += [
            "---",
            "kind: AvatarAdviceParameters",
            "metadata:",
            "  name: advice",
            "spec:",
            "  schema: schema",
            "  advice:",
            "    advisor_type:",
            *[f"    - {a}" for a in advice],
            "  results:",
            "    volume: results",
            "    path: advice",
        ]
    return "\n".join(lines) + "\n"


def _hospital_tables(visit_file: str = "visit.csv", patient_file: str = "patient.csv") -> list:
    return [
        {
            "name": "patient",
            "file": patient_file,
            "individual_level": True,
            "columns": [("p_id", "primary_key")],
            "links": [("p_id", "visit", "patient_id", "linear_sum_assignment")],
        },
        {
            "name": "doctor",
            "file": "doctor.csv",
            "columns": [("d_id", "primary_key")],
            "links": [("d_id", "visit", "doctor_id", "minimum_distance_assignment")],
        },
        {
            "name": "visit",
            "file": visit_file,
            "individual_level": False,
            "columns": [
                ("visit_id", "primary_key"),
                ("patient_id", "identifier"),
                ("doctor_id", "identifier"),
            ],
        },
    ]


def _csv(df: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    df.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.fixture
def uploaded(platform: Any, user: Any) -> dict[str, pd.DataFrame]:
    frames = {
        name: pd.read_csv(EXAMPLES / f"{name}.csv")
        for name in ("patient", "doctor", "visit", "sensors_vanilla", "sensors_timeseries1")
    }
    for name, frame in frames.items():
        platform.upload(user.api_key, f"{name}.csv", _csv(frame))
    return frames


def _run(api: httpx.Client, display_name: str, text: str, kind: str = "standard") -> tuple:
    response = put_set(api, display_name, text)
    assert response.status_code == 200, response.text
    set_name = response.json()["set_name"]
    name = create_job(api, set_name, kind)
    return set_name, name


def _fails_naming(
    platform: Any, api: httpx.Client, user: Any, display_name: str, text: str, *needles: str
) -> str:
    set_name, name = _run(api, display_name, text)
    job = platform.wait_for_job(api, name, timeout=180)
    assert job["status"] == "error", job
    for needle in needles:
        assert needle in job["exception"], (needle, job["exception"])
    prefix = f"{user.id}/30d/results/{set_name}/{name}/"
    assert list(platform.storage.list(prefix)) == [], "nothing half-written in storage"
    return str(job["exception"])


PARAMETERS = {"patient": 10, "doctor": 10, "visit": 10}


# Scale-out too: the linked job fails on a Dask worker, before writing anything to the S3 store
# (the successful linked flows run there with the official clients, tests/interop).
@pytest.mark.backends("sqlite", "scaleout")
def test_orphan_foreign_keys(platform: Any, api: httpx.Client, user: Any, uploaded: dict) -> None:
    visit = uploaded["visit"].copy()
    visit.loc[[3, 7], "patient_id"] = 9999
    platform.upload(user.api_key, "visit_orphans.csv", _csv(visit))
    text = _schema_yaml("orphans", _hospital_tables("visit_orphans.csv"), parameters=PARAMETERS)
    _fails_naming(
        platform, api, user, "orphans", text, "table 'visit', column 'patient_id'", "orphans"
    )


def test_duplicated_primary_keys(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    patient = uploaded["patient"].copy()
    patient.loc[5, "p_id"] = patient.loc[4, "p_id"]
    platform.upload(user.api_key, "patient_dup.csv", _csv(patient))
    tables = _hospital_tables(patient_file="patient_dup.csv")
    text = _schema_yaml("duplicates", tables, parameters=PARAMETERS)
    _fails_naming(
        platform, api, user, "duplicates", text, "table 'patient', column 'p_id'", "not unique"
    )


def test_link_to_an_unknown_column(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    tables = _hospital_tables()
    tables[0]["links"] = [("p_id", "visit", "nope", "linear_sum_assignment")]
    text = _schema_yaml("unknown_column", tables, parameters=PARAMETERS)
    message = _fails_naming(platform, api, user, "unknown_column", text, "column 'nope'")
    assert "table 'visit'" in message


def test_table_referenced_twice(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    tables = _hospital_tables()
    tables[0]["links"].append(("p_id", "visit", "doctor_id", "linear_sum_assignment"))
    tables[1]["links"] = []
    text = _schema_yaml("twice", tables, parameters=PARAMETERS)
    _fails_naming(
        platform, api, user, "twice", text, "table 'visit'", "references table 'patient' twice"
    )


def test_identifier_without_link(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    tables = _hospital_tables()
    tables[1]["links"] = []
    text = _schema_yaml("unlinked", tables, parameters=PARAMETERS)
    _fails_naming(
        platform, api, user, "unlinked", text, "table 'visit', column 'doctor_id'", "no link"
    )


def test_link_from_a_table_without_primary_key(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    """A table without key runs on its own; a link still needs its parent's key."""
    tables = _hospital_tables()
    tables[0]["columns"] = []  # patient: no primary key, still the parent of visit
    text = _schema_yaml("keyless_parent", tables, parameters=PARAMETERS)
    _fails_naming(
        platform,
        api,
        user,
        "keyless_parent",
        text,
        "table 'patient': has no primary key, and link patient.p_id → visit.patient_id starts "
        "at it",
        "needs a primary key column",
    )


def test_dropped_and_declared_columns_of_a_linked_table(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    """`drop: true` leaves a column out of a linked table and its avatars; `identifier: false`
    avatarizes a column the identifier detection flags (an ID-like name, all distinct)."""
    patient = uploaded["patient"].copy()
    patient["email"] = [f"person{i // 2}@hospital.example.org" for i in range(len(patient))]
    patient["steps_num"] = range(3_000, 3_000 + 7 * len(patient), 7)
    platform.upload(user.api_key, "patient_contact.csv", _csv(patient))
    tables = _hospital_tables(patient_file="patient_contact.csv")
    tables[0]["columns"] += [("email", "drop"), ("steps_num", "identifier: false")]
    text = _schema_yaml("dropped", tables, parameters=PARAMETERS)
    set_name, name = _run(api, "dropped", text)
    job = platform.wait_for_job(api, name, timeout=180)
    assert job["status"] == "finished", job
    prefix = f"{user.id}/30d/results/{set_name}/{name}/"
    [key] = [
        o.key for o in platform.storage.list(prefix) if o.key.endswith("patient.shuffled-0.csv")
    ]
    avatars = pd.read_csv(io.BytesIO(platform.storage.read_bytes(key)))
    assert "email" not in avatars.columns and len(avatars) == len(patient)
    steps = avatars["steps_num"].astype(float)
    assert steps.between(patient["steps_num"].min(), patient["steps_num"].max()).all()
    assert len(set(steps) & set(patient["steps_num"].astype(float))) < len(patient) / 2


def test_a_pseudonymized_foreign_key_is_refused(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    """Pseudonymized columns run on linked tables; a key cannot be one (its avatars get new
    keys already), nor can a flat strategy that needs the object's fields."""
    tables = _hospital_tables()
    tables[2]["columns"][1] = (
        "patient_id",
        "identifier: true\n      pseudonymization:\n        kind: UUID4",
    )
    text = _schema_yaml("pseudonymized_key", tables, parameters=PARAMETERS)
    _fails_naming(
        platform,
        api,
        user,
        "pseudonymized_key",
        text,
        "table 'visit', column 'patient_id'",
        "pseudonymize names a key column",
    )
    tables = _hospital_tables()
    tables[0]["columns"].append(("gender", "pseudonymization_strategy: CONSTANT"))
    text = _schema_yaml("flat_constant", tables, parameters=PARAMETERS)
    _fails_naming(
        platform,
        api,
        user,
        "flat_constant",
        text,
        "column 'gender' of table 'patient'",
        "needs the strategy object form",
    )


def _series_tables(series_file: str) -> list:
    return [
        {
            "name": "sensors_vanilla",
            "file": "sensors_vanilla.csv",
            "columns": [("id", "primary_key")],
            "links": [("id", "series", "id", "time_series")],
        },
        {
            "name": "series",
            "file": series_file,
            "columns": [
                ("t", "time_series_time"),
                ("primary_key", "primary_key"),
                ("id", "identifier"),
            ],
        },
    ]


def test_times_that_do_not_increase(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    series = uploaded["sensors_timeseries1"].copy()
    rows = series.index[series["id"] == 4][:2]
    series.loc[rows, "t"] = series.loc[rows[::-1], "t"].to_numpy()  # two points swapped
    platform.upload(user.api_key, "series_swapped.csv", _csv(series))
    text = _schema_yaml(
        "swapped", _series_tables("series_swapped.csv"), parameters={"sensors_vanilla": 20}
    )
    _fails_naming(platform, api, user, "swapped", text, "table 'series', column 't'", "increasing")


def test_time_series_parameters_out_of_range(
    platform: Any, api: httpx.Client, user: Any, uploaded: dict
) -> None:
    platform.upload(user.api_key, "series.csv", _csv(uploaded["sensors_timeseries1"]))
    time_series = "\n".join(
        [
            "  time_series:",
            "    series:",
            "      projection:",
            "        nf: 40",
            "      alignment:",
            "        nb_points: 10",
            "        method: specified",
        ]
    )
    text = _schema_yaml(
        "nf_too_big",
        _series_tables("series.csv"),
        parameters={"sensors_vanilla": 20},
        time_series=time_series,
    )
    _fails_naming(platform, api, user, "nf_too_big", text, "table 'series'", "nf=40")


def test_links_advice(platform: Any, api: httpx.Client, user: Any, uploaded: dict) -> None:
    """``advise_links`` of the official client 1.30: an advice job of type tables_links on a
    schema whose tables are declared with their keys but not linked yet."""
    tables = _hospital_tables()
    for table in tables:
        table["links"] = []
    tables[2]["columns"] = [
        ("visit_id", "primary_key"),
        ("patient_id", "identifier"),
        ("doctor_id", "identifier"),
    ]
    text = _schema_yaml("links_advice", tables, advice=["tables_links"], check_links=False)
    _set_name, name = _run(api, "links_advice", text, kind="advice")
    job = platform.wait_for_job(api, name, timeout=180)
    assert job["status"] == "finished", job
    [url] = api.get(f"/results/{name}").json()["advice"]
    advice = {e["table_name"]: e["advice"] for e in json.loads(platform.read_object(url))}
    links = {
        (table, link["field"], link["to"]["table"], link["to"]["field"]): link
        for table, entry in advice.items()
        for link in entry["links"]
    }
    assert set(links) == {
        ("patient", "p_id", "visit", "patient_id"),
        ("doctor", "d_id", "visit", "doctor_id"),
    }
    for link in links.values():
        assert link["method"] == "linear_sum_assignment"
        assert link["confidence"] in ("high", "medium")
    assert advice["visit"]["unlinked_foreign_keys"] == []
