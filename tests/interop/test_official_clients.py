"""Octopize's official clients, unmodified, against this server (protocol.md §6).

- 1.19.0 logs in with a password (the newest client whose password login works);
- 1.20.0 and 1.30.0 use an API key (1.20-1.25 mask the password they send, 1.27+ have no
  password login).

Each runs the tutorial flow (iris and WBCD: health, create_runner, add_table, set_parameters,
run, shuffled, sensitive_unshuffled, privacy_metrics, signal_metrics, get_all_results, the
report when the server makes reports, and a k = 500 run that must fail with the server's
message) and must produce the same summary as this project's SDK running the same script.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from venvs import run_script

from avatars.client import ApiClient

# The platform's flows run once, on the scale-out stack (PostgreSQL + S3 + Dask): the official
# clients move data with s3fs through /storage, which forwards to a real S3 store there. The
# same endpoint over a storage folder is covered by tests/e2e/test_storage_access.py (s3fs,
# as the official client) and tests/s3 (boto3, s3fs); the SDK's flows by tests/sdk.
SCALEOUT = pytest.mark.backends("scaleout")

FLOWS = [
    pytest.param("1.19.0", "password", id="1.19.0-password"),
    pytest.param("1.20.0", "api_key", id="1.20.0-api_key"),
    pytest.param("1.30.0", "api_key", id="1.30.0-api_key"),
]


def _comparable(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "seconds"}


@SCALEOUT
def test_our_sdk_runs_the_tutorial_flow(our_flow: dict[str, Any]) -> None:
    for table, rows, columns in (("iris", 150, 5), ("wbcd", 683, 10)):
        entry = our_flow[table]
        assert entry["shuffled"]["rows"] == rows
        assert len(entry["shuffled"]["columns"]) == columns
        assert entry["unshuffled"] == entry["shuffled"]
        assert entry["privacy_count"] == entry["signal_count"] == 1
        assert {"hidden_rate", "local_cloaking"} <= set(entry["privacy_keys"])
        assert {"hellinger_mean", "hellinger_std"} <= set(entry["signal_keys"])
        assert entry["hidden_rate_is_number"]
        assert entry["all_results"]["shuffled"] == {table: entry["shuffled"]}
        assert entry["all_results"]["original_projections"] == {table: rows}
        assert entry["job_status"] == "finished"
        assert entry["report_magic"] == "%PDF-"
        assert {"2d_projection", "distribution", "correlation"} <= set(entry["figures"])
    k500 = our_flow["k500"]
    assert k500["raised"] and k500["status"] == "error"
    assert "k" in k500["exception"] and k500["message_in_error"]


@SCALEOUT
@pytest.mark.parametrize(("version", "auth"), FLOWS)
def test_official_client_runs_the_tutorial_flow(
    version: str,
    auth: str,
    official_python: Callable[[str], Path],
    flow_env: Callable[..., dict],
    interop_user: Any,
    our_flow: dict[str, Any],
) -> None:
    python = official_python(version)
    extra: dict[str, str] = {}
    if auth == "password":
        extra |= {"FLOW_USERNAME": interop_user.email, "FLOW_PASSWORD": interop_user.password}
    else:
        extra |= {"AVATAR_API_KEY": interop_user.api_key}
    theirs = run_script(python, "tutorial_flow.py", flow_env(**extra))
    assert _comparable(theirs) == _comparable(our_flow)


def test_yaml_identical_to_official_1_20(official_python: Callable[[str], Path]) -> None:
    import sys

    ours = run_script(sys.executable, "yaml_scenarios.py", {})
    theirs = run_script(official_python("1.20.0"), "yaml_scenarios.py", {})
    assert set(ours) == set(theirs)
    # A row_order named by the caller is written as a choice by our SDK (the official client
    # writes row_order when nobody chose): the one line the official YAML lacks.
    marker = "explicit_replacement_strategy: true"
    assert marker in str(ours["fast_dp"])
    for name in theirs:
        mine = "\n".join(line for line in str(ours[name]).split("\n") if marker not in line)
        assert mine == str(theirs[name]), f"scenario {name!r} differs"


def _big_csv(path: Path, size: int) -> str:
    """A deterministic CSV of about ``size`` bytes; its SHA-256."""
    rng = random.Random(150)
    digest = hashlib.sha256()
    written = 0
    with open(path, "wb") as handle:
        header = b"id,x,y,label\n"
        handle.write(header)
        digest.update(header)
        written += len(header)
        row = 0
        while written < size:
            lines = []
            for _ in range(10_000):
                lines.append(
                    f"{row},{rng.random():.12f},{rng.gauss(0, 1):.12f},{rng.choice('abcdef')}\n"
                )
                row += 1
            block = "".join(lines).encode()
            handle.write(block)
            digest.update(block)
            written += len(block)
    return digest.hexdigest()


@SCALEOUT
def test_large_table_round_trips_byte_identical_in_parts(
    official_python: Callable[[str], Path],
    live_platform: Any,
    interop_user: Any,
    tmp_path: Path,
) -> None:
    """The official client uploads 64 MiB (s3fs multipart: 50 MiB parts, so two) and
    downloads it back; our SDK downloads it too, and uploads it again in parts (its threshold
    lowered to one part, 50 MiB, from 100 MiB): every copy is identical. Bytes go through
    /storage to the S3 store in parts both ways, as a 150 MB table would, at half the cost."""
    source = tmp_path / "big.csv"
    expected = _big_csv(source, 64 * 1024 * 1024)
    result = run_script(
        official_python("1.20.0"),
        "big_roundtrip.py",
        {
            "AVATAR_BASE_URL": live_platform.base_url,
            "AVATAR_API_KEY": interop_user.api_key,
            "BIG_SOURCE": str(source),
            "BIG_KEY": "big_official.csv",
        },
        timeout=900,
    )
    assert result["uploaded_sha256"] == expected
    assert result["downloaded_sha256"] == expected

    parts: list[str] = []

    def record(request: httpx.Request) -> None:
        if request.url.path.startswith("/storage/") and "partNumber=" in str(request.url):
            parts.append(request.method)

    size = source.stat().st_size
    with (
        httpx.Client(event_hooks={"request": [record]}) as http,
        ApiClient(
            live_platform.api_url, api_key=interop_user.api_key, timeout=300, http_client=http
        ) as client,
    ):
        # What the store holds says how it came: a multipart object's ETag ends in "-<parts>".
        official = client.datasets.get_dataset("big_official.csv")
        assert official.size == size and official.etag.strip('"').endswith("-2"), official
        copy = tmp_path / "copy.csv"
        written = client.datasets.download("big_official.csv", copy)
        assert written == size
        assert _sha256(copy) == expected
        copy.unlink()
        part_size = client.storage.part_size
        assert part_size == 50 * 1024 * 1024 < size  # the default parts, as s3fs's
        client.storage.multipart_threshold = part_size
        client.upload_file(source, "big_ours.csv")  # above the threshold: in parts
        assert parts == ["PUT"] * math.ceil(size / part_size) == ["PUT", "PUT"]
        names = {d.name: d for d in client.datasets.list_datasets()}
        assert names["big_ours.csv"].size == size
        assert names["big_ours.csv"].etag.strip('"').endswith("-2"), names["big_ours.csv"]
        client.datasets.download("big_ours.csv", copy)
        assert _sha256(copy) == expected
        client.datasets.delete("big_ours.csv")
        client.datasets.delete("big_official.csv")
    os.remove(source)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
