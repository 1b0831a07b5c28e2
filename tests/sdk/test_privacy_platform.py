"""Privacy first through the platform, with our SDK: identifiers refused with the safe choices,
keys, pseudonymization keyed with the organization's secret, membership metrics with a holdout,
the verdict, advice that meets privacy targets (the real server, small tables)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avatars.exceptions import JobFailedError
from avatars.manager import Manager
from avatars.models import JobKind
from avatars.protocol.schema import FakeDataStrategy, HashSha256Strategy
from avatars.runner import ExcludeVariablesMethod

METRICS = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics]


def patients(n: int, seed: int, first_id: int = 1) -> pd.DataFrame:
    """A table with an ID column (1..n) and e-mails: identifiers the server must refuse."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + n)
    return pd.DataFrame(
        {
            "patient_id": ids,
            "email": [f"patient{i}@hospital.example.org" for i in ids],
            "age": rng.integers(20, 90, n),
            "weight": rng.normal(75, 12, n).round(1),
            "sex": rng.choice(["F", "M"], n),
            "smoker": rng.choice(["yes", "no"], n),
        }
    )


@pytest.fixture
def manager(platform: Any, user: Any) -> Manager:
    return platform.manager(api_key=user.api_key)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return patients(160, seed=0)


def test_identifiers_are_refused_with_the_safe_choices(
    manager: Manager, table: pd.DataFrame
) -> None:
    runner = manager.create_runner("ids_refused")
    runner.add_table("patients", table)
    # excluded without naming the method: the official client's default row_order is no choice
    runner.set_parameters("patients", k=5, exclude_variable_names=["patient_id", "email"])
    assert (
        "explicit_replacement_strategy"
        not in (runner.config.avatarization["patients"]["exclude_variables"])
    )
    runner.run(jobs_to_run=[JobKind.standard])
    with pytest.raises(JobFailedError) as caught:
        runner.shuffled("patients")
    message = str(caught.value)
    for words in (
        "'patient_id', 'email'",
        "drop: true",
        "primary_key: true",
        "pseudonymized_columns",
        "HASH_SHA256",
        "explicit_replacement_strategy: true",
        "exclude_variable_method",
    ):
        assert words in message, words


def test_a_column_flagged_wrongly_is_declared_not_an_identifier(manager: Manager) -> None:
    """Daily steps named ``steps_num`` look like an integer code (an identifier's name, all
    distinct); declared not an identifier, the column is avatarized as a variable."""
    rng = np.random.default_rng(5)
    table = patients(120, seed=5).drop(columns=["email"])
    table["steps_num"] = rng.choice(np.arange(2_000, 20_000), len(table), replace=False)
    refused = manager.create_runner("steps_refused", seed=2)
    refused.add_table("patients", table, primary_key="patient_id")
    refused.set_parameters("patients", k=5)
    refused.run(jobs_to_run=[JobKind.standard])
    with pytest.raises(JobFailedError, match=r"not_identifiers=\['steps_num'\]"):
        refused.shuffled("patients")

    runner = manager.create_runner("steps_declared", seed=2)
    runner.add_table("patients", table, primary_key="patient_id")
    with pytest.raises(ValueError, match="not_identifiers: no column 'steps' in table"):
        runner.set_parameters("patients", k=5, not_identifiers=["steps"])
    with pytest.raises(ValueError, match=r"either pseudonymized .* or declared not to"):
        runner.set_parameters(
            "patients",
            k=5,
            not_identifiers=["steps_num"],
            pseudonymized_columns={"steps_num": "UUID4"},
        )
    runner.set_parameters("patients", k=5, not_identifiers=["steps_num"])
    columns = {c["field"]: c for c in runner.config.tables["patients"].columns}
    assert columns["steps_num"]["identifier"] is False
    assert "identifier: false" in runner.get_yaml()
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("patients")
    steps = avatars["steps_num"].astype(float)
    assert steps.between(2_000, 20_000).all()  # a variable's avatars: within its range
    # averaged over neighbours, not copied through
    assert len(set(steps) & set(table["steps_num"].astype(float))) < len(table) / 2


def test_keys_and_pseudonyms_keyed_with_the_organizations_secret(
    platform: Any, user: Any, manager: Manager, table: pd.DataFrame
) -> None:
    runner = manager.create_runner("ids_pseudonymized", seed=3)
    runner.add_table("patients", table, primary_key="patient_id")
    runner.set_parameters(
        "patients",
        k=5,
        pseudonymized_columns={"email": HashSha256Strategy()},
    )
    schema_columns = {c["field"]: c for c in runner.config.tables["patients"].columns}
    assert schema_columns["email"]["pseudonymization"] == {"kind": "HASH_SHA256"}
    runner.run(jobs_to_run=METRICS)
    avatars = runner.shuffled("patients")
    # new keys, never an original one
    assert avatars["patient_id"].is_unique
    assert not set(avatars["patient_id"].astype(str)) & set(table["patient_id"].astype(str))
    # HMAC-SHA256 keyed with the organization's secret: 64 hex digits, not a plain hash
    digests = set(avatars["email"])
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in digests)
    assert len(digests) == len(table)
    plain = {hashlib.sha256(e.encode()).hexdigest() for e in table["email"]}
    assert not digests & plain  # a plain hash falls to a dictionary attack
    # consistent within the organization (tables hashed apart stay joinable), its own
    again = manager.create_runner("ids_pseudonymized_again", seed=4)
    again.add_table("patients", table.head(50), primary_key="patient_id")
    again.set_parameters("patients", k=5, pseudonymized_columns={"email": HashSha256Strategy()})
    again.run(jobs_to_run=[JobKind.standard])
    assert set(again.shuffled("patients")["email"]) <= digests
    other = platform.new_user(organization=f"other-{user.organization_id[:8]}")
    elsewhere = platform.manager(api_key=other.api_key)
    theirs = elsewhere.create_runner("ids_other_org", seed=3)
    theirs.add_table("patients", table.head(50), primary_key="patient_id")
    theirs.set_parameters("patients", k=5, pseudonymized_columns={"email": HashSha256Strategy()})
    theirs.run(jobs_to_run=[JobKind.standard])
    assert not set(theirs.shuffled("patients")["email"]) & digests
    results = runner.get_all_results()
    privacy = results.privacy_metrics["patients"][0]
    # the keys and pseudonyms are not measured as synthesized variables
    assert "unique_copy_share" in {m["name"] for m in privacy["metrics"]}
    assert privacy["verdict"]["status"] in ("pass", "fail")
    assert privacy["verdict"]["summary"]


