"""Fixtures of the MCP server's tests: our server as a subprocess, driven by FastMCP's client.

- ``stdio_server(workspace)``: a client of ``avatars mcp`` over stdio (the desktop way);
- ``http_server(workspace)``: ``avatars mcp --http`` on a free loopback port, and its URL;

The helpers ``call`` and ``refusal`` are in ``mcp_helpers.py``.

The server mounted on the platform (``avatars serve --mcp``) is the shared ``live_platform``'s
(tests/conftest.py), on SQLite only (the default backend): the MCP layer reaches the database
through the platform's API alone.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stack import free_port

if TYPE_CHECKING:
    from fastmcp import Client

ROOT = Path(__file__).resolve().parents[2]


def server_env(workspace: Path, **extra: str) -> dict[str, str]:
    """The environment of our MCP server: no platform unless given (the test machine's own
    AVATAR_BASE_URL/AVATAR_API_KEY must not leak in)."""
    env = {k: v for k, v in os.environ.items() if k not in ("AVATAR_BASE_URL", "AVATAR_API_KEY")}
    return {**env, "AVATAR_MCP_WORKSPACE": str(workspace), "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture
def stdio_server() -> Callable[..., Client]:
    def make(workspace: Path, **env: str) -> Client:
        # fastmcp takes ~3 s to import: loaded where a client is made, not in every test
        # worker that merely collects this folder.
        from fastmcp import Client
        from fastmcp.client.transports import StdioTransport

        transport = StdioTransport(
            command=sys.executable,
            args=["-m", "avatars.cli", "mcp"],
            env=server_env(workspace, **env),
            cwd=str(workspace),
            keep_alive=False,
        )
        return Client(transport, timeout=300)

    return make


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    """Start ``avatars mcp --http``; the URL of its MCP endpoint. Stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(workspace: Path) -> str:
        port = free_port()
        log = open(tmp_path / f"mcp-http-{port}.log", "wb")  # noqa: SIM115 - the process's
        process = subprocess.Popen(
            [sys.executable, "-m", "avatars.cli", "mcp", "--http", "--port", str(port)],
            env=server_env(workspace),
            cwd=workspace,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        wait_for_port(port, process, tmp_path / f"mcp-http-{port}.log")
        return f"http://127.0.0.1:{port}/mcp"

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout=90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text(errors='replace')[-4000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"no server on port {port} after {timeout} s")
