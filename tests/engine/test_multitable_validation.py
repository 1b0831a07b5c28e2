"""Multi-table input validation: every bad input fails before any work, naming table and column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import avatars.engine.multitable.avatarization as multitable_avatarization
from avatars.engine.multitable import (
    Link,
    SchemaError,
    Table,
    TableParameters,
    avatarize_tables,
    validate_tables,
)
from avatars.protocol.enums import LinkMethod

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"


@pytest.fixture(autouse=True)
def no_avatarization(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Validation must refuse bad input before the first table is avatarized."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("avatarize was called before the input was validated")

    monkeypatch.setattr(multitable_avatarization, "avatarize", refuse)
    yield


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(EXAMPLES / f"{name}.csv") for name in ("patient", "doctor", "visit")}


def schema(
    frames: dict[str, pd.DataFrame], **changes: pd.DataFrame
) -> tuple[list[Table], list[Link]]:
    data = {**frames, **changes}
    tables = [
        Table("patient", data["patient"], "p_id"),
        Table("doctor", data["doctor"], "d_id"),
        Table("visit", data["visit"], "visit_id"),
    ]
    links = [
        Link("patient", "p_id", "visit", "patient_id"),
        Link("doctor", "d_id", "visit", "doctor_id"),
    ]
    return tables, links


def refused(tables: list[Table], links: list[Link]) -> str:
    with pytest.raises(SchemaError) as caught:
        avatarize_tables(tables, links, seed=0)
    return str(caught.value)


def test_the_bundled_schema_is_valid(frames: dict[str, pd.DataFrame]) -> None:
    graph = validate_tables(*schema(frames))
    assert graph.order == ("doctor", "patient", "visit")
    assert graph.individual_level == {"patient": True, "doctor": True, "visit": False}
    assert graph.own_columns("visit") == ["day_visit", "exam"]


def test_a_primary_key_that_is_not_a_column(frames: dict[str, pd.DataFrame]) -> None:
    tables, links = schema(frames)
    tables[1] = Table("doctor", frames["doctor"], "doctor_id")
    message = refused(tables, links)
    assert "table 'doctor', column 'doctor_id'" in message
    assert "primary key is not a column" in message


def test_a_linked_table_without_primary_key(frames: dict[str, pd.DataFrame]) -> None:
    """A table without key is avatarized on its own; a link still needs its parent's key (and
    its child's: the avatar children get new keys). Each table is named once."""
    tables, links = schema(frames)
    tables[1] = Table("doctor", frames["doctor"])
    tables[2] = Table("visit", frames["visit"])
    message = refused(tables, links)
    assert "(2 problem(s))" in message
    assert (
        "table 'doctor': has no primary key, and link doctor.d_id → visit.doctor_id starts at "
        "it: a table that a link uses needs a primary key column"
    ) in message
    assert (
        "table 'visit': has no primary key, and link patient.p_id → visit.patient_id leads to it"
    ) in message
    tables, links = schema(frames)
    tables[1] = Table("doctor", frames["doctor"], "")
    assert "table 'doctor': the primary key must be a column name or None, got ''" in refused(
        tables, links
    )


def test_an_independent_table_is_checked_too(frames: dict[str, pd.DataFrame]) -> None:
    """A table that no link uses may have no key; a key it declares is checked as any other."""
    tables, links = schema(frames)
    survey = frames["doctor"].drop(columns=["d_id"])
    graph = validate_tables([*tables, Table("survey", survey)], links)
    assert graph.is_independent("survey") and not graph.is_independent("doctor")
    assert graph.key_columns("survey") == [] and graph.own_columns("survey") == ["job", "age"]
    message = refused([*tables, Table("survey", survey, "survey_id")], links)
    assert "table 'survey', column 'survey_id'" in message
    assert "primary key is not a column" in message
    twice = survey.assign(s_id=[1, 1, *range(2, len(survey))])
    message = refused([*tables, Table("survey", twice, "s_id")], links)
    assert "table 'survey', column 's_id': the primary key is not unique" in message


def test_duplicated_primary_keys_are_counted(frames: dict[str, pd.DataFrame]) -> None:
    patient = frames["patient"].copy()
    patient.loc[[5, 6, 7], "p_id"] = [1, 1, 2]  # values 1 and 2 now appear twice or more
    message = refused(*schema(frames, patient=patient))
    assert "table 'patient', column 'p_id'" in message
    assert "2 value(s) appear more than once (5 rows)" in message


def test_orphan_foreign_keys_are_counted(frames: dict[str, pd.DataFrame]) -> None:
    visit = frames["visit"].copy()
    visit.loc[[0, 1, 2], "doctor_id"] = [999, 999, 1000]
    message = refused(*schema(frames, visit=visit))
    assert "table 'visit', column 'doctor_id'" in message
    assert "3 row(s) have a foreign key value absent from 'doctor.d_id' (orphans)" in message
    assert "999" in message and "1000" in message


