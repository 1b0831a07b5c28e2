"""Health, client compatibility, OpenAPI, and the shape of errors: JSON with a message,
and a Content-Type on every response."""

from __future__ import annotations

from typing import Any

import pytest

from avatars.models import CompatibilityResponse


def test_health(platform: Any) -> None:
    for path in ("/health", "/health/db", "/"):
        response = platform.http.get(f"{platform.api_url}{path}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["message"]
    assert platform.http.get(f"{platform.api_url}/health").json()["message"] == "ok"
    # "/" is the web application (its login page for a visitor); the API's root is "/api/".
    root = platform.http.get(platform.base_url + "/")
    assert root.status_code == 303 and root.headers["location"] == "/login"
    login = platform.http.get(platform.base_url + "/login")
    assert login.status_code == 200 and login.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("user_agent", "status", "newest"),
    [
        ("avatar-python/1.20.0", "compatible", None),
        ("avatar-python/1.17.0", "compatible", None),
        ("avatar-python/1.30.4", "compatible", None),
        ("avatar-python/1.16.2", "incompatible", "1.30.0"),
        ("avatar-python/1.31.0", "incompatible", "1.30.0"),
        ("avatars-sdk/0.1.0", "compatible", None),
        ("curl/8.0", "compatible", None),
        ("", "compatible", None),
    ],
)
def test_check_client(platform: Any, user_agent: str, status: str, newest: str | None) -> None:
    response = platform.http.get(
        f"{platform.api_url}/check_client", headers={"User-Agent": user_agent}
    )
    assert response.status_code == 200
    body = CompatibilityResponse.model_validate(response.json())
    assert body.status == status
    assert body.most_recent_compatible_client == newest
    assert body.message


def test_openapi(platform: Any) -> None:
    schema = platform.http.get(f"{platform.api_url}/openapi.json").json()
    paths = schema["paths"]
    for path in [
        "/api/login",
        "/api/refresh",
        "/api/jobs",
        "/api/jobs/{job_name}",
        "/api/jobs/{job_name}/cancel",
        "/api/jobs/flow",
        "/api/jobs/last_set",
        "/api/jobs/bulk-delete",
        "/api/results/{job_name}",
        "/api/access",
        "/api/access/batch",
        "/api/upload_url",
        "/api/users/me",
        "/api/api-keys",
        "/api/resources/{display_name}",
        "/api/event-logs",
        "/api/datasets/{name}",
        "/api/check_client",
    ]:
        assert path in paths, path
    assert not any(p.startswith("/storage") for p in paths)


def test_errors_are_json_with_a_message(platform: Any) -> None:
    api = platform.client(platform.admin.api_key)
    unknown = api.get("/no/such/thing")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/json"
    assert "no such endpoint" in unknown.json()["message"]
    assert unknown.json()["detail"]["message"] == unknown.json()["message"]

    wrong_method = api.patch("/jobs")
    assert wrong_method.status_code == 405 and "not allowed" in wrong_method.json()["message"]

    invalid = api.post("/jobs", json={"set_name": "not-a-uuid"})
    assert invalid.status_code == 422
    body = invalid.json()
    assert isinstance(body["detail"], list) and body["detail"][0]["loc"]
    assert "set_name" in body["message"] and "parameters_name" in body["message"]

    not_json = api.post("/jobs", content=b"{oops", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["message"]


def test_every_response_has_a_content_type(platform: Any) -> None:
    api = platform.client(platform.admin.api_key)
    responses = [
        api.get("/upload_url"),
        api.get("/jobs"),
        api.delete("/api-keys/00000000-0000-4000-8000-000000000000"),
        api.get("/results/nope"),
        api.options("/jobs"),
        api.head("/health"),
        platform.http.get(f"{platform.api_url}/jobs"),
    ]
    for response in responses:
        assert response.headers.get("content-type"), (response.request.url, response.status_code)
    upload_url = api.get("/upload_url").json()
    assert upload_url == f"s3://{platform.admin.id}/30d"
