"""The log of a live ``avatars serve``: a bug in a job is reported to the user as an internal
error with a reference, and the server's log (its worker processes' included) has the same
reference with the traceback. SQLite: the local worker processes log where the server does;
on the scale-out stack the traceback is in the log of the Dask worker that ran the job."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from platforms import LIVE_ENV, PlatformServer
from server_helpers import INTERNAL, internal_error_of_a_bug


def test_a_bugs_traceback_is_in_the_servers_log(live_platform: Any, iris_csv: bytes) -> None:
    user = live_platform.new_user()
    live_platform.upload(user.api_key, "iris.csv", iris_csv)
    found = INTERNAL.fullmatch(
        internal_error_of_a_bug(live_platform, live_platform.client(user.api_key))
    )
    assert found
    log_path = live_platform.server.log_path
    deadline = time.monotonic() + 10
    while f"reference {found.group(1)}" not in log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, live_platform.log()
        time.sleep(0.1)
    logged = log_path.read_text(errors="replace").split(f"reference {found.group(1)}", 1)[1]
    assert "Traceback" in logged and "JSONDecodeError" in logged, logged


@pytest.mark.parametrize("when", ["while its workers start", "once they are warm"])
def test_a_stopped_server_leaves_no_process_and_no_noise(tmp_path: Path, when: str) -> None:
    """Stopping ``avatars serve`` (SIGTERM) at any time is clean: during the workers' warm-up
    (which runs after the server answers) as well as after it. Nothing is left running, and
    the log has no traceback of a worker that lost its queue and no "leaked semaphore"."""
    server = PlatformServer(tmp_path / "data", LIVE_ENV, log_level="info")
    server.start()
    assert server.process is not None
    tree = psutil.Process(server.process.pid)
    if when == "once they are warm":
        deadline = time.monotonic() + 60
        while len(tree.children(recursive=True)) < 2 + int(LIVE_ENV["AVATAR_WORKERS"]):
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        time.sleep(1)  # the warm-up's answers
    children = tree.children(recursive=True)
    server.stop()
    # uvicorn ends by raising the signal again, as a process stopped by it should
    assert server.process.returncode in (0, -signal.SIGTERM), server.log()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [process.cmdline()[-1][:80] for process in alive]
    log = server.log()
    assert "Traceback" not in log and "leaked" not in log, log
    assert "Finished server process" in log
