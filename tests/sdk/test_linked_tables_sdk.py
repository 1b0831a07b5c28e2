"""Linked tables and series tables end to end with our SDK: YAML → server jobs → results,
metrics, summaries, report (issues 17 and 18).

- the bundled patient / doctor / visit tables (every link method);
- the bundled sensors (an individual table and two series tables);
- the generated hospital → patient → visit schema (fan-out up to 100) at the advised
  parameters: referential integrity, children-per-parent KS, hidden rates;
- a generated seasonal series set: mean-curve error and autocorrelation bounded.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from avatars.exceptions import JobFailedError
from avatars.manager import Manager
from avatars.models import JobKind
from avatars.protocol.schema import FakeDataStrategy, HashSha256Strategy
from avatars.runner import AlignmentMethod, LinkMethod, ProjectionType

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
ALL = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics, JobKind.report]


@pytest.fixture
def manager(platform: Any, user: Any) -> Manager:
    return platform.manager(api_key=user.api_key)


def _children_per_parent(
    parent: pd.DataFrame, key: str, child: pd.DataFrame, fk: str
) -> np.ndarray:
    positions = pd.Index(parent[key]).get_indexer(child[fk])
    assert (positions >= 0).all(), "every avatar child has an avatar parent"
    return np.bincount(positions, minlength=len(parent))


def _patient_doctor_visit(manager: Manager, name: str, doctor_link: LinkMethod) -> Any:
    patient = pd.read_csv(EXAMPLES / "patient.csv")
    doctor = pd.read_csv(EXAMPLES / "doctor.csv")
    visit = pd.read_csv(EXAMPLES / "visit.csv")
    runner = manager.create_runner(name, seed=0)
    runner.add_table("patient", patient, primary_key="p_id", individual_level=True)
    runner.add_table("doctor", doctor, primary_key="d_id", individual_level=True)
    runner.add_table(
        "visit",
        visit,
        primary_key="visit_id",
        foreign_keys=["patient_id", "doctor_id"],
        individual_level=False,
    )
    runner.add_link("patient", "p_id", "visit", "patient_id")
    runner.add_link("doctor", "d_id", "visit", "doctor_id", method=doctor_link)
    return runner, {"patient": patient, "doctor": doctor, "visit": visit}


def test_patient_doctor_visit(manager: Manager, tmp_path: Path) -> None:
    runner, originals = _patient_doctor_visit(
        manager, "pdv", LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT
    )
    runner.advise_parameters()
    assert set(runner.config.avatarization) == {"patient", "doctor", "visit"}
    assert all(p["k"] >= 10 for p in runner.config.avatarization.values())
    runner.run(jobs_to_run=ALL)
    avatars = {name: runner.shuffled(name) for name in originals}
    for name, original in originals.items():
        assert list(avatars[name].columns) == list(original.columns)
        assert len(avatars[name]) == len(original)
        assert len(runner.sensitive_unshuffled(name)) == len(original)
    # new keys, never an original one; referential integrity 100 %
    for name, key in (("patient", "p_id"), ("doctor", "d_id"), ("visit", "visit_id")):
        assert avatars[name][key].is_unique
        assert not set(avatars[name][key].astype(str)) & set(originals[name][key].astype(str))
    for parent, key, fk in (("patient", "p_id", "patient_id"), ("doctor", "d_id", "doctor_id")):
        assert avatars["visit"][fk].isin(avatars[parent][key]).all()
    # privacy: one document per table and computation type, the headline first
    patient = runner.privacy_metrics("patient")
    assert [d["metadata"]["computation_type"] for d in patient] == [
        "standalone",
        "to_top_enriched",
    ]
    visit = runner.privacy_metrics("visit")
    assert {(d["metadata"]["computation_type"], d["metadata"]["reference"]) for d in visit} == {
        ("to_bottom_id_propagated", "doctor"),
        ("to_bottom_id_propagated", "patient"),
        ("full_enriched", "doctor"),
        ("full_enriched", "patient"),
    }
    assert patient[0]["hidden_rate"] >= 90
    signal = runner.signal_metrics("visit")
    assert len(signal) == 1 and signal[0]["multi_table"]["links"]
    summary = runner.render_privacy_metrics_summary()
    assert set(summary) == {"patient", "doctor", "visit"}
    assert set(summary["visit"]) == {"patient", "doctor"}
    assert set(runner.render_signal_metrics_summary()) == {"patient", "doctor", "visit"}
    figures = runner.get_specific_result("visit", JobKind.standard, runner_results().FIGURES)
    assert "distribution" in figures
    saved = runner.download_report(str(tmp_path / "report.pdf"))
    assert Path(saved[0]).read_bytes().startswith(b"%PDF-")
    # the job did not warn: no sensitive link
    assert runner.get_job(JobKind.standard).exception == ""


def runner_results() -> Any:
    from avatars.runner import Results

    return Results


def test_sensitive_link_is_flagged(manager: Manager) -> None:
    runner, _ = _patient_doctor_visit(
        manager, "pdv_sensitive", LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT
    )
    for name in ("patient", "doctor", "visit"):
        runner.set_parameters(name, k=10)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner.shuffled("visit")
    assert any("sensitive_original_order_assignment" in str(w.message) for w in caught)
    job = runner.get_job(JobKind.standard)
    assert job.status.value == "finished"
    assert job.exception.startswith("warning:") and "HIGH PRIVACY BREACH" in job.exception
    metadata = runner._download("standard", runner_results().METADATA)["standard"]
    assert metadata["keeps_original_association"] is True and metadata["warnings"]
    for document in runner.privacy_metrics("patient"):
        assert "sensitive_original_order_assignment" in document["metadata"]["warnings"][0]


def test_independent_tables_beside_linked_ones(manager: Manager, tmp_path: Path) -> None:
    """Patients and their visits linked; doctors (with their key) and a keyless survey in the
    same set, linked to nothing: each avatarized on its own, every job's results per table."""
    patient = pd.read_csv(EXAMPLES / "patient.csv")
    visit = pd.read_csv(EXAMPLES / "visit.csv").drop(columns=["doctor_id"])
    doctor = pd.read_csv(EXAMPLES / "doctor.csv")
    survey = doctor.drop(columns=["d_id"]).head(40)
    originals = {"patient": patient, "visit": visit, "doctor": doctor, "survey": survey}
    runner = manager.create_runner("mixed", seed=0)
    runner.add_table("patient", patient, primary_key="p_id", individual_level=True)
    runner.add_table(
        "visit", visit, primary_key="visit_id", foreign_keys=["patient_id"], individual_level=False
    )
    runner.add_table("doctor", doctor, primary_key="d_id")
    # persons the survey did not see: its membership is measured on it alone
    runner.add_table("survey", survey, holdout_data=doctor.drop(columns=["d_id"]).tail(10))
    runner.add_link("patient", "p_id", "visit", "patient_id")
    for name in originals:
        runner.set_parameters(name, k=5)
    # the privacy metrics' attacker, on one table
    runner.set_parameters("patient", k=5, known_variables=["gender", "age"], target="weight")
    runner.run(jobs_to_run=ALL)
    results = runner.get_all_results()
    for field in ("shuffled", "sensitive_unshuffled", "original_projections", "privacy_metrics"):
        assert set(getattr(results, field)) == set(originals), field
    for name, original in originals.items():
        avatars = runner.shuffled(name)
        assert list(avatars.columns) == list(original.columns)
        assert len(avatars) == len(runner.projections(name)[0]) == len(original)
        assert runner.privacy_metrics(name)[0]["metadata"]["table_name"] == name
    assert [d["metadata"]["computation_type"] for d in runner.privacy_metrics("doctor")] == [
        "standalone"
    ]
    surveyed = {m["name"] for m in runner.privacy_metrics("survey")[0]["metrics"]}
    assert {"dcr_share", "membership_inference_auc"} <= surveyed
    attacked = {m["name"] for m in runner.privacy_metrics("patient")[0]["metrics"]}
    assert {"correlation_protection_rate", "inference_continuous"} <= attacked
    assert "inference_continuous" not in {
        m["name"] for m in runner.privacy_metrics("doctor")[0]["metrics"]
    }
    doctors = runner.shuffled("doctor")["d_id"]
    assert doctors.is_unique and not set(doctors.astype(str)) & set(doctor["d_id"].astype(str))
    assert runner.shuffled("visit")["patient_id"].isin(runner.shuffled("patient")["p_id"]).all()
    assert set(runner.render_signal_metrics_summary()) == set(originals)
    saved = runner.download_report(str(tmp_path / "report.pdf"))
    assert Path(saved[0]).read_bytes().startswith(b"%PDF-")


