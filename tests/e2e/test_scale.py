"""Several API processes on one database share the job queue: every job runs exactly once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from avatars.server.db.models import Job
from server_helpers import create_job, create_set


# Every backend: the queue is shared through the database (SQLite's file lock, PostgreSQL's row
# locks), and on the scale-out stack both processes submit to one Dask cluster.
@pytest.mark.backends("sqlite", "postgres", "scaleout")
def test_two_api_processes_share_the_queue(
    live_platform_factory: Any, start_server: Any, iris_csv: bytes
) -> None:
    # A heartbeat timeout far above any stall of a loaded machine: a job taken for lost would
    # run again, legitimately, and hide what this test counts (claims).
    first = live_platform_factory(
        env={"AVATAR_WORKERS": "1", "AVATAR_HEARTBEAT_TIMEOUT_SECONDS": "120"}
    )
    second = start_server(first.server.data_dir, first.server.env)
    first.upload(first.admin.api_key, "iris.csv", iris_csv)
    client = first.client(first.admin.api_key)
    other = httpx.Client(base_url=second.api_url, headers=first.admin.headers, timeout=60)
    set_name = create_set(client, "shared", k=5)
    names = [create_job(client if i % 2 else other, set_name, "standard") for i in range(8)]
    for name in names:
        assert first.wait_for_job(other, name)["status"] == "finished"
    other.close()

    with first.database_session() as session:
        rows = session.execute(
            select(Job.name, Job.attempts, Job.worker).where(Job.name.in_(names))
        ).all()
    assert sorted(r.name for r in rows) == sorted(names)
    assert all(r.attempts == 1 for r in rows), rows  # claimed once, never twice
