"""Fixtures of the server tests (the platform itself comes from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


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