def test_avatars_made_elsewhere_with_pseudonyms_of_numbers(manager: Manager) -> None:
    """A linked table's numeric column pseudonymized with HASH_SHA256 (digests: text), its
    avatars uploaded for the metrics alone: the digests are read as text, not as numbers."""
    patient = pd.read_csv(EXAMPLES / "patient.csv")
    patient["phone"] = [3_300_000_000 + 7919 * i for i in patient["p_id"]]
    visit = pd.read_csv(EXAMPLES / "visit.csv").drop(columns=["doctor_id"])

    def linked(name: str, avatars: dict[str, pd.DataFrame] | None = None) -> Any:
        runner = manager.create_runner(name, seed=0)
        mine = avatars or {}
        runner.add_table(
            "patient", patient, primary_key="p_id", individual_level=True,
            avatar_data=mine.get("patient"),
        )  # fmt: skip
        runner.add_table(
            "visit", visit, primary_key="visit_id", foreign_keys=["patient_id"],
            individual_level=False, avatar_data=mine.get("visit"),
        )  # fmt: skip
        runner.add_link("patient", "p_id", "visit", "patient_id")
        runner.set_parameters("patient", k=5, pseudonymized_columns={"phone": "HASH_SHA256"})
        runner.set_parameters("visit", k=5)
        return runner

    made = linked("phones_made")
    made.run(jobs_to_run=[JobKind.standard])
    avatars = {t: made.sensitive_unshuffled(t) for t in ("patient", "visit")}
    assert avatars["patient"]["phone"].str.fullmatch("[0-9a-f]{64}").all()
    measured = linked("phones_measured", avatars)
    measured.run(jobs_to_run=[JobKind.privacy_metrics])
    assert measured.privacy_metrics("patient")[0]["metadata"]["table_name"] == "patient"


