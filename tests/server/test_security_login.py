"""Issue 16.4: failed logins are limited per client as well as per account, and forwarded
headers are believed only from the proxies of ``AVATAR_TRUSTED_PROXIES``.

One password tried against many accounts (password spraying) was never slowed, and any
loopback client could escape the lockout by sending a fresh ``X-Forwarded-For`` with each
attempt (``avatars serve`` ran uvicorn with ``proxy_headers=True``).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from security_helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PASSWORD,
    Served,
    login,
    new_member,
    running,
    state,
)
from sqlalchemy import select

from avatars.server.db.models import EventLog

WRONG = "not-the-password"


def _attempt(app: TestClient, username: str, password: str = WRONG, **headers: str) -> int:
    response = app.post(
        "/api/login", data={"username": username, "password": password}, headers=headers
    )
    return response.status_code


def test_one_password_against_many_accounts_is_slowed(tmp_path: Path) -> None:
    with running(tmp_path / "data", login_max_failures_per_client=5) as sprayer:
        members = [new_member(sprayer) for _ in range(6)]
        for member in members[:5]:
            assert _attempt(sprayer, member.email) == 401
        # The client is now limited, for every account, even with the right password.
        blocked = sprayer.post(
            "/api/login", data={"username": members[5].email, "password": members[5].password}
        )
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        assert _attempt(sprayer, "nobody@example.org") == 429
    # Another client is not (the same platform, seen from another address).
    with running(tmp_path / "data", client=("192.0.2.7", 4000)) as other:
        assert _attempt(other, members[5].email, members[5].password) == 200


def test_one_account_from_many_clients_is_locked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    member = None
    for number in range(4):
        client = (f"198.51.100.{number}", 4000)
        with running(data, client=client, login_max_failures_per_account=3) as app:
            member = member or new_member(app)
            status = _attempt(app, member.email.upper())  # any spelling is the same account
            assert status == (401 if number < 3 else 429), number


def test_forwarded_headers_are_ignored_by_default(tmp_path: Path) -> None:
    with running(tmp_path / "data") as app:
        for attempt in range(5):
            spoofed = {"X-Forwarded-For": f"203.0.113.{attempt}"}
            assert _attempt(app, ADMIN_EMAIL, **spoofed) == 401
        assert _attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD, **{"X-Forwarded-For": "1.2.3.4"}) == 429


def test_a_trusted_proxy_tells_the_client_address(tmp_path: Path) -> None:
    proxy = ("10.0.0.5", 4000)
    with running(tmp_path / "data", client=proxy, trusted_proxies=["10.0.0.0/24"]) as app:
        # The rightmost address the proxies did not add is the client; what the client wrote
        # on the left ("203.0.113.9") is never used.
        behind = {"X-Forwarded-For": "203.0.113.9, 198.51.100.20, 10.0.0.7"}
        for _ in range(5):
            assert _attempt(app, ADMIN_EMAIL, **behind) == 401
        locked = {"X-Forwarded-For": "198.51.100.20"}
        assert _attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD, **locked) == 429
        other = {"X-Forwarded-For": "198.51.100.21"}
        assert _attempt(app, ADMIN_EMAIL, ADMIN_PASSWORD, **other) == 200
        with state(app).db.reading() as session:
            last = session.scalars(
                select(EventLog.ip).where(EventLog.verb == "login").order_by(EventLog.created_at)
            ).all()[-1]
        assert last == "198.51.100.21"  # the audit trail has the real client


def test_a_right_password_clears_the_account_but_not_the_client(tmp_path: Path) -> None:
    with running(tmp_path / "data", login_max_failures_per_client=6) as app:
        member = new_member(app)
        for _ in range(4):
            assert _attempt(app, member.email) == 401
        login(app, member.email, member.password)  # the account's count is forgotten
        assert _attempt(app, member.email) == 401
        assert _attempt(app, member.email) == 401  # the client's 6th failure
        assert _attempt(app, member.email, member.password) == 429


def test_the_server_process_ignores_forwarded_headers_from_loopback(
    security_server: Served,
) -> None:
    """Through ``avatars serve``: a local client sending a fresh X-Forwarded-For with each
    attempt stays locked out."""
    email = f"sprayed-{uuid.uuid4().hex[:8]}@example.org"  # locked out: nobody else's account
    created = httpx.post(
        f"{security_server.api_url}/users",
        json={"email": email, "password": PASSWORD},
        headers={"Authorization": f"Bearer {security_server.admin_token()}"},
    )
    assert created.status_code == 200, created.text
    url = f"{security_server.api_url}/login"
    for attempt in range(5):
        response = httpx.post(
            url,
            data={"username": email, "password": WRONG},
            headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
        )
        assert response.status_code == 401
    response = httpx.post(
        url,
        data={"username": email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.200"},
    )
    assert response.status_code == 429
