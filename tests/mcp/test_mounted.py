"""The MCP server on the platform (``avatars serve`` with ``AVATAR_MCP=1``, at ``/mcp``):
API keys only, each caller sees their own runs, no file of the server's machine is read or
written; a bundled table and an uploaded one go to a verdict and downloadable avatars.

End-to-end, on a live ``avatars serve`` (``live_platform``, SQLite): the MCP client speaks
streamable HTTP to it, and the mounted tools reach the platform's API over HTTP themselves."""

from __future__ import annotations

import asyncio
import io
import socket
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd
import pytest
from mcp_helpers import call, refusal

from avatars import data

if TYPE_CHECKING:
    from fastmcp import Client

pytestmark = pytest.mark.e2e


def _client(platform: Any, key: str) -> Client:
    from fastmcp import Client  # ~3 s of imports: not at collection (tests/mcp/conftest.py)
    from fastmcp.client.transports import StreamableHttpTransport

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


def _raw_post(platform: Any, headers: str, body: bytes = b"") -> bytes:
    """``POST /mcp`` over a bare socket: the answer, read until the server closes, after
    sending ``headers`` and ``body`` (which may be shorter than the Content-Length declared:
    an answer before the body must close the connection)."""
    port = int(platform.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST /mcp HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    return answer


def test_mounted_server_bodies_are_bounded_and_read_after_the_key(live_platform: Any) -> None:
    """Issue 16.2 at /mcp: the gate checks the API key before the MCP app reads a byte of the
    body, the body is bounded by AVATAR_MAX_REQUEST_BYTES, and a deeply nested one is a
    client error."""
    platform = live_platform  # a socket of its own: the raw requests below need one
    key = platform.new_user().api_key
    json_head = "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
    # no key: 401 with nothing of the declared 3 MB sent
    answer = _raw_post(platform, json_head + f"Content-Length: {3 * 1024 * 1024}\r\n")
    assert answer.startswith(b"HTTP/1.1 401"), answer[:300]
    assert b"www-authenticate: bearer" in answer.lower()
    # a valid key, a body over the limit: 413 from Content-Length alone
    declared = json_head + f"Authorization: Bearer {key}\r\nContent-Length: {200 * 1024**2}\r\n"
    answer = _raw_post(platform, declared)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"AVATAR_MAX_REQUEST_BYTES" in answer
    # nested 100,000 deep: refused as a parse error, not a crash
    response = httpx.post(
        f"{platform.base_url}/mcp",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        timeout=30,
    )
    assert 400 <= response.status_code < 500, response.text[:300]


def test_tools_call_the_api_back_over_the_socket_behind_a_tls_proxy() -> None:
    """Behind a trusted proxy that terminates TLS, the request's scheme is the client's
    (https, for the URLs handed out) but the tools' calls back go to the plain socket."""
    from avatars.mcp.mount import own_base_url
    from avatars.server.middleware import TrustedProxies

    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {
        "type": "http",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"x-forwarded-proto", b"https"), (b"x-forwarded-for", b"203.0.113.5")],
    }
    asyncio.run(TrustedProxies(app, ["127.0.0.1"])(scope, None, None))  # type: ignore[arg-type]
    assert seen["scheme"] == "https" and seen["client"] == ("203.0.113.5", 0)
    assert own_base_url(seen) == "http://127.0.0.1:8000"
