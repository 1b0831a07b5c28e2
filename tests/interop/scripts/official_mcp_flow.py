"""Octopize's MCP server (``octopize-avatar-mcp`` 0.1.4), unmodified, driven by FastMCP's
client: the tools that work on any server, in the order an assistant calls them.

Runs in the MCP server's own venv (Python 3.12, fastmcp 3.0.1). It prints one JSON summary
on its last stdout line for the test to check.

Settings from the environment:

- ``MCP_URL``: the official server's streamable-HTTP endpoint (``http://127.0.0.1:<p>/sse``)
- ``AVATAR_API_KEY``: the first user's key; ``OTHER_API_KEY``: another organization's
- ``FLOW_IRIS``, ``FLOW_WBCD``: CSV paths; ``FLOW_OUT``: a folder for the downloads

Left out: ``get_privacy_metrics`` and ``get_signal_metrics`` (they call ``float()`` on the
metrics dicts the official client returns, on any server: ``get_metrics`` reads the same
results), ``get_metrics_summary`` (the official client allows it for multi-table runs only),
``pseudonymize`` and ``augment_data`` (features this platform does not run yet).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

warnings.simplefilter("ignore")


def client(key: str) -> Client:
    transport = StreamableHttpTransport(
        os.environ["MCP_URL"], headers={"Authorization": f"Bearer {key}"}
    )
    return Client(transport, timeout=900)


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await mcp.call_tool(tool, arguments, raise_on_error=False)
    text = result.content[0].text if result.content else ""
    if result.is_error:
        raise AssertionError(f"{tool}({arguments}) failed: {text}")
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(text))


async def first_user(out: Path) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    async with client(os.environ["AVATAR_API_KEY"]) as mcp:
        summary["tools"] = sorted(t.name for t in await mcp.list_tools())
        created = await call(mcp, "create_project", project_name="iris-mcp", seed=0)
        project = created["project_id"]
        summary["created"] = created["status"]
        added = await call(
            mcp,
            "add_table_to_project",
            project_id=project,
            table_name="iris",
            file_path=os.environ["FLOW_IRIS"],
        )
        summary["added"] = added["status"]
        # k and ncp from the platform's advice job: use_recommended_parameters
        anonymized = await call(mcp, "anonymize", project_id=project)
        summary["anonymized"] = {
            "status": anonymized["status"],
            "parameters": anonymized["parameters_used"],
            "tables": [(t["table_name"], t["row_count"]) for t in anonymized["tables"]],
            "reports": sorted(anonymized["reports"]),
        }
        metrics = await call(mcp, "get_metrics", project_id=project, table_name="iris")
        summary["metrics"] = {
            "privacy": metrics["privacy"],
            "utility": metrics["utility"],
            "parameters": metrics["parameters"],
        }
        avatars = await call(mcp, "get_avatars", project_id=project, table_name="iris")
        summary["avatars"] = [avatars["row_count"], avatars["column_count"]]
        info = await call(mcp, "get_table_info", project_id=project, table_name="iris")
        summary["table_info"] = info["columns"]
        summary["downloads"] = await downloads(mcp, project, out)
        summary["projects"] = [
            p["project_id"] for p in (await call(mcp, "list_projects"))["projects"]
        ]
        summary["project"] = project
    return summary


async def downloads(mcp: Client, project: str, out: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    dataset = out / "iris.avatars.csv"
    await call(
        mcp, "download_dataset", project_id=project, table_name="iris", output_path=str(dataset)
    )
    frame = pd.read_csv(dataset)
    found["dataset"] = [len(frame), list(frame.columns)]
    for kind, name in (("technical", "report.pdf"), ("pia", "pia.docx")):
        path = out / name
        await call(
            mcp, "download_report", project_id=project, output_path=str(path), report_type=kind
        )
        found[kind] = path.read_bytes()[:5].decode("latin-1")
    plot = out / "plot.html"
    answer = await call(
        mcp, "download_plot", project_id=project, table_name="iris", output_path=str(plot)
    )
    found["plot"] = [answer["success"], plot.stat().st_size > 1000, "<html" in plot.read_text()]
    return found


async def other_user() -> dict[str, Any]:
    """Another organization's key through the same official server."""
    summary: dict[str, Any] = {}
    async with client(os.environ["OTHER_API_KEY"]) as mcp:
        summary["projects"] = (await call(mcp, "list_projects"))["projects"]
        created = await call(mcp, "create_project", project_name="wbcd-other")
        added = await call(
            mcp,
            "add_table_to_project",
            project_id=created["project_id"],
            table_name="wbcd",
            file_path=os.environ["FLOW_WBCD"],
        )
        summary["added"] = added["status"]
    return summary


def main() -> None:
    started = time.monotonic()
    out = Path(os.environ["FLOW_OUT"])
    summary = {
        "first": asyncio.run(first_user(out)),
        "other": asyncio.run(other_user()),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
