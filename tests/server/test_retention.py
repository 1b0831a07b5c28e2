"""Data retention: uploads, snapshots and results are deleted once older than their prefix says."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from avatars.server.retention import delete_expired
from avatars.server.storage import Storage
from server_helpers import create_job, create_set

DAY = 86_400.0


def _age(path: Path | str, days: float) -> None:
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))


def test_sweep_deletes_what_expired_and_nothing_else(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "storage"))
    user, set_name = uuid.uuid4(), uuid.uuid4()
    ages = {
        f"{user}/30d/old.csv": (31, False),
        f"{user}/30d/recent.csv": (29, True),
        f"{user}/7d/week-old.csv": (8, False),  # written when the setting said 7 days
        f"{user}/30d/results/{set_name}/job-1/iris.shuffled-0.csv": (31, False),
        f"{user}/sets/{set_name}/input/iris.csv": (31, False),  # snapshot: current setting
        f"{user}/sets/{uuid.uuid4()}/input/iris.csv": (10, True),
        f".multipart/{uuid.uuid4().hex}/part-1": (400, True),  # staging has its own purge
        "not-a-user/30d/file.csv": (400, True),
        f"{user}/loose.csv": (400, True),  # outside a retention prefix
    }
    for key, (days, _) in ages.items():
        storage.write_bytes(key, b"a,b\n1,2\n")
        _age(storage.path(key), days)

    deleted = delete_expired(storage, snapshot_days=30)

    assert sorted(deleted) == sorted(k for k, (_, kept) in ages.items() if not kept)
    for key, (_, kept) in ages.items():
        assert storage.exists(key) is kept, key
    assert delete_expired(storage, snapshot_days=30) == []  # nothing left to do


# PostgreSQL too: "expired" compares a job's finished_at (time zone aware) with now. Not on the
# scale-out stack: file ages can only be set by hand on a local storage folder.
@pytest.mark.backends("sqlite", "postgres")
def test_server_sweeps_expired_data_and_says_results_expired(
    platform_factory: Any, iris_csv: bytes
) -> None:
    from avatars.server.db.models import Job

    platform = platform_factory(env={"AVATAR_HOUSEKEEPING_INTERVAL_SECONDS": "0.5"})
    user = platform.new_user()
    api = platform.client(user.api_key)
    platform.upload(user.api_key, "iris.csv", iris_csv)
    platform.upload(user.api_key, "old.csv", iris_csv)
    listed = {d["name"]: d for d in api.get("/datasets").json()["datasets"]}
    expires = dt.datetime.fromisoformat(listed["old.csv"]["expires_at"])
    modified = dt.datetime.fromisoformat(listed["old.csv"]["last_modified"])
    assert expires - modified == dt.timedelta(days=30)

    name = create_job(api, create_set(api, "retention", k=10), "standard")
    assert platform.wait_for_job(api, name)["status"] == "finished"
    results = api.get(f"/results/{name}").json()
    result_keys = [url.split("url=s3://", 1)[1] for urls in results.values() for url in urls]
    storage = platform.storage

    # Thirty-one days later (as far as the files and the database can tell) ...
    _age(storage.path(f"{user.id}/30d/old.csv"), 31)
    for key in result_keys:
        _age(storage.path(key), 31)
    with platform.database_session() as session:
        session.execute(
            update(Job)
            .where(Job.name == name)
            .values(finished_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
        )

    expired = api.get(f"/results/{name}")
    assert expired.status_code == 404
    # "results file for job" is what the official client reads as "expired" (protocol.md §2.3)
    assert "results file for job" in expired.json()["message"]
    assert "kept 30 days" in expired.json()["message"]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and storage.exists(f"{user.id}/30d/old.csv"):
        time.sleep(0.2)
    names = [d["name"] for d in api.get("/datasets").json()["datasets"]]
    assert "old.csv" not in names and "iris.csv" in names
    assert not any(storage.exists(key) for key in result_keys)
    assert api.get("/health").status_code == 200
