"""Build a small audit file (CONTRACT §5 columns, the store's schema when present) for tests.

Times are naive UTC, the store's convention.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import Any

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR PRIMARY KEY, ts TIMESTAMPTZ, user_name VARCHAR, actor VARCHAR,
    session_id VARCHAR, notebook VARCHAR, cell_id VARCHAR, execution_count INTEGER,
    kind VARCHAR, code VARCHAR, code_sha256 VARCHAR, decision VARCHAR, rule_id VARCHAR,
    reason VARCHAR, status VARCHAR, duration_ms DOUBLE, rows_affected BIGINT,
    prev_hash VARCHAR, hash VARCHAR
)"""
APPROVALS_DDL = """
CREATE TABLE IF NOT EXISTS approvals (
    request_id VARCHAR, event_id VARCHAR, requested_by VARCHAR, code_sha256 VARCHAR,
    reason VARCHAR, status VARCHAR, decided_by VARCHAR, decided_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ
)"""
T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def event(user: str, decision: str, minute: int, rule_id: str = "", reason: str = "",
          code: str = "SELECT 1", cell_id: str = "cell-1") -> dict[str, Any]:
    status = "blocked" if decision in ("block", "approval") else "ok"
    return {
        "event_id": uuid.uuid4().hex, "ts": (T0 + dt.timedelta(minutes=minute)).replace(tzinfo=None),
        "user_name": user, "actor": "human", "session_id": f"s-{user}", "notebook": "demo.ipynb",
        "cell_id": cell_id, "execution_count": minute, "kind": "sql", "code": code,
        "code_sha256": hashlib.sha256(code.encode()).hexdigest(), "decision": decision,
        "rule_id": rule_id, "reason": reason, "status": status, "duration_ms": 1.5,
        "rows_affected": None, "prev_hash": "", "hash": "",
    }


def write_audit(path: Path, events: list[dict[str, Any]],
                pending_by: tuple[str, ...] = ()) -> Path:
    import duckdb

    con = duckdb.connect(str(path))
    try:
        table = "events_live"   # the real store's live events (``events`` is a view over them)
        try:  # the real store's schema when it is there, else the CONTRACT's columns
            from jupyter_guard.record.schema import ensure_schema
        except ImportError:
            con.execute(EVENTS_DDL)
            con.execute(APPROVALS_DDL)
            table = "events"
        else:
            ensure_schema(con)
        for e in events:
            con.execute(f"INSERT INTO {table} ({', '.join(e)}) VALUES "
                        f"({', '.join('?' for _ in e)})", list(e.values()))
        for who in pending_by:
            con.execute("INSERT INTO approvals (request_id, requested_by, status) "
                        "VALUES (?, ?, 'pending')", [uuid.uuid4().hex, who])
    finally:
        con.close()
    return path
