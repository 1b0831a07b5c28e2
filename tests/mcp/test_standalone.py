"""``avatars mcp`` on its own (no platform running): over stdio and over streamable HTTP, a
bundled table goes from file to verdict and downloaded avatars, with FastMCP's client."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from mcp_helpers import call, refusal
from typer.testing import CliRunner

from avatars import data

if TYPE_CHECKING:
    from fastmcp import Client
from avatars.cli import app

#: The AIDS trial's numeric codes are categories (the paper's setting, as ``avatars demo``).
AIDS_CATEGORIES = (
    "hemo", "homo", "drugs", "karnof", "oprior", "z30", "race", "gender", "str2", "strat",
    "symptom", "treat", "offtrt", "r", "cens", "arms",
)  # fmt: skip


# End-to-end: ``avatars mcp`` in its own process, over its transport (the desktop way).
@pytest.mark.e2e
def test_stdio_takes_a_table_from_file_to_verdict_and_avatars(
    stdio_server: Callable[..., Client], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    asyncio.run(_stdio_flow(stdio_server(workspace), tmp_path))
    # the run folder holds the deliverable, never the unshuffled avatars (a re-identification
    # key) nor a copy of the original table
    (run,) = (workspace / "runs").iterdir()
    assert sorted(p.name for p in run.iterdir()) == [
        "avatars.csv",
        "privacy.json",
        "run.json",
        "signal.json",
    ]


async def _stdio_flow(client: Client, tmp_path: Path) -> None:
    aids = str(data.path("aids"))  # a real file path, ';'-separated, with an identifier
    async with client:
        tools = {t.name for t in await client.list_tools()}
        assert tools == {
            "describe_table",
            "advise_parameters",
            "avatarize",
            "get_metrics",
            "compare_runs",
            "list_runs",
            "download_results",
        }
        description = await call(client, "describe_table", table=aids)
        assert (description["rows"], description["columns"]) == (2139, 27)
        assert [i["column"] for i in description["identifiers"]] == ["pidnum"]
        assert description["constant_columns"] == ["zprior"]
        assert set(AIDS_CATEGORIES) <= set(description["suggested_categories"])
        assert description["missing_cells"] == 797
        # counts only: no cell value of the table in the answer
        for column in description["column_details"]:
            assert set(column) == {
                "name", "type", "missing", "missing_share", "distinct", "identifier",
                "constant", "suggest_category",
            }  # fmt: skip

        refused = await refusal(client, "avatarize", table=aids)
        assert "'pidnum'" in refused and "drop=['pidnum']" in refused
        # excluded columns go back by row order: an excluded identifier is refused too
        assert "'pidnum'" in await refusal(client, "avatarize", table=aids, exclude=["pidnum"])

        types = {c: "category" for c in AIDS_CATEGORIES}
        advice = await call(
            client, "advise_parameters", table=aids, drop=["pidnum"], column_types=types
        )
        assert advice["k"] == 20 and advice["imputation"] == "knn"

        run = await call(
            client,
            "avatarize",
            table=aids,
            drop=["pidnum", "zprior"],
            column_types=types,
            k=20,
            seed=3,
        )
        record = run["run"]
        assert record["status"] == "done" and record["where"] == "local"
        assert record["parameters"]["k"] == 20 and record["rows"] == 2139
        verdict = run["verdict"]
        assert verdict["status"] in ("pass", "fail") and verdict["summary"]
        assert verdict["status"] == ("fail" if verdict["failed"] else "pass")
        assert run["key_metrics"]["hidden_rate"] > 80

        metrics = await call(client, "get_metrics", run_id=record["run_id"])
        assert metrics["verdict"] == verdict
        names = {m["name"] for m in metrics["privacy"]}
        assert {"hidden_rate", "local_cloaking", "distance_to_closest"} <= names
        assert all(m["meaning"] for m in metrics["privacy"])

        target = tmp_path / "aids.avatars.csv"
        saved = await call(
            client, "download_results", run_id=record["run_id"], output_path=str(target)
        )
        assert saved["rows"] == 2139 and target.stat().st_size == saved["bytes"]
        avatars = pd.read_csv(target)
        assert list(avatars.columns) == [
            c for c in pd.read_csv(aids, sep=";").columns if c not in ("pidnum", "zprior")
        ]
        (resource,) = await client.read_resource(record["resources"]["avatars"])
        assert resource.text.encode() == target.read_bytes()  # type: ignore[union-attr]
        again = await refusal(
            client, "download_results", run_id=record["run_id"], output_path=str(target)
        )
        assert "exists" in again and "overwrite" in again

        # short, actionable errors
        assert "no file" in await refusal(client, "describe_table", table=str(tmp_path / "x"))
        assert "absolute path" in await refusal(client, "describe_table", table="aids.csv")
        assert "list_runs" in await refusal(client, "get_metrics", run_id="local-../../etc")
        assert "'local'" in await refusal(
            client, "avatarize", table="example:iris", k=10, where="platform"
        )
        assert "no report" in await refusal(
            client, "download_results", run_id=record["run_id"], what="report"
        )


# End-to-end: ``avatars mcp`` in its own process, over its transport (the desktop way).
@pytest.mark.e2e
def test_http_takes_a_table_from_file_to_verdict_and_avatars(
    http_server: Callable[[Path], str], tmp_path: Path
) -> None:
    from fastmcp import Client  # ~3 s of imports: not at collection (tests/mcp/conftest.py)
    from fastmcp.client.transports import StreamableHttpTransport

    url = http_server(tmp_path)
    asyncio.run(_http_flow(Client(StreamableHttpTransport(url), timeout=300)))


async def _http_flow(client: Client) -> None:
    async with client:
        description = await call(client, "describe_table", table="example:wbcd")
        assert description["rows"] == 683
        assert [i["column"] for i in description["identifiers"]] == ["Sample_code_number"]
        assert "identifier" in await refusal(client, "avatarize", table="example:wbcd", k=5)
        drop = ["Sample_code_number"]
        first = await call(client, "avatarize", table="example:wbcd", k=5, seed=1, drop=drop)
        second = await call(client, "avatarize", table="example:wbcd", k=20, seed=1, drop=drop)
        twin = await call(client, "avatarize", table="example:wbcd", k=20, seed=1, drop=drop)
        ids = [r["run"]["run_id"] for r in (first, second, twin)]
        assert len(set(ids)) == 3

        compared = await call(client, "compare_runs", run_ids=ids[:2])
        assert [r["run_id"] for r in compared["runs"]] == ids[:2]
        assert compared["runs"][1]["hidden_rate"] > compared["runs"][0]["hidden_rate"]
        passing = [r["run_id"] for r in compared["runs"] if r["verdict"] == "pass"]
        assert compared["best"] in (passing or [None])

        listed = await call(client, "list_runs")
        assert [r["run_id"] for r in listed["runs"]] == ids[::-1]

        pointer = await call(client, "download_results", run_id=ids[1])
        assert pointer["resource"] == f"avatars://runs/{ids[1]}/avatars.csv"
        (resource,) = await client.read_resource(pointer["resource"])
        avatars = pd.read_csv(io.StringIO(resource.text))  # type: ignore[union-attr]
        assert avatars.shape == (683, 10)
        # one seed, one result: the same call gives byte-identical avatars
        (same,) = await client.read_resource(f"avatars://runs/{ids[2]}/avatars.csv")
        assert same.text == resource.text  # type: ignore[union-attr]
        (metrics,) = await client.read_resource(f"avatars://runs/{ids[1]}/metrics.json")
        assert '"hidden_rate"' in metrics.text  # type: ignore[union-attr]


def test_http_serves_loopback_only() -> None:
    result = CliRunner().invoke(app, ["mcp", "--http", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "loopback" in result.output and "avatars serve --mcp" in result.output
