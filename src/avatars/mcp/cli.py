"""``avatars mcp``: the MCP server for one user, on their machine.

stdio by default (what desktop assistants start), streamable HTTP on a loopback address with
``--http``. Runs go to the local engine, kept in a workspace folder; with ``AVATAR_BASE_URL``
and ``AVATAR_API_KEY`` set, the tools can also run on that platform (``where="platform"``).
The key is read from the environment only, never from the command line (which other users
of the machine can see).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

# ``avatars --help`` must stay fast: FastMCP is imported by the command, not here; its
# absence is reported like any missing extra (avatars.cli registers a hint instead).
for _module in ("fastmcp", "numpy"):
    if find_spec(_module) is None:
        raise ModuleNotFoundError(f"No module named {_module!r}", name=_module)

DEFAULT_WORKSPACE = Path("~/.avatars/mcp")
DEFAULT_PORT = 8001


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mcp_command(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option(help="Loopback address to listen on (--http).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on (--http).")] = DEFAULT_PORT,
    workspace: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the local runs (AVATAR_MCP_WORKSPACE; default ~/.avatars/mcp)."
        ),
    ] = None,
) -> None:
    """Serve the MCP tools to an assistant: stdio, or streamable HTTP with --http.

    Runs use the local engine, and a platform too with AVATAR_BASE_URL and AVATAR_API_KEY."""
    from avatars.mcp.server import StandaloneAccess, create_server

    if http and not _is_loopback(host):
        typer.secho(
            f"error: --host {host}: this server reads and writes files of this machine and "
            "has no authentication, so it listens on a loopback address only. To offer the "
            "tools to other machines, run `avatars serve --mcp` (API keys, at /mcp).",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(code=2)
    folder = workspace or Path(os.environ.get("AVATAR_MCP_WORKSPACE") or DEFAULT_WORKSPACE)
    platform_url = os.environ.get("AVATAR_BASE_URL") or None
    api_key = os.environ.get("AVATAR_API_KEY") or None
    if bool(platform_url) != bool(api_key):
        typer.secho(
            "warning: platform runs need both AVATAR_BASE_URL and AVATAR_API_KEY; serving the "
            "local engine only",
            err=True,
            fg=typer.colors.YELLOW,
        )
    # stdout is the MCP channel under stdio: every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    server = create_server(StandaloneAccess(folder, platform_url, api_key))
    if http:
        server.run(
            "http",
            show_banner=False,
            host=host,
            port=port,
            path="/mcp",
            host_origin_protection="auto",  # loopback: refuse DNS-rebinding browsers
        )
    else:
        server.run("stdio", show_banner=False)


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_command)
