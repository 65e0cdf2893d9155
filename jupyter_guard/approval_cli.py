"""``jupyter guard requests | approve ID | deny ID`` through the jupyter server's approval API.

Who decides is the server's business: the CLI sends the caller's token (``--token``, else the
token of the running server found like ``jupyter server list`` does) and the server names the
caller from it. ``--as-user`` and ``JUPYTER_GUARD_USER`` give no approval power. Without a
running server nothing can be decided (approvals live in the server), and the message says so.
"""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

API = "jupyter-guard/api/approvals"
NO_SERVER = ("no running jupyter server found: approvals are decided through the jupyter server "
             "that holds the guard's authority; start it, or pass --url and --token")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def server(args: Any) -> tuple[str, str]:
    """(base URL ending in '/', token): ``--url``/``--token``, else the newest running server."""
    url, token = getattr(args, "url", None), getattr(args, "token", None)
    if url:
        return url.rstrip("/") + "/", token or ""
    try:
        from jupyter_server.serverapp import list_running_servers

        found = sorted(list_running_servers(), key=lambda s: s.get("pid", 0))
    except Exception:   # noqa: BLE001 - no jupyter_server or an unreadable runtime dir: no server to ask
        found = []
    if not found:
        raise ApiError(0, NO_SERVER)
    info = found[-1]
    return str(info["url"]).rstrip("/") + "/", token or str(info.get("token") or "")


def call(base: str, token: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"token {token}"
    req = urllib.request.Request(base + path, data=None if body is None else
                                 json.dumps(body).encode(), headers=headers,
                                 method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read() or b"{}").get("message") or e.reason
        except (OSError, ValueError):
            message = e.reason
        raise ApiError(e.code, str(message)) from e
    except OSError as e:
        raise ApiError(0, f"the jupyter server at {base} could not be reached ({e})") from e


def decide(args: Any) -> int:
    verb = args.command
    if getattr(args, "as_user", None):
        print(f"jupyter guard {verb}: --as-user gives no approval power: the jupyter server "
              "decides who you are from your token", file=sys.stderr)
        return 1
    try:
        base, token = server(args)
        body = {"decision": "approve" if verb == "approve" else "deny"}
        if getattr(args, "reason", None):
            body["reason"] = args.reason
        req = call(base, token, f"{API}/{urllib.parse.quote(args.request_id, safe='')}", body)
    except ApiError as e:
        hint = {403: "", 404: ": list them with `jupyter guard requests`",
                409: ": ask the user to request approval again"}.get(e.status, "")
        print(f"jupyter guard {verb}: {e}{hint}", file=sys.stderr)
        return 1
    if verb == "approve":
        print(f"approved {req['id']} for {req['requester']}: the same code may run once "
              f"before {req['expires_at']}")
    else:
        print(f"denied {req['id']} of {req['requester']}")
    return 0


def listing(args: Any) -> int | None:
    """``requests`` from the server; None when no server is known (the caller falls back)."""
    try:
        base, token = server(args)
    except ApiError:
        return None
    status = "all" if getattr(args, "all", False) else "pending"
    try:
        got = call(base, token, f"{API}?status={status}")
    except ApiError as e:
        print(f"jupyter guard requests: {e}", file=sys.stderr)
        return 1
    rows = [{"request_id": r["id"], "requested_by": r["requester"], **r}
            for r in got["requests"]]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("(no pending approval requests)")
    else:
        for r in rows:
            code = " ".join(str(r["code"] or "").split())[:70]
            print(f"{r['id']}  {r['status']:<8} {r['requester']:<12} "
                  f"{str(r['created_at'])[:19]}  {r['reason'] or ''}\n    {code}")
    return 0