def test_faker_emails_and_row_order_warning_in_the_report(
    manager: Manager, table: pd.DataFrame, tmp_path: Path
) -> None:
    runner = manager.create_runner("ids_row_order", seed=1)
    runner.add_table("patients", table)
    runner.set_parameters(
        "patients",
        k=5,
        pseudonymized_columns={"email": FakeDataStrategy(pii_type="EMAIL")},
        exclude_variable_names=["patient_id"],
        exclude_variable_method=ExcludeVariablesMethod.ROW_ORDER,
    )
    runner.run(jobs_to_run=[*METRICS, JobKind.report])
    with pytest.warns(UserWarning, match="re-attached by row order"):
        unshuffled = runner.sensitive_unshuffled("patients")
    assert unshuffled["patient_id"].tolist() == table["patient_id"].tolist()  # asked for
    emails = unshuffled["email"]
    assert emails.str.contains("@").all() and not set(emails) & set(table["email"])
    privacy = runner.privacy_metrics("patients")[0]
    assert privacy["verdict"]["status"] == "fail"
    assert "re-identification key" in privacy["verdict"]["summary"]
    html = Path(runner.download_html_report(str(tmp_path / "report.html"))).read_text()
    assert "re-identification key" in html  # the report says so too


def test_membership_metrics_with_a_holdout_and_the_verdict(manager: Manager) -> None:
    train, holdout = patients(200, seed=4), patients(100, seed=5, first_id=1000)
    columns = ["age", "weight", "sex", "smoker"]
    runner = manager.create_runner("membership", seed=0)
    runner.add_table("patients", train[columns], holdout_data=holdout[columns])
    assert runner.config.tables["patients"].to_schema()["holdout_data"]["file"] == (
        "patients_holdout.csv"
    )
    runner.set_parameters("patients", k=10)
    runner.run(jobs_to_run=METRICS)
    privacy = runner.privacy_metrics("patients")[0]
    metrics = {m["name"]: m for m in privacy["metrics"]}
    for name in ("dcr_share", "membership_inference_auc"):
        assert metrics[name]["value"] is not None and metrics[name]["target"], name
    failed = {f["name"] for f in privacy["verdict"]["failed"]}
    missed = {n for n, m in metrics.items() if m["passed"] is False}
    assert failed == missed  # the verdict names exactly what missed its target
    assert (privacy["verdict"]["status"] == "pass") == (not missed)


def test_the_readme_safe_path_advice_with_targets_then_the_verdict(manager: Manager) -> None:
    runner = manager.create_runner("advice_targets", seed=0)
    runner.add_table(
        "patients",
        patients(200, seed=6),
        primary_key="patient_id",
        holdout_data=patients(100, seed=7, first_id=1000),
    )
    runner.set_parameters("patients", k=5, pseudonymized_columns={"email": "FAKER:EMAIL"})
    runner.advise_parameters("patients", targets={"hidden_rate": 85, "dcr_share": 70})
    advice = runner.advice("patients")
    search = advice["search"]
    assert search["met"] is True
    assert search["targets"] == {"hidden_rate": "> 85", "dcr_share": "< 70"}
    assert search["measured"]["hidden_rate"] > 85 and search["measured"]["dcr_share"] < 70
    assert search["holdout"] == "given"  # the table's holdout_data, not a split
    assert runner.config.avatarization["patients"]["k"] == advice["k"]
    yaml_text = runner.get_yaml()
    assert "targets:" in yaml_text and "hidden_rate: 85" in yaml_text
    runner.run(jobs_to_run=METRICS)
    privacy = runner.privacy_metrics("patients")[0]
    metrics = {m["name"]: m for m in privacy["metrics"]}
    assert metrics["hidden_rate"]["value"] > 80  # the advice's k, on the whole table
    assert metrics["dcr_share"]["value"] is not None  # the holdout reached the metrics
    assert privacy["verdict"]["summary"].startswith(("Pass:", "Fail:"))


def test_advice_refuses_identifiers_with_the_safe_choices(
    manager: Manager, table: pd.DataFrame
) -> None:
    runner = manager.create_runner("advice_ids")
    runner.add_table("patients", table)
    with pytest.raises(JobFailedError, match="pseudonymized_columns"):
        runner.advise_parameters("patients", targets={"hidden_rate": 85})