def test_pseudonymized_columns_of_a_linked_table(manager: Manager, tmp_path: Path) -> None:
    """Patients with an e-mail (FAKER) and a hospital code (HASH_SHA256, keyed with the
    organization's secret) linked to their visits: standard, privacy and signal run; the
    avatars carry pseudonyms, never an original value nor a plain hash, and the metrics leave
    the columns out."""
    patient = pd.read_csv(EXAMPLES / "patient.csv")
    patient["email"] = [f"patient{i}@hospital.example.org" for i in patient["p_id"]]
    patient["code"] = [f"H-{i:05d}" for i in patient["p_id"]]
    visit = pd.read_csv(EXAMPLES / "visit.csv").drop(columns=["doctor_id"])
    runner = manager.create_runner("linked_pseudonyms", seed=0)
    runner.add_table("patient", patient, primary_key="p_id", individual_level=True)
    runner.add_table(
        "visit", visit, primary_key="visit_id", foreign_keys=["patient_id"], individual_level=False
    )
    runner.add_link("patient", "p_id", "visit", "patient_id")
    runner.set_parameters(
        "patient",
        k=5,
        pseudonymized_columns={
            "email": FakeDataStrategy(pii_type="EMAIL"),
            "code": HashSha256Strategy(),
        },
    )
    runner.set_parameters("visit", k=5)
    runner.run(jobs_to_run=ALL)
    avatars = runner.shuffled("patient")
    assert list(avatars.columns) == list(patient.columns) and len(avatars) == len(patient)
    emails = avatars["email"]
    assert emails.str.contains("@").all() and emails.is_unique
    assert not set(emails) & set(patient["email"])
    digests = set(avatars["code"])
    assert len(digests) == len(patient) and all(len(d) == 64 and int(d, 16) >= 0 for d in digests)
    assert not digests & {hashlib.sha256(c.encode()).hexdigest() for c in patient["code"]}
    # the organization's key, as a single table's: digests of the same codes join
    single = manager.create_runner("single_pseudonyms", seed=1)
    single.add_table("patient", patient.drop(columns=["email"]).head(40), primary_key="p_id")
    single.set_parameters("patient", k=5, pseudonymized_columns={"code": HashSha256Strategy()})
    single.run(jobs_to_run=[JobKind.standard])
    assert set(single.shuffled("patient")["code"]) <= digests
    assert runner.shuffled("visit")["patient_id"].isin(avatars["p_id"]).all()
    metadata = runner._download("standard", runner_results().METADATA)["standard"]
    assert metadata["tables"]["patient"]["pseudonymized"] == ["email", "code"]
    assert metadata["multi_table"]["pseudonymized"] == {"patient": ["email", "code"]}
    for document in runner.privacy_metrics("patient") + runner.privacy_metrics("visit"):
        columns = document["multi_table"]["columns"]
        assert not {c for c in columns if "email" in c or "code" in c}, columns
    assert runner.privacy_metrics("patient")[0]["hidden_rate"] >= 80
    signal = runner.signal_metrics("patient")[0]
    assert "email" not in repr(signal["details"]) and "code" not in repr(signal["details"])
    # pseudonyms have no distribution to draw, in the figures or the report
    figures = runner.get_specific_result("patient", JobKind.standard, runner_results().FIGURES)
    distribution = "".join(figures["distribution"])
    assert "email" not in distribution and '"age"' in distribution, distribution[-3000:]
    html = Path(runner.download_html_report(str(tmp_path / "report.html"))).read_text()
    assert "hospital.example.org" not in html


