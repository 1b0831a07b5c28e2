"""Issue 16.1: storage (S3) key pairs end with the grant that obtained them.

The pairs ``/access`` hands out used to work 7 days after the API key that obtained them was
revoked, after logout and after a password reset. Now each pair is tied to its API key or
login session, checked at every S3 request; it lives an hour and is renewed by asking again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fastapi.testclient import TestClient
from security_helpers import (
    START,
    api_key,
    bearer,
    login,
    new_member,
    running,
    s3_request,
    state,
)
from sqlalchemy import update

from avatars.server.clock import ManualClock
from avatars.server.db.models import ApiKey
from avatars.server.services import accounts

CSV = b"a,b\n1,2\n"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    with running(tmp_path / "data", clock) as client:
        yield client


def _member_session(app: TestClient) -> tuple[Any, dict[str, str]]:
    member = new_member(app)
    return member, bearer(login(app, member.email, member.password)["access_token"])


def _uploaded(app: TestClient, headers: dict[str, str]) -> tuple[str, str]:
    """``(s3 url, bucket/key path)`` of a small table uploaded by the user of ``headers``."""
    assert app.put("/api/datasets/t.csv", content=CSV, headers=headers).status_code == 200
    url = app.get("/api/upload_url", headers=headers).json() + "/t.csv"
    return url, url.removeprefix("s3://")


def _pair(app: TestClient, headers: dict[str, str], url: str) -> dict[str, str]:
    response = app.get("/api/access", params={"url": url}, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["credentials"])


def _reads(app: TestClient, pair: dict[str, str], path: str) -> bool:
    response = s3_request(app, pair, "GET", path)
    if response.status_code == 200:
        assert response.content == CSV
        return True
    assert response.status_code == 403, response.text
    assert b"InvalidAccessKeyId" in response.content or b"ExpiredToken" in response.content
    return False


def test_pairs_end_when_their_api_key_is_revoked(app: TestClient) -> None:
    _member, session = _member_session(app)
    first, second = api_key(app, session), api_key(app, session)
    url, path = _uploaded(app, first)
    pair_one, pair_two = _pair(app, first, url), _pair(app, second, url)
    assert pair_one["access_key_id"] != pair_two["access_key_id"]  # one pair per grant
    assert _reads(app, pair_one, path) and _reads(app, pair_two, path)

    key_ids = [k["id"] for k in app.get("/api/api-keys", headers=session).json()]
    assert app.delete(f"/api/api-keys/{key_ids[0]}", headers=session).status_code == 200
    assert not _reads(app, pair_one, path)
    assert _reads(app, pair_two, path)  # another grant's pair is untouched

    admin = bearer(login(app)["access_token"])
    revoked = app.delete("/api/api-keys/admin", params={"api_key_id": key_ids[1]}, headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert not _reads(app, pair_two, path)


def test_pairs_end_with_the_session_that_obtained_them(app: TestClient) -> None:
    member, one = _member_session(app)
    other = bearer(login(app, member.email, member.password)["access_token"])
    url, path = _uploaded(app, one)
    pair_one, pair_other = _pair(app, one, url), _pair(app, other, url)
    assert app.post("/api/logout", headers=one).status_code == 200
    assert not _reads(app, pair_one, path)
    assert _reads(app, pair_other, path)


def test_a_password_reset_ends_every_pair_of_the_user(app: TestClient) -> None:
    member, session = _member_session(app)
    key = api_key(app, session)
    url, path = _uploaded(app, key)
    by_key, by_session = _pair(app, key, url), _pair(app, session, url)
    _user, token = accounts.issue_reset_token(state(app), member.email)
    reset = app.post(
        "/api/login/reset_password",
        json={
            "email": member.email,
            "token": token,
            "new_password": "a-brand-new-one",
            "new_password_repeated": "a-brand-new-one",
        },
    )
    assert reset.status_code == 200, reset.text
    assert not _reads(app, by_key, path) and not _reads(app, by_session, path)
    # The API key survives a reset; it simply gets a new pair.
    assert _reads(app, _pair(app, key, url), path)


def test_deleting_a_user_ends_their_pairs(app: TestClient) -> None:
    member, session = _member_session(app)
    url, path = _uploaded(app, session)
    pair = _pair(app, session, url)
    admin = bearer(login(app)["access_token"])
    assert app.delete(f"/api/users/{member.id}", headers=admin).status_code == 200
    assert not _reads(app, pair, path)


def test_pairs_live_an_hour_and_are_renewed_by_asking_again(
    app: TestClient, clock: ManualClock
) -> None:
    _member, session = _member_session(app)
    key = api_key(app, session)
    url, path = _uploaded(app, key)
    pair = _pair(app, key, url)
    clock.advance(minutes=20)
    assert _pair(app, key, url) == pair  # the same pair while half its life is left
    clock.advance(minutes=41)
    expired = s3_request(app, pair, "GET", path)
    assert expired.status_code == 403 and b"ExpiredToken" in expired.content
    renewed = _pair(app, key, url)
    assert renewed["access_key_id"] != pair["access_key_id"]
    assert _reads(app, renewed, path)


def test_the_grant_is_checked_at_every_request(app: TestClient) -> None:
    """Even a path that ends a grant without revoking its pairs cannot leave them working:
    the S3 endpoint checks the grant itself."""
    _member, session = _member_session(app)
    key = api_key(app, session)
    url, path = _uploaded(app, key)
    pair = _pair(app, key, url)
    key_id = uuid.UUID(app.get("/api/api-keys", headers=session).json()[0]["id"])
    with state(app).db.writing() as db:
        db.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=START))
    assert not _reads(app, pair, path)


def test_official_client_path_after_revocation(platform: Any, iris_csv: bytes) -> None:
    """Through the running server, with s3fs as the official clients use it."""
    user = platform.new_user()
    api = platform.client(user.api_key)
    path = f"{api.get('/upload_url').json()}/iris.csv"
    platform.upload(user.api_key, "iris.csv", iris_csv)
    credentials = api.get("/access", params={"url": path}).json()["credentials"]

    def storage() -> Any:
        fs, _ = fsspec.url_to_fs(
            "s3://bucket",
            anon=False,
            skip_instance_cache=True,
            client_kwargs={
                "aws_access_key_id": credentials["access_key_id"],
                "aws_secret_access_key": credentials["secret_access_key"],
                "endpoint_url": f"{platform.base_url}/storage",
            },
        )
        return fs

    assert storage().cat(path.removeprefix("s3://")) == iris_csv
    key_id = api.get("/api-keys").json()[0]["id"]
    assert api.delete(f"/api-keys/{key_id}").status_code == 200
    with pytest.raises((PermissionError, OSError)):
        storage().cat(path.removeprefix("s3://"))
