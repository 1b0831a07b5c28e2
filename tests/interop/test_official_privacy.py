"""Privacy first with Octopize's official client 1.30, unmodified, and with our SDK: the same
flow (``scripts/privacy_flow.py``) through both. SQLite only: the scale-out stack runs the same
handlers, and the flow's seven runs are the slowest of the interop tests."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from venvs import run_script


def test_privacy_first_with_our_sdk_and_the_official_client_1_30(
    official_python: Callable[[str], Path], flow_env: Callable[..., dict], interop_user: Any
) -> None:
    """Identifiers refused with the safe choices, keys, the three pseudonymization strategies,
    exact-copy metrics and the verdict, and excluded identifiers, through both SDKs
    (``scripts/privacy_flow.py``)."""
    env = flow_env(AVATAR_API_KEY=interop_user.api_key)
    ours = run_script(sys.executable, "privacy_flow.py", env, timeout=900)
    theirs = run_script(official_python("1.30.0"), "privacy_flow.py", env, timeout=900)
    for flow in (ours, theirs):
        assert all(flow["refused"].values()), flow["refused"]
        assert flow["excluded_by_default_refused"]
        safe = flow["safe"]
        assert safe["rows"] == 150 and safe["new_keys"] and safe["fake_emails"]
        assert safe["keyed_hashes"] and safe["uuids"] and safe["report_magic"] == "%PDF-"
        assert safe["exact_copy_metrics"] == ["row_direct_match_protection", "unique_copy_share"]
        assert {"status", "summary", "changes", "failed", "passed"} <= set(safe["verdict_keys"])
        assert flow["similarity"] == {
            "standard": "finished",
            "warning_codes": ["identifier_original_values"],
            "verdict": "fail",
        }
    assert {k: v for k, v in ours.items() if k != "row_order"} == {
        k: v for k, v in theirs.items() if k != "row_order"
    }
    # row_order named explicitly: a choice our SDK can write; the official client's YAML is the
    # same as for its default, so the server refuses it
    assert ours["row_order"] == {"refused": False, "original_ids": True, "job_warns": True}
    assert theirs["row_order"] == {"refused": True}
