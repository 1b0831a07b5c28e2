"""The command line: ``avatars users create|list`` and ``avatars api-keys create`` on the same
data directory (or database) as ``avatars serve``; the generated secret key persists; the
access log of ``avatars serve`` holds no secret."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avatars.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# PostgreSQL too: the commands write to the database named by AVATAR_DATABASE_URL, where the
# server reads; on SQLite everything (database, secret key) comes from the data directory.
@pytest.mark.backends("sqlite", "postgres")
def test_cli_users_and_keys_then_serve(
    tmp_path: Path, fresh_database_url: str, start_server: Any
) -> None:
    data_dir = tmp_path / "data"
    env = {"AVATAR_DATA_DIR": str(data_dir)}
    if not fresh_database_url.startswith("sqlite"):
        env["AVATAR_DATABASE_URL"] = fresh_database_url

    created = _cli(
        env,
        "users",
        "create",
        "--email",
        "Ada@Example.com",
        "--password",
        "ada-password-1",
        "--admin",
        "--organization",
        "acme",
    )
    assert created.returncode == 0, created.stderr
    assert "created admin ada@example.com" in created.stdout
    again = _cli(env, "users", "create", "--email", "ada@example.com", "--password", "whatever-1")
    assert again.returncode == 1 and "already exists" in again.stderr
    key = _cli(env, "api-keys", "create", "--email", "ada@example.com", "--name", "ci")
    assert key.returncode == 0, key.stderr
    plaintext = key.stdout.strip()
    assert len(plaintext) == 96
    assert _cli(env, "api-keys", "create", "--email", "nobody@example.com").returncode == 1
    listed = _cli(env, "users", "list")
    assert "ada@example.com" in listed.stdout and "acme" in listed.stdout

    server = start_server(data_dir, env)
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
    # A restart keeps the secret key: tokens issued before it stay valid.
    server = start_server(data_dir, env)
    after = httpx.get(
        f"{server.api_url}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert after.status_code == 200


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
