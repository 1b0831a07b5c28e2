"""Jobs end to end over HTTP: standard job to results, failures, dependencies, cancel, lists."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pandas as pd
import pytest

from avatars.models import JobResponse
from server_helpers import (
    BIG_COLUMNS,
    INTERNAL,
    big_table_csv,
    create_job,
    create_set,
    internal_error_of_a_bug,
    put_set,
    resource_yaml,
    wait_status,
)

IRIS = Path(__file__).resolve().parents[2] / "src" / "avatars" / "data" / "iris.csv"


def storage_path(platform: Any, url: str) -> bytes:
    """The bytes behind a result URL, read from the server's storage directly (the S3 endpoint
    is tested elsewhere): ``...?url=s3://<bucket>/<key>``."""
    path = parse_qs(urlsplit(url).query)["url"][0]
    assert path.startswith("s3://")
    return platform.read_object(path)


# Scale-out too: the job runs on a Dask worker and writes its results to the S3 store.
@pytest.mark.backends("sqlite", "scaleout")
def test_standard_job_to_results(platform: Any, api: httpx.Client, user: Any) -> None:
    set_name = create_set(api, "iris_k20", k=20)
    name = create_job(api, set_name, "standard")
    job = platform.wait_for_job(api, name)
    JobResponse.model_validate(job)
    assert job["status"] == "finished", job
    assert job["done"] is True and job["progress"] == 1.0 and job["exception"] == ""
    assert job["kind"] == "standard" and job["display_name"] == "iris_k20"
    assert job["created_at"].endswith(("Z", "+00:00"))

    results = api.get(f"/results/{name}").json()
    assert set(results) >= {
        "shuffled",
        "unshuffled",
        "original_projections",
        "avatar_projections",
        "run_metadata",
    }
    shuffled_url = results["shuffled"][0]
    assert shuffled_url.startswith(
        platform.api_url + "/access?url=s3://" + user.id + "/30d/results/"
    )
    assert shuffled_url.endswith(f"/{name}/iris.shuffled-0.csv")
    assert results["unshuffled"][0].endswith("iris.unshuffled-0.csv")
    assert results["original_projections"][0].endswith("iris.projections.original-0.csv")
    assert results["avatar_projections"][0].endswith("iris.projections.avatars-0.csv")
    assert results["run_metadata"][0].endswith(f"run_metadata.{name}.json")

    avatars = pd.read_csv(io.BytesIO(storage_path(platform, shuffled_url)))
    original = pd.read_csv(platform_iris())
    assert list(avatars.columns) == list(original.columns)
    assert len(avatars) == len(original) == 150
    assert set(avatars["variety"]) <= set(original["variety"])
    metadata = json.loads(storage_path(platform, results["run_metadata"][0]))
    assert metadata["parameters"]["k"] == 20

    # Every URL is echoed byte for byte with credentials.
    urls = [u for urls in results.values() for u in urls]
    accesses = api.post("/access/batch", json=urls).json()
    assert [a["url"] for a in accesses] == urls
    credentials = accesses[0]["credentials"]
    assert (
        credentials["access_key_id"].startswith("AVK") and len(credentials["access_key_id"]) == 20
    )
    assert len(credentials["secret_access_key"]) == 40


def platform_iris() -> io.BytesIO:
    return io.BytesIO(IRIS.read_bytes())


def test_k_too_large_fails_with_its_reason(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "iris_k500", k=500)
    job = platform.wait_for_job(api, create_job(api, set_name, "standard"))
    assert job["status"] == "error" and job["done"] is True
    assert "k" in job["exception"] and "150" in job["exception"], job["exception"]
    response = api.get(f"/results/{job['name']}")
    assert response.status_code == 409
    assert job["exception"] in response.json()["message"]


def test_a_mistake_names_itself_and_a_bug_is_internal(platform: Any, api: httpx.Client) -> None:
    """A bad parameter ends the job ``error`` naming it; a bug (here: a result file the
    platform wrote itself, corrupted in storage, so reading it raises a bare ValueError) ends
    it ``error`` as an internal error with a reference. The bug's own message is never shown.
    That the server's log has the same reference with the traceback is checked on a live
    server, whose log holds its worker processes' (tests/e2e/test_server_log.py)."""
    set_name = create_set(api, "iris_mistake_or_bug", k=500)
    mistake = platform.wait_for_job(api, create_job(api, set_name, "standard"))
    assert mistake["status"] == "error"
    assert "'k'" in mistake["exception"] and "150" in mistake["exception"], mistake
    assert "internal error" not in mistake["exception"]
    assert INTERNAL.fullmatch(internal_error_of_a_bug(platform, api))


