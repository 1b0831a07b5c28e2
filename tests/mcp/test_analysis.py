"""The judgements the MCP tools show a model (``avatars.mcp.analysis``) and the ``table``
argument (``avatars.mcp.tables``), in process."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatars import data
from avatars.engine import avatarize, privacy_metrics, signal_metrics
from avatars.engine.errors import InvalidParameterError
from avatars.mcp import analysis
from avatars.mcp.errors import UsageError
from avatars.mcp.tables import TableRef, read_file


@pytest.fixture(scope="module")
def iris_metrics() -> tuple[dict, dict]:
    iris = read_file(data.path("iris"))
    result = avatarize(iris, k=10, seed=0)
    privacy = privacy_metrics(iris, result.unshuffled, seed=0).to_dict()
    return privacy, signal_metrics(iris, result.shuffled).to_dict()


def test_verdict_says_what_failed_and_what_to_do(iris_metrics: tuple[dict, dict]) -> None:
    privacy, signal = iris_metrics
    judged = analysis.verdict(privacy, signal, "iris")
    rows = {m["name"]: m for m in privacy["metrics"]}
    failed = sorted(n for n, m in rows.items() if m["passed"] is False)
    assert sorted(f["name"] for f in judged["failed"]) == failed
    assert judged["status"] == ("fail" if failed else "pass")
    assert (
        judged["summary"].startswith(f"Fail: {len(failed)} of" if failed else "Pass: all")
        and "Signal:" in judged["summary"]
    )
    assert bool(judged["changes"]) == bool(failed)


def test_verdict_passes_when_every_target_is_met(iris_metrics: tuple[dict, dict]) -> None:
    privacy, signal = iris_metrics
    met = {**privacy, "metrics": [{**m, "passed": True} for m in privacy["metrics"]]}
    judged = analysis.verdict(met, signal, "iris")
    assert judged["status"] == "pass" and judged["failed"] == [] and judged["changes"] == []
    assert judged["summary"].startswith("Pass: all ")


def test_verdict_is_unknown_without_privacy_metrics() -> None:
    judged = analysis.verdict(None, None, "iris")
    assert judged["status"] == "unknown" and "before sharing" in judged["changes"][0]


def test_identifiers_and_targets() -> None:
    aids = read_file(data.path("aids"))
    assert [f["column"] for f in analysis.find_identifiers(aids)] == ["pidnum"]
    assert analysis.find_identifiers(aids, columns=["age"]) == []
    assert analysis.check_targets({"hidden_rate": 95, "local_cloaking": "> 10"}) == {
        "hidden_rate": "> 95",
        "local_cloaking": "> 10",
    }
    with pytest.raises(InvalidParameterError, match="no target on 'speed'"):
        analysis.check_targets({"speed": 1})
    with pytest.raises(InvalidParameterError, match=r"targets\.hidden_rate"):
        analysis.check_targets({"hidden_rate": "high"})


def test_verdict_fails_when_the_avatars_carry_identifiers(iris_metrics: tuple[dict, dict]) -> None:
    privacy, signal = iris_metrics
    met = {**privacy, "metrics": [{**m, "passed": True} for m in privacy["metrics"]]}
    warning = {
        "code": "identifier_original_order",
        "columns": ["id"],
        "message": "identifier column(s) re-attached by row order: 'id'",
    }
    carried = {**met, "metadata": {**met["metadata"], "warnings": [warning]}}
    judged = analysis.verdict(carried, signal, "iris")
    assert judged["status"] == "fail" and judged["failed"] == []  # every target met, still
    assert "re-identification key" in judged["summary"]
    assert judged["warnings"][0]["code"] == "identifier_original_order"
    assert any("Do not share" in change for change in judged["changes"])


def test_identifiers_by_the_engines_detection() -> None:
    import pandas as pd

    table = pd.DataFrame(
        {
            "patient_id": range(1, 61),
            "email": [f"p{i}@example.org" for i in range(60)],
            "age": [20 + i % 50 for i in range(60)],
        }
    )
    found = analysis.find_identifiers(table)
    assert [(f["column"], f["kind"]) for f in found] == [
        ("patient_id", "integer_sequence"),
        ("email", "email"),
    ]
    assert all("@" not in f["evidence"] for f in found)  # counts and patterns, no value


def test_advice_with_targets_is_measured() -> None:
    iris = read_file(data.path("iris"))
    advice = analysis.advise(iris, targets={"hidden_rate": 80})
    assert advice["targets_searched"] is True and advice["targets"] == {"hidden_rate": "> 80"}
    assert advice["met"] is True and advice["measured"]["hidden_rate"] > 80
    assert advice["basis"].startswith("measured") and advice["message"]
    shape = analysis.advise(iris)
    assert shape["targets_searched"] is False and "not measured" in shape["basis"]


def test_table_references(tmp_path: Path) -> None:
    assert TableRef.parse("example:wbcd", files_allowed=False) == TableRef("example", "wbcd")
    assert TableRef.parse("dataset:x.csv", files_allowed=False).name == "x"
    (tmp_path / "t.csv").write_text("a\n1\n")
    assert TableRef.parse(str(tmp_path / "t.csv"), files_allowed=True).kind == "file"
    for text, files_allowed, message in (
        ("example:nope", True, "no bundled table"),
        ("dataset:../x", False, "uploaded table"),
        (str(tmp_path / "t.csv"), False, "reads no file"),
        ("t.csv", True, "absolute path"),
        ("", True, "empty"),
    ):
        with pytest.raises(UsageError, match=message):
            TableRef.parse(text, files_allowed=files_allowed)
