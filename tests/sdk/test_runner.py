"""Manager and Runner against the real server: the tutorial flows, errors, waiting."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avatars.client import ApiClient
from avatars.constants import PlotKind
from avatars.exceptions import (
    JobFailedError,
    JobTimeoutError,
    UnprocessableEntityError,
)
from avatars.manager import Manager
from avatars.models import JobKind
from avatars.protocol.errors import ParameterError
from avatars.runner import UNSUPPORTED_PARAMETERS, ExcludeVariablesMethod, ImputeMethod, Runner

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
    # The method was named: written as a choice, so the server re-attaches the identifier...
    exclude = runner.config.avatarization["wbcd"]["exclude_variables"]
    assert exclude["explicit_replacement_strategy"] is True
    runner.run(jobs_to_run=METRICS)
    with pytest.warns(UserWarning, match="re-attached by row order"):  # ...and says so
        results = runner.get_all_results()
    assert set(results.shuffled) == {"wbcd"}
    frame = results.shuffled["wbcd"]
    assert frame.shape == wbcd.shape
    # Excluded by row order: the identifiers come back unchanged, in the original order.
    assert results.sensitive_unshuffled["wbcd"]["Sample_code_number"].tolist() == (
        wbcd["Sample_code_number"].tolist()
    )
    assert len(results.privacy_metrics["wbcd"]) == 1
    privacy = results.privacy_metrics["wbcd"][0]
    codes = [w["code"] for w in privacy["metadata"]["warnings"]]
    assert "identifier_original_order" in codes
    assert privacy["verdict"]["status"] == "fail"  # a re-identification key never passes
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
    runner.add_table("wbcd", wbcd.drop(columns=["Sample_code_number"]))
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
    runner.add_table("wbcd", wbcd.drop(columns=["Sample_code_number"]))
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
    values: dict[str, Any] = {}
    assert set(values) == set(UNSUPPORTED_PARAMETERS)
    for name, value in values.items():
        with pytest.raises(ValueError, match=rf"^{name}: .*not supported"):
            runner.set_parameters("iris", k=5, **{name: value})
    # categorical reduction, augmentation and processors run now; bad values are named
    runner.set_parameters("iris", k=5, use_categorical_reduction=True)
    with pytest.raises(ValueError, match=r"^data_augmentation_strategy: .*> 1"):
        runner.set_parameters("iris", k=5, data_augmentation_strategy=0.5)
    with pytest.raises(ValueError, match=r"^data_augmentation_target_column: required"):
        runner.set_parameters("iris", k=5, data_augmentation_strategy="minority")
    with pytest.raises(ValueError, match=r"^processors"):
        runner.set_parameters("iris", k=5, processors=[{"references": []}])
    # links and keys run now (tests/sdk/test_linked_tables_sdk.py); a bad one is named
    with pytest.raises(ValueError, match=r"^parent_field"):
        runner.add_link("iris", "id", "iris", "iris_id")
    with pytest.raises(ValueError, match=r"^primary_key: no column 'nope'"):
        runner.add_table("other", iris, primary_key="nope")


def test_bad_input_is_named(manager: Manager, iris: pd.DataFrame) -> None:
    runner = manager.create_runner("iris_bad")
    with pytest.raises(ValueError, match="add a table"):
        runner.run()
    runner.add_table("iris", iris)
    with pytest.raises(ValueError, match="table_name: no table 'nope'"):
        runner.set_parameters("nope", k=5)
    with pytest.raises(ValueError, match=r"^k: Input should be greater than or equal to 2"):
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


def _offline_runner(name: str = "offline", seed: Any = None) -> Runner:
    """A Runner whose table is declared in its configuration (no upload, no server): what
    set_parameters validates and writes does not depend on the platform."""
    client = ApiClient("http://127.0.0.1:9/api", api_key="offline")
    runner = Runner(client, name, seed=seed)
    runner.config.add_table("iris", "iris.csv", types=dict(IRIS_TYPES))
    return runner


IRIS_TYPES = {
    "sepal.length": "float",
    "sepal.width": "float",
    "petal.length": "float",
    "petal.width": "float",
    "variety": "category",
}

#: (keywords of set_parameters, what the server says of the same value in the YAML)
OUT_OF_RANGE = [
    ({"k": 1}, "k: 5", "k: 1", "k: Input should be greater than or equal to 2 (got 1)"),
    ({"k": 5, "ncp": 0}, "ncp: 2", "ncp: 0", "ncp: Input should be greater than or equal to 1"),
    (
        {"k": 5, "column_weights": {"variety": 0}},
        "variety: 2",
        "variety: 0",
        "column_weights.variety: Input should be greater than 0 (got 0)",
    ),
    (
        {"k": 5, "imputation_method": "magic"},
        "method: mean",
        "method: magic",
        "imputation_method: Input should be 'knn', 'mode', 'median', 'mean' or 'fast_knn' "
        "(got 'magic')",
    ),
]


def test_out_of_range_parameters_are_refused_in_the_servers_words(client: ApiClient) -> None:
    valid = _offline_runner("range")
    valid.set_parameters(
        "iris", k=5, ncp=2, column_weights={"variety": 2}, imputation_method="mean"
    )
    good_yaml = valid.get_yaml()
    for keywords, good, bad, message in OUT_OF_RANGE:
        runner = _offline_runner("range")
        with pytest.raises(ParameterError) as caught:
            runner.set_parameters("iris", **keywords)
        assert isinstance(caught.value, ValueError)
        assert str(caught.value).startswith(message)
        # The server, given the same value in a YAML, says the same of it.
        assert good in good_yaml
        with pytest.raises(UnprocessableEntityError) as refused:
            client.resources.put_resources("range", good_yaml.replace(good, bad, 1))
        _field, problem = caught.value.issues[0]
        assert problem in refused.value.message


def test_k_1_is_refused_before_any_job() -> None:
    runner = _offline_runner()
    with pytest.raises(
        ParameterError, match=r"^k: Input should be greater than or equal to 2 \(got 1\)$"
    ):
        runner.set_parameters("iris", k=1)
    assert runner.config.avatarization == {}


def test_numpy_integers_are_accepted_and_written_as_plain_numbers() -> None:
    plain, numpy = _offline_runner("n", seed=3), _offline_runner("n", seed=np.int64(3))
    plain.set_parameters("iris", k=5, ncp=2, imputation_k=3, quantile_threshold=50)
    numpy.set_parameters(
        "iris",
        k=np.int64(5),
        ncp=np.int32(2),
        imputation_k=np.int16(3),
        quantile_threshold=np.uint8(50),
    )
    assert numpy.get_yaml() == plain.get_yaml()
    assert type(numpy.config.avatarization["iris"]["k"]) is int


def test_warnings_of_the_official_client_are_kept() -> None:
    runner = _offline_runner()
    with pytest.warns(UserWarning, match="k = 2") as k2:
        runner.set_parameters("iris", k=2)
    assert k2[0].filename == __file__  # points at the caller
    with pytest.warns(DeprecationWarning, match="exclude_replacement_strategy") as deprecated:
        runner.set_parameters(
            "iris",
            k=5,
            exclude_variable_names=["variety"],
            exclude_replacement_strategy=ExcludeVariablesMethod.COORDINATE_SIMILARITY,
        )
    assert deprecated[0].filename == __file__
    exclude = runner.config.avatarization["iris"]["exclude_variables"]
    assert exclude == {
        "variable_names": ["variety"],
        "replacement_strategy": "coordinate_similarity",
    }


#: Two names the official escaping alone writes alike (``a_dot_b``): each must get its own.
LOOKALIKE_TABLES = {"a_dot_b": 120, "a.b": 90}


def test_a_table_name_that_looks_escaped_gets_its_results(
    manager: Manager, iris: pd.DataFrame
) -> None:
    for table, rows in LOOKALIKE_TABLES.items():
        runner = manager.create_runner("lookalike", seed=1)
        runner.add_table(table, iris.head(rows))
        runner.set_parameters(table, k=5)
        runner.run(jobs_to_run=METRICS)
        assert len(runner.shuffled(table)) == rows
        results = runner.get_all_results()
        assert set(results.shuffled) == set(results.original_projections) == {table}
        assert set(results.privacy_metrics) == set(results.signal_metrics) == {table}


def test_lookalike_table_names_in_one_run_get_their_own_results(
    manager: Manager, iris: pd.DataFrame
) -> None:
    runner = manager.create_runner("lookalikes", seed=1)
    for table, rows in LOOKALIKE_TABLES.items():
        runner.add_table(table, iris.head(rows))
        runner.set_parameters(table, k=5)
    runner.run(jobs_to_run=METRICS)
    results = runner.get_all_results()
    assert {t: len(f) for t, f in results.shuffled.items()} == LOOKALIKE_TABLES
    assert set(results.sensitive_unshuffled) == set(LOOKALIKE_TABLES)
    assert set(results.privacy_metrics) == set(LOOKALIKE_TABLES)
    for table, rows in LOOKALIKE_TABLES.items():
        assert len(runner.shuffled(table)) == rows
        assert len(runner.projections(table)[0]) == rows


def test_advice_needs_a_table_first(manager: Manager) -> None:
    runner = manager.create_runner("advice_without_table")
    with pytest.raises(
        ValueError, match=r"add a table with add_table\(\) before advise_parameters"
    ):
        runner.advise_parameters()
    assert runner.set_name is None and runner.jobs == {}  # nothing was sent


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
