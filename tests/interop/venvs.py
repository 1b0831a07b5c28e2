"""Python 3.12 virtual environments with Octopize's official client (and its MCP server),
for the interop tests.

Each pinned client version gets its own venv under ``.cache/interop/venv-<version>`` (git
ignored), created on first use with ``uv venv`` and ``uv pip install
octopize.avatar==<version>`` (``python3.12 -m venv`` and pip where there is no uv) from the
package registry, then reused; Octopize's MCP server likewise in ``venv-mcp-<version>``. A
``.ready`` file marks a complete install, so an interrupted one is redone rather than used
half-made.

Run as a script to warm the cache: ``python tests/interop/venvs.py 1.19.0 1.20.0 1.30.0
mcp-0.1.4``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "interop"
SCRIPTS = Path(__file__).resolve().parent / "scripts"

#: The official clients under test, and what each pins besides (1.19 leaves its YAML
#: package unbounded; 0.1.46 is the version it was checked with, protocol.md §1.1).
CLIENTS: dict[str, list[str]] = {
    "1.19.0": ["octopize.avatar==1.19.0", "octopize-avatar-yaml==0.1.46"],
    "1.20.0": ["octopize.avatar==1.20.0"],
    "1.30.0": ["octopize.avatar==1.30.0"],
}


#: Octopize's MCP server, and what it needs beside it. It reads the caller's API key from the
#: ``Authorization`` header through FastMCP's request headers, which FastMCP drops from 3.0.2
#: on: 3.0.1 is pinned (its own requirement, ``fastmcp>=2.20``, would take the newest). The
#: official client it drives is the newest one tested here.
MCP_SERVERS: dict[str, list[str]] = {
    "mcp-0.1.4": ["octopize-avatar-mcp==0.1.4", "fastmcp==3.0.1", "octopize-avatar==1.30.0"],
}


def _requirements(version: str) -> list[str]:
    if version in CLIENTS:
        return CLIENTS[version]
    if version in MCP_SERVERS:
        return MCP_SERVERS[version]
    raise ValueError(f"no pinned requirements for {version}")


def _installed_check(version: str) -> tuple[str, str]:
    """Python code printing what the venv holds, and what it must print."""
    if version in MCP_SERVERS:
        pins = dict(r.split("==") for r in MCP_SERVERS[version])
        code = (
            "import importlib.metadata as m, fastmcp, avatars; "
            "print(m.version('octopize-avatar-mcp'), m.version('fastmcp'), avatars.__version__)"
        )
        expected = " ".join((pins["octopize-avatar-mcp"], pins["fastmcp"], pins["octopize-avatar"]))
        return code, expected
    return "import avatars; print(avatars.__version__)", version


class Unavailable(RuntimeError):
    """Python 3.12 or the package registry cannot be had here."""


def find_python312() -> str:
    """The path of a Python 3.12 interpreter (pyenv's 3.12.1 when that is what there is)."""
    candidates = []
    if os.environ.get("AVATAR_TEST_PYTHON312"):
        candidates.append(os.environ["AVATAR_TEST_PYTHON312"])
    # pyenv's own 3.12 builds, called directly: its shims obey PYENV_VERSION, which a
    # process started through a pyenv shim inherits set to its own version (3.11 here).
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += sorted(str(p) for p in pyenv_root.glob("versions/3.12*/bin/python3.12"))
    found = shutil.which("python3.12")
    if found:
        candidates.append(found)
    env = {**os.environ}
    if not env.get("PYENV_VERSION", "3.12").startswith("3.12"):
        env["PYENV_VERSION"] = "3.12.1"
    env.setdefault("PYENV_VERSION", "3.12.1")
    for candidate in candidates:
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print(sys.executable, *sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        parts = out.stdout.split()
        if out.returncode == 0 and parts[1:] == ["3", "12"]:
            return parts[0]
    raise Unavailable("no Python 3.12 interpreter (python3.12, or AVATAR_TEST_PYTHON312)")


def _uv() -> str | None:
    """uv, when the project's environment has it (``make`` installs it there) or it is on
    the PATH."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else shutil.which("uv")


def venv_python(version: str) -> Path:
    return CACHE / f"venv-{version}" / "bin" / "python"


def ensure_venv(version: str) -> Path:
    """The python of the venv with client ``version``, created if needed.

    Parallel test workers (pytest-xdist) may ask for the same venv at once: a lock file
    makes one of them build it while the others wait, then reuse it.
    """
    _requirements(version)  # a ValueError for an unknown version
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"venv-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_venv_locked(version)


def _ensure_venv_locked(version: str) -> Path:
    venv = CACHE / f"venv-{version}"
    ready = venv / ".ready"
    python = venv_python(version)
    if ready.exists() and python.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    base = find_python312()
    requirements = _requirements(version)
    uv = _uv()
    if uv:  # seconds rather than pip's ~40 s a venv (and a fraction of its CPU)
        subprocess.run(
            [uv, "venv", "--quiet", "--python", base, str(venv)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        # No --compile-bytecode: the tests run with bytecode caches on (the Makefile), so each
        # module the flows import is compiled once, at its first import, and the rest of the
        # venv (about three times as much) never is.
        install = [uv, "pip", "install", "--quiet", "--python", str(python), *requirements]
    else:
        subprocess.run(
            [base, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300
        )
        install = [str(python), "-m", "pip", "install", "--quiet", *requirements]
    result = subprocess.run(install, capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise Unavailable(f"could not install {' '.join(requirements)}:\n{result.stderr[-3000:]}")
    code, expected = _installed_check(version)
    check = subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check.returncode != 0 or check.stdout.strip() != expected:
        raise RuntimeError(f"the venv of {version} does not import it: {check.stderr[-2000:]}")
    ready.write_text(version)
    return python


def run_script(
    python: Path | str, script: str, env: dict[str, str], timeout: float = 600
) -> dict[str, Any]:
    """Run ``scripts/<script>`` and return the JSON of its last stdout line."""
    full_env = {**os.environ, **env}
    full_env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), str(SCRIPTS / script)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=env.get("FLOW_OUT") or None,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise AssertionError(
            f"{python} {script} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-6000:]}"
        )
    return dict(json.loads(lines[-1]))


if __name__ == "__main__":
    for wanted in sys.argv[1:] or [*CLIENTS, *MCP_SERVERS]:
        print(wanted, ensure_venv(wanted), flush=True)
