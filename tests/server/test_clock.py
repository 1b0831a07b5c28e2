"""The API's rules read one injectable clock (``create_app(settings, clock=...)``): moving a
:class:`ManualClock` expires tokens, API keys, reset tokens, lockouts, storage key pairs and
uploads, with no waiting. The application runs in the test's process (no job workers)."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from avatars.server.clock import ManualClock
from avatars.server.config import Settings
from avatars.server.main import create_app
from avatars.server.services import accounts

ADMIN = {"username": "admin@example.com", "password": "admin-password-1"}
START = dt.datetime(2031, 5, 17, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@contextlib.contextmanager
def running(data_dir: Path, clock: ManualClock) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=data_dir,
        admin_email=ADMIN["username"],
        admin_password=ADMIN["password"],
        housekeeping_interval_seconds=0.1,
    )
    with TestClient(create_app(settings, run_jobs=False, clock=clock)) as client:
        yield client


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    with running(tmp_path / "data", clock) as client:
        yield client


def _login(app: TestClient) -> dict[str, str]:
    response = app.post("/api/login", data=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_times_written_are_the_clocks(app: TestClient) -> None:
    tokens = _login(app)
    [event] = app.get(
        "/api/event-logs", params={"verb": "login"}, headers=_bearer(tokens["access_token"])
    ).json()
    assert dt.datetime.fromisoformat(event["created_at"]) == START
    key = app.post(
        "/api/api-keys",
        json={"name": "k", "expiration_days": 30},
        headers=_bearer(tokens["access_token"]),
    ).json()["api_key"]
    assert dt.datetime.fromisoformat(key["created_at"]) == START
    assert dt.datetime.fromisoformat(key["expires_at"]) == START + dt.timedelta(days=30)


def test_access_and_refresh_tokens_expire_by_the_clock(app: TestClient, clock: ManualClock) -> None:
    tokens = _login(app)
    assert app.get("/api/users/me", headers=_bearer(tokens["access_token"])).status_code == 200
    clock.advance(minutes=16)  # access tokens live 15 minutes
    expired = app.get("/api/users/me", headers=_bearer(tokens["access_token"]))
    assert expired.status_code == 401
    assert "credentials expired" in expired.json()["detail"]["message"]
    refreshed = app.post("/api/refresh", params={"token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert app.get("/api/users/me", headers=_bearer(new["access_token"])).status_code == 200
    clock.advance(days=8)  # refresh tokens live 7 days
    late = app.post("/api/refresh", params={"token": new["refresh_token"]})
    assert late.status_code == 401 and "expired" in late.json()["message"]


def test_api_keys_expire_and_record_their_use_by_the_clock(
    app: TestClient, clock: ManualClock
) -> None:
    tokens = _login(app)
    created = app.post(
        "/api/api-keys",
        json={"name": "k", "expiration_days": 30},
        headers=_bearer(tokens["access_token"]),
    ).json()["api_key"]
    key = {"Authorization": f"api-key-v1 {created['plaintext']}"}
    clock.advance(days=29)
    assert app.get("/api/jobs", headers=key).status_code == 200
    deadline = time.monotonic() + 10
    while True:  # last use is written in the background
        listed = app.get("/api/api-keys", headers=key).json()
        if listed[0]["last_used_at"] is not None:
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.05)
    assert dt.datetime.fromisoformat(listed[0]["last_used_at"]) == START + dt.timedelta(days=29)
    clock.advance(days=2)
    refused = app.get("/api/jobs", headers=key)
    assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_login_lockout_ends_by_the_clock(app: TestClient, clock: ManualClock) -> None:
    for _ in range(5):
        wrong = app.post("/api/login", data={**ADMIN, "password": "wrong-password"})
        assert wrong.status_code == 401
    blocked = app.post("/api/login", data=ADMIN)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 900  # the whole window: no time passed
    clock.advance(seconds=600)
    assert int(app.post("/api/login", data=ADMIN).headers["Retry-After"]) == 300
    clock.advance(seconds=301)
    assert app.post("/api/login", data=ADMIN).status_code == 200


def test_reset_tokens_expire_by_the_clock(app: TestClient, clock: ManualClock) -> None:
    def reset_token() -> str:
        # What `avatars users reset-password` does (no SMTP here; no token is ever logged).
        _user, token = accounts.issue_reset_token(app.app.state.avatars, ADMIN["username"])
        return token

    def reset(token: str) -> int:
        body = {
            "email": ADMIN["username"],
            "token": token,
            "new_password": "new-password-1",
            "new_password_repeated": "new-password-1",
        }
        return app.post("/api/login/reset_password", json=body).status_code

    stale = reset_token()
    clock.advance(minutes=61)  # reset tokens live 60 minutes
    assert reset(stale) == 400
    assert reset(reset_token()) == 200


def test_storage_key_pairs_are_renewed_by_the_clock(app: TestClient, clock: ManualClock) -> None:
    key = app.post(
        "/api/api-keys",
        json={"name": "k", "expiration_days": 30},
        headers=_bearer(_login(app)["access_token"]),
    ).json()["api_key"]["plaintext"]
    headers = {"Authorization": f"api-key-v1 {key}"}
    url = app.get("/api/upload_url", headers=headers).json() + "/x.csv"
    first = app.get("/api/access", params={"url": url}, headers=headers).json()["credentials"]
    again = app.get("/api/access", params={"url": url}, headers=headers).json()["credentials"]
    assert again["access_key_id"] == first["access_key_id"]
    clock.advance(minutes=31)  # less than half of the hour a pair lives is left: a new pair
    later = app.get("/api/access", params={"url": url}, headers=headers).json()["credentials"]
    assert later["access_key_id"] != first["access_key_id"]


def test_uploads_expire_by_the_clock(tmp_path: Path) -> None:
    # Ages are the clock's time minus the files' modification times: start at the real time.
    clock = ManualClock()
    with running(tmp_path / "data", clock) as app:
        _expire_an_upload(app, clock)


def _expire_an_upload(app: TestClient, clock: ManualClock) -> None:
    headers = _bearer(_login(app)["access_token"])
    assert app.put("/api/datasets/old.csv", content=b"a\n1\n", headers=headers).status_code == 200
    time.sleep(0.3)  # a few sweeps: nothing is old yet
    assert [d["name"] for d in app.get("/api/datasets", headers=headers).json()["datasets"]] == [
        "old.csv"
    ]
    clock.advance(days=31)  # uploads are kept 30 days
    headers = _bearer(_login(app)["access_token"])
    deadline = time.monotonic() + 10
    while app.get("/api/datasets", headers=headers).json()["datasets"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
