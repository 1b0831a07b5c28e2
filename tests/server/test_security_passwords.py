"""Issue 16.5: the password policy.

"password" and "12345678" were accepted, and a password over 1,024 characters was stored but
could never be used to log in (the login form stops at 1,024). Now new passwords have a
minimum length, are not among the 10,000 most common ones of breach lists nor the user's own
e-mail or name, and are capped at 1,024 characters with a message saying so, everywhere a
password is set: the API, the password reset, the command line and the first admin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from security_helpers import ADMIN_EMAIL, bearer, login, running, state

from avatars.server.config import Settings
from avatars.server.main import create_app
from avatars.server.services import accounts
from avatars.server.services.passwords import MAX_PASSWORD_LENGTH, common_passwords
from cli_runner import avatars


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    with running(tmp_path / "data") as client:
        yield client


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("password", "most common"),
        ("12345678", "most common"),
        ("PassWord1", "most common"),  # compared case-insensitively
        ("iloveyou", "most common"),
        ("zzzzzzzzzz", "repeated"),
        ("short", "at least 8"),
        ("x" * (MAX_PASSWORD_LENGTH - 2) + "!?a", "at most 1024"),
        ("newcomer@example.org", "e-mail"),
        ("newcomer", "e-mail"),
    ],
)
def test_weak_passwords_are_refused(app: TestClient, password: str, problem: str) -> None:
    headers = bearer(login(app)["access_token"])
    response = app.post(
        "/api/users",
        json={"email": "newcomer@example.org", "password": password},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert problem in response.json()["message"]
    assert (
        app.get("/api/users", params={"email": "newcomer@example.org"}, headers=headers).json()
        == []
    )


def test_the_longest_password_accepted_can_log_in(app: TestClient) -> None:
    headers = bearer(login(app)["access_token"])
    longest = "correct horse battery staple " * 40
    longest = longest[:MAX_PASSWORD_LENGTH]
    created = app.post(
        "/api/users", json={"email": "long@example.org", "password": longest}, headers=headers
    )
    assert created.status_code == 200, created.text
    assert login(app, "long@example.org", longest)["access_token"]


def test_the_list_is_the_top_ten_thousand() -> None:
    common = common_passwords()
    assert len(common) == 10_000
    assert {"password", "12345678", "qwerty", "letmein"} <= common


def test_a_reset_applies_the_policy(app: TestClient) -> None:
    _user, token = accounts.issue_reset_token(state(app), ADMIN_EMAIL)
    body = {"email": ADMIN_EMAIL, "token": token}
    weak = app.post(
        "/api/login/reset_password",
        json={**body, "new_password": "12345678", "new_password_repeated": "12345678"},
    )
    assert weak.status_code == 400 and "most common" in weak.json()["message"]
    strong = app.post(
        "/api/login/reset_password",
        json={
            **body,
            "new_password": "tulip-orbit-canal",
            "new_password_repeated": "tulip-orbit-canal",
        },
    )
    assert strong.status_code == 200, strong.text


def test_the_command_line_applies_the_policy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(data):
        pass  # a platform to add users to
    # ``avatars users create`` in this process (tests/cli_runner.py)
    created = avatars(
        "users", "create", "--email", "cli@example.org", "--password", "password1",
        "--data-dir", str(data), cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 1
    assert "most common" in created.stderr


def test_a_common_admin_password_stops_the_start(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", admin_email="boss@example.org", admin_password="changeme"
    )
    with (
        pytest.raises(RuntimeError, match=r"AVATAR_ADMIN_PASSWORD.*most common"),
        TestClient(create_app(settings, run_jobs=False)),
    ):
        pass


def test_an_unknown_name_costs_the_same_verification_as_a_wrong_password() -> None:
    """A login for a name nobody has is verified against a hash of the hasher's own cost (no
    user enumeration through timing), made on first use: importing the module hashes nothing."""
    from argon2 import extract_parameters

    from avatars.server import security

    assert security.verify_password(None, "anything") is False
    assert security._dummy is not None
    dummy_hasher, dummy = security._dummy
    assert dummy_hasher is security._hasher
    known = security.hash_password("a known user's password")
    assert extract_parameters(dummy) == extract_parameters(known)
    assert security.verify_password(known, "a wrong password") is False
    assert security.verify_password(known, "a known user's password") is True
