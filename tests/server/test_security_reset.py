"""Issue 16.6: password reset never logs a secret, and is throttled.

Without SMTP the reset token was written to the log at WARNING: whoever reads logs could take
the account over; requests were not limited. Now no token is made when none can be sent (the
log says how an admin issues one: ``avatars users reset-password``), and requests are limited
per address and per client, known address or not.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from security_helpers import ADMIN_EMAIL, login, running, state
from sqlalchemy import func, select

from avatars.server.db.models import PasswordResetToken
from cli_runner import avatars

TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    with running(tmp_path / "data") as client:
        yield client


def _tokens(app: TestClient) -> int:
    with state(app).db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(PasswordResetToken)) or 0)


def _forgot(app: TestClient, email: str) -> int:
    return app.post("/api/login/forgotten_password", json={"email": email}).status_code


def test_no_token_is_made_nor_logged_without_smtp(
    app: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert _forgot(app, ADMIN_EMAIL) == 200
    assert _tokens(app) == 0
    assert not TOKEN.search(caplog.text.replace(_admin_id(app), ""))
    assert "avatars users reset-password" in caplog.text


def _admin_id(app: TestClient) -> str:
    from avatars.server.services import identities

    with state(app).db.reading() as session:
        user = identities.find_user(session, ADMIN_EMAIL)
        assert user is not None
        return str(user.id)


def test_with_smtp_the_token_goes_by_mail_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An SMTP server that is not there: the token is made, the sending fails, nothing leaks.
    with running(tmp_path / "data", smtp_host="127.0.0.1", smtp_port=9) as app:
        with caplog.at_level(logging.DEBUG):
            assert _forgot(app, ADMIN_EMAIL) == 200
            assert _tokens(app) == 1
            deadline = time.monotonic() + 10  # the mail is sent in the background
            while "could not send" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.1)
        assert "could not send" in caplog.text
        assert not TOKEN.search(caplog.text.replace(_admin_id(app), ""))


def test_requests_are_limited_per_address(app: TestClient) -> None:
    for _ in range(5):
        assert _forgot(app, ADMIN_EMAIL) == 200
        assert _forgot(app, "nobody@example.org") == 200
    # The same answer for an address that has an account and one that has not.
    known = app.post("/api/login/forgotten_password", json={"email": ADMIN_EMAIL.upper()})
    unknown = app.post("/api/login/forgotten_password", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 429
    assert int(known.headers["Retry-After"]) > 0
    assert _forgot(app, "somebody-else@example.org") == 200


def test_requests_are_limited_per_client(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(data, password_reset_max_per_client=3) as app:
        for number in range(3):
            assert _forgot(app, f"person{number}@example.org") == 200
        assert _forgot(app, "person9@example.org") == 429
    with running(data, client=("192.0.2.9", 4000), password_reset_max_per_client=3) as other:
        assert _forgot(other, "person9@example.org") == 200


def test_an_admin_issues_a_reset_token_on_the_command_line(app: TestClient, tmp_path: Path) -> None:
    data = state(app).settings.data_dir
    # ``avatars users reset-password`` in this process (tests/cli_runner.py): its options,
    # output and exit code, without a Python start per call
    issued = avatars(
        "users", "reset-password", "--email", ADMIN_EMAIL.upper(), "--data-dir", str(data),
        cwd=tmp_path,
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert TOKEN.fullmatch(token) and "single use" in issued.stderr
    body = {
        "email": ADMIN_EMAIL,
        "token": token,
        "new_password": "tulip-orbit-canal",
        "new_password_repeated": "tulip-orbit-canal",
    }
    assert app.post("/api/login/reset_password", json=body).status_code == 200
    assert app.post("/api/login/reset_password", json=body).status_code == 400  # single use
    assert login(app, ADMIN_EMAIL, "tulip-orbit-canal")["access_token"]

    unknown = avatars(
        "users", "reset-password", "--email", "ghost@example.org", "--data-dir", str(data),
        cwd=tmp_path,
    )  # fmt: skip
    assert unknown.returncode == 1 and "no user ghost@example.org" in unknown.stderr
