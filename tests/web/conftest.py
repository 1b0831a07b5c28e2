"""Fixtures of the web application's tests.

In-process tier (fast): ``web`` is the application of ``create_app`` in the test's process,
without job workers, on a :class:`ManualClock`. ``web_with_jobs`` runs the jobs too (local
worker processes, the real clock). The browser tier (``test_browser.py``) drives Chromium
against a real ``avatars serve``. Helpers are in ``web_helpers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import START, WebApp, settings_for

from avatars.server.clock import ManualClock
from avatars.server.main import create_app
from platforms import cheap_password_hashing


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebApp]:
    """The application in this process, no job workers, on a manual clock."""
    cheap_password_hashing()  # as every in-process platform (tests/platforms.py)
    clock = ManualClock(START)
    app = create_app(settings_for(tmp_path / "data"), run_jobs=False, clock=clock)
    with TestClient(app):  # runs the start-up (database, admin) for the test's duration
        yield WebApp(app, clock, tmp_path / "data")


@pytest.fixture(scope="module")
def web_with_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The application in this process with its job workers (real runs), for a module."""
    cheap_password_hashing()
    data_dir = tmp_path_factory.mktemp("web-jobs") / "data"
    app = create_app(settings_for(data_dir, heartbeat_timeout_seconds=30), run_jobs=True)
    with TestClient(app):
        yield WebApp(app, None, data_dir)
