"""The API's rules read one injectable clock (``create_app(settings, clock=...)``): moving a
:class:`ManualClock` expires tokens, API keys, reset tokens, lockouts, storage key pairs,
uploads and results, with no waiting.

The first tests drive the application in the test's process with Starlette's TestClient (no
job workers); the last ones drive it as the other tests do (``platform_factory(clock=...)``,
tests/platforms.py), through our SDK too, and with job workers for the results' retention.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from avatars.server.clock import ManualClock
from avatars.server.config import Settings
from avatars.server.main import create_app
from avatars.server.services import accounts
from platforms import cheap_password_hashing
from server_helpers import create_job, create_set

ADMIN = {"username": "admin@example.com", "password": "admin-password-1"}
START = dt.datetime(2031, 5, 17, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@contextlib.contextmanager
def running(data_dir: Path, clock: ManualClock) -> Iterator[TestClient]:
    cheap_password_hashing()  # as every in-process platform (tests/platforms.py)
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


# -- the same rules as the other tests drive the platform (platform_factory) --------------


def test_access_token_expires_and_is_refreshed(platform_factory: Any, clock: ManualClock) -> None:
    platform = platform_factory(clock=clock, run_jobs=False)  # access tokens: 15 minutes
    tokens = platform.login(platform.admin.email, platform.admin.password)
    me = f"{platform.api_url}/users/me"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    clock.advance(minutes=14)
    assert platform.http.get(me, headers=bearer).status_code == 200
    clock.advance(minutes=2)
    expired = platform.http.get(me, headers=bearer)
    assert expired.status_code == 401
    assert "credentials expired" in expired.json()["detail"]["message"]
    refreshed = platform.http.post(
        f"{platform.api_url}/refresh", params={"token": tokens["refresh_token"]}, headers=bearer
    )
    assert refreshed.status_code == 200, refreshed.text
    renewed = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert platform.http.get(me, headers=renewed).status_code == 200


def test_refresh_token_expires(platform_factory: Any, clock: ManualClock) -> None:
    platform = platform_factory(clock=clock, run_jobs=False)  # refresh tokens: 7 days
    tokens = platform.login(platform.admin.email, platform.admin.password)
    clock.advance(days=7, minutes=1)
    response = platform.http.post(
        f"{platform.api_url}/refresh", params={"token": tokens["refresh_token"]}
    )
    assert response.status_code == 401
    assert "credentials expired" not in response.text  # nothing left to refresh with


def test_api_key_expires(platform_factory: Any, clock: ManualClock) -> None:
    platform = platform_factory(clock=clock, run_jobs=False)
    user = platform.new_user()  # a 30-day key
    client = platform.client(user.api_key)
    clock.advance(days=29, hours=23)
    assert client.get("/users/me").status_code == 200
    clock.advance(hours=2)
    response = client.get("/users/me")
    assert response.status_code == 401 and "expired" in response.json()["message"]
    assert "credentials expired" not in response.text  # no pointless refresh by the client


def test_login_lockout_ends_with_its_window(platform_factory: Any, clock: ManualClock) -> None:
    platform = platform_factory(clock=clock, run_jobs=False)  # 5 failures in 900 s
    user = platform.new_user(with_key=False)
    url = f"{platform.api_url}/login"
    for _ in range(5):
        wrong = platform.http.post(url, data={"username": user.email, "password": "wrong-pw"})
        assert wrong.status_code == 401
    clock.advance(seconds=600)
    blocked = platform.http.post(url, data={"username": user.email, "password": user.password})
    assert blocked.status_code == 429
    assert 200 <= int(blocked.headers["Retry-After"]) <= 300  # what is left of the window
    clock.advance(seconds=301)
    allowed = platform.http.post(url, data={"username": user.email, "password": user.password})
    assert allowed.status_code == 200, allowed.text


def test_password_reset_token_expires(platform_factory: Any, clock: ManualClock) -> None:
    platform = platform_factory(clock=clock, run_jobs=False)  # reset tokens: 60 minutes
    user = platform.new_user(with_key=False)
    url = platform.api_url

    def reset(token: str) -> Any:
        return platform.http.post(
            f"{url}/login/reset_password",
            json={
                "email": user.email,
                "token": token,
                "new_password": "brand-new-pass",
                "new_password_repeated": "brand-new-pass",
            },
        )

    platform.http.post(f"{url}/login/forgotten_password", json={"email": user.email})
    stale = platform.reset_token(user.email, now=clock())
    clock.advance(minutes=61)
    assert reset(stale).status_code == 400
    platform.http.post(f"{url}/login/forgotten_password", json={"email": user.email})
    fresh = platform.reset_token(user.email, now=clock())
    assert fresh != stale
    clock.advance(minutes=59)
    assert reset(fresh).status_code == 200
    assert platform.login(user.email, "brand-new-pass")["access_token"]


def test_data_expires_and_is_swept(platform_factory: Any, iris_csv: bytes) -> None:
    clock = ManualClock()  # ages are the clock's time minus the files': start at the real time
    platform = platform_factory(
        env={"AVATAR_HOUSEKEEPING_INTERVAL_SECONDS": "0.2"}, clock=clock
    )  # uploads and results are kept 30 days
    user = platform.new_user()
    api = platform.client(user.api_key)
    platform.upload(user.api_key, "iris.csv", iris_csv)
    name = create_job(api, create_set(api, "retention", k=10), "standard")
    assert platform.wait_for_job(api, name)["status"] == "finished"
    assert api.get(f"/results/{name}").status_code == 200

    clock.advance(days=29)
    time.sleep(1)  # a few sweeps: nothing is old enough yet
    assert api.get(f"/results/{name}").status_code == 200
    assert [d["name"] for d in api.get("/datasets").json()["datasets"]] == ["iris.csv"]

    clock.advance(days=2)
    api = platform.client(platform.create_api_key(user.email, user.password))  # keys: 30 days
    expired = api.get(f"/results/{name}")
    assert expired.status_code == 404
    assert "results file for job" in expired.json()["message"]  # the official client's words
    deadline = time.monotonic() + 30
    while api.get("/datasets").json()["datasets"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api.get("/datasets").json()["datasets"] == []
    assert list(platform.storage.list(f"{user.id}/30d/")) == []


def test_sdk_refreshes_an_expired_access_token(platform_factory: Any, clock: ManualClock) -> None:
    platform = platform_factory(clock=clock, run_jobs=False)
    user = platform.new_user(with_key=False)
    calls: list[tuple[str, str, int]] = []

    def record(response: Any) -> None:
        calls.append((response.request.method, response.request.url.path, response.status_code))

    client = platform.api_client(
        http_client=platform.http_client(event_hooks={"response": [record]})
    )
    client.authenticate(user.email, user.password)
    first = client.auth_tokens.access
    clock.advance(minutes=16)
    assert client.users.get_me().email == user.email
    refresh_at = calls.index(("POST", "/api/refresh", 200))
    assert calls[refresh_at - 1] == ("GET", "/api/users/me", 401)
    assert calls[refresh_at + 1] == ("GET", "/api/users/me", 200)
    assert client.auth_tokens.access != first
