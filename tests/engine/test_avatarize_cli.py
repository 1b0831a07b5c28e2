"""``avatars avatarize``: a file in, avatars and every metric out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from avatars import data


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avatars.cli", "avatarize", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_avatarize_a_csv_prints_every_metric_and_writes_the_outputs(tmp_path: Path) -> None:
    source = tmp_path / "wbcd.csv"
    data.load("wbcd").drop(columns="Sample_code_number").to_csv(source, index=False)
    out = run(
        str(source), "-k", "20", "--ncp", "2", "--seed", "3", "--categorical", "Class",
        "--unshuffled-output", "unshuffled.csv", "--metrics-output", "metrics.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for name in ("hidden_rate", "local_cloaking", "distance_to_closest", "hellinger_score"):
        assert name in out.stdout
    assert "pass" in out.stdout and "target" in out.stdout
    avatars = pd.read_csv(tmp_path / "wbcd.avatars.csv")
    unshuffled = pd.read_csv(tmp_path / "unshuffled.csv")
    assert avatars.shape == unshuffled.shape == (683, 10)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["avatarization"]["parameters"]["seed"] == 3
    assert 0 <= metrics["privacy"]["hidden_rate"] <= 100
    # the same seed gives the same file
    again = run(str(source), "-k", "20", "--ncp", "2", "--seed", "3", "--categorical", "Class",
                "-o", "again.csv", "--no-metrics", cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "wbcd.avatars.csv").read_bytes()


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "iris.csv"
    data.load("iris").to_csv(source, index=False)
    out = run(str(source), "-k", "500", cwd=tmp_path)
    assert out.returncode == 2
    assert "k=500" in out.stderr and "150 rows" in out.stderr
    out = run(str(source), "-k", "5", "--categorical", "nope", cwd=tmp_path)
    assert out.returncode == 2 and "'nope'" in out.stderr