def test_sensors_time_series(manager: Manager) -> None:
    vanilla = pd.read_csv(EXAMPLES / "sensors_vanilla.csv")
    series1 = pd.read_csv(EXAMPLES / "sensors_timeseries1.csv")
    series2 = pd.read_csv(EXAMPLES / "sensors_timeseries2.csv")
    runner = manager.create_runner("sensors", seed=1)
    runner.add_table("sensors_vanilla", vanilla, primary_key="id")
    runner.add_table(
        "sensors_timeseries1",
        series1,
        primary_key="primary_key",
        foreign_keys=["id"],
        time_series_time="t",
    )
    runner.add_table(
        "sensors_timeseries2",
        series2,
        primary_key="primary_key",
        foreign_keys=["id"],
        time_series_time="t",
    )
    for name in ("sensors_timeseries1", "sensors_timeseries2"):
        runner.add_link("sensors_vanilla", "id", name, "id", method=LinkMethod.TIME_SERIES)
    runner.advise_parameters()
    series_params = runner.config.time_series["sensors_timeseries1"]
    assert series_params["projection"]["nf"] >= 1 and series_params["alignment"]["nb_points"]
    assert "sensors_timeseries1" not in runner.config.avatarization
    runner.set_parameters(
        "sensors_timeseries2",
        time_series_nf=3,
        time_series_projection_type=ProjectionType.FPCA,
        time_series_nb_points=30,
        time_series_method=AlignmentMethod.SPECIFIED,
    )
    runner.run(jobs_to_run=ALL)
    avatar_vanilla = runner.shuffled("sensors_vanilla")
    assert len(avatar_vanilla) == len(vanilla) and avatar_vanilla["id"].is_unique
    for name, original in (("sensors_timeseries1", series1), ("sensors_timeseries2", series2)):
        avatar = runner.shuffled(name)
        assert list(avatar.columns) == list(original.columns)
        assert avatar["id"].isin(avatar_vanilla["id"]).all()
        assert avatar.groupby("id")["t"].apply(lambda t: t.is_monotonic_increasing).all()
        assert avatar["primary_key"].is_unique
        privacy = runner.privacy_metrics(name)
        assert {d["metadata"]["computation_type"] for d in privacy} == {
            "to_bottom_id_propagated",
            "full_enriched",
        }
        assert all(d["metadata"]["reference"] == "sensors_vanilla" for d in privacy)
        signal = runner.signal_metrics(name)[0]
        assert signal["mean_curve_error"] < 0.5
    figures = runner.get_specific_result(
        "sensors_timeseries1", JobKind.standard, runner_results().FIGURES
    )
    assert {"raw_series", "normalized_series"} <= set(figures)
    assert runner.privacy_metrics("sensors_vanilla")[0]["hidden_rate"] >= 90
    report = runner.get_specific_result_urls("report", runner_results().REPORT)
    assert report


