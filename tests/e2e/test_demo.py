"""The README's main command: ``avatars demo`` runs a bundled table through the embedded
platform (server subprocess, SDK, jobs, reports) and prints its metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "avatars.cli", "demo", "--dataset", "wbcd", "--output", tmp_path],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for metric in ("hidden_rate", "local_cloaking", "hellinger_score"):
        assert metric in out.stdout
    assert "privacy targets met" in out.stdout
    avatars = pd.read_csv(tmp_path / "wbcd.avatars.csv")
    assert len(avatars) == 683 and "Sample_code_number" not in avatars.columns
    assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "report.html").stat().st_size > 0
    assert (tmp_path / "wbcd.pia.docx").stat().st_size > 0
