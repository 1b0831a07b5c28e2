"""Issue 16.8: the platform's files are for its account only.

The database and the uploaded data were world-readable (0644 files in 0755 folders). Now the
data directory is created 0700 and every file in it 0600, by the server and by its job
workers; at start the server warns about any that others may read.
"""

from __future__ import annotations

import logging
import stat
import time
from pathlib import Path

import httpx
import pytest
from security_helpers import Served, running

from server_helpers import create_job, create_set

IRIS = Path(__file__).parents[2] / "src" / "avatars" / "data" / "iris.csv"


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_what_the_server_and_its_workers_write_is_private(security_server: Served) -> None:
    """The security tests' ``avatars serve``, started on a data directory that did not exist:
    after an upload and a job (and whatever other tests did there), nothing is readable by
    others."""
    data_dir = security_server.data_dir
    api = httpx.Client(
        base_url=security_server.api_url,
        headers={"Authorization": f"Bearer {security_server.admin_token()}"},
        timeout=60,
    )
    assert api.put("/datasets/iris.csv", content=IRIS.read_bytes()).status_code == 200
    job = create_job(api, create_set(api, "iris"), "standard")
    deadline = time.monotonic() + 120
    while not (status := api.get(f"/jobs/{job}").json())["done"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status["status"] == "finished", status
    modes = _modes(data_dir)
    results = [name for name in modes if "/results/" in name and name.endswith(".csv")]
    assert results, sorted(modes)  # the worker's files are there, and checked below
    assert {"avatars.db", "secret_key", "storage"} <= set(modes)
    exposed = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }
    assert exposed == {}
    assert stat.S_IMODE(data_dir.parent.stat().st_mode) == 0o700  # made by the server too
    assert "others than this account" not in security_server.log.read_text()


def test_the_server_warns_about_readable_data_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with running(data_dir):
        pass
    data_dir.chmod(0o755)
    (data_dir / "avatars.db").chmod(0o644)
    with caplog.at_level(logging.WARNING), running(data_dir):
        pass
    warned = [
        r.getMessage() for r in caplog.records if "others than this account" in r.getMessage()
    ]
    assert any(str(data_dir) in m and "0o755" in m and "chmod -R go-rwx" in m for m in warned)
    assert any(str(data_dir / "avatars.db") in m and "0o644" in m for m in warned)
