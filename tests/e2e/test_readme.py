"""The README's commands, run as a newcomer would: copied from README.md (not retyped here),
in a shell, in a new folder, with the ``avatars`` command of this environment.

Only what cannot be run as written is changed, and each change is named: the port (8000 may be
taken on a shared machine) and the placeholder API key (replaced by the one that
``avatars api-keys create`` printed). ``make demo`` and ``make test`` are the README's first
lines: ``make demo`` runs ``avatars demo`` (tests/e2e/test_demo.py), ``make test`` is this
suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from avatars.data.synthetic import synthetic_patients
from stack import free_port

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def block(language: str, needle: str) -> str:
    [found] = [b for b in code_blocks(language) if needle in b]
    return found


def shell(command: str, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``command`` in bash, as typed in a terminal of this environment (its ``avatars`` first
    on the PATH, no AVATAR_* setting of the test machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, **kwargs
    )  # type: ignore[call-overload, no-any-return]


def test_first_lines_give_the_demo_and_the_test_commands() -> None:
    first = code_blocks("bash")[0]
    assert README.index(first) < 200  # the first thing a reader sees, under the title
    assert re.search(r"^make demo\b", first, flags=re.M)
    assert re.search(r"^make test\b.*whole test suite", first, flags=re.M)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:.*\n\t\$\(BIN\)/avatars demo", makefile, flags=re.M)
    assert re.search(r"^test: .*\n\t\$\(MAKE\) .*test-fast test-e2e$", makefile, flags=re.M)


def test_avatarize_a_file(tmp_path: Path) -> None:
    command = block("bash", "avatars avatarize patients.csv -k 20 --categorical")
    assert "patients.csv" in command and "sex,smoker" in command
    patients = synthetic_patients(400, seed=5)  # a patients table with sex and smoker
    patients.to_csv(tmp_path / "patients.csv", index=False)

    done = shell(command, tmp_path, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    avatars = pd.read_csv(tmp_path / "avatars.csv")
    assert avatars.shape == patients.shape and list(avatars.columns) == list(patients.columns)
    assert "hidden_rate" in (tmp_path / "metrics.json").read_text()


def test_run_the_platform_and_use_it_from_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = block("bash", "avatars serve").strip().splitlines()
    serve, create_key = commands
    assert serve.endswith("avatars serve --port 8000")
    port = free_port()
    serve = serve.replace("--port 8000", f"--port {port}")  # 8000 may be taken here
    folder = tmp_path / "work"
    folder.mkdir()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - the server's
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    server = subprocess.Popen(["bash", "-c", serve], cwd=folder, env=env, stdout=log, stderr=log)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", server, tmp_path / "serve.log")
        # the key, from the same folder: the platform serve made in ./avatars-data
        created = shell(create_key, folder, timeout=120)
        assert created.returncode == 0, created.stderr
        [key] = created.stdout.split()
        _run_python_snippets(port, key, folder, monkeypatch)
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def _run_python_snippets(
    port: int, key: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three Python blocks of "Use", top to bottom in one namespace (a notebook)."""
    snippets = [
        block("python", "from avatars.manager import Manager"),
        block("python", "from avatars.client import ApiClient"),
        block("python", "from avatars.engine import"),
    ]
    monkeypatch.chdir(folder)
    namespace: dict[str, object] = {}
    for snippet in snippets:
        assert "avatars_api_key...." in snippet or "engine" in snippet
        code = snippet.replace("http://localhost:8000", f"http://127.0.0.1:{port}")
        code = code.replace('"avatars_api_key...."', repr(key))
        exec(compile(code, "README.md", "exec"), namespace)  # the README's own code

    runner = namespace["runner"]
    df = namespace["df"]
    assert isinstance(df, pd.DataFrame) and len(df) == 683
    assert len(runner.shuffled("wbcd")) == len(df)  # type: ignore[attr-defined]
    assert "hidden_rate" in runner.privacy_metrics("wbcd")[0]  # type: ignore[attr-defined]
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert (folder / "pia.docx").read_bytes()[:2] == b"PK"
    assert isinstance(namespace["client"].jobs.get_jobs().jobs, list)  # type: ignore[attr-defined]
    result = namespace["result"]
    assert len(result.unshuffled) == len(df)  # type: ignore[attr-defined]


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"avatars serve exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"avatars serve did not answer:\n{log.read_text(errors='replace')}")
