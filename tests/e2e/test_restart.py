"""A job interrupted by a server stop runs again (or ends ``lost``) at the next start: never
``pending`` forever.

These tests are about the embedded executor, whose worker processes belong to the API process.
They run on SQLite and PostgreSQL: recovery rests on the database (heartbeats compared with
the time, claims, attempts), and each database keeps them its own way. On the scale-out stack
jobs run on Dask workers and outlive API restarts: tests/scaleout has that stack's fault tests
(killed Dask worker, API restarted mid-job, store and database down).
"""

from __future__ import annotations

import time
from typing import Any

import psutil
import pytest

from server_helpers import BIG_COLUMNS, big_table_csv, create_job, create_set, wait_status

ROWS = 40_000  # seconds of engine time, and about as long to write the results


pytestmark = pytest.mark.backends("sqlite", "postgres")


@pytest.fixture(scope="module")
def big_csv() -> bytes:
    return big_table_csv(ROWS)


def _start_long_job(platform: Any, big_csv: bytes) -> str:
    platform.upload(platform.admin.api_key, "big.csv", big_csv)
    client = platform.client(platform.admin.api_key)
    set_name = create_set(client, "long", file="big.csv", table="big", columns=BIG_COLUMNS, k=10)
    name = create_job(client, set_name, "standard")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # running, inside the engine
        job = client.get(f"/jobs/{name}").json()
        if job["status"] == "pending" and job["progress"] >= 0.1:
            return name
        assert not job["done"], job
        time.sleep(0.05)
    raise AssertionError("the job never got going")


def _children(platform: Any) -> list[psutil.Process]:
    return psutil.Process(platform.server.process.pid).children(recursive=True)


def test_killed_server_reruns_the_job(live_platform_factory: Any, big_csv: bytes) -> None:
    platform = live_platform_factory(
        env={"AVATAR_HEARTBEAT_TIMEOUT_SECONDS": "2", "AVATAR_WORKERS": "1"}
    )
    name = _start_long_job(platform, big_csv)
    workers = _children(platform)
    assert workers, "jobs run in worker processes"
    platform.restart(kill=True)
    # The worker processes die with the server: nothing keeps computing for nobody.
    _gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, alive

    client = platform.client(platform.admin.api_key)
    job = platform.wait_for_job(client, name, timeout=120)
    assert job["status"] == "finished", job
    assert client.get(f"/results/{name}").json()["shuffled"]


def test_a_job_out_of_attempts_ends_lost(live_platform_factory: Any, big_csv: bytes) -> None:
    platform = live_platform_factory(
        env={"AVATAR_HEARTBEAT_TIMEOUT_SECONDS": "2", "AVATAR_JOB_MAX_ATTEMPTS": "1"}
    )
    name = _start_long_job(platform, big_csv)
    platform.restart(kill=True)
    client = platform.client(platform.admin.api_key)
    job = platform.wait_for_job(client, name, timeout=60)
    assert job["status"] == "lost" and job["done"] is True
    assert "worker stopped responding" in job["exception"]


def test_clean_stop_hands_the_job_back(live_platform_factory: Any, big_csv: bytes) -> None:
    # A long heartbeat timeout: only the hand-back at shutdown can make this quick.
    platform = live_platform_factory(env={"AVATAR_HEARTBEAT_TIMEOUT_SECONDS": "600"})
    name = _start_long_job(platform, big_csv)
    platform.restart(kill=False)
    client = platform.client(platform.admin.api_key)
    assert client.get(f"/jobs/{name}").json()["status"] in ("queued", "pending")
    job = wait_status(client, name, {"finished", "error", "lost"}, timeout=60)
    assert job["status"] == "finished", job


def _job_workers(platform: Any) -> list[psutil.Process]:
    """The processes that run jobs: children of the forkserver, itself a child of the server."""
    found = []
    for process in _children(platform):
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.ppid() != platform.server.process.pid and "forkserver" in " ".join(
                process.cmdline()
            ):
                found.append(process)
        except psutil.Error:  # gone meanwhile
            continue
    return found


def _wait_running_again(client: Any, name: str, previous: set[int], platform: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{name}").json()
        fresh = {p.pid for p in _job_workers(platform)} - previous
        if fresh and job["status"] == "pending" and job["progress"] >= 0.1:
            return
        assert not job["done"], job
        time.sleep(0.05)
    raise AssertionError("the job did not run again")


# SQLite only: a worker process killed under a running job is the local executor's business
# (a broken process pool replaced, the job retried then failed); the database only records it.
@pytest.mark.backends("sqlite")
def test_a_crashing_worker_does_not_take_the_server_down(
    live_platform_factory: Any, big_csv: bytes
) -> None:
    platform = live_platform_factory(env={"AVATAR_WORKERS": "1"})
    name = _start_long_job(platform, big_csv)
    client = platform.client(platform.admin.api_key)
    # Killed once (as by the kernel's OOM killer): the job runs again in a new worker.
    first = _job_workers(platform)
    assert len(first) == 1
    first[0].kill()
    _wait_running_again(client, name, {p.pid for p in first}, platform)
    # Killed again: out of attempts, the job ends in error and says why.
    second = _job_workers(platform)
    for process in second:
        process.kill()
    job = platform.wait_for_job(client, name, timeout=60)
    assert job["status"] == "error", job
    assert "stopped unexpectedly" in job["exception"]
    # The API never went down and new jobs still run.
    set_name = create_set(
        client, "after-crash", file="big.csv", table="big", columns=BIG_COLUMNS, k=10
    )
    after = platform.wait_for_job(client, create_job(client, set_name, "standard"), timeout=120)
    assert after["status"] == "finished", after
