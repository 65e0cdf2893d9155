"""Bring the published store up to date from every session's journal.

Idempotent: each journal's ingested byte offset is stored in the ``sessions`` table of the same file
that receives its lines, and both are published together by one ``os.replace``. A crash anywhere
before that leaves the published file as it was; the lines are ingested by the next attempt.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .chain import chain_hash
from .journal import Chunk, append_lines, ingested_dir, journal_dir, read_from, writer_alive
from .store import rewrite, store_lock

_BEGIN = pa.schema([
    ("event_id", pa.string()), ("ts_us", pa.int64()), ("user_name", pa.string()),
    ("actor", pa.string()), ("groups", pa.list_(pa.string())), ("session_id", pa.string()),
    ("seq", pa.int64()), ("notebook", pa.string()), ("cell_id", pa.string()),
    ("execution_count", pa.int64()), ("kind", pa.string()), ("code", pa.string()),
    ("code_sha256", pa.string()), ("decision", pa.string()), ("rule_id", pa.string()),
    ("reason", pa.string()), ("policy_revision", pa.string()), ("decision_id", pa.string()),
    ("status", pa.string()), ("duration_ms", pa.float64()), ("rows_affected", pa.int64()),
    ("host", pa.string()), ("prev_hash", pa.string()), ("hash", pa.string())])
_END = pa.schema([
    ("event_id", pa.string()), ("ts_us", pa.int64()), ("status", pa.string()),
    ("duration_ms", pa.float64()), ("rows_affected", pa.int64()), ("finished_us", pa.int64()),
    ("seq", pa.int64()), ("prev_hash", pa.string()), ("hash", pa.string())])
_LINEAGE = pa.schema([("event_id", pa.string()), ("direction", pa.string()),
                      ("object_kind", pa.string()), ("name", pa.string()),
                      ("is_sensitive", pa.bool_())])
_APPROVAL = pa.schema([
    ("request_id", pa.string()), ("event_id", pa.string()), ("requested_by", pa.string()),
    ("requested_us", pa.int64()), ("code_sha256", pa.string()), ("code", pa.string()),
    ("reason", pa.string()), ("expires_us", pa.int64())])

CHAIN_SELECT = """SELECT event_id, session_id, seq, epoch_us(ts) AS ts_us, user_name, actor, groups,
    notebook, cell_id, execution_count, kind, code, code_sha256, decision, rule_id, reason,
    policy_revision, decision_id, status, duration_ms, rows_affected, prev_hash, hash FROM events"""


def hint_path(path: str | os.PathLike[str]) -> Path:
    """A small JSON of ingested offsets, read without opening DuckDB to skip no-op ingests."""
    return Path(f"{os.fspath(path)}.ingested.json")


def ingest(path: str | os.PathLike[str]) -> int:
    """Bring the published file up to date from all journals (waits for the lock).

    Returns the number of events ingested. Events still ``running`` in a session whose writer is
    gone (or that was closed) are completed as ``interrupted``.
    """
    return _ingest(path, wait=None) or 0


def try_ingest(path: str | os.PathLike[str], wait: float = 0.0) -> int | None:
    """Like ``ingest`` but gives up (returning None) if another process holds the lock."""
    return _ingest(path, wait=wait)


def _up_to_date(path: Path, journals: list[Path]) -> bool:
    try:
        hint = json.loads(hint_path(path).read_text())
    except (OSError, ValueError):
        return False
    for journal in journals:
        known = hint.get(journal.name)
        if not known or known["offset"] != journal.stat().st_size:
            return False
        if known["running"] and not writer_alive(known["head"]):
            return False
    return path.exists()


def _ingest(path: str | os.PathLike[str], wait: float | None) -> int | None:
    published = Path(os.fspath(path))
    folder = journal_dir(published)
    with store_lock(published, wait=wait) as locked:
        if not locked:
            return None
        journals = sorted(folder.glob("*.jsonl")) if folder.exists() else []
        if _up_to_date(published, journals):
            return 0
        count, hint, ended = 0, {}, []
        with rewrite(published) as con:
            for journal in journals:
                n, state = _ingest_journal(con, journal)
                count += n
                hint[journal.name] = state
                if state["ended"] and not state["running"]:
                    ended.append(journal)
        done = ingested_dir(published)
        for journal in ended:
            done.mkdir(exist_ok=True)
            os.replace(journal, done / journal.name)
            hint.pop(journal.name)
        with contextlib.suppress(OSError):
            tmp = hint_path(published).with_suffix(".tmp")
            tmp.write_text(json.dumps(hint))
            os.replace(tmp, hint_path(published))
        return count


def _ingest_journal(con: duckdb.DuckDBPyConnection, journal: Path) -> tuple[int, dict[str, Any]]:
    found = con.execute("SELECT byte_offset, last_seq, last_hash, closed, pid, host, pid_start "
                        "FROM sessions WHERE journal = ?", [journal.name]).fetchall()
    row = found[0] if found else None
    if row is None:
        con.execute("INSERT INTO sessions (session_id, journal) VALUES (?, ?)",
                    [journal.stem, journal.name])
        row = (0, 0, "", False, None, None, None)
    offset, last_seq, last_hash, closed, pid, host, start = row
    head = {"pid": pid, "host": host, "pid_start": start}
    chunk = read_from(journal, offset)
    count = _apply(con, chunk.lines)
    for line in chunk.lines:
        if line.get("t") == "head":
            head = {k: line.get(k) for k in ("pid", "host", "pid_start")}
        elif line.get("t") == "close":
            closed = True
        elif line.get("seq") is not None:
            last_seq, last_hash = int(line["seq"]), str(line["hash"])
    bad, end = chunk.bad_lines, chunk.end
    ended = bool(closed) or not writer_alive(head)
    running = con.execute("SELECT count(*) FROM events WHERE session_id = ? AND status = 'running'",
                          [journal.stem]).fetchall()[0][0]
    if ended and running:
        lines = _interrupt(con, journal.stem, last_seq, last_hash)
        append_lines(journal, lines, fix_tail=chunk.tail > 0)
        bad += 1 if chunk.tail else 0
        _apply(con, tuple(lines))
        last_seq, last_hash = int(lines[-1]["seq"]), str(lines[-1]["hash"])
        end, running = journal.stat().st_size, 0
    con.execute("UPDATE sessions SET byte_offset = ?, last_seq = ?, last_hash = ?, closed = ?, "
                "pid = ?, host = ?, pid_start = ?, bad_lines = bad_lines + ? WHERE journal = ?",
                [end, last_seq, last_hash, closed, head["pid"], head["host"], head["pid_start"],
                 bad, journal.name])
    return count, {"offset": end, "running": running, "head": head, "ended": ended}


def _interrupt(con: duckdb.DuckDBPyConnection, session_id: str, last_seq: int,
               last_hash: str) -> list[dict[str, Any]]:
    """End lines, chained after ``last_hash``, for a dead session's events still ``running``."""
    rows = load_rows(con, "session_id = ? AND status = 'running' ORDER BY ts, event_id",
                     [session_id])
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
    ids = pa.table({"event_id": [r["event_id"] for r in rows]})
    con.register("_ids", ids)
    found: dict[str, list[list[Any]]] = {}
    for event_id, d, k, n, s in con.execute(
            f"SELECT event_id, direction, object_kind, name, is_sensitive FROM {lineage_table} "
            "WHERE event_id IN (SELECT event_id FROM _ids)").fetchall():
        found.setdefault(event_id, []).append([d, k, n, s])
    con.unregister("_ids")
    for r in rows:
        r["lineage"] = found.get(r["event_id"], [])
        r["groups"] = list(r["groups"] or [])
    return rows


