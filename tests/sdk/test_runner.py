"""Manager and Runner against the real server: the tutorial flows, errors, waiting."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from avatars.constants import PlotKind
from avatars.exceptions import JobFailedError, JobTimeoutError
from avatars.manager import Manager
from avatars.models import JobKind
from avatars.runner import UNSUPPORTED_PARAMETERS, ExcludeVariablesMethod, ImputeMethod

METRICS = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics]


@pytest.fixture
def manager(platform: Any, user: Any) -> Manager:
    return platform.manager(api_key=user.api_key)


@pytest.fixture(scope="session")
def iris(iris_path: Path) -> pd.DataFrame:
    return pd.read_csv(iris_path)


@pytest.fixture(scope="session")
def wbcd(wbcd_path: Path) -> pd.DataFrame:
    return pd.read_csv(wbcd_path)


def test_tutorial_flow_iris(manager: Manager, iris: pd.DataFrame, tmp_path: Path) -> None:
    assert manager.get_health()["message"] == "ok"
    runner = manager.create_runner("iris_k5", seed=1)
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=5)
    runner.run()  # standard, signal, privacy, report, report_pia

    shuffled = runner.shuffled("iris")
    assert list(shuffled.columns) == list(iris.columns) and len(shuffled) == len(iris)
    unshuffled = runner.sensitive_unshuffled("iris")
    assert sorted(map(tuple, unshuffled.astype(str).values)) == sorted(
        map(tuple, shuffled.astype(str).values)
    )
    privacy = runner.privacy_metrics("iris")
    assert len(privacy) == 1 and 0 <= privacy[0]["hidden_rate"] <= 100
    signal = runner.signal_metrics("iris")
    assert signal[0]["hellinger_mean"] >= 0
    original, avatars = runner.projections("iris")
    assert original.shape == avatars.shape and len(original) == len(iris)

    summary = runner.metrics_summary()
    assert set(summary["kind"]) == {"privacy", "signal"}
    assert {"hidden_rate", "hellinger_mean"} <= set(summary["metric"])
    assert summary.loc[summary.metric == "hidden_rate", "target"].item() == "> 90"
    assert list(summary.columns)[:6] == [
        "table_name",
        "kind",
        "metric",
        "value",
        "target",
        "passed",
    ]

    assert runner.get_status(JobKind.standard) == "finished"
    assert runner.get_job(JobKind.privacy_metrics).done

    saved = runner.download_report(str(tmp_path / "report.pdf"))
    assert saved == [str(tmp_path / "report.pdf")]
    assert Path(saved[0]).read_bytes()[:5] == b"%PDF-"
    page = Path(runner.download_html_report(str(tmp_path / "report.html"))).read_text()
    assert "<html" in page.lower() and "plotly" in page.lower()
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", page)

    html = runner.render_plot("iris", PlotKind.PROJECTION_2D)
    assert html and "<" in html[0]


def test_wbcd_flow_and_all_results(manager: Manager, wbcd: pd.DataFrame) -> None:
    runner = manager.create_runner("wbcd_k20")
    runner.add_table("wbcd", wbcd)
    runner.set_parameters(
        "wbcd",
        k=20,
        ncp=4,
        exclude_variable_names=["Sample_code_number"],
        exclude_variable_method=ExcludeVariablesMethod.ROW_ORDER,
    )
    runner.run(jobs_to_run=METRICS)
    results = runner.get_all_results()
    assert set(results.shuffled) == {"wbcd"}
    frame = results.shuffled["wbcd"]
    assert frame.shape == wbcd.shape
    # Excluded by row order: the identifiers come back unchanged, in the original order.
    assert results.sensitive_unshuffled["wbcd"]["Sample_code_number"].tolist() == (
        wbcd["Sample_code_number"].tolist()
    )
    assert len(results.privacy_metrics["wbcd"]) == 1
    assert len(results.signal_metrics["wbcd"]) == 1
    assert len(results.original_projections["wbcd"]) == len(wbcd)
    assert not results.is_results_empty()


def test_k_too_big_fails_with_the_servers_message(manager: Manager, iris: pd.DataFrame) -> None:
    runner = manager.create_runner("iris_k500")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=500)
    runner.run(jobs_to_run=[JobKind.standard])
    with pytest.raises(JobFailedError) as caught:
        runner.shuffled("iris")
    job = runner.get_job(JobKind.standard)
    assert job.status == "error" and "k" in job.exception
    assert str(caught.value) == f"Job standard failed with exception: {job.exception}"
    assert isinstance(caught.value, ValueError)  # as the official client raises


def test_waiting_has_a_timeout_and_shows_progress(
    platform: Any, user: Any, wbcd: pd.DataFrame, capsys: pytest.CaptureFixture
) -> None:
    manager = platform.manager(api_key=user.api_key, job_timeout=0.05)
    runner = manager.create_runner("wbcd_timeout")
    runner.add_table("wbcd", wbcd)
    runner.set_parameters("wbcd", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    capsys.readouterr()
    started = time.monotonic()
    with pytest.raises(JobTimeoutError, match="did not finish within") as caught:
        runner.shuffled("wbcd")  # stderr is not a terminal here: no progress bar
    assert time.monotonic() - started < 2
    assert caught.value.job is not None and not caught.value.job.done
    assert capsys.readouterr().err == ""

    job = runner.wait(JobKind.standard, timeout=120)  # the job kept running
    assert job.status == "finished"
    assert len(runner.shuffled("wbcd", timeout=60)) == len(wbcd)


def test_progress_bar_when_interactive(
    manager: Manager, wbcd: pd.DataFrame, capsys: pytest.CaptureFixture
) -> None:
    runner = manager.create_runner("wbcd_progress", timeout=0.05)
    runner.show_progress = True  # what a terminal or a Jupyter kernel turns on
    runner.add_table("wbcd", wbcd)
    runner.set_parameters("wbcd", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    capsys.readouterr()
    with pytest.raises(JobTimeoutError):
        runner.wait(JobKind.standard)  # not done at the first look: a bar is drawn
    err = capsys.readouterr().err
    assert "standard" in err and "%" in err
    runner.wait(JobKind.standard, timeout=120)


def test_unsupported_parameters_are_named(manager: Manager, iris: pd.DataFrame) -> None:
    runner = manager.create_runner("iris_unsupported")
    runner.add_table("iris", iris)
    values: dict[str, Any] = {
        "open_dp_epsilon": 1.0,
        "fast_dp_epsilon": 2.0,
        "time_series_nf": 3,
        "time_series_projection_type": "fpca",
        "time_series_nb_points": 10,
        "time_series_method": "mean",
        "data_augmentation_strategy": 0.5,
        "data_augmentation_target_column": "variety",
        "data_augmentation_should_anonymize_original_table": True,
        "processors": [],
        "pseudonymized_columns": {},
    }
    assert set(values) == set(UNSUPPORTED_PARAMETERS)
    for name, value in values.items():
        with pytest.raises(ValueError, match=rf"^{name}: .*not supported"):
            runner.set_parameters("iris", k=5, **{name: value})
    with pytest.raises(ValueError, match=r"^use_categorical_reduction"):
        runner.set_parameters("iris", k=5, use_categorical_reduction=True)
    with pytest.raises(ValueError, match="add_link"):
        runner.add_link("iris", "id", "other", "iris_id")
    with pytest.raises(ValueError, match=r"^primary_key"):
        runner.add_table("other", iris, primary_key="variety")


def test_bad_input_is_named(manager: Manager, iris: pd.DataFrame) -> None:
    runner = manager.create_runner("iris_bad")
    with pytest.raises(ValueError, match="add a table"):
        runner.run()
    runner.add_table("iris", iris)
    with pytest.raises(ValueError, match="table_name: no table 'nope'"):
        runner.set_parameters("nope", k=5)
    with pytest.raises(ValueError, match=r"^k must be"):
        runner.set_parameters("iris", k=0)
    with pytest.raises(ValueError, match=r"^exclude_variable_names: no column 'zzz'"):
        runner.set_parameters("iris", k=5, exclude_variable_names=["zzz"])
    with pytest.raises(ValueError, match=r"^imputation_method"):
        runner.set_parameters("iris", k=5, imputation_method="magic")
    with pytest.raises(ValueError, match=r"^column_weights"):
        runner.set_parameters("iris", k=5, column_weights={"variety": -1})
    with pytest.raises(ValueError, match=r"^types\['variety'\]"):
        runner.add_table("iris2", iris, types={"variety": "text"})
    with pytest.raises(ValueError, match="Expected k"):
        runner.run()
    runner.set_parameters("iris", k=5)
    with pytest.raises(ValueError, match="jobs_to_run"):
        runner.run(jobs_to_run=[JobKind.advice])
    with pytest.raises(ValueError, match="Try running it first"):
        runner.shuffled("iris")
    with pytest.raises(ValueError, match="display_name"):
        manager.create_runner("a/b")


def test_advice_and_table_summary(manager: Manager, iris: pd.DataFrame) -> None:
    runner = manager.create_runner("iris_advice")
    runner.add_table("iris", iris)
    runner.advise_parameters()
    k = runner.config.avatarization["iris"]["k"]
    assert isinstance(k, int) and 2 <= k < len(iris)
    summary = runner.table_summary("iris")
    assert isinstance(summary, pd.DataFrame) and len(summary) > 0
    runner.run(jobs_to_run=[JobKind.standard])
    assert len(runner.shuffled("iris")) == len(iris)


def test_update_and_delete_parameters(manager: Manager, iris: pd.DataFrame) -> None:
    runner = manager.create_runner("iris_update")
    runner.add_table("iris", iris)
    with pytest.raises(ValueError, match="No existing parameters"):
        runner.update_parameters("iris", k=3)
    runner.set_parameters(
        "iris", k=10, ncp=2, known_variables=["variety"], imputation_method=ImputeMethod.MEAN
    )
    runner.update_parameters("iris", k=7)
    assert runner.config.avatarization["iris"]["k"] == 7
    assert runner.config.avatarization["iris"]["ncp"] == 2
    assert runner.config.privacy_metrics["iris"]["known_variables"] == ["variety"]
    runner.delete_parameters("iris", ["ncp"])
    assert "ncp" not in runner.config.avatarization["iris"]
    runner.delete_parameters("iris")
    assert "iris" not in runner.config.avatarization


def test_runner_from_id_name_and_yaml(
    manager: Manager, iris: pd.DataFrame, iris_path: Path, tmp_path: Path
) -> None:
    runner = manager.create_runner("iris_reload")
    runner.add_table("iris", iris_path)  # a path: uploaded as is
    runner.set_parameters("iris", k=6)
    runner.run(jobs_to_run=METRICS)
    first = runner.shuffled("iris")

    again = manager.create_runner_from_id(runner.set_name)
    assert again.display_name == "iris_reload-v1"
    pd.testing.assert_frame_equal(again.shuffled("iris"), first)
    assert (
        again.privacy_metrics("iris")[0]["hidden_rate"]
        == (runner.privacy_metrics("iris")[0]["hidden_rate"])
    )
    by_name = manager.create_runner_from_name("iris_reload")
    assert by_name.set_name == runner.set_name
    with pytest.raises(ValueError, match="Invalid set_name"):
        manager.create_runner_from_id("not-a-uuid")
    with pytest.raises(ValueError, match="No jobs found"):
        manager.create_runner_from_name("never-ran")

    path = tmp_path / "set.yaml"
    runner.get_yaml(str(path))
    loaded = manager.create_runner_from_yaml(str(path), "iris_reload")
    assert loaded.display_name == "iris_reload-v1"
    expected = path.read_text().replace("iris_reload", "iris_reload-v1")
    assert re.sub(r"client_version: .*", "", loaded.get_yaml()) == re.sub(
        r"client_version: .*", "", expected
    )
    loaded.upload_file("iris", iris)
    loaded.run(jobs_to_run=[JobKind.standard])
    assert len(loaded.shuffled("iris")) == len(iris)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner.run(jobs_to_run=[JobKind.standard])
    assert any("already has results" in str(w.message) for w in caught)


def test_last_jobs_results_and_deletion(manager: Manager, iris: pd.DataFrame) -> None:
    runner = manager.create_runner("iris_delete")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=5)
    runner.run(jobs_to_run=METRICS)
    runner.get_all_results()
    last = manager.get_last_jobs(3)
    assert set(last) == {job.name for job in runner.jobs.values()}
    results = manager.get_last_results(3)
    assert any("shuffled" in r for r in results)
    deleted = manager.delete_job("iris_delete")
    assert len(deleted.deleted_jobs) == 3 and deleted.failed_jobs == []
    with pytest.raises(ValueError, match="No jobs found"):
        manager.delete_job("iris_delete")

    runner.run(jobs_to_run=[JobKind.standard], ignore_warnings=True)
    runner.wait(JobKind.standard)
    by_id = manager.delete_job_by_id(runner.set_name)
    assert [j.name for j in by_id.deleted_jobs] == [runner.jobs["standard"].name]
    assert manager.delete_jobs([]).deleted_jobs == []
