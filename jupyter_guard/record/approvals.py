"""Approval requests in the store.

Kernels journal them (``AuditLog.request_approval``); a reviewer's decision is written here.
Who may decide is the policy's business, not the store's.
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


# -- `jupyter guard requests | approve ID | deny ID` (four eyes) ---------------------------------
_LIST_COLUMNS = ("request_id", "requested_by", "status", "requested_at", "reason", "code")


def cli(args: Any, path: str | os.PathLike[str], policy: Any) -> int:
    """The CLI side of approvals; the caller is ``--as-user``, ``JUPYTER_GUARD_USER`` or the login.

    Only users whose role has ``may_approve`` decide, and never on their own request. An approval
    lasts the policy's ``approvals.lifetime_minutes``.
    """
    import json
    import sys

    from jupyter_guard.identity import cli_groups, cli_user

    from .ingest import ingest

    ingest(path)                                       # every subcommand works on fresh data
    if args.command == "requests":
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
    me = getattr(args, "as_user", None) or cli_user()
    groups = cli_groups()
    verdict: Verdict = "approved" if args.command == "approve" else "denied"
    if not policy.may("may_approve", me, groups):
        print(f"jupyter guard {args.command}: {me} may not decide on approvals (no role with "
              f"may_approve in policy {policy.name}); ask a governance user", file=sys.stderr)
        return 1
    found = [r for r in requests(path, status=None) if r["request_id"] == args.request_id]
    if not found:
        print(f"jupyter guard {args.command}: no approval request {args.request_id}: list them "
              "with `jupyter guard requests`", file=sys.stderr)
        return 1
    if found[0]["requested_by"] == me:
        print(f"jupyter guard {args.command}: {me} requested {args.request_id} and may not decide "
              "on it: someone else must (four eyes)", file=sys.stderr)
        return 1
    if found[0]["status"] != "pending":
        print(f"jupyter guard {args.command}: request {args.request_id} is {found[0]['status']}",
              file=sys.stderr)
        return 1
    lifetime = dt.timedelta(minutes=int(getattr(policy, "approval_minutes", 60) or 60))
    decide_approval(path, args.request_id, decided_by=me, verdict=verdict, lifetime=lifetime)
    if verdict == "approved":
        print(f"approved {args.request_id} for {found[0]['requested_by']}: the same code may run "
              f"once within {int(lifetime.total_seconds() // 60)} minutes")
    else:
        print(f"denied {args.request_id} of {found[0]['requested_by']}")
    return 0