def test_dependents_of_a_failed_job_end_parent_error(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "iris_parent", k=500)
    standard = create_job(api, set_name, "standard")
    signal = create_job(api, set_name, "signal_metrics", [f"/jobs/{standard}"])
    report = create_job(api, set_name, "report", [f"/jobs/{signal}"])
    assert platform.wait_for_job(api, standard)["status"] == "error"
    signal_job = platform.wait_for_job(api, signal)
    assert signal_job["status"] == "parent_error" and signal_job["done"]
    assert standard in signal_job["exception"]
    assert platform.wait_for_job(api, report)["status"] == "parent_error"


def test_a_bad_processor_fails_naming_it_and_the_column(platform: Any, api: httpx.Client) -> None:
    """use_categorical_reduction runs now; a processor on a column the table lacks fails the
    job with the processor and the column named (no traceback)."""
    extra = (
        "      use_categorical_reduction: true\n"
        "      avatarization_processors_parameters:\n"
        "      - target: petal.length\n"
        "        references:\n"
        "        - sepal.size\n"
    )
    set_name = create_set(api, "iris_ucr", k=10, extra_standard="")
    # put the flags under the table's parameters
    text = api.get(f"/resources/{set_name}").text.replace("      k: 10\n", "      k: 10\n" + extra)
    response = api.put(
        "/resources/iris_ucr", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 200, response.text
    job = platform.wait_for_job(api, create_job(api, response.json()["set_name"], "standard"))
    assert job["status"] == "error"
    assert (
        "avatarization_processors_parameters[0] (RelativeDifferenceParameters)"
        in (job["exception"])
    )
    assert "sepal.size" in job["exception"] and "internal" not in job["exception"]


# Scale-out too: five jobs on Dask workers, a PDF, a DOCX and figures through the S3 store.
@pytest.mark.backends("sqlite", "scaleout")
def test_full_run_metrics_report_and_figures(platform: Any, api: httpx.Client) -> None:
    """The Tutorial-1 run: standard, signal and privacy metrics, report and report_pia."""
    text = resource_yaml("tutorial")
    text += """
---
kind: AvatarReportParameters
metadata:
  name: report_pia
spec:
  report_type: pia
  output_format: docx
  language: en
  results:
    volume: results
    path: report_pia
"""
    response = put_set(api, "tutorial", text)
    assert response.status_code == 200, response.text
    set_name = response.json()["set_name"]
    standard = create_job(api, set_name, "standard")
    signal = create_job(api, set_name, "signal_metrics", [f"/jobs/{standard}"])
    privacy = create_job(api, set_name, "privacy_metrics", [f"/jobs/{standard}"])
    report = create_job(api, set_name, "report", [f"/jobs/{privacy}", f"/jobs/{signal}"])
    pia = create_job(api, set_name, "report_pia", [f"/jobs/{privacy}", f"/jobs/{signal}"])
    for name in (standard, signal, privacy, report, pia):
        job = platform.wait_for_job(api, name)
        assert job["status"] == "finished", job
    assert api.get(f"/jobs/{pia}").json()["kind"] == "report"

    privacy_url = api.get(f"/results/{privacy}").json()["privacy_metrics"]
    assert len(privacy_url) == 1 and privacy_url[0].endswith("/iris.privacy.json")
    privacy_json = json.loads(storage_path(platform, privacy_url[0]))
    assert privacy_json["metadata"] == {
        "table_name": "iris",
        "computation_type": "standalone",
        "reference": None,
    }
    assert 0 <= privacy_json["hidden_rate"] <= 100 and privacy_json["local_cloaking"] is not None
    signal_url = api.get(f"/results/{signal}").json()["signal_metrics"][0]
    assert signal_url.endswith("/iris.signal.json")
    signal_json = json.loads(storage_path(platform, signal_url))
    assert signal_json["metadata"]["table_name"] == "iris"
    assert signal_json["hellinger_mean"] is not None

    report_urls = api.get(f"/results/{report}").json()["report"]
    assert [u.rsplit("/", 1)[1] for u in report_urls] == ["report.pdf"]
    assert storage_path(platform, report_urls[0]).startswith(b"%PDF-")
    pia_urls = api.get(f"/results/{pia}").json()["report"]
    assert [u.rsplit("/", 1)[1] for u in pia_urls] == ["iris.report.pia.docx"]
    assert storage_path(platform, pia_urls[0]).startswith(b"PK")

    results = api.get(f"/results/{standard}").json()
    figures = json.loads(storage_path(platform, results["figures_metadata"][0]))
    files = {u.rsplit("/", 1)[1] for u in results["figures"]}
    assert {f["filename"] for f in figures} == files
    assert {"iris.2d_projection.html", "iris.correlation.html"} <= files
    assert all(f["table_name"] == "iris" for f in figures)


def test_advice(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "advice", advice=True)
    job = platform.wait_for_job(api, create_job(api, set_name, "advice_parameters"))
    assert job["status"] == "finished" and job["kind"] == "advice", job
    [url] = api.get(f"/results/{job['name']}").json()["advice"]
    assert url.endswith("/advice.json")
    [advice] = json.loads(storage_path(platform, url))
    assert advice["table_name"] == "iris"
    assert 2 <= advice["advice"]["k"] < 150 and advice["advice"]["summary"]["stats"]


def test_metrics_without_avatars_fail_clearly(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "no_avatars")
    job = platform.wait_for_job(api, create_job(api, set_name, "privacy_metrics"))
    assert job["status"] == "error"
    assert "no avatars to measure" in job["exception"]


def test_create_job_errors(api: httpx.Client) -> None:
    set_name = create_set(api, "iris_errors")
    response = api.post("/jobs", json={"set_name": set_name, "parameters_name": "nope"})
    assert response.status_code == 422
    assert "nope" in response.json()["message"] and "standard" in response.json()["message"]
    response = api.post("/jobs", json={"set_name": set_name, "parameters_name": "schema"})
    assert response.status_code == 422 and "AvatarSchema" in response.json()["message"]
    response = api.post(
        "/jobs",
        json={"set_name": set_name, "parameters_name": "standard", "depends_on": ["/jobs/missing"]},
    )
    assert response.status_code == 422 and "missing" in response.json()["message"]
    response = api.post(
        "/jobs",
        json={
            "set_name": "00000000-0000-4000-8000-000000000000",
            "parameters_name": "standard",
        },
    )
    assert response.status_code == 404


# Scale-out too: a running job is cancelled on its Dask worker, through the database.
@pytest.mark.backends("sqlite", "scaleout")
def test_cancel_queued_and_running(platform: Any, api: httpx.Client, user: Any) -> None:
    platform.upload(user.api_key, "big.csv", big_table_csv(60_000))
    set_name = create_set(api, "big_cancel", file="big.csv", table="big", columns=BIG_COLUMNS, k=10)
    running = create_job(api, set_name, "standard")
    waiting = create_job(api, set_name, "signal_metrics", [running])
    waiting_on_waiting = create_job(api, set_name, "report", [waiting])
    wait_status(api, running, {"pending"})

    # A queued job is cancelled at once, and so are the queued jobs waiting on it.
    response = api.post(f"/jobs/{waiting}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["done"] is True
    dependent = api.get(f"/jobs/{waiting_on_waiting}").json()
    assert dependent["status"] == "cancelled" and dependent["done"] is True
    assert "depends on was cancelled" in dependent["exception"]
    assert api.get(f"/jobs/{running}").json()["status"] == "pending"

    # A running one stops at its next progress report and ends cancelled.
    response = api.post(f"/jobs/{running}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "pending" and body["phase"] == "cancelling"
    job = platform.wait_for_job(api, running, timeout=60)
    assert job["status"] == "cancelled", job
    assert job["done"] is True
    assert api.post(f"/jobs/{running}/cancel").status_code == 409
    assert api.get(f"/results/{running}").status_code == 409


# PostgreSQL too: oldest-first order, limits and filters are SQL of each database.
@pytest.mark.backends("sqlite", "postgres")
def test_list_filters_and_order(platform: Any, api: httpx.Client) -> None:
    first_set = create_set(api, "list_a")
    second_set = create_set(api, "list_b")
    a1 = create_job(api, first_set, "standard")
    a2 = create_job(api, first_set, "signal_metrics", [a1])
    b1 = create_job(api, second_set, "standard")
    for name in (a1, a2, b1):
        platform.wait_for_job(api, name)

    names = [j["name"] for j in api.get("/jobs").json()["jobs"]]
    assert names == [a1, a2, b1]  # oldest first
    assert [j["name"] for j in api.get("/jobs", params={"limit": 2}).json()["jobs"]] == [a2, b1]
    standard = api.get("/jobs", params=[("kind", "standard")]).json()["jobs"]
    assert [j["name"] for j in standard] == [a1, b1]
    both = api.get("/jobs", params=[("kind", "standard"), ("kind", "signal_metrics")]).json()
    assert len(both["jobs"]) == 3
    assert [
        j["name"] for j in api.get("/jobs", params={"display_name": "list_b"}).json()["jobs"]
    ] == [b1]
    assert [j["name"] for j in api.get("/jobs", params={"set_name": first_set}).json()["jobs"]] == [
        a1,
        a2,
    ]
    by_names = api.get("/jobs", params=[("names", a1), ("names", b1), ("names", "nope")]).json()
    assert {j["name"] for j in by_names["jobs"]} == {a1, b1}
    too_many = api.get("/jobs", params=[("names", f"n{i}") for i in range(101)])
    assert too_many.status_code == 400
    last = api.get("/jobs/last_set").json()["jobs"]
    assert [j["name"] for j in last] == [b1]


# Scale-out too: deleting a job deletes its result files in the S3 store.
@pytest.mark.backends("sqlite", "scaleout")
def test_delete_and_bulk_delete(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "deletes")
    names = [create_job(api, set_name, "standard") for _ in range(3)]
    for name in names:
        platform.wait_for_job(api, name)
    results = api.get(f"/results/{names[0]}").json()
    shuffled = results["shuffled"][0]
    assert storage_path(platform, shuffled)

    deleted = api.delete(f"/jobs/{names[0]}")
    assert deleted.status_code == 200 and deleted.json()["deleted_at"] is not None
    with pytest.raises(FileNotFoundError):
        storage_path(platform, shuffled)
    assert api.get(f"/results/{names[0]}").status_code == 404
    assert names[0] not in [j["name"] for j in api.get("/jobs").json()["jobs"]]
    with_deleted = api.get("/jobs", params={"include_deleted": True}).json()["jobs"]
    assert names[0] in [j["name"] for j in with_deleted]

    bulk = api.post("/jobs/bulk-delete", json={"job_names": [names[1], names[2], "nope", names[0]]})
    assert bulk.status_code == 200
    body = bulk.json()
    assert sorted(j["name"] for j in body["deleted_jobs"]) == sorted(names[1:])
    assert sorted(body["failed_jobs"]) == sorted(["nope", names[0]])
    too_many = api.post("/jobs/bulk-delete", json={"job_names": [f"n{i}" for i in range(101)]})
    assert too_many.status_code == 422


def test_job_flow_creates_the_whole_run(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "flow")
    response = api.post("/jobs/flow", json={"set_name": set_name})
    assert response.status_code == 200, response.text
    created = response.json()["jobs"]
    jobs = {j["name"]: api.get(f"/jobs/{j['name']}").json() for j in created}
    by_kind = {j["parameters_name"]: j for j in jobs.values()}
    assert set(by_kind) == {"standard", "privacy_metrics", "signal_metrics", "report"}
    standard = platform.wait_for_job(api, by_kind["standard"]["name"])
    assert standard["status"] == "finished"


# Scale-out too: statuses and progress as the Dask executor reports them.
@pytest.mark.backends("sqlite", "scaleout")
def test_statuses_and_progress_along_a_run(platform: Any, api: httpx.Client) -> None:
    """The dispatcher starts the job on its own; statuses stay within the official enum
    (never "running") and progress within [0, 1]."""
    set_name = create_set(api, "progress")
    name = create_job(api, set_name, "standard")
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = api.get(f"/jobs/{name}").json()
        seen.add(job["status"])
        assert 0.0 <= job["progress"] <= 1.0
        if job["done"]:
            break
        time.sleep(0.02)
    assert "finished" in seen and seen <= {"queued", "pending", "finished"}


# Scale-out too: the task stops on its Dask worker and leaves nothing in the S3 store.
@pytest.mark.backends("sqlite", "scaleout")
def test_deleting_a_running_job_stops_it_and_leaves_no_files(
    platform: Any, api: httpx.Client, user: Any
) -> None:
    platform.upload(user.api_key, "big.csv", big_table_csv(60_000))
    set_name = create_set(api, "big_delete", file="big.csv", table="big", columns=BIG_COLUMNS, k=10)
    name = create_job(api, set_name, "standard")
    wait_status(api, name, {"pending"})
    deleted = api.delete(f"/jobs/{name}")
    assert deleted.status_code == 200 and deleted.json()["deleted_at"]
    job = platform.wait_for_job(api, name, timeout=60)
    assert job["status"] in ("cancelled", "finished") and job["deleted_at"], job
    prefix = f"{user.id}/30d/results/{set_name}/{name}/"
    assert list(platform.storage.list(prefix)) == []
    assert api.get(f"/results/{name}").status_code == 404


def test_metrics_of_uploaded_avatars(
    platform: Any, api: httpx.Client, user: Any, iris_csv: bytes
) -> None:
    """Avatars made elsewhere (``add_table(..., avatar_data)``): measured without standard job."""
    frame = pd.read_csv(io.BytesIO(iris_csv))
    avatars = frame.sample(frac=1, random_state=1).reset_index(drop=True)
    platform.upload(user.api_key, "iris_avatars.csv", avatars.to_csv(index=False).encode())
    set_name = create_set(api, "own_avatars", avatars_file="iris_avatars.csv")
    signal = platform.wait_for_job(api, create_job(api, set_name, "signal_metrics"))
    assert signal["status"] == "finished", signal
    privacy = platform.wait_for_job(api, create_job(api, set_name, "privacy_metrics"))
    assert privacy["status"] == "finished", privacy
    url = api.get(f"/results/{privacy['name']}").json()["privacy_metrics"][0]
    assert json.loads(storage_path(platform, url))["metadata"]["table_name"] == "iris"


def test_metrics_documents_have_their_own_parameters(platform: Any, api: httpx.Client) -> None:
    """A privacy document's own ncp, exclusion, known_variables, target and quantile_threshold
    win over the avatarization's; a signal document's exclusion applies, its projection
    parameters are listed as not used."""
    text = resource_yaml("iris_own", k=10, extra_standard="      ncp: 4\n")
    text = text.replace(
        "  results:\n    volume: results\n    path: privacy_metrics\n",
        "  privacy_metrics:\n    iris:\n      ncp: 2\n"
        "      known_variables:\n      - sepal.length\n      target: variety\n"
        "      quantile_threshold: 20\n      exclude_variables:\n        variable_names:\n"
        "        - petal.width\n"
        "  results:\n    volume: results\n    path: privacy_metrics\n",
    )
    text = text.replace(
        "  results:\n    volume: results\n    path: signal_metrics\n",
        "  signal_metrics:\n    iris:\n      ncp: 2\n"
        "      exclude_variables:\n        variable_names:\n        - petal.width\n"
        "  results:\n    volume: results\n    path: signal_metrics\n",
    )
    response = put_set(api, "iris_own", text)
    assert response.status_code == 200, response.text
    set_name = response.json()["set_name"]
    standard = create_job(api, set_name, "standard")
    privacy = create_job(api, set_name, "privacy_metrics", [f"/jobs/{standard}"])
    signal = create_job(api, set_name, "signal_metrics", [f"/jobs/{standard}"])
    for name in (standard, privacy, signal):
        assert platform.wait_for_job(api, name)["status"] == "finished"
    [privacy_url] = api.get(f"/results/{privacy}").json()["privacy_metrics"]
    document = json.loads(storage_path(platform, privacy_url))
    space = document["details"]["space"]
    assert space["ncp"] == 2 and "petal.width" not in space["variables"]
    assert document["correlation_protection_rate"] is not None
    assert document["inference_categorical"] is not None
    [signal_url] = api.get(f"/results/{signal}").json()["signal_metrics"]
    signal_json = json.loads(storage_path(platform, signal_url))
    measured = {row["variable"] for row in signal_json["details"]["variables"]}
    assert "petal.width" not in measured and "sepal.length" in measured
    assert list(signal_json["metadata"]["parameters_not_used"]) == ["ncp"]
