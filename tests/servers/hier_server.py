#!/usr/bin/env python3
"""A small hierarchical MCP server for the expansion tests (stdlib only).

Newline-delimited JSON-RPC 2.0 over stdio. tools/list answers one umbrella
tool, `ops`, whose actions appear only through discovery calls:

    ops({"op": "groups"})               -> JSON text {"groups": [{"id", "title", "operations"}]}
    ops({"op": "group", "group": G})    -> markdown table | Operation | Description | Parameters |
    ops({"op": "run", ...})             -> always an error: this server never runs anything

Two groups both have an operation named `list`, so expansion must qualify
them. If HIER_LOG names a file, each tools/call's arguments are appended to it
as one JSON line, so a test can check that only discovery calls were made.
If HIER_FAIL_GROUP names a group, listing that group answers an error.
"""
import json
import os
import sys

GROUPS = [
    ("files", "File operations", [
        ("read_file", "Read a file's contents.",
         [("path", "string", True, "file to read"), ("encoding", "string", False, "text encoding, default utf-8")]),
        ("write_file", "Write (or append to) a file.",
         [("path", "string", True, "file to write"), ("content", "string", True, "text to write"),
          ("append", "boolean", False, "append instead of replacing")]),
        ("delete_file", "Delete a file \\| irreversibly.",
         [("path", "string", True, "file to delete"), ("force", "boolean", False, "ignore a missing file")]),
        ("list", "List a directory.", [("path", "string", False, "directory, default /")]),
    ]),
    ("users", "User accounts", [
        ("list", "List user accounts.", [("filter", "string", False, "substring to match")]),
        ("create_user", "Create a user account.",
         [("username", "string", True, "login name"), ("password", "string", True, "initial password"),
          ("admin", "boolean", False, "grant administrator rights")]),
        ("delete_user", "Delete a user account.", [("username", "string", True, "login name")]),
    ]),
    ("system", "Appliance status and power", [
        ("status", "Show service status.", []),
        ("reboot", "Reboot the appliance.",
         [("confirm", "boolean", True, "must be true"), ("delay", "integer", False, "seconds to wait first")]),
    ]),
]

TOOL = {
    "name": "ops",
    "description": (
        "Operations hub for the Acme appliance. op=\"groups\" lists the operation groups (JSON); "
        "op=\"group\" with group=G lists G's operations and their parameters as a table; "
        "op=\"run\" with group, action and args runs one operation."
    ),
    "inputSchema": {
        "type": "object",
        "properties": {
            "op": {"type": "string", "enum": ["groups", "group", "run"], "description": "What to do"},
            "group": {"type": "string", "description": "Operation group (for op=group and op=run)"},
            "action": {"type": "string", "description": "Operation name (for op=run)"},
            "args": {"type": "object", "description": "Operation arguments (for op=run)"},
        },
        "required": ["op"],
    },
}


def groups_json():
    return json.dumps({"groups": [{"id": g, "title": t, "operations": len(ops)} for g, t, ops in GROUPS]}, indent=2)


def group_table(gid):
    for g, title, ops in GROUPS:
        if g != gid:
            continue
        rows = [f"## {g} — {title}", "", "| Operation | Description | Parameters |", "|---|---|:---|"]
        for name, desc, params in ops:
            ps = "; ".join(
                f"`{p}` ({ty}{', required' if req else ''}): {d}" for p, ty, req, d in params
            ) or "—"
            rows.append(f"| `{name}` | {desc} | {ps} |")
        rows += ["", f'Run one with {{"op": "run", "group": "{g}", "action": NAME, "args": {{...}}}}.']
        return "\n".join(rows)
    return None


def text_result(text, error=False):
    r = {"content": [{"type": "text", "text": text}]}
    if error:
        r["isError"] = True
    return r


def call(arguments):
    op = arguments.get("op")
    if op == "groups" and set(arguments) == {"op"}:
        return text_result(groups_json())
    if op == "group" and set(arguments) == {"op", "group"}:
        if arguments["group"] == os.environ.get("HIER_FAIL_GROUP"):
            return text_result(f"Error: group {arguments['group']} is unavailable", error=True)
        table = group_table(arguments["group"])
        if table is None:
            return text_result(f"Unknown group: {arguments['group']}", error=True)
        return text_result(table)
    if op == "run":
        return text_result("Refused: this test server never runs an operation.", error=True)
    return text_result("Bad arguments: expected op=groups, op=group or op=run.", error=True)


def main():
    log = os.environ.get("HIER_LOG")

    def reply(msg_id, result=None, error=None):
        out = {"jsonrpc": "2.0", "id": msg_id}
        if error is not None:
            out["error"] = error
        else:
            out["result"] = result
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            reply(None, error={"code": -32700, "message": "Parse error"})
            continue
        if "id" not in msg:
            continue  # a notification
        method, params = msg.get("method"), msg.get("params") or {}
        if method == "initialize":
            reply(msg["id"], {
                "protocolVersion": params.get("protocolVersion") or "2025-06-18",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "hier-server", "version": "1.0.0"},
            })
        elif method == "ping":
            reply(msg["id"], {})
        elif method == "tools/list":
            reply(msg["id"], {"tools": [TOOL]})
        elif method == "tools/call":
            name, arguments = params.get("name"), params.get("arguments") or {}
            if log:
                with open(log, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"name": name, "arguments": arguments}) + "\n")
            if name != "ops":
                reply(msg["id"], text_result(f"Unknown tool: {name}", error=True))
            else:
                reply(msg["id"], call(arguments))
        else:
            reply(msg["id"], error={"code": -32601, "message": "Method not found"})


if __name__ == "__main__":
    main()
