"""Differentially private avatarization with Octopize's official client 1.30, unmodified
(issue 20): ``set_parameters(table, open_dp_epsilon=...)`` and ``fast_dp_epsilon=...`` on the
paper's WBCD and AIDS tables, through this server. One flow covers both variants
(``scripts/dp_flow.py``: eight runs started together). Our SDK's side runs in-process in
``tests/sdk/test_differential_privacy_sdk.py``; SQLite only (the scale-out stack runs the same
job code, tested by the tutorial flow).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from venvs import run_script

PAPER = Path(__file__).resolve().parents[1] / "data" / "paper"


def _check(summary: dict[str, Any]) -> None:
    runs = summary["runs"]
    assert len(runs) == 8
    for key, run in runs.items():
        table, variant, _epsilon = key.split()
        assert run["status"] == "finished", (key, run)
        assert run["rows"] == summary["rows"][table]
        assert run["hidden_rate_is_number"]
        expected = "open_dp" if variant == "open_dp_epsilon" else "fast_dp"
        assert run["variant"] == run["signal_note"] == expected
        if expected == "fast_dp":
            assert run["end_to_end"] is False
            assert run["warning"].startswith("warning: avatarization_fast_dp is NOT")
        else:
            assert run["end_to_end"] is True and run["warning"] == ""
    for table in ("wbcd", "aids"):
        for variant in ("open_dp_epsilon", "fast_dp_epsilon"):
            low = runs[f"{table} {variant} 1"]["hellinger_mean"]
            high = runs[f"{table} {variant} 100"]["hellinger_mean"]
            assert high < low, (table, variant, low, high)
    text = subprocess.run(
        ["pdftotext", summary["report"], "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "NOT differentially private end to end" in " ".join(text.split())


@pytest.fixture(scope="module")
def dp_env(flow_env: Callable[..., dict], interop_user: Any) -> dict[str, str]:
    return flow_env(
        AVATAR_API_KEY=interop_user.api_key,
        FLOW_WBCD=str(PAPER / "wbcd.csv"),
        FLOW_AIDS=str(PAPER / "aids.csv"),
    )


def test_official_client_1_30_runs_both_dp_variants(
    official_python: Callable[[str], Path], dp_env: dict[str, str]
) -> None:
    _check(run_script(official_python("1.30.0"), "dp_flow.py", dp_env))
