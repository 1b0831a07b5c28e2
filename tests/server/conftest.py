"""Fixtures of the server tests (the platform itself comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from security_helpers import Served, serve


@pytest.fixture
def user(platform: Any, iris_csv: bytes) -> Any:
    """A fresh user of the admin's organization, with an API key and iris.csv uploaded."""
    created = platform.new_user()
    platform.upload(created.api_key, "iris.csv", iris_csv)
    return created


@pytest.fixture
def api(platform: Any, user: Any) -> httpx.Client:
    """An HTTP client on /api authenticated as ``user``."""
    return platform.client(user.api_key)


@pytest.fixture(scope="session")
def security_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One ``avatars serve`` process for the security tests that need a process (bodies read
    from a socket, memory, forwarded headers, file modes): started on a data directory it
    creates, with AVATAR_MAX_REQUEST_BYTES of 4 MiB and one job worker. Tests that lock
    accounts out use accounts of their own."""
    root = tmp_path_factory.mktemp("security")
    with serve(
        root / "platform" / "data",
        root / "server.log",
        AVATAR_MAX_REQUEST_BYTES=str(4 * 1024 * 1024),
        AVATAR_WORKERS="1",
    ) as served:
        yield served
