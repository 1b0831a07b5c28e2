"""Fixtures of the interoperability tests: Octopize's official clients against our server.

Each official client runs in its own Python 3.12 venv (``venvs.py``) as a subprocess,
talking to the shared live server (``live_platform``, tests/conftest.py) of the backend the
test's marker names (see test_official_clients.py).
Without Python 3.12 or the package registry the tests are skipped with the reason, unless
``AVATAR_TEST_REQUIRE_INTEROP=1`` (CI), which makes them fail instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from venvs import CLIENTS, Unavailable, ensure_venv, run_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
DATA = ROOT / "src" / "avatars" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.interop)


def _unavailable(reason: str) -> None:
    if os.environ.get("AVATAR_TEST_REQUIRE_INTEROP") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def official_python() -> Callable[[str], Path]:
    """``official_python("1.20.0")``: the python of that client's venv (made if needed)."""
    made: dict[str, Path] = {}

    def get(version: str) -> Path:
        if version not in made:
            try:
                made[version] = ensure_venv(version)
            except Unavailable as exc:
                _unavailable(f"official client {version} unavailable: {exc}")
        return made[version]

    return get


@pytest.fixture(scope="session")
def interop_user(live_platform: Any) -> Any:
    return live_platform.new_user()


@pytest.fixture(scope="session")
def flow_env(live_platform: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict]:
    def make(**extra: str) -> dict[str, str]:
        out = tmp_path_factory.mktemp("flow")
        return {
            "AVATAR_BASE_URL": live_platform.base_url,
            "FLOW_IRIS": str(DATA / "iris.csv"),
            "FLOW_WBCD": str(DATA / "wbcd.csv"),
            "FLOW_OUT": str(out),
            **extra,
        }

    return make


@pytest.fixture(scope="session")
def our_flow(flow_env: Callable[..., dict], interop_user: Any) -> dict[str, Any]:
    """The tutorial flow with this project's SDK: the reference shape."""
    env = flow_env(AVATAR_API_KEY=interop_user.api_key)
    return run_script(sys.executable, "tutorial_flow.py", env)


__all__ = ["CLIENTS", "run_script"]
