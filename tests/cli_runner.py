"""``avatars ...`` run in the test's process (typer's CliRunner): the same command, options,
output and exit code as the ``avatars`` executable, without a Python start and the engine's
imports per call (a few seconds each).

For the command's own logic: what it reads, writes, prints and refuses. What only a process
shows (the executable on the PATH, the environment, the working folder a user types in) is
checked with subprocesses in tests/e2e (test_readme.py, test_cli.py).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Ran:
    """What a run of ``avatars`` gave, named as ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


def avatars(*args: str, cwd: Path) -> Ran:
    """``avatars *args`` in ``cwd``; an exception escaping the command fails the test with its
    traceback (the executable would print it and exit 1)."""
    from typer.testing import CliRunner

    from avatars.cli import app

    with contextlib.chdir(cwd):
        result = CliRunner().invoke(app, list(args), env=_without_avatar_settings())
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def _without_avatar_settings() -> dict[str, str | None]:
    # as the e2e commands run: no AVATAR_* setting of the test machine leaks in
    return {k: None for k in os.environ if k.startswith("AVATAR_")}