def _apply(con: duckdb.DuckDBPyConnection, lines: tuple[dict[str, Any], ...]) -> int:
    begins = [x for x in lines if x.get("t") == "begin"]
    ends = [x for x in lines if x.get("t") == "end"]
    approvals = [x for x in lines if x.get("t") == "approval"]
    lineage = [{"event_id": x["event_id"], "direction": d, "object_kind": k, "name": n,
                "is_sensitive": bool(s)}
               for x in begins + ends for d, k, n, s in x.get("lineage") or ()]
    if begins:
        con.register("_b", pa.Table.from_pylist(begins, schema=_BEGIN))
        con.execute("INSERT INTO events BY NAME SELECT * EXCLUDE (ts_us), "
                    "make_timestamp(ts_us) AS ts, CASE WHEN status <> 'running' "
                    "THEN make_timestamp(ts_us) END AS finished_at FROM _b")
        con.unregister("_b")
    if lineage:
        con.register("_l", pa.Table.from_pylist(lineage, schema=_LINEAGE))
        con.execute("INSERT INTO lineage BY NAME SELECT * FROM _l")
        con.unregister("_l")
    if ends:
        con.register("_e", pa.Table.from_pylist(ends, schema=_END))
        con.execute("""UPDATE events SET status = _e.status, duration_ms = _e.duration_ms,
            rows_affected = _e.rows_affected, seq = _e.seq, prev_hash = _e.prev_hash,
            hash = _e.hash, finished_at = make_timestamp(_e.finished_us)
            FROM _e WHERE events.event_id = _e.event_id AND events.status = 'running'
            AND events.ts >= (SELECT make_timestamp(min(ts_us)) FROM _e)""")
        con.unregister("_e")
    if approvals:
        con.register("_a", pa.Table.from_pylist(approvals, schema=_APPROVAL))
        con.execute("""INSERT INTO approvals BY NAME SELECT * EXCLUDE (requested_us, expires_us),
            make_timestamp(requested_us) AS requested_at, 'pending' AS status,
            make_timestamp(expires_us) AS expires_at FROM _a""")
        con.unregister("_a")
    return len(begins)
