"""Fixtures of the SDK tests: the shared platform (tests/conftest.py), SQLite in this process.

The SDK does not care which database the server uses, so these tests run on SQLite only, with
the app in this process: ``platform.api_client(...)`` and ``platform.manager(...)`` inject an
``httpx.Client`` on the app's transport, which the SDK uses for the API and for its S3
transfers alike. What needs a socket (the spec's verbatim example, configuration from the
environment) is in tests/e2e/test_sdk_live.py; the official clients and the scale-out stack
in tests/interop and tests/scaleout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from avatars.client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "avatars" / "data"


@pytest.fixture
def user(platform: Any) -> Any:
    """A fresh user of the admin's organization, with a password and an API key."""
    return platform.new_user()


@pytest.fixture
def client(platform: Any, user: Any) -> Iterator[ApiClient]:
    """An ``ApiClient`` authenticated with ``user``'s API key."""
    with platform.api_client(api_key=user.api_key) as api:
        yield api


@pytest.fixture(scope="session")
def iris_path() -> Path:
    return DATA / "iris.csv"


@pytest.fixture(scope="session")
def wbcd_path() -> Path:
    return DATA / "wbcd.csv"