def _keys_and_ks(avatars: dict[str, pd.DataFrame], originals: dict[str, pd.DataFrame]) -> float:
    worst = 0.0
    for parent, key, child, fk in (
        ("hospital", "hospital_id", "patient", "hospital_id"),
        ("patient", "patient_id", "visit", "patient_id"),
    ):
        counts_a = _children_per_parent(avatars[parent], key, avatars[child], fk)
        counts_o = _children_per_parent(originals[parent], key, originals[child], fk)
        worst = max(worst, float(ks_2samp(counts_o, counts_a).statistic))
    return worst


def test_generated_hospital_schema_at_the_advised_parameters(manager: Manager) -> None:
    from avatars.engine.multitable import synthetic_hospital_tables

    originals = synthetic_hospital_tables(1500, 7500, n_hospitals=50, seed=0)
    runner = manager.create_runner("hospital", seed=0)
    runner.add_table("hospital", originals["hospital"], primary_key="hospital_id")
    runner.add_table(
        "patient",
        originals["patient"],
        primary_key="patient_id",
        foreign_keys=["hospital_id"],
        individual_level=True,
    )
    runner.add_table(
        "visit",
        originals["visit"],
        primary_key="visit_id",
        foreign_keys=["patient_id"],
        individual_level=False,
    )
    runner.add_link("hospital", "hospital_id", "patient", "hospital_id")
    runner.add_link("patient", "patient_id", "visit", "patient_id")
    runner.advise_parameters()
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    avatars = {name: runner.shuffled(name) for name in originals}
    assert (
        max(
            np.bincount(
                pd.Index(originals["patient"]["patient_id"]).get_indexer(
                    originals["visit"]["patient_id"]
                )
            )
        )
        <= 100
    )
    assert _keys_and_ks(avatars, originals) <= 0.1
    for name in ("hospital", "patient"):
        standalone = runner.privacy_metrics(name)[0]
        assert standalone["metadata"]["computation_type"] == "standalone"
        assert standalone["hidden_rate"] >= 90, (name, standalone["hidden_rate"])


def test_generated_seasonal_series(manager: Manager) -> None:
    from avatars.engine.timeseries import generate_seasonal_series

    individuals, series = generate_seasonal_series(300, max_points=80, seed=0)
    runner = manager.create_runner("seasonal", seed=0)
    runner.add_table("people", individuals, primary_key="patient_id")
    runner.add_table(
        "measures",
        series,
        primary_key="obs_id",
        foreign_keys=["patient_id"],
        time_series_time="day",
    )
    runner.add_link("people", "patient_id", "measures", "patient_id", method=LinkMethod.TIME_SERIES)
    runner.advise_parameters()
    runner.run(jobs_to_run=[JobKind.standard, JobKind.signal_metrics])
    signal = runner.signal_metrics("measures")[0]
    assert signal["mean_curve_error"] < 0.25
    assert signal["autocorrelation_difference"] < 0.25


