"""Pseudonymized columns in a multi-table avatarization: the bundled patients (with an e-mail
and a code added) linked to their visits. The column is not avatarized, its avatars carry
pseudonyms dealt so that none rides on the avatar of its own original record, HASH_SHA256 is
keyed, the metrics leave it out, and bad requests are refused naming table and column."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import avatars.engine.multitable.avatarization as multitable_avatarization
from avatars.engine.multitable import (
    Link,
    MultiTableResult,
    SchemaError,
    Table,
    TableParameters,
    avatarize_tables,
    privacy_metrics_tables,
    signal_metrics_tables,
    validate_tables,
)
from avatars.engine.multitable.avatarization import table_pseudonyms
from avatars.engine.pseudonymization import PseudonymizationSpec
from avatars.protocol.enums import LinkMethod

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"
SECRET = "the organization's secret"


def schema(**pseudonymize: Any) -> tuple[list[Table], list[Link]]:
    patient = pd.read_csv(EXAMPLES / "patient.csv")
    patient["email"] = [f"patient{i}@hospital.example.org" for i in patient["p_id"]]
    patient["code"] = [f"H-{i:05d}" for i in patient["p_id"]]
    visit = pd.read_csv(EXAMPLES / "visit.csv").drop(columns=["doctor_id"])
    tables = [
        Table(
            "patient", patient, "p_id", parameters=TableParameters(k=5, pseudonymize=pseudonymize)
        ),
        Table("visit", visit, "visit_id", parameters=TableParameters(k=5)),
    ]
    return tables, [Link("patient", "p_id", "visit", "patient_id")]


@pytest.fixture(scope="module")
def run() -> tuple[list[Table], list[Link], MultiTableResult]:
    tables, links = schema(email="FAKER:EMAIL", code="HASH_SHA256")
    result = avatarize_tables(tables, links, seed=0, pseudonymization_secret=SECRET)
    return tables, links, result


def test_the_column_is_not_avatarized(
    run: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, _, result = run
    for name in ("patient", "visit"):
        avatarized = result.tables[name].avatarization.unshuffled.columns
        assert not {c for c in avatarized if "email" in c or "code" in c}, name
        assert list(result.tables[name].avatars.columns) == list(
            tables[0 if name == "patient" else 1].data.columns
        )
    assert result.metadata["pseudonymized"] == {"patient": ["email", "code"]}
    described = result.tables["patient"].parameters["pseudonymized"]
    assert described["email"]["kind"] == "FAKER" and described["code"] == {"kind": "HASH_SHA256"}
    assert SECRET not in repr(result.metadata)


def test_faker_pseudonyms_dealt_away_from_their_own_record(
    run: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, _, result = run
    original = tables[0].data["email"]
    spec = PseudonymizationSpec.parse("FAKER:EMAIL", "email")
    # row i: the pseudonym of original i (what the deal starts from)
    own = table_pseudonyms(original, spec, result.seed, "patient")
    emails = result.tables["patient"].unshuffled["email"]
    assert emails.str.endswith((".org", ".com", ".net")).all() and emails.str.contains("@").all()
    assert not set(emails) & set(original)  # no original value survives
    assert sorted(emails) == sorted(own)  # every pseudonym once: consistent, distinct inputs
    assert (emails.to_numpy() != own).all()  # never on the avatar of its own record
    assert sorted(result.tables["patient"].avatars["email"]) == sorted(emails)


def test_hash_is_keyed_and_dealt_away_from_its_own_record(
    run: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, _, result = run
    codes = tables[0].data["code"]
    keyed = [hmac.new(SECRET.encode(), c.encode(), hashlib.sha256).hexdigest() for c in codes]
    avatars = result.tables["patient"].unshuffled["code"]
    assert sorted(avatars) == sorted(keyed)
    assert not set(avatars) & {hashlib.sha256(c.encode()).hexdigest() for c in codes}
    assert (avatars.to_numpy() != pd.Series(keyed).to_numpy()).all()


def test_same_seed_same_bytes() -> None:
    def outputs(seed: int) -> list[bytes]:
        tables, links = schema(email="FAKER:EMAIL", code="HASH_SHA256")
        result = avatarize_tables(tables, links, seed=seed, pseudonymization_secret=SECRET)
        frames = [*result.avatars().values(), *result.unshuffled().values()]
        return [frame.to_csv(index=False).encode() for frame in frames]

    first = outputs(7)
    assert first == outputs(7)
    assert first != outputs(8)


def test_metrics_leave_pseudonymized_columns_out(
    run: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, links, result = run
    for entry in privacy_metrics_tables(tables, links, result.unshuffled(), seed=0):
        assert not {c for c in entry.columns if "email" in c or "code" in c}, entry
        assert entry.hidden_rate is not None
    signal = signal_metrics_tables(tables, links, result.avatars()).to_dict()
    assert "email" not in repr(signal["tables"]["patient"])
    assert "code" not in repr(signal["tables"]["patient"]["details"])


def test_hash_without_a_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multitable_avatarization, "avatarize", _never)
    tables, links = schema(code="HASH_SHA256")
    with pytest.raises(SchemaError, match="HASH_SHA256, a keyed hash") as caught:
        avatarize_tables(tables, links, seed=0)
    assert [(p.table, p.column) for p in caught.value.problems] == [("patient", "code")]


@pytest.mark.parametrize(
    ("table", "pseudonymize", "parameters", "column", "words"),
    [
        ("patient", {"p_id": "UUID4"}, {}, "p_id", "key column"),
        ("visit", {"patient_id": "UUID4"}, {}, "patient_id", "key column"),
        ("patient", {"mail": "UUID4"}, {}, "mail", "unknown column"),
        ("patient", {"email": "UUID4"}, {"exclude_variables": ["email"]}, "email", "excluded"),
        ("patient", {"email": "UUID4"}, {"column_weights": {"email": 2.0}}, "email", "weighted"),
        ("patient", {"email": "NOPE"}, {}, "email", "expected a strategy"),
    ],
)
def test_bad_pseudonymization_is_named(
    table: str, pseudonymize: dict[str, Any], parameters: dict[str, Any], column: str, words: str
) -> None:
    tables, links = schema()
    changed = [
        Table(
            t.name,
            t.data,
            t.primary_key,
            parameters=TableParameters(k=5, pseudonymize=pseudonymize, **parameters),
        )
        if t.name == table
        else t
        for t in tables
    ]
    with pytest.raises(SchemaError, match=words) as caught:
        validate_tables(changed, links)
    assert (table, column) in [(p.table, p.column) for p in caught.value.problems]


def test_a_series_time_column_cannot_be_pseudonymized() -> None:
    individuals = pd.DataFrame({"id": range(6), "x": [1.0, 2.5, 3.1, 4.2, 5.0, 6.3]})
    series = pd.DataFrame(
        {"id": [i for i in range(6) for _ in range(4)], "t": list(range(4)) * 6, "v": range(24)}
    )
    tables = [
        Table("people", individuals, "id"),
        Table(
            "sensor",
            series,
            None,
            time_series_time="t",
            parameters=TableParameters(pseudonymize={"t": "UUID4", "v": "UUID4"}),
        ),
    ]
    links = [Link("people", "id", "sensor", "id", LinkMethod.TIME_SERIES)]
    with pytest.raises(SchemaError) as caught:
        validate_tables(tables, links)
    problems = {(p.table, p.column): p.message for p in caught.value.problems}
    assert "time column" in problems[("sensor", "t")]
    assert "cannot be pseudonymized" in problems[("sensor", "v")]


def _never(*args: object, **kwargs: object) -> None:
    raise AssertionError("avatarize was called before the request was validated")
