"""Isolation: nobody reads what is not theirs. Another organization's objects, and for a plain
user another user's objects, answer 404 exactly like objects that do not exist; an admin sees
their own organization's."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from server_helpers import create_job, create_set


@pytest.fixture
def owned(platform: Any, api: httpx.Client, user: Any) -> dict[str, Any]:
    """Objects of ``user``: a set, a finished job and its results, a dataset, a key."""
    set_name = create_set(api, "private")
    job = create_job(api, set_name, "standard")
    assert platform.wait_for_job(api, job)["status"] == "finished"
    results = api.get(f"/results/{job}").json()
    return {
        "set": set_name,
        "job": job,
        "result_url": results["shuffled"][0],
        "key_id": api.get("/api-keys").json()[0]["id"],
    }


def _not_visible(client: httpx.Client, user: Any, owned: dict[str, Any]) -> None:
    yaml_headers = {"Content-Type": "application/yaml"}
    job, set_name = owned["job"], owned["set"]
    for method, path, kwargs in [
        ("GET", f"/jobs/{job}", {}),
        ("GET", f"/results/{job}", {}),
        ("DELETE", f"/jobs/{job}", {}),
        ("POST", f"/jobs/{job}/cancel", {}),
        ("GET", f"/resources/{set_name}", {}),
        (
            "POST",
            f"/resources/{set_name}",
            {"content": "kind: X\nmetadata: {name: y}\n", "headers": yaml_headers},
        ),
        ("POST", "/jobs", {"json": {"set_name": set_name, "parameters_name": "standard"}}),
        ("GET", "/access", {"params": {"url": owned["result_url"]}}),
        ("GET", "/access", {"params": {"url": f"s3://{user.id}/30d/iris.csv"}}),
        ("GET", f"/users/{user.id}", {}),
        ("DELETE", f"/users/{user.id}", {}),
        ("GET", f"/api-keys/{owned['key_id']}", {}),
        ("DELETE", f"/api-keys/{owned['key_id']}", {}),
        ("GET", "/datasets/iris.csv", {}),
        ("DELETE", "/datasets/iris.csv", {}),
    ]:
        response = client.request(method, path, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["message"]
    assert client.post("/access/batch", json=[owned["result_url"]]).json() == []
    dependent = client.post(
        "/jobs", json={"set_name": set_name, "parameters_name": "x", "depends_on": [job]}
    )
    assert dependent.status_code == 404
    names = [
        j["name"] for j in client.get("/jobs", params={"include_deleted": True}).json()["jobs"]
    ]
    assert job not in names
    assert client.get("/jobs", params={"set_name": set_name}).json()["jobs"] == []
    assert job not in {j["name"] for j in client.get("/jobs/last_set").json()["jobs"]}
    assert str(user.id) not in client.get("/event-logs").text
    assert user.email not in client.get("/users").text


def test_another_organization_sees_nothing(platform: Any, user: Any, owned: dict[str, Any]) -> None:
    outsider = platform.new_user(organization=f"other-{uuid.uuid4().hex[:6]}")
    _not_visible(platform.client(outsider.api_key), user, owned)
    outsider_admin = platform.new_user(organization=f"other-{uuid.uuid4().hex[:6]}", admin=True)
    _not_visible(platform.client(outsider_admin.api_key), user, owned)
    # ... and the owner still has everything.
    client = platform.client(user.api_key)
    assert client.get(f"/jobs/{owned['job']}").status_code == 200
    assert client.get(f"/results/{owned['job']}").status_code == 200
    assert client.get("/datasets/iris.csv").status_code == 200  # not deleted by the others


def test_a_colleague_sees_nothing_but_the_admin_does(
    platform: Any, user: Any, owned: dict[str, Any]
) -> None:
    colleague = platform.new_user()
    _not_visible(platform.client(colleague.api_key), user, owned)

    admin = platform.client(platform.admin.api_key)
    assert admin.get(f"/jobs/{owned['job']}").status_code == 200
    assert admin.get(f"/results/{owned['job']}").status_code == 200
    assert admin.get(f"/resources/{owned['set']}").status_code == 200
    access = admin.get("/access", params={"url": owned["result_url"]})
    assert access.status_code == 200 and access.json()["url"] == owned["result_url"]
    assert admin.get(f"/users/{user.id}").json()["email"] == user.email
    assert owned["job"] in [j["name"] for j in admin.get("/jobs").json()["jobs"]]
