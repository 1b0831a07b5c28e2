"""The command line as a user runs it (subprocesses, from another folder): ``avatars serve``
creates the platform and says how to make its first admin; ``avatars users create|list`` and
``avatars api-keys create`` work on that platform's data directory (or database) and refuse,
creating nothing, where there is none; the generated secret key persists; the access log of
``avatars serve`` holds no secret."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url


def _cli(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    return subprocess.run(
        [sys.executable, "-m", "avatars.cli", *args],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def _backend_env(fresh_database_url: str) -> dict[str, str]:
    if fresh_database_url.startswith("sqlite"):
        return {}
    return {"AVATAR_DATABASE_URL": fresh_database_url}


# PostgreSQL too: the commands write to the database named by AVATAR_DATABASE_URL, where the
# server reads; on SQLite everything (database, secret key) comes from the data directory.
@pytest.mark.backends("sqlite", "postgres")
def test_serve_then_users_and_keys_from_another_folder(
    tmp_path: Path, fresh_database_url: str, start_server: Any
) -> None:
    data_dir = tmp_path / "data"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _backend_env(fresh_database_url)

    # A first start without AVATAR_ADMIN_*: nobody could log in, and the server says so.
    server = start_server(data_dir, env, log_level="info")
    log = server.log()
    assert "nobody can log in" in log, log
    assert f"avatars users create --email you@example.org --admin --data-dir {data_dir}" in log

    pointed = {**env, "AVATAR_DATA_DIR": str(data_dir)}
    created = _cli(
        pointed,
        "users",
        "create",
        "--email",
        "Ada@Example.com",
        "--password",
        "ada-password-1",
        "--admin",
        "--organization",
        "acme",
        cwd=elsewhere,
    )
    assert created.returncode == 0, created.stderr
    assert "created admin ada@example.com" in created.stdout
    again = _cli(
        env,
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--password",
        "whatever-1",
        "--data-dir",
        str(data_dir),
        cwd=elsewhere,
    )
    assert again.returncode == 1 and "not available" in again.stderr
    key = _cli(
        env,
        "api-keys",
        "create",
        "--email",
        "ada@example.com",
        "--name",
        "ci",
        "--data-dir",
        str(data_dir),
        cwd=elsewhere,
    )
    assert key.returncode == 0, key.stderr
    plaintext = key.stdout.strip()
    assert len(plaintext) == 96
    assert _cli(pointed, "api-keys", "create", "--email", "nobody@example.com").returncode == 1
    listed = _cli(pointed, "users", "list", cwd=elsewhere)
    assert "ada@example.com" in listed.stdout and "acme" in listed.stdout
    assert not (elsewhere / "avatars-data").exists()

    # The running server knows the key made by the command line.
    me = httpx.get(
        f"{server.api_url}/users/me", headers={"Authorization": f"api-key-v1 {plaintext}"}
    )
    assert me.status_code == 200 and me.json()["role"] == "admin"
    tokens = httpx.post(
        f"{server.api_url}/login",
        data={"username": "ada@example.com", "password": "ada-password-1"},
    ).json()
    secret = data_dir / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    server.stop()
    # A restart keeps the secret key: tokens issued before it stay valid; the platform has a
    # user now, so no hint.
    server = start_server(data_dir, env, log_level="info")
    after = httpx.get(
        f"{server.api_url}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert after.status_code == 200
    assert server.log().count("nobody can log in") == 1  # the first start's only


# PostgreSQL too: there the commands must tell an empty database from a platform's (and keep
# its password out of the message); on SQLite, a folder without the platform's database.
@pytest.mark.backends("sqlite", "postgres")
def test_users_and_keys_refuse_a_folder_without_platform(
    tmp_path: Path, fresh_database_url: str
) -> None:
    """Run from the wrong folder, the commands used to create an empty ./avatars-data and a
    key nobody could use; now they fail, name the folder and say how to point at the right
    one, and create nothing."""
    env = _backend_env(fresh_database_url)
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    commands = [
        ["users", "create", "--email", "ada@example.com", "--password", "ada-password-1"],
        ["users", "list"],
        ["api-keys", "create", "--email", "ada@example.com"],
    ]
    for command in commands:
        for extra, folder in (([], cwd / "avatars-data"), (["--data-dir", str(empty)], empty)):
            result = _cli(env, *command, *extra, cwd=cwd)
            assert result.returncode == 1, (command, result.stdout, result.stderr)
            assert result.stdout == ""  # no key, no user printed
            message = result.stderr
            if fresh_database_url.startswith("sqlite"):
                assert f"no platform database in {folder}" in message, message
                assert "--data-dir" in message and "AVATAR_DATA_DIR" in message, message
            else:
                assert "holds no platform" in message and "AVATAR_DATABASE_URL" in message
                password = make_url(fresh_database_url).password
                assert not password or str(password) not in message
            assert "avatars serve" in message, message
    assert not (cwd / "avatars-data").exists()
    assert list(empty.iterdir()) == []
    assert sorted(p.name for p in cwd.iterdir()) == []


def test_refresh_tokens_stay_out_of_the_access_log(tmp_path: Any, start_server: Any) -> None:
    env = {"AVATAR_ADMIN_EMAIL": "a@example.com", "AVATAR_ADMIN_PASSWORD": "admin-password-1"}
    server = start_server(tmp_path / "data", env, log_level="info")
    tokens = httpx.post(
        f"{server.api_url}/login",
        data={"username": "a@example.com", "password": "admin-password-1"},
    ).json()
    assert (
        httpx.post(
            f"{server.api_url}/refresh", params={"token": tokens["refresh_token"]}
        ).status_code
        == 200
    )
    server.stop()
    log = server.log()
    assert "/api/refresh?token=[redacted]" in log
    assert tokens["refresh_token"] not in log and "admin-password-1" not in log
