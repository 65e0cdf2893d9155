"""A real jupyter_server with the guard, three users told apart by their tokens (alice holds the
server's token, gina and bob their own), and helpers for the approval API and the CLI."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import duckdb
from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

TOKENS = {"gina-token-0123456789": "gina", "bob-token-0123456789": "bob"}
GINA, BOB = "gina-token-0123456789", "bob-token-0123456789"

POLICY = """\
version: 1
extends: default
roles:
  governance: {{users: [gina, alice], may_approve: true}}
approvals:
  lifetime_minutes: 30
  notify: ["{hook}"]
"""


class ByToken(IdentityProvider):
    """gina and bob by their own tokens; the server's token (and only it) is alice."""

    async def get_user(self, handler: Any) -> User | None:
        auth = handler.request.headers.get("Authorization", "")
        token = auth[len("token "):] if auth.startswith("token ") else ""
        if token in TOKENS:
            handler._token_authenticated = True
            return User(TOKENS[token])
        anonymous = await ensure_async(super().get_user(handler))
        return User("alice") if anonymous else None


class Hook:
    """A loopback HTTP listener that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        got: list[dict[str, Any]] = []
        self.got = got

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_env(d: Path, hook: str) -> dict[str, Path]:
    wh = d / "wh.duckdb"
    con = duckdb.connect(str(wh))
    for t in ("orders", "customers", "ledger", "notes"):
        con.execute(f"CREATE TABLE {t} AS SELECT range AS id FROM range(10)")
    con.close()
    (d / "policy.yaml").write_text(POLICY.format(hook=hook))
    return {"wh": wh, "audit": d / "audit.duckdb", "dir": d, "policy": d / "policy.yaml"}


async def api(jp_fetch: Any, *parts: str, token: str = "", body: Any = None,
              params: dict[str, str] | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"token {token}"} if token else None
    kw: dict[str, Any] = {"method": "POST", "body": json.dumps(body)} if body is not None else {}
    try:
        r = await jp_fetch("jupyter-guard", "api", *parts, headers=headers, params=params, **kw)
    except HTTPClientError as e:
        return e.code, json.loads(e.response.body) if e.response is not None else None
    return r.code, json.loads(r.body)


async def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The real CLI in a subprocess, awaited (the server runs on this event loop)."""
    full = {**os.environ, **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "jupyter_guard.cli", *args, env=full,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return int(proc.returncode or 0), out.decode(), err.decode()


async def wait_for(cond: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def tables(wh: Path) -> set[str]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
