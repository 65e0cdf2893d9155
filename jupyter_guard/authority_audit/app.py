"""The authority as a process of its own (a JupyterHub service, or a test's separate process):

    python -m jupyter_guard.authority_audit.app --folder DIR --port N [--dsn DSN]
           [--tokens FILE] [--copy FILE.duckdb] [--base-url /services/guard/]

``--tokens`` is a JSON file ``{token: {"kernel": id, "user": name, "users": [names]}}`` (the
hub writes it when it starts a user's server); ``--dsn`` selects PostgreSQL (hub mode), else the
SQLite ledger in ``--folder``; ``--copy`` runs the mover into that DuckDB file. It prints
``listening <port>`` once it accepts requests.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

from .service import AuditAuthority, Principal


def token_resolver(path: str) -> Any:
    """Principals from the tokens file, re-read when it changes."""
    state: dict[str, Any] = {"stamp": None, "map": {}}

    def resolve(token: str) -> Principal | None:
        if not token or not path:
            return None
        try:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != state["stamp"]:
                with open(path) as fh:
                    state["map"], state["stamp"] = json.load(fh), stamp
        except (OSError, ValueError):
            return None
        entry = state["map"].get(token)
        if not isinstance(entry, dict):
            return None
        user = str(entry.get("user") or "")
        users = frozenset(str(u) for u in entry.get("users") or [user] if u)
        return Principal(str(entry.get("kernel") or ""), user or "unknown", users)

    return resolve


async def serve(args: argparse.Namespace) -> None:
    from tornado.web import Application

    from .handlers import mount

    authority = AuditAuthority.open(args.folder, dsn=args.dsn)
    app = Application()
    mount(app, args.base_url, authority, token_resolver(args.tokens))
    server = app.listen(args.port, address="127.0.0.1")
    mover = None
    if args.copy:
        from .mover import Mover, MoverThread

        mover = MoverThread(Mover(authority.ledger, args.copy), interval=args.interval)
        mover.start()
    print(f"listening {args.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
    if mover is not None:
        mover.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jupyter_guard.authority_audit.app")
    p.add_argument("--folder", required=True, help="the authority's 0700 folder (keys, ledger)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dsn", default=os.environ.get("JUPYTER_GUARD_AUDIT_DSN", ""))
    p.add_argument("--tokens", default="")
    p.add_argument("--copy", default="", help="the governance DuckDB copy the mover keeps")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--base-url", default="/")
    args = p.parse_args(argv)
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError) as e:
        print(f"jupyter_guard authority: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
