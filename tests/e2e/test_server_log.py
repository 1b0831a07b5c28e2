"""The log of a live ``avatars serve``: a bug in a job is reported to the user as an internal
error with a reference, and the server's log (its worker processes' included) has the same
reference with the traceback. SQLite: the local worker processes log where the server does;
on the scale-out stack the traceback is in the log of the Dask worker that ran the job."""

from __future__ import annotations

import time
from typing import Any

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
