"""Events as the chain sees them, read from the store, and the end lines an ingest writes for a
dead writer's events that were still running."""
from __future__ import annotations

from typing import Any

import duckdb

from .chain import chain_hash

CHAIN_SELECT = """SELECT event_id, session_id, seq, epoch_us(ts) AS ts_us, user_name, actor, groups,
    notebook, cell_id, execution_count, kind, code, code_sha256, decision, rule_id, reason,
    policy_revision, decision_id, status, duration_ms, rows_affected, prev_hash, hash FROM events"""



def _interrupt(con: duckdb.DuckDBPyConnection, session_id: str, last_seq: int,
               last_hash: str) -> list[dict[str, Any]]:
    """End lines, chained after ``last_hash``, for a dead session's events still ``running``."""
    rows = load_rows(con, "session_id = ? AND status = 'running' ORDER BY ts, event_id",
                     [session_id], table="events_live", lineage_table="lineage_live")
    lines = []
    for row in rows:
        last_seq += 1
        row.update(status="interrupted", duration_ms=None, rows_affected=None, seq=last_seq,
                   prev_hash=last_hash)
        last_hash = chain_hash(last_hash, row)
        lines.append({"t": "end", "event_id": row["event_id"], "ts_us": row["ts_us"],
                      "status": "interrupted", "duration_ms": None, "rows_affected": None,
                      "lineage": [], "finished_us": None, "seq": last_seq,
                      "prev_hash": row["prev_hash"], "hash": last_hash, "by": "ingest"})
    return lines


def load_rows(con: duckdb.DuckDBPyConnection, where: str, params: list[Any],
              table: str = "events", lineage_table: str = "lineage") -> list[dict[str, Any]]:
    """Events as the chain sees them (``chain.CHAIN_FIELDS`` plus prev_hash/hash)."""
    cur = con.execute(f"{CHAIN_SELECT.replace('FROM events', f'FROM {table}')} WHERE {where}",
                      params)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    if not rows:
        return rows
    ids = [r["event_id"] for r in rows]
    found: dict[str, list[list[Any]]] = {}
    for event_id, d, k, n, s in con.execute(
            f"SELECT event_id, direction, object_kind, name, is_sensitive FROM {lineage_table} "
            "WHERE event_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall():
        found.setdefault(event_id, []).append([d, k, n, s])
    for r in rows:
        r["lineage"] = found.get(r["event_id"], [])
        r["groups"] = list(r["groups"] or [])
    return rows