def test_missing_foreign_keys(frames: dict[str, pd.DataFrame]) -> None:
    visit = frames["visit"].copy().astype({"patient_id": "float"})
    visit.loc[[3, 4], "patient_id"] = None
    message = refused(*schema(frames, visit=visit))
    assert "table 'visit', column 'patient_id'" in message
    assert "2 missing value(s)" in message


def test_a_child_referencing_the_same_parent_twice(frames: dict[str, pd.DataFrame]) -> None:
    visit = frames["visit"].assign(second_patient=frames["visit"]["patient_id"])
    tables, links = schema(frames, visit=visit)
    links.append(Link("patient", "p_id", "visit", "second_patient"))
    message = refused(tables, links)
    assert "table 'visit', column 'second_patient'" in message
    assert "references table 'patient' twice" in message
    assert "one foreign key per parent" in message


def test_one_foreign_key_for_two_parents(frames: dict[str, pd.DataFrame]) -> None:
    tables, links = schema(frames)
    links[1] = Link("doctor", "d_id", "visit", "patient_id")
    message = refused(tables, links)
    assert "table 'visit', column 'patient_id'" in message
    assert "foreign key of two links" in message


def test_a_table_without_parent_must_be_individual_level(
    frames: dict[str, pd.DataFrame],
) -> None:
    tables, links = schema(frames)
    tables[1] = Table("doctor", frames["doctor"], "d_id", individual_level=False)
    message = refused(tables, links)
    assert "table 'doctor': has no parent table" in message
    assert "individual_level=True" in message


def test_a_cycle_is_named() -> None:
    a = pd.DataFrame({"a_id": range(10), "b_id": range(10), "x": range(10)})
    b = pd.DataFrame({"b_id": range(10), "a_id": range(10), "y": range(10)})
    root = pd.DataFrame({"r_id": range(10), "z": range(10)})
    tables = [Table("a", a, "a_id"), Table("b", b, "b_id"), Table("root", root, "r_id")]
    links = [Link("a", "a_id", "b", "a_id"), Link("b", "b_id", "a", "b_id")]
    message = refused(tables, links)
    assert "the links form a cycle" in message
    assert "a → b → a" in message or "b → a → b" in message


def test_links_to_unknown_tables_and_columns(frames: dict[str, pd.DataFrame]) -> None:
    tables, links = schema(frames)
    message = refused(tables, [*links, Link("nurse", "n_id", "visit", "nurse_id")])
    assert "table 'nurse'" in message and "unknown parent table 'nurse'" in message
    tables, links = schema(frames)
    message = refused(tables, [links[0], Link("doctor", "d_id", "visit", "doc")])
    assert "table 'visit', column 'doc'" in message and "the child has no such column" in message
    message = refused(tables, [links[0], Link("doctor", "age", "visit", "doctor_id")])
    assert "table 'doctor', column 'age'" in message
    assert "starts at the parent's primary key 'd_id'" in message


def test_time_series_links_lead_to_series_tables(frames: dict[str, pd.DataFrame]) -> None:
    tables, links = schema(frames)
    links[1] = Link("doctor", "d_id", "visit", "doctor_id", LinkMethod.TIME_SERIES)
    message = refused(tables, links)
    assert "table 'visit', column 'doctor_id'" in message and "series table" in message


def test_parameters_name_own_columns_only(frames: dict[str, pd.DataFrame]) -> None:
    tables, links = schema(frames)
    tables[2] = Table(
        "visit",
        frames["visit"],
        "visit_id",
        parameters=TableParameters(column_types={"patient_id": "category", "nope": "int"}),
    )
    message = refused(tables, links)
    assert "table 'visit', column 'patient_id': column_types names a key column" in message
    assert "table 'visit', column 'nope': column_types names an unknown column" in message


def test_k_out_of_range(frames: dict[str, pd.DataFrame]) -> None:
    tables, links = schema(frames)
    tables[1] = Table("doctor", frames["doctor"], "d_id", parameters=TableParameters(k=50))
    assert "table 'doctor': k must satisfy 2 ≤ k < number of rows (50)" in refused(tables, links)


def test_every_problem_is_reported_at_once(frames: dict[str, pd.DataFrame]) -> None:
    patient = frames["patient"].copy()
    patient.loc[1, "p_id"] = 0
    doctor = frames["doctor"].copy()
    doctor.loc[1, "d_id"] = 0
    with pytest.raises(SchemaError) as caught:
        avatarize_tables(*schema(frames, patient=patient, doctor=doctor), seed=0)
    # the keys 1 are gone, so the visits of patient 1 and doctor 1 are orphans too
    assert {(p.table, p.column) for p in caught.value.problems} == {
        ("patient", "p_id"),
        ("doctor", "d_id"),
        ("visit", "patient_id"),
        ("visit", "doctor_id"),
    }


def test_a_constant_column_is_refused_before_any_table_is_avatarized(
    frames: dict[str, pd.DataFrame],
) -> None:
    visit = frames["visit"].assign(site="main")  # the last table in order
    message = refused(*schema(frames, visit=visit))
    assert "table 'visit'" in message and "column 'site'" in message and "constant" in message
