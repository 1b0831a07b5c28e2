"""The audit trail: logins, key creation, job creation, downloads; scoped like everything."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from avatars.models import EventLog
from server_helpers import create_job, create_set


# PostgreSQL too: newest-first order and keyset pagination (starting_after) compare timestamps.
@pytest.mark.backends("sqlite", "postgres")
def test_audit_trail(platform: Any, iris_csv: bytes) -> None:
    user = platform.new_user()  # logs in and creates a key
    client = platform.client(user.api_key)
    platform.upload(user.api_key, "iris.csv", iris_csv)
    set_name = create_set(client, "audited")
    job = create_job(client, set_name, "standard")
    assert client.get("/datasets/iris.csv").status_code == 200

    events = [EventLog.model_validate(e) for e in client.get("/event-logs").json()]
    seen = {(e.verb, e.object_type) for e in events}
    assert {
        ("login", "user"),
        ("create", "api_key"),
        ("create", "resource"),
        ("create", "job"),
        ("create", "file"),
        ("download", "file"),
    } <= seen
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    assert any(e.object_id is not None and str(e.object_id) == job for e in events)
    assert all(str(e.user_id) == user.id for e in events)
    assert (
        "plaintext" not in client.get("/event-logs").text
        and user.api_key not in client.get("/event-logs").text
    )

    jobs_only = client.get("/event-logs", params={"object_type": "job"}).json()
    assert {e["object_type"] for e in jobs_only} == {"job"}
    first_page = client.get("/event-logs", params={"limit": 2}).json()
    second_page = client.get(
        "/event-logs", params={"limit": 2, "starting_after": first_page[-1]["id"]}
    ).json()
    assert (
        len(first_page) == 2
        and second_page
        and second_page[0]["id"] not in {e["id"] for e in first_page}
    )
    assert second_page[0]["created_at"] <= first_page[-1]["created_at"]

    # The admin of the organization sees it; a stranger does not.
    admin_events = (
        platform.client(platform.admin.api_key).get("/event-logs", params={"limit": 1000}).json()
    )
    assert job in {e["object_id"] for e in admin_events}
    stranger = platform.new_user(organization=f"org-{uuid.uuid4().hex[:6]}", admin=True)
    assert job not in platform.client(stranger.api_key).get("/event-logs").text
    assert (
        platform.client(stranger.api_key)
        .get("/event-logs", params={"starting_after": first_page[-1]["id"]})
        .status_code
        == 404
    )
