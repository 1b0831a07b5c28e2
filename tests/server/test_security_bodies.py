"""Issue 16.2: request bodies are bounded, and read only after authentication.

An unauthenticated 150 MB ``POST /api/users`` used to be read whole (and parsed) before the
401, growing the server by hundreds of megabytes. Now every body is bounded by
``AVATAR_MAX_REQUEST_BYTES`` (uploads by ``AVATAR_MAX_UPLOAD_BYTES``), from
``Content-Length`` and while it streams, and the caller is authenticated before a byte of the
body is read; uploads stream to storage.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient
from security_helpers import Served, bearer, login, running

from avatars.server.main import PUBLIC_BODIES

MB = 1024 * 1024


# -- through the server process: what a client on the network sees --------------------------------


@pytest.fixture
def server(security_server: Served) -> Served:
    """The security tests' ``avatars serve`` (AVATAR_MAX_REQUEST_BYTES of 4 MiB)."""
    return security_server


def _rss(server: Any) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


def _send_head(server: Any, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head.encode())
    return sock


def _answer(sock: socket.socket) -> bytes:
    """The server's answer, read without sending anything more."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


def _push(sock: socket.socket, total: int, chunked: bool) -> int:
    """Send up to ``total`` bytes of body; how many went out before the server closed."""
    block = b"[" + b"1," * (MB // 2 - 1) + b"1"
    sent = 0
    try:
        while sent < total:
            piece = block if not chunked else f"{len(block):x}\r\n".encode() + block + b"\r\n"
            sock.sendall(piece)
            sent += len(block)
    except OSError:  # reset or broken pipe: the server has closed, as it should
        pass
    return sent


def test_an_unauthenticated_body_is_answered_before_it_is_read(server: Any) -> None:
    head = "POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    # Larger than the limit: 413 from Content-Length alone.
    with _send_head(server, head + f"Content-Length: {150 * MB}\r\n\r\n") as sock:
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"connection: close" in answer.lower()
    # Within the limit but unauthenticated: 401 before a single byte of the body was sent.
    with _send_head(server, head + f"Content-Length: {3 * MB}\r\n\r\n") as sock:
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"connection: close" in answer.lower()


def test_an_unauthenticated_stream_does_not_grow_the_server(server: Any) -> None:
    before = _rss(server)
    head = (
        "POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    with _send_head(server, head) as sock:
        _push(sock, 64 * MB, chunked=True)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    started = time.monotonic()
    assert httpx.get(f"{server.api_url}/health", timeout=5).status_code == 200
    assert time.monotonic() - started < 2
    grown = _rss(server) - before
    assert grown < 24 * MB, f"the server grew by {grown / MB:.0f} MB"


def test_an_authenticated_stream_stops_at_the_limit(server: Any) -> None:
    token = server.admin_token()
    before = _rss(server)
    head = (
        "POST /api/access/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with _send_head(server, head) as sock:
        _push(sock, 64 * MB, chunked=True)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    grown = _rss(server) - before
    assert grown < 24 * MB, f"the server grew by {grown / MB:.0f} MB"


def test_uploads_stream_to_storage(server: Any) -> None:
    """A dataset upload larger than AVATAR_MAX_REQUEST_BYTES is accepted, and streamed: the
    server does not hold it (no Content-Type: nothing takes it for JSON to buffer)."""
    token = server.admin_token()
    before = _rss(server)
    size = 48 * MB

    def body() -> Iterator[bytes]:
        for _ in range(size // MB):
            yield b"1" * MB

    response = httpx.put(
        f"{server.api_url}/datasets/big.csv",
        content=body(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    assert response.json()["size"] == size
    grown = _rss(server) - before
    assert grown < 24 * MB, f"the server grew by {grown / MB:.0f} MB"


# -- in the test's process: the rules -------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    with running(
        tmp_path / "data", max_request_bytes=256 * 1024, max_upload_bytes=2 * MB
    ) as client:
        yield client


def test_limits_name_their_setting(app: TestClient) -> None:
    headers = bearer(login(app)["access_token"])
    big = json.dumps(["s3://x/" + "y" * 1000] * 300).encode()  # 300 KB
    declared = app.post(
        "/api/access/batch", content=big, headers={**headers, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert "AVATAR_MAX_REQUEST_BYTES" in declared.json()["message"]

    def streamed() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield big

    counted = app.post(
        "/api/access/batch",
        content=streamed(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert counted.status_code == 413 and "AVATAR_MAX_REQUEST_BYTES" in counted.text

    upload = app.put("/api/datasets/t.csv", content=b"1\n" * (512 * 1024), headers=headers)
    assert upload.status_code == 200, upload.text  # 1 MB: an upload's limit is its own
    too_big = app.put("/api/datasets/t.csv", content=b"1" * (3 * MB), headers=headers)
    assert too_big.status_code == 413 and "AVATAR_MAX_UPLOAD_BYTES" in too_big.text


def _concrete(path: str) -> str:
    return (
        path.replace("{display_name}", "x")
        .replace("{name}", "x.csv")
        .replace("{job_name}", "j")
        .replace("{set_name}", "00000000-0000-0000-0000-000000000000")
        .replace("{id}", "00000000-0000-0000-0000-000000000000")
        .replace("{api_key_id}", "00000000-0000-0000-0000-000000000000")
    )


def test_every_endpoint_but_the_public_ones_authenticates_before_the_body(
    app: TestClient,
) -> None:
    """The class of problem: any operation of the API, present or future, that is sent a
    body without credentials is answered 401 before the body is read, unless it is one of
    the few public ones (login, refresh, password reset)."""
    schema = app.get("/api/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        for method in operations:
            if method.upper() not in ("POST", "PUT", "PATCH", "DELETE"):
                continue
            response = app.request(
                method.upper(),
                _concrete(path),
                content=b'{"email": "x@example.org"}',
                headers={"Content-Type": "application/json"},
            )
            if (method.upper(), path) in PUBLIC_BODIES:
                assert response.status_code != 401, (method, path)
            else:
                checked += 1
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers.get("connection") == "close"
    assert checked > 15


def test_web_page_bodies_are_bounded(app: TestClient) -> None:
    """The web pages' bodies are bounded as the API's: the forms anybody may post (login,
    password reset) at the public limit, the others at AVATAR_MAX_REQUEST_BYTES, the uploads
    at AVATAR_MAX_UPLOAD_BYTES, from Content-Length and while they stream."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    big = b"name=" + b"x" * (300 * 1024)
    login_form = app.post("/login", content=big, headers=form)
    assert login_form.status_code == 413, login_form.text[:200]
    assert "public endpoint" in login_form.text
    declared = app.post("/keys", content=big, headers=form)
    assert declared.status_code == 413, declared.text[:200]
    assert "AVATAR_MAX_REQUEST_BYTES" in declared.text

    def streamed() -> Iterator[bytes]:
        yield big

    counted = app.post("/login", content=streamed(), headers=form)  # no Content-Length
    assert counted.status_code == 413 and "public endpoint" in counted.text
    upload = app.put("/uploads/t.csv", content=b"1\n" * (512 * 1024))
    assert (
        upload.status_code != 413
    )  # 1 MB: within the upload limit (the page then asks for a session)
    too_big = app.put("/uploads/t.csv", content=b"1" * (3 * MB))
    assert too_big.status_code == 413 and "AVATAR_MAX_UPLOAD_BYTES" in too_big.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/keys"), ("POST", "/admin/users"), ("POST", "/runs/new"), ("PUT", "/uploads/t.csv")],
)
def test_a_web_form_without_a_login_is_refused_before_it_is_read(
    app: TestClient, method: str, path: str
) -> None:
    """A visitor who is not logged in is sent to the login page before the server reads a
    byte of a body that needs a login: otherwise anybody could make it read (and parse)
    AVATAR_MAX_REQUEST_BYTES per request. The body is counted as the application pulls it."""
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(8):
            pulled.append(1)
            yield b"name=" + b"x" * 16_000

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            return await client.request(method, path, content=body(), headers=headers)

    response = asyncio.run(post())
    assert response.status_code == 303, response.text[:200]
    assert response.headers["location"].startswith("/login")
    assert pulled == [], f"{len(pulled)} chunks of the body were read before the refusal"
