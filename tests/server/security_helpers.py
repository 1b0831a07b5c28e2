"""Helpers of the security tests (tests/server/test_security_*.py): the application in the
test's process (Starlette's TestClient, no job workers), ``avatars serve`` in a subprocess for
what only a process shows, users and keys, and S3 requests signed with botocore as any S3
client signs them."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fastapi.testclient import TestClient

from avatars.server.clock import ManualClock
from avatars.server.config import Settings
from avatars.server.main import create_app
from avatars.server.services import accounts
from platforms import cheap_password_hashing
from stack import free_port

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "user-password-1"
START = dt.datetime(2031, 5, 17, 9, 30, tzinfo=dt.UTC)


@contextlib.contextmanager
def running(
    data_dir: Path,
    clock: ManualClock | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
    **settings: Any,
) -> Iterator[TestClient]:
    """The platform in this process, with an admin, answering as if to ``client``."""
    cheap_password_hashing()  # as every in-process platform (tests/platforms.py)
    config = Settings(
        data_dir=data_dir,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        **settings,
    )
    app = create_app(config, run_jobs=False, clock=clock)
    with TestClient(app, client=client) as test_client:
        yield test_client


@dataclass
class Served:
    """``avatars serve`` in a subprocess (:func:`serve`)."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def admin_token(self) -> str:
        response = httpx.post(
            f"{self.api_url}/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


@contextlib.contextmanager
def serve(data_dir: Path, log: Path, **env: str) -> Iterator[Served]:
    """``avatars serve`` with an admin on ``data_dir`` (which the server creates if it does not
    exist), none of the test machine's ``AVATAR_*`` settings but ``env``; stopped on exit."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    environ.update(
        AVATAR_DATA_DIR=str(data_dir),
        AVATAR_ADMIN_EMAIL=ADMIN_EMAIL,
        AVATAR_ADMIN_PASSWORD=ADMIN_PASSWORD,
        **env,
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "avatars.cli", "serve", "--port", str(port)],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )
    served = Served(process, port, data_dir, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{served.api_url}/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def state(app: TestClient) -> Any:
    return app.app.state.avatars  # type: ignore[attr-defined]


def login(app: TestClient, username: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Any:
    response = app.post("/api/login", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_key(app: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """A new API key of the user of ``headers``: its ``Authorization`` header."""
    created = app.post("/api/api-keys", json={"name": "k", "expiration_days": 30}, headers=headers)
    assert created.status_code == 200, created.text
    return {"Authorization": f"api-key-v1 {created.json()['api_key']['plaintext']}"}


@dataclass
class Member:
    id: str
    email: str
    password: str
    organization_id: str


def new_member(
    app: TestClient,
    *,
    organization: str | None = None,
    admin: bool = False,
    username: str | None = None,
    email: str | None = None,
) -> Member:
    """A user in the admin's organization, or in ``organization`` (made if needed), created
    as ``avatars users create`` does."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    with state(app).db.writing() as session:
        org = accounts.get_or_create_organization(session, organization or "default")
        user = accounts.create_user(
            session,
            organization_id=org.id,
            email=email,
            username=username,
            password=PASSWORD,
            role="admin" if admin else "user",
        )
        return Member(str(user.id), email, PASSWORD, str(org.id))


# -- S3 ------------------------------------------------------------------------------------------

HOST = "testserver"


def _credentials(keys: dict[str, str]) -> Credentials:
    return Credentials(keys["access_key_id"], keys["secret_access_key"])


def s3_request(
    app: TestClient,
    keys: dict[str, str],
    method: str,
    path: str,
    *,
    body: bytes = b"",
    params: dict[str, str] | None = None,
) -> Any:
    """``method /storage/<path>`` signed with SigV4 header auth by ``keys``."""
    query = f"?{urlencode(params)}" if params else ""
    url = f"http://{HOST}/storage/{path}{query}"
    request = AWSRequest(method=method, url=url, data=body, headers={"Host": HOST})
    S3SigV4Auth(_credentials(keys), "s3", "us-east-1").add_auth(request)
    return app.request(method, url, content=body or None, headers=dict(request.headers.items()))


def presigned_url(keys: dict[str, str], path: str, params: dict[str, str] | None = None) -> str:
    """A presigned GET URL of ``/storage/<path>`` (botocore's query-string signing)."""
    query = f"?{urlencode(params)}" if params else ""
    request = AWSRequest(method="GET", url=f"http://{HOST}/storage/{path}{query}")
    S3SigV4QueryAuth(_credentials(keys), "s3", "us-east-1", expires=600).add_auth(request)
    return str(request.url)
