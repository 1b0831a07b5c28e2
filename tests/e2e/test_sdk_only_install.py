"""The client-only install (``pip install avatars``, no extras) imports the SDK without the
server or engine dependencies.

A wheel of the project is built and installed with only its base dependencies into a fresh
Python 3.11 venv (cached under ``.cache/sdk-only``; the wheel is reinstalled every run), by
uv where the project's environment has it (``make`` installs it), else by pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "sdk-only"
SERVER_SIDE = [
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "sklearn",
    "scipy",
    "pyarrow",
    "s3fs",
    "aiobotocore",
    "fsspec",
    "matplotlib",
    "reportlab",
    "psycopg",
]

CHECK = """
import json, sys, importlib.util
import avatars.client, avatars.manager, avatars.runner, avatars.storage, avatars.api
from avatars import ApiClient, Manager, Runner
client = ApiClient("http://127.0.0.1:9/api", api_key="k")
heavy = %r
print(json.dumps({
    "loaded": sorted(m for m in heavy if m in sys.modules),
    "installed": sorted(m for m in heavy if importlib.util.find_spec(m) is not None),
    "file": avatars.__file__,
}))
"""


UV = Path(sys.executable).parent / "uv"


def _pip(python: Path, *args: str) -> list[str]:
    """A ``pip`` command for the venv of ``python``: uv's when there is uv."""
    if UV.exists():
        return [str(UV), "pip", *args, "--python", str(python)]
    return [str(python), "-m", "pip", *args]


def _run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_sdk_only_install_imports_without_server_dependencies(tmp_path: Path) -> None:
    # Built from a copy: the work tree gets no build/ or egg-info folders.
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    wheels = tmp_path / "wheels"
    if UV.exists():
        build = [str(UV), "build", "--wheel", "-q", "--out-dir", str(wheels), str(source)]
    else:
        build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q"]
        build += ["-w", str(wheels)]
    built = _run(*build)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("avatars-*.whl")

    venv = CACHE / f"venv-{sys.version_info[0]}.{sys.version_info[1]}"
    python = venv / "bin" / "python"
    ready = venv / ".ready"
    if not ready.exists():
        shutil.rmtree(venv, ignore_errors=True)
        if UV.exists():
            made = _run(str(UV), "venv", "-q", "--python", sys.executable, str(venv))
        else:
            made = _run(sys.executable, "-m", "venv", str(venv))
        assert made.returncode == 0, made.stderr
        compiled = ["--compile-bytecode"] if UV.exists() else []  # pip compiles by default
        installed = _run(*_pip(python, "install", "-q", *compiled, str(wheel)))
        if installed.returncode != 0:
            reason = f"cannot install the base dependencies: {installed.stderr[-2000:]}"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        ready.write_text("ok")
    reinstall = "--reinstall" if UV.exists() else "--force-reinstall"
    reinstalled = _run(*_pip(python, "install", "-q", reinstall, "--no-deps", str(wheel)))
    assert reinstalled.returncode == 0, reinstalled.stderr[-3000:]
    # Base dependencies only: whatever the wheel declares beyond them would show here.
    checked = _run(*_pip(python, "check"))
    assert checked.returncode == 0, checked.stdout

    result = _run(str(python), "-c", CHECK % (SERVER_SIDE,), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert report["installed"] == []  # not even installed: a real client-only environment
    assert str(venv) in report["file"]

    cli = _run(str(venv / "bin" / "avatars"), "--help", timeout=120)
    assert cli.returncode == 0 and "serve" in cli.stdout
