"""Copies of approval requests in the audit file, for reports and ``jupyter guard requests``
without a server. The jupyter server's approval store (``jupyter_guard.server.approval_store``)
decides; nothing here makes a cell approved (anyone who can write the audit file could write a
row).
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any, Literal

from .errors import AuditError
from .ingest import _ingest, approved_now, read_hint, write_hint
from .schema import utcnow
from .store import connect_readonly, rewrite, store_lock

Verdict = Literal["approved", "denied"]


def requests(path: str | os.PathLike[str], status: str | None = "pending") -> list[dict[str, Any]]:
    """Approval requests (``status=None``: all), newest first."""
    con = connect_readonly(path)
    try:
        cur = con.execute("""SELECT request_id, event_id, requested_by, requested_at, code_sha256,
            code, reason, CASE WHEN status = 'pending' AND expires_at < ? THEN 'expired'
            ELSE status END AS status, decided_by, decided_at, expires_at FROM approvals
            ORDER BY requested_at DESC""", [utcnow()])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
    return [r for r in rows if status is None or r["status"] == status]


def decide_approval(path: str | os.PathLike[str], request_id: str, *, decided_by: str,
                    verdict: Verdict, lifetime: dt.timedelta = dt.timedelta(hours=1)) -> None:
    """Record a reviewer's decision on a pending request; an approval lasts ``lifetime``."""
    with store_lock(path, wait=None):
        _ingest(path, wait=None, locked=True)
        with rewrite(path) as con:
            found = con.execute("SELECT status, requested_by FROM approvals WHERE request_id = ?",
                                [request_id]).fetchall()
            if not found:
                raise AuditError(f"no approval request {request_id} in {os.fspath(path)}: "
                                 "list them with `jupyter guard requests`")
            if found[0][0] != "pending":
                raise AuditError(f"request {request_id} is already {found[0][0]}: "
                                 "ask the user to request approval again")
            now = utcnow()
            con.execute("UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, "
                        "expires_at = ? WHERE request_id = ?",
                        [verdict, decided_by, now, now + lifetime, request_id])
            approved = approved_now(con)
        write_hint(Path(os.fspath(path)), read_hint(path), approved)
    from .seal_write import flush

    flush(Path(os.fspath(path)))   # a segment its ingest wrote, sealed once the lock is free


def maybe_approved(path: str | os.PathLike[str], *, user: str, code_sha256: str) -> bool:
    """False only when the ingest hint lists no approved, unexpired request of ``user`` for
    this code: no DuckDB, no ingest, so a refused cell never waits on the store. Every publish
    rewrites the hint (a decision at once), so a "no" is at most one ingest old, and a "no" only
    keeps a refusal; a "yes" is checked in the store. No hint at all says yes."""
    hint = read_hint(path)
    approved = hint.get("__approved__")
    if not isinstance(approved, list):
        return True
    now = time.time()
    return any(isinstance(a, list) and len(a) == 3 and a[0] == user and a[1] == code_sha256
               and isinstance(a[2], (int, float)) and a[2] > now for a in approved)


def find_approval(path: str | os.PathLike[str], *, user: str, code_sha256: str
                  ) -> dict[str, Any] | None:
    """The approved, unexpired request of ``user`` for exactly this code, if any."""
    for row in requests(path, status="approved"):
        fresh = row["expires_at"] is not None and row["expires_at"] > utcnow()
        if row["requested_by"] == user and row["code_sha256"] == code_sha256 and fresh:
            return row
    return None


# -- `jupyter guard requests` without a server: the copies in the audit file ---------------------
def cli(args: Any, path: str | os.PathLike[str], policy: Any) -> int:
    """List the requests copied into the audit file (``requests``). Deciding is the jupyter
    server's (``jupyter_guard.approval_cli``): nothing here approves anything."""
    import json

    from .ingest import ingest

    ingest(path)
    rows = requests(path, status=None if getattr(args, "all", False) else "pending")
    if args.format == "json":
        print(json.dumps(rows, default=str, indent=2))
    elif not rows:
        print("(no pending approval requests)")
    else:
        for r in rows:
            code = " ".join(str(r["code"] or "").split())[:70]
            print(f"{r['request_id']}  {r['status']:<8} {r['requested_by']:<12} "
                  f"{str(r['requested_at'])[:19]}  {r['reason'] or ''}\n    {code}")
    return 0
