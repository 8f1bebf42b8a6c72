"""A small real MCP server made with the official Python SDK (FastMCP).

    python sdk_server.py --transport streamable-http|sse|stdio [--port N] [--json]

Serves on 127.0.0.1:N (Streamable HTTP at /mcp, legacy SSE at /sse).
--json makes Streamable HTTP answer with plain JSON instead of event streams.
Five tools of different kinds: read-only with annotations, destructive, one
with a title, one with a nested schema, one with no annotations.
"""
import argparse

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

ITEMS = {"1": "apple", "2": "pear"}

mcp = FastMCP("sdk-test-server", instructions="A test server for mcp-catalogue.")


@mcp.tool(annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False))
def list_items(prefix: str = "") -> list[str]:
    """List the items whose name starts with prefix."""
    return [v for v in ITEMS.values() if v.startswith(prefix)]


@mcp.tool(annotations=ToolAnnotations(destructiveHint=True, idempotentHint=True))
def delete_item(item_id: str) -> str:
    """Delete an item for good."""
    return f"deleted {item_id}" if ITEMS.pop(item_id, None) else f"no item {item_id}"


@mcp.tool(title="Add an item")
def add_item(name: str, quantity: int = 1) -> str:
    """Add an item to the list."""
    ITEMS[str(len(ITEMS) + 1)] = name
    return f"added {quantity} x {name}"


@mcp.tool()
def search(query: str, filters: dict[str, str] | None = None, limit: int = 10) -> dict:
    """Search items with optional filters."""
    return {"query": query, "hits": [v for v in ITEMS.values() if query in v][:limit]}


@mcp.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transport", default="stdio", choices=["stdio", "sse", "streamable-http"])
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    mcp.settings.host = "127.0.0.1"
    mcp.settings.port = args.port
    mcp.settings.log_level = "WARNING"
    if args.json:
        mcp.settings.json_response = True
    mcp.run(transport=args.transport)


if __name__ == "__main__":
    main()
