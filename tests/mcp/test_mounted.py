"""The MCP server on the platform (``avatars serve`` with ``AVATAR_MCP=1``, at ``/mcp``):
API keys only, each caller sees their own runs, no file of the server's machine is read or
written; a bundled table and an uploaded one go to a verdict and downloadable avatars.

End-to-end, on a live ``avatars serve`` (``live_platform``, SQLite): the MCP client speaks
streamable HTTP to it, and the mounted tools reach the platform's API over HTTP themselves."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import httpx
import pandas as pd
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from mcp_helpers import call, refusal

from avatars import data

pytestmark = pytest.mark.e2e


def _client(platform: Any, key: str) -> Client:
    transport = StreamableHttpTransport(
        f"{platform.base_url}/mcp", headers={"Authorization": f"Bearer {key}"}
    )
    return Client(transport, timeout=300)


def test_mounted_server_works_for_the_caller_and_nobody_else(live_platform: Any) -> None:
    alice = live_platform.new_user()
    outsider = live_platform.new_user(organization="another-organization")
    uploaded = live_platform.upload(alice.api_key, "patients.csv", data.path("iris").read_bytes())

    # no key, a wrong key: refused before any tool runs, saying what to send
    for headers in ({}, {"Authorization": "Bearer avatars_api_key.nope.nope"}):
        response = httpx.post(
            f"{live_platform.base_url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={**headers, "Accept": "application/json, text/event-stream"},
            timeout=30,
        )
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Not authenticated" in response.json()["detail"]

    run_id = asyncio.run(_alice(_client(live_platform, alice.api_key)))
    asyncio.run(_outsider(_client(live_platform, outsider.api_key), run_id))

    # the run is a platform run of Alice's, seen by the REST API with her key only; her
    # uploaded table is as she uploaded it, and the run left no file among her uploads
    datasets = live_platform.client(alice.api_key).get("/datasets").json()["datasets"]
    assert [(d["name"], d["etag"]) for d in datasets] == [("patients.csv", uploaded["etag"])]
    jobs = live_platform.client(alice.api_key).get("/jobs").json()["jobs"]
    assert run_id in {j["set_name"] for j in jobs}
    theirs = live_platform.client(outsider.api_key).get("/jobs").json()["jobs"]
    assert run_id not in {j["set_name"] for j in theirs}


async def _alice(client: Client) -> str:
    async with client:
        uploaded = await call(client, "describe_table", table="dataset:patients.csv")
        assert (uploaded["table"], uploaded["rows"], uploaded["columns"]) == ("patients", 150, 5)

        run = await call(client, "avatarize", table="dataset:patients.csv", k=10, report=True)
        record = run["run"]
        assert record["where"] == "platform" and record["status"] == "done"
        assert run["verdict"]["status"] in ("pass", "fail") and run["verdict"]["summary"]
        run_id = str(record["run_id"])

        metrics = await call(client, "get_metrics", run_id=run_id)
        assert metrics["verdict"] == run["verdict"]
        assert {"hidden_rate", "local_cloaking"} <= {m["name"] for m in metrics["privacy"]}
        listed = await call(client, "list_runs")
        assert run_id in [r["run_id"] for r in listed["runs"]]

        pointer = await call(client, "download_results", run_id=run_id)
        (resource,) = await client.read_resource(pointer["resource"])
        avatars = pd.read_csv(io.StringIO(resource.text))  # type: ignore[union-attr]
        assert avatars.shape == (150, 5)
        report = await call(client, "download_results", run_id=run_id, what="report")
        (pdf,) = await client.read_resource(report["resource"])
        assert pdf.blob and pdf.mime_type == "application/pdf"  # type: ignore[union-attr]

        # the server's machine is out of reach: no file read, no file written
        assert "reads no file" in await refusal(client, "describe_table", table="/etc/passwd")
        assert "writes no file" in await refusal(
            client, "download_results", run_id=run_id, output_path="/tmp/avatars.csv"
        )
        assert "no uploaded table" in await refusal(
            client, "describe_table", table="dataset:missing.csv"
        )
        return run_id


async def _outsider(client: Client, run_id: str) -> None:
    """Another organization's key: nothing of Alice's, whatever the way of asking."""
    async with client:
        assert (await call(client, "list_runs"))["runs"] == []
        for tool, arguments in (
            ("get_metrics", {"run_id": run_id}),
            ("download_results", {"run_id": run_id}),
            ("compare_runs", {"run_ids": [run_id, str(uuid.uuid4())]}),
        ):
            assert "no run" in await refusal(client, tool, **arguments)
        try:
            await client.read_resource(f"avatars://runs/{run_id}/avatars.csv")
        except Exception as exc:  # the client raises the server's resource error
            assert "no run" in str(exc)
        else:
            raise AssertionError("another organization read the avatars")
        assert "no uploaded table" in await refusal(
            client, "describe_table", table="dataset:patients.csv"
        )
