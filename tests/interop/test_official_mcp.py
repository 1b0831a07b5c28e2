"""Octopize's MCP server (``octopize-avatar-mcp`` 0.1.4), unmodified, pointed at this platform
with an API key (issue 22).

It runs in its own Python 3.12 venv (``venvs.MCP_SERVERS``: fastmcp 3.0.1 and the official
client 1.30.0), over streamable HTTP (``POST /sse``; it reads the key from the request's
``Authorization: Bearer`` header). One session calls the tools that work on any server, in
sequence (``scripts/official_mcp_flow.py``): create a project, upload the iris table,
anonymize it with the platform's advised parameters (advice, avatarization, metrics and
reports jobs), read the metrics, download the avatars, both reports and a figure. Another
organization's key, through the same server, sees none of it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from venvs import run_script

from avatars.engine import advise_parameters
from avatars.engine.io import read_table
from stack import free_port

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "avatars" / "data"
VERSION = "mcp-0.1.4"


@pytest.fixture
def official_mcp(
    official_python: Callable[[str], Path], live_platform: Any, tmp_path: Path
) -> Iterator[str]:
    """The official MCP server on a free port, talking to the shared platform; its URL."""
    python = official_python(VERSION)
    port = free_port()
    log_path = tmp_path / "official-mcp.log"
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "AVATAR_BASE_URL": live_platform.base_url,
        "AVATAR_TEMP_DIR": str(tmp_path / "official-mcp-tmp"),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(python.parent / "avatar-mcp"), "--http", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(port, process, log_path)
        yield f"http://127.0.0.1:{port}/sse"
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout  # it imports pandas, matplotlib, the client: slow
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"avatar-mcp exited:\n{log.read_text(errors='replace')[-4000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.5)
    raise AssertionError(f"avatar-mcp did not listen within {timeout} s")


def test_official_mcp_server_drives_the_platform(
    official_python: Callable[[str], Path],
    official_mcp: str,
    live_platform: Any,
    tmp_path: Path,
) -> None:
    alice = live_platform.new_user()
    outsider = live_platform.new_user(organization="mcp-outsider")
    env = {
        "MCP_URL": official_mcp,
        "AVATAR_API_KEY": alice.api_key,
        "OTHER_API_KEY": outsider.api_key,
        "FLOW_IRIS": str(DATA / "iris.csv"),
        "FLOW_WBCD": str(DATA / "wbcd.csv"),
        "FLOW_OUT": str(tmp_path),
    }
    summary = run_script(official_python(VERSION), "official_mcp_flow.py", env, timeout=900)
    first = summary["first"]
    assert {
        "create_project", "add_table_to_project", "anonymize", "get_metrics", "get_avatars",
        "get_table_info", "download_dataset", "download_report", "download_plot",
        "list_projects",
    } <= set(first["tools"])  # fmt: skip
    assert first["created"] == "created" and first["added"] == "added"
    iris = read_table(DATA / "iris.csv")
    advice = advise_parameters(iris)  # what the platform's advice job answers
    anonymized = first["anonymized"]
    assert anonymized["status"] == "completed"
    assert anonymized["parameters"] == {"k": advice["k"], "ncp": advice["ncp"]}
    assert anonymized["tables"] == [["iris", 150]]
    assert anonymized["reports"] == ["pia", "technical"]

    metrics = first["metrics"]
    assert 0 < metrics["privacy"]["hidden_rate"] <= 100
    assert metrics["privacy"]["local_cloaking"] >= 0
    assert {"distance_to_closest", "closest_distances_ratio"} <= set(metrics["privacy"])
    assert 0 <= metrics["utility"]["hellinger_mean"] <= 1
    assert {"hellinger_score", "correlation_score"} <= set(metrics["utility"])
    assert metrics["parameters"] == anonymized["parameters"]

    columns = list(iris.columns)
    assert first["avatars"] == [150, 5] and first["table_info"] == columns
    downloads = first["downloads"]
    assert downloads["dataset"] == [150, columns]
    assert downloads["technical"] == "%PDF-" and downloads["pia"].startswith("PK")
    assert downloads["plot"] == [True, True, True]
    assert first["projects"] == [first["project"]]

    # Another organization, through the same official server: no project of Alice's, and
    # what it uploads stays in its own space on the platform.
    other = summary["other"]
    assert other["projects"] == [] and other["added"] == "added"
    alice_api, outsider_api = (
        live_platform.client(alice.api_key),
        live_platform.client(outsider.api_key),
    )
    alice_sets = {j["display_name"] for j in alice_api.get("/jobs").json()["jobs"]}
    assert "iris-mcp" in alice_sets
    assert outsider_api.get("/jobs").json()["jobs"] == []
    alice_files = {d["name"] for d in alice_api.get("/datasets").json()["datasets"]}
    outsider_files = {d["name"] for d in outsider_api.get("/datasets").json()["datasets"]}
    assert "iris.csv" in alice_files and "wbcd.csv" not in alice_files
    assert outsider_files == {"wbcd.csv"}
