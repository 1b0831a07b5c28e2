"""Identifier columns: found before any run, refused by default, and each safe choice works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatars.engine import avatarize, privacy_metrics
from avatars.engine.avatarization import metrics_exclusions
from avatars.engine.errors import IDENTIFIER_CHOICES, IdentifierColumnsError, InvalidParameterError
from avatars.engine.identifiers import detect_identifiers, is_identifier_name
from avatars.engine.io import read_table

DATA = Path(__file__).resolve().parent.parent / "data"
PAPER, EXAMPLES = DATA / "paper", DATA / "examples"

#: The identifier columns of the example tables (tests/data/examples), and only those.
EXAMPLE_IDENTIFIERS = {
    "doctor.csv": ["d_id"],
    "epl.csv": [],
    "iris.csv": [],
    "patient.csv": ["p_id"],
    "sensors_timeseries1.csv": ["primary_key"],
    "sensors_timeseries2.csv": ["primary_key"],
    "sensors_vanilla.csv": ["id"],
    "visit.csv": ["visit_id"],
}


def _found(df: pd.DataFrame) -> dict[str, str]:
    return {f.column: f.kind.value for f in detect_identifiers(df)}


def test_the_bundled_tables_real_identifiers_are_found_and_nothing_else():
    wbcd = pd.read_csv(PAPER / "wbcd.csv")
    aids = pd.read_csv(PAPER / "aids.csv", sep=";")
    assert _found(wbcd) == {"Sample_code_number": "integer_code"}  # 92 % distinct, named so
    assert _found(aids) == {"pidnum": "integer_sequence"}  # sorted, one per row
    assert _found(wbcd.drop(columns="Sample_code_number")) == {}
    assert _found(aids.drop(columns="pidnum")) == {}


@pytest.mark.parametrize("name", sorted(EXAMPLE_IDENTIFIERS))
def test_examples_read_as_the_cli_reads_them(name):
    table = read_table(EXAMPLES / name)
    assert list(_found(table)) == EXAMPLE_IDENTIFIERS[name]
    # read by pandas alone (dates as text) the answer is the same
    assert list(_found(pd.read_csv(EXAMPLES / name))) == EXAMPLE_IDENTIFIERS[name]


def _people(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "weight": rng.normal(70, 12, n).round(1),
            "sex": rng.choice(["F", "M"], n),
            "email": [f"person{i}@mail.example.org" for i in range(n)],
            "phone": [
                f"+33 6 {i:02d} {(i * 7) % 100:02d} {(i * 13) % 100:02d} 12" for i in range(n)
            ],
            "ssn": [f"{100 + i:03d}-{i % 90 + 10:02d}-{1000 + 3 * i:04d}" for i in range(n)],
            "nir": [f"1 84 12 75 {100 + i:03d} {200 + i:03d} {10 + i % 80:02d}" for i in range(n)],
            "name": [f"Person {i}" for i in range(n)],
            "line": rng.choice(10**11, n, replace=False) + 10**11,  # 12 digits, no id name
            "fnlwgt": rng.choice(np.arange(12_000, 1_400_000), n, replace=False),  # a weight
            "score": rng.choice([60, 70, 80, 90, 100], n),
            "visit_date": pd.date_range("2020-01-01", periods=n, freq="D"),
            "city": rng.choice(["Rennes", "Nantes", "Brest"], n),
        }
    )


def test_the_kinds_of_evidence():
    found = _found(_people())
    assert found == {
        "email": "email",
        "phone": "phone",
        "ssn": "national_number",
        "nir": "national_number",
        "name": "unique_text",
        "line": "long_number",
    }
    # distinct integers without an identifier's name, order or density are a measurement
    assert "fnlwgt" not in found and "visit_date" not in found


def test_names_that_say_identifier():
    for name in ("pidnum", "Sample_code_number", "PatientID", "d_id", "NIR", "customer-key"):
        assert is_identifier_name(name), name
    for name in ("fnlwgt", "paid", "amount_paid", "age", "valid", "weight", "hours-per-week"):
        assert not is_identifier_name(name), name


def test_one_shared_contact_address_is_not_an_identifier():
    table = pd.DataFrame({"contact": ["desk@hospital.example.org"] * 30, "x": range(30)})
    assert "contact" not in _found(table)


def test_avatarize_refuses_identifiers_naming_each_and_the_choices():
    table = _people()[["age", "weight", "sex", "email", "city"]].assign(patient_id=np.arange(1, 61))
    with pytest.raises(IdentifierColumnsError) as caught:
        avatarize(table, k=5, seed=0)
    error = caught.value
    assert error.columns == ["email", "patient_id"]
    assert error.choices == IDENTIFIER_CHOICES == ("drop", "key", "pseudonymize")
    assert [f["kind"] for f in error.findings] == ["email", "integer_sequence"]
    message = str(error)
    for words in ("'email'", "'patient_id'", "drop it", "declare it a key", "pseudonymize it"):
        assert words in message
    assert isinstance(error, ValueError)  # an InvalidDataError like every data error


def test_excluding_an_identifier_is_not_enough_an_explicit_method_is():
    table = _people()[["age", "weight", "sex"]].assign(patient_id=np.arange(60))
    with pytest.raises(IdentifierColumnsError, match="patient_id"):
        avatarize(table, k=5, seed=0, exclude_variables=["patient_id"])
    result = avatarize(table, k=5, seed=0, exclude_methods={"patient_id": "row_order"})
    # asked for explicitly: the original IDs follow their records, and the metadata says so
    assert result.unshuffled["patient_id"].tolist() == list(range(60))
    warnings = result.metadata["warnings"]
    assert [w["code"] for w in warnings] == ["identifier_original_order"]
    assert warnings[0]["columns"] == ["patient_id"]
    assert "re-identification key" in warnings[0]["message"]
    # the metrics measure it and the verdict fails, saying why
    privacy = privacy_metrics(
        table, result.unshuffled, seed=0, exclude_variables=metrics_exclusions(result.metadata)
    )
    assert privacy.value("identifier_protection") == 0.0
    verdict = privacy.verdict()
    assert verdict.status == "fail"
    assert "Identifier protection" in verdict.summary()
    assert any("identifier" in change for change in verdict.changes())


def test_coordinate_similarity_of_an_identifier_warns_that_real_ids_are_copied():
    table = _people()[["age", "weight", "sex"]].assign(patient_id=np.arange(60))
    result = avatarize(table, k=5, seed=0, exclude_methods={"patient_id": "coordinate_similarity"})
    assert [w["code"] for w in result.metadata["warnings"]] == ["identifier_original_values"]
    assert set(result.shuffled["patient_id"]) <= set(range(60))


def test_an_ordinary_excluded_column_by_row_order_warns_without_refusal():
    table = _people()[["age", "weight", "sex", "city"]]
    result = avatarize(table, k=5, seed=0, exclude_variables=["city"])
    assert result.unshuffled["city"].tolist() == table["city"].tolist()
    assert [w["code"] for w in result.metadata["warnings"]] == ["original_order"]
    privacy = privacy_metrics(table, result.unshuffled, seed=0, exclude_variables=["city"])
    codes = [w["code"] for w in privacy.metadata["warnings"]]
    assert codes == ["original_order"]  # measured: every avatar has its original's city
    assert privacy.verdict().status in ("pass", "fail")  # a warning, not a failure by itself
    assert "keep the original association" in privacy.verdict().summary()


def test_keys_get_new_keys_that_no_original_has():
    table = _people()[["age", "weight", "sex"]].assign(patient_id=np.arange(100, 160))
    result = avatarize(table, k=5, seed=0, keys=["patient_id"])
    keys = result.shuffled["patient_id"]
    assert keys.tolist() == list(range(160, 220))  # after the largest original, in output order
    assert not set(keys) & set(table["patient_id"])
    assert result.metadata["parameters"]["keys"] == ["patient_id"]
    assert "patient_id" in metrics_exclusions(result.metadata)
    text_keys = table.assign(patient_id=[f"P{i:04d}" for i in range(60)])
    uuids = avatarize(text_keys, k=5, seed=0, keys=["patient_id"]).shuffled["patient_id"]
    assert uuids.str.fullmatch(r"[0-9a-f-]{36}").all() and uuids.nunique() == 60


def test_pseudonyms_are_consistent_and_never_ride_on_their_own_record():
    table = _people()[["age", "weight", "sex", "email"]]
    table.loc[10, "email"] = table.loc[3, "email"]  # one person twice
    result = avatarize(
        table, k=5, seed=0, pseudonymize={"email": "HASH_SHA256"}, pseudonymization_secret="s3"
    )
    from avatars.engine.pseudonymization import pseudonymize_values

    expected = pseudonymize_values(table["email"], "HASH_SHA256", seed=0, secret="s3")
    avatars = result.unshuffled["email"]
    assert sorted(avatars) == sorted(expected)  # the same pseudonyms, each as often
    assert (avatars != expected).mean() > 0.9  # dealt in an order unrelated to the records
    assert not set(avatars) & set(table["email"])  # no real address left
    again = avatarize(
        table, k=5, seed=0, pseudonymize={"email": "HASH_SHA256"}, pseudonymization_secret="s3"
    )
    pd.testing.assert_frame_equal(result.shuffled, again.shuffled)  # the seed replays the run
    assert "s3" not in str(result.metadata)  # the secret is never reported
    privacy = privacy_metrics(
        table, result.unshuffled, seed=0, exclude_variables=metrics_exclusions(result.metadata)
    )
    assert privacy.value("identifier_protection") == 100.0


def test_a_false_alarm_is_declared_and_avatarized():
    table = _people()[["age", "weight", "sex"]].assign(patient_id=np.arange(60))
    result = avatarize(table, k=5, seed=0, not_identifiers=["patient_id"])
    assert result.metadata["parameters"]["not_identifiers"] == ["patient_id"]
    assert result.metadata["warnings"] == []


def test_conflicting_treatments_and_missing_secret_are_named():
    table = _people()[["age", "weight", "sex", "email"]]
    with pytest.raises(
        InvalidParameterError, match=r"column 'email' is also in (keys|pseudonymize)"
    ):
        avatarize(table, k=5, pseudonymize={"email": "UUID4"}, keys=["email"])
    with pytest.raises(InvalidParameterError, match=r"pseudonymization_secret.*'email'.*HMAC"):
        avatarize(table, k=5, pseudonymize={"email": "HASH_SHA256"})
    with pytest.raises(InvalidParameterError, match=r"pseudonymize.email.*strategy among"):
        avatarize(table, k=5, pseudonymize={"email": "ROT13"})


def test_the_metrics_leave_identifier_columns_out_of_their_space():
    """New keys far from the original ones would make every avatar look hidden: identifier
    columns stay out of the metric space even when the caller forgets to exclude them."""
    table = _people()[["age", "weight", "sex"]].assign(patient_id=np.arange(60))
    result = avatarize(table, k=5, seed=0, keys=["patient_id"])
    forgot = privacy_metrics(table, result.unshuffled, seed=0)
    given = privacy_metrics(table, result.unshuffled, seed=0, exclude_variables=["patient_id"])
    assert forgot.value("hidden_rate") == given.value("hidden_rate")
    assert forgot.details["space"]["identifiers_left_out"] == ["patient_id"]
    assert given.details["space"]["identifiers_left_out"] == []
    assert forgot.value("identifier_protection") == given.value("identifier_protection") == 100
    with pytest.raises(InvalidParameterError, match=r"'known_variables'.*'patient_id'.*identify"):
        privacy_metrics(table, result.unshuffled, known_variables=["patient_id"])
    declared = privacy_metrics(table, table, seed=0, not_identifiers=["patient_id"])
    assert declared.details["space"]["identifiers_left_out"] == []
