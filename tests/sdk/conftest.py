"""Fixtures of the SDK tests: the shared platform server (tests/conftest.py), SQLite only.

The SDK does not care which database the server uses, so only the SQLite variant of the
shared ``platform`` fixture runs for ``tests/sdk``; ``tests/interop`` also runs on the
scale-out stack (PostgreSQL + S3 + Dask), as the Scale-out issue asks. The server's own tests
cover every backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from avatars.client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "avatars" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        path = str(item.path)
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        in_sdk = f"{Path('tests', 'sdk')}" in path or f"{Path('tests', 'interop')}" in path
        # the SDK is tested on SQLite; the interop flow also on the scale-out stack
        in_interop = f"{Path('tests', 'interop')}" in path
        allowed = ("sqlite", "scaleout") if in_interop else ("sqlite",)
        (drop if in_sdk and backend not in (None, *allowed) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def user(platform: Any) -> Any:
    """A fresh user of the admin's organization, with a password and an API key."""
    return platform.new_user()


@pytest.fixture
def client(platform: Any, user: Any) -> Iterator[ApiClient]:
    """An ``ApiClient`` authenticated with ``user``'s API key."""
    with ApiClient(platform.api_url, api_key=user.api_key) as api:
        yield api


@pytest.fixture(scope="session")
def iris_path() -> Path:
    return DATA / "iris.csv"


@pytest.fixture(scope="session")
def wbcd_path() -> Path:
    return DATA / "wbcd.csv"