def test_linked_yaml_round_trips_and_bad_calls_are_named() -> None:
    """Offline: a linked set's YAML read back (create_runner_from_id) is the same text, and
    wrong keys or links are named by keyword before anything is sent."""
    from avatars.runner_config import RunnerConfig

    config = RunnerConfig("roundtrip", seed=4)
    config.add_table(
        "patient", "patient.csv", types={"p_id": "int", "age": "float"}, primary_key="p_id"
    )
    config.add_table(
        "sensors",
        "sensors.csv",
        types={"t": "int", "p_id": "int", "x": "float"},
        foreign_keys=["p_id"],
        time_series_time="t",
    )
    config.create_link("patient", "p_id", "sensors", "p_id", LinkMethod.TIME_SERIES)
    config.set_table_parameters("patient", {"k": 5}, None, None)
    config.set_table_parameters(
        "sensors", None, None, None, {"projection": {"projection_type": None, "nf": 2}}
    )
    text = config.get_yaml()
    assert RunnerConfig.from_yaml(text).get_yaml() == text
    with pytest.raises(ValueError, match=r"^parent_field"):
        config.create_link("sensors", "t", "patient", "p_id")
    with pytest.raises(ValueError, match=r"^child_field"):
        config.create_link("patient", "p_id", "sensors", "x")
    with pytest.raises(ValueError, match=r"^time_series_time"):
        config.add_table("bad", "bad.csv", primary_key="t", time_series_time="t")
    config.delete_link("patient", "sensors")
    assert config.tables["patient"].links == []


def test_time_series_parameters_are_validated_by_keyword() -> None:
    from avatars.protocol.errors import ParameterError
    from avatars.runner_config import time_series_block

    with pytest.raises(ParameterError, match=r"^time_series_nf"):
        time_series_block(0, None, None, None, exclude=None)
    with pytest.raises(ParameterError, match=r"^time_series_nb_points"):
        time_series_block(None, None, 1, None, exclude=None)
    with pytest.raises(ParameterError, match=r"^time_series_projection_type"):
        time_series_block(3, "wavelets", None, None, exclude=None)
    with pytest.raises(ParameterError, match="nb_points is required"):
        time_series_block(None, None, None, "specified", exclude=None)
    assert time_series_block(3, None, None, None, exclude=None) == {
        "projection": {"projection_type": None, "nf": 3}
    }


def test_advice_targets_on_several_tables(manager: Manager) -> None:
    """Tables that no link joins are searched one by one for the targets; linked tables get the
    multi-table advice, which has no targeted search: targets there are refused rather than
    silently ignored."""
    doctor = pd.read_csv(EXAMPLES / "doctor.csv")
    runner = manager.create_runner("targets_on_two")
    runner.add_table("first", doctor.head(25).drop(columns=["d_id"]))
    runner.add_table("second", doctor.tail(25).drop(columns=["d_id"]))
    runner.advise_parameters(targets={"hidden_rate": 50})
    for table in ("first", "second"):
        assert 2 <= runner.config.avatarization[table]["k"] < 25

    linked = manager.create_runner("targets_on_linked")
    linked.add_table("patient", pd.read_csv(EXAMPLES / "patient.csv"), primary_key="p_id")
    visit = pd.read_csv(EXAMPLES / "visit.csv").drop(columns=["doctor_id"])
    linked.add_table("visit", visit, primary_key="visit_id", foreign_keys=["patient_id"])
    linked.add_link("patient", "p_id", "visit", "patient_id")
    with pytest.raises(JobFailedError, match="searched table by table") as caught:
        linked.advise_parameters(targets={"hidden_rate": 90})
    assert "in a set of its own" in str(caught.value)
