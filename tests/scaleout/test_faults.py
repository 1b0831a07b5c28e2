"""Faults on the scale-out stack: a Dask worker killed mid-job, the API restarted mid-job, the
S3 store down, PostgreSQL restarted. Jobs end finished or with a message, never stuck; the
servers recover by themselves; nothing partial becomes visible.

Users are driven through our SDK (``avatars.manager.Manager``), as they would be.
"""

from __future__ import annotations

import io
import time
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.session
import numpy as np
import pandas as pd
import pytest

from avatars.manager import Manager
from avatars.models import JobKind

# The faults of the scale-out stack itself (Dask workers, S3 store, PostgreSQL).
pytestmark = pytest.mark.backends("scaleout")

ROWS = 60_000  # seconds of engine time on a Dask worker: long enough to strike mid-job


def big_table(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 8)).round(4), columns=[f"x{i}" for i in range(8)])
    frame["group"] = rng.choice(list("abcdef"), rows)
    return frame


def start_standard_job(platform: Any, name: str, rows: int = ROWS) -> tuple[Any, str]:
    """A runner whose standard job is running (inside the engine) on the cluster."""
    manager = Manager(platform.base_url, api_key=platform.admin.api_key)
    runner = manager.create_runner(name)
    runner.add_table("big", big_table(rows))
    runner.set_parameters("big", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = runner.get_job(JobKind.standard)
        if job.status == "pending" and (job.progress or 0) >= 0.1:
            return runner, job.name
        assert not job.done, job
        time.sleep(0.1)
    pytest.fail("the job did not start")


def wait_done(platform: Any, name: str, timeout: float = 240) -> dict[str, Any]:
    return platform.wait_for_job(platform.client(platform.admin.api_key), name, timeout=timeout)


def test_killed_dask_worker_mid_job_is_retried(
    live_platform_factory: Any, scaleout_stack: Any
) -> None:
    platform = live_platform_factory()
    dask = scaleout_stack.dask
    runner, name = start_standard_job(platform, "kill-worker")
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        victim = dask.running_job_worker()
    assert victim, "no Dask worker is running the job"
    dask.kill_worker(victim)
    try:
        job = wait_done(platform, name)
        # Dask runs the task again on the surviving worker: the job finishes.
        assert job["status"] == "finished", job
        assert len(runner.shuffled("big")) == ROWS
    finally:
        dask.add_worker(f"{victim}-replacement")
        dask.wait_for_workers(2)


def test_every_worker_killed_ends_in_error_with_a_message(
    live_platform_factory: Any, scaleout_stack: Any
) -> None:
    """When the scheduler gives up on a task (its workers keep dying), the job says so."""
    platform = live_platform_factory(env={"AVATAR_JOB_MAX_ATTEMPTS": "1"})
    dask = scaleout_stack.dask
    _, name = start_standard_job(platform, "kill-all")
    killed = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = platform.client(platform.admin.api_key).get(f"/jobs/{name}").json()
            if job["done"]:
                break
            victim = dask.running_job_worker()
            if victim:
                dask.kill_worker(victim)
                killed.append(victim)
                dask.add_worker(f"{victim}-again")
            time.sleep(0.2)
        job = wait_done(platform, name, timeout=60)
        assert killed
        if job["status"] != "finished":  # a replacement may have won the race: also fine
            assert job["status"] == "error", job
            assert "stopped unexpectedly" in job["exception"], job
    finally:
        for worker in list(dask.worker_names()):
            dask.kill_worker(worker)
        dask.add_worker("worker-a")
        dask.add_worker("worker-b")
        dask.wait_for_workers(2)


def test_api_restarted_mid_job_keeps_the_job(live_platform_factory: Any) -> None:
    platform = live_platform_factory()
    runner, name = start_standard_job(platform, "restart-api")
    platform.restart(kill=True)  # SIGKILL: no clean hand-back
    job = wait_done(platform, name)
    assert job["status"] == "finished", job
    assert job["exception"] == ""
    # the task kept running on Dask: one attempt, results where they belong
    assert len(runner.shuffled("big")) == ROWS


def test_store_down_gives_503_and_jobs_fail_cleanly(
    live_platform_factory: Any, scaleout_stack: Any, iris_csv: bytes
) -> None:
    platform = live_platform_factory()
    client = platform.client(platform.admin.api_key)
    manager = Manager(platform.base_url, api_key=platform.admin.api_key)
    runner = manager.create_runner("store-down")
    runner.add_table("iris", pd.read_csv(io.BytesIO(iris_csv)))
    runner.set_parameters("iris", k=5)
    put = client.put(
        "/resources/store-down",
        content=runner.get_yaml(),
        headers={"Content-Type": "application/yaml"},
    )
    assert put.status_code == 200, put.text
    set_name = put.json()["set_name"]
    s3 = scaleout_stack.s3
    s3.kill()  # down at once, as in a crash or a network cut
    try:
        # the API: a clear 503 with a message, not a 500
        response = client.put("/datasets/during-outage.csv", content=b"a,b\n1,2\n")
        assert response.status_code == 503, response.text
        assert "storage" in response.json()["message"]
        # the S3 endpoint: ServiceUnavailable, retryable
        me = client.get("/users/me").json()
        access = client.get("/access", params={"url": f"s3://{me['id']}/30d/x.csv"}).json()
        s3_client = botocore.session.get_session().create_client(
            "s3",
            endpoint_url=f"{platform.base_url}/storage",
            aws_access_key_id=access["credentials"]["access_key_id"],
            aws_secret_access_key=access["credentials"]["secret_access_key"],
            region_name="us-east-1",
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )
        with pytest.raises(botocore.exceptions.ClientError) as info:
            s3_client.put_object(Bucket=me["id"], Key="30d/partial.csv", Body=b"x" * 100_000)
        assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
        # a job started now fails with a message instead of hanging
        created = client.post("/jobs", json={"set_name": set_name, "parameters_name": "standard"})
        assert created.status_code == 200, created.text
        job = wait_done(platform, created.json()["name"], timeout=240)
        assert job["status"] == "error", job
        assert "storage" in job["exception"], job
        assert client.get("/health").status_code == 200  # the server keeps running
    finally:
        s3.start()
    # nothing partial became visible
    names = [d["name"] for d in client.get("/datasets").json()["datasets"]]
    assert "during-outage.csv" not in names and "partial.csv" not in names
    # and the platform works again
    runner.run(jobs_to_run=[JobKind.standard])
    assert len(runner.shuffled("iris")) == 150


def test_postgres_restart_is_survived(
    live_platform_factory: Any, local_postgres: Any, iris_csv: bytes
) -> None:
    if local_postgres is None:
        pytest.skip("PostgreSQL is external (AVATAR_TEST_POSTGRES_URL): cannot restart it")
    platform = live_platform_factory()
    client = platform.client(platform.admin.api_key)
    assert client.get("/health/db").status_code == 200
    local_postgres.restart()
    # The pool notices dead connections (pre-ping) and reconnects: no server restart needed.
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        status = client.get("/users/me").status_code
        if status == 200:
            break
        assert status == 503, status  # while it comes back: a clear, retryable answer
        time.sleep(0.5)
    assert status == 200
    manager = Manager(platform.base_url, api_key=platform.admin.api_key)
    runner = manager.create_runner("after-pg-restart")
    runner.add_table("iris", pd.read_csv(io.BytesIO(iris_csv)))
    runner.set_parameters("iris", k=5)
    runner.run(jobs_to_run=[JobKind.standard])
    assert len(runner.shuffled("iris")) == 150
