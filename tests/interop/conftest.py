"""Fixtures of the interoperability tests: Octopize's official clients against our server.

Each official client runs in its own Python 3.12 venv (``venvs.py``) as a subprocess,
talking to the shared platform server (``tests/conftest.py``, SQLite: the PostgreSQL variant
is deselected in ``tests/sdk/conftest.py``'s collection hook, which covers this folder too).
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
#: Test files run on SQLite only.
SQLITE_ONLY = frozenset(
    {
        "test_official_mcp.py",
        "test_parameters_official.py",
        "test_differential_privacy_official.py",
        "test_official_privacy.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(Path(__file__).resolve().parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.interop)
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        # SQLite, and the scale-out stack (PostgreSQL + S3 + Dask) as the Scale-out issue asks;
        # Octopize's MCP server drives the official client, tested on both already: SQLite
        ours = str(item.path).startswith(here)
        allowed = ("sqlite",) if item.path.name in SQLITE_ONLY else ("sqlite", "scaleout")
        (drop if ours and backend not in (None, *allowed) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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
def interop_user(platform: Any) -> Any:
    return platform.new_user()


@pytest.fixture(scope="session")
def flow_env(platform: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict]:
    def make(**extra: str) -> dict[str, str]:
        out = tmp_path_factory.mktemp("flow")
        return {
            "AVATAR_BASE_URL": platform.base_url,
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
