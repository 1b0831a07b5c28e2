"""Calling our MCP tools from a test.

- ``call(client, tool, **arguments)``: a tool's structured answer (asserting it succeeded);
- ``refusal(client, tool, **arguments)``: the text of a tool's error (asserting it failed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastmcp import Client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments, raise_on_error=False)
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    assert not result.is_error, f"{tool}({arguments}) failed: {text}"
    assert result.structured_content is not None
    return dict(result.structured_content)


async def refusal(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments, raise_on_error=False)
    assert result.is_error, f"{tool}({arguments}) should have failed: {result.structured_content}"
    return str(result.content[0].text)  # type: ignore[union-attr]
