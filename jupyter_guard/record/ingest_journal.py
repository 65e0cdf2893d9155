"""One journal's new lines into the catalog being rewritten (the copy-on-write ingest), and
journals left in the fallback folder by writers that are gone.

DuckDB parses a chunk of complete lines (``read_json`` with every key's type); a line that does
not parse, or lacks a field the tables require (``junk.mark_incomplete``), is skipped and counted
in ``sessions.bad_lines``. Running events of a session whose writer is gone (or that was closed)
are completed as ``interrupted``, their end lines appended to the journal first.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import duckdb

from . import junk
from .journal import Chunk, append_lines, journal_dir, read_from, writer_alive
from .rows import _interrupt

# Every key any journal line may carry, with its type: DuckDB parses the lines (~1 µs each).
LINE_COLUMNS = {
    "t": "VARCHAR", "event_id": "VARCHAR", "ts_us": "BIGINT", "user_name": "VARCHAR",
    "actor": "VARCHAR", "groups": "VARCHAR[]", "session_id": "VARCHAR", "seq": "BIGINT",
    "notebook": "VARCHAR", "cell_id": "VARCHAR", "execution_count": "BIGINT", "kind": "VARCHAR",
    "code": "VARCHAR", "code_sha256": "VARCHAR", "decision": "VARCHAR", "rule_id": "VARCHAR",
    "reason": "VARCHAR", "policy_revision": "VARCHAR", "decision_id": "VARCHAR",
    "status": "VARCHAR", "duration_ms": "DOUBLE", "rows_affected": "BIGINT", "host": "VARCHAR",
    "prev_hash": "VARCHAR", "hash": "VARCHAR", "lineage": "JSON", "finished_us": "BIGINT",
    "pid": "BIGINT", "pid_start": "VARCHAR", "request_id": "VARCHAR", "requested_by": "VARCHAR",
    "requested_us": "BIGINT", "expires_us": "BIGINT", "facts": "JSON", "server_event_id": "VARCHAR",
}
_EVENT_COLUMNS = ("event_id", "user_name", "actor", "groups", "session_id", "notebook", "cell_id",
                  "execution_count", "kind", "code", "code_sha256", "decision", "rule_id",
                  "reason", "policy_revision", "decision_id", "host", "facts", "server_event_id")
_FINAL = ("status", "duration_ms", "rows_affected", "seq", "prev_hash", "hash")


def _adopt_fallbacks(published: Path) -> bool:
    """Journals left in the fallback folder by writers that are gone come home (a live writer
    moves its own back as soon as it can). Returns whether one did."""
    from .journal import fallback_dir, read_header

    spare = fallback_dir(published)
    adopted = False
    for journal in sorted(spare.glob("*.jsonl")) if spare.is_dir() else ():
        home = journal_dir(published) / journal.name
        try:
            if writer_alive(read_header(journal)) or home.exists():
                continue
            home.parent.mkdir(parents=True, exist_ok=True)
            tmp = home.with_name(f".{home.name}.adopt-{os.getpid()}")
            tmp.write_bytes(journal.read_bytes())
            os.replace(tmp, home)
            journal.unlink()
            adopted = True
        except OSError:   # still not writable: it waits in the fallback for the next ingest
            continue
    return adopted


def _ingest_journal(con: duckdb.DuckDBPyConnection, journal: Path) -> tuple[int, dict[str, Any]]:
    found = con.execute("SELECT byte_offset, last_seq, last_hash, closed, pid, host, pid_start "
                        "FROM sessions WHERE journal = ?", [journal.name]).fetchall()
    if not found:
        con.execute("INSERT INTO sessions (session_id, journal) VALUES (?, ?)",
                    [journal.stem, journal.name])
        found = [(0, 0, "", False, None, None, None)]
    offset, last_seq, last_hash, closed, pid, host, start = found[0]
    head = {"pid": pid, "host": host, "pid_start": start}
    chunk = read_from(journal, offset)
    count, bad, facts = _apply(con, chunk, journal)
    if facts["head"]:
        head = facts["head"]
    closed = bool(closed or facts["closed"])
    moved = facts["last_seq"] is not None
    if moved:
        last_seq, last_hash = facts["last_seq"], facts["last_hash"]
    end, seen = chunk.end, chunk.end + chunk.tail
    ended = closed or not writer_alive(head)
    running = con.execute("SELECT count(*) FROM events_live WHERE session_id = ? "
                          "AND status = 'running'",
                          [journal.stem]).fetchall()[0][0]
    if ended and running:
        lines = _interrupt(con, journal.stem, last_seq, last_hash)
        append_lines(journal, lines, fix_tail=chunk.tail > 0)
        bad += 1 if chunk.tail else 0
        more = read_from(journal, end + chunk.tail + (1 if chunk.tail else 0))
        _apply(con, more, journal)
        last_seq, last_hash = int(lines[-1]["seq"]), str(lines[-1]["hash"])
        end, seen, running, moved = more.end, more.end + more.tail, 0, True
    con.execute("UPDATE sessions SET byte_offset = ?, last_seq = ?, last_hash = ?, closed = ?, "
                "pid = ?, host = ?, pid_start = ?, bad_lines = bad_lines + ? WHERE journal = ?",
                [end, last_seq, last_hash, closed, head["pid"], head["host"], head["pid_start"],
                 bad, journal.name])
    return count, {"offset": end, "seen": seen, "running": running, "head": head,
                   "ended": ended, "moved": moved}


def _apply(con: duckdb.DuckDBPyConnection, chunk: Chunk, journal: Path
           ) -> tuple[int, int, dict[str, Any]]:
    """Load a chunk of journal lines; returns (events begun, unparseable lines, session facts)."""
    facts: dict[str, Any] = {"head": None, "closed": False, "last_seq": None, "last_hash": ""}
    if not chunk.data:
        return 0, 0, facts
    lines_file = journal.with_name(f".{journal.name}.chunk-{os.getpid()}")
    try:
        lines_file.write_bytes(chunk.data)
    except OSError:   # a full disk: no half-written chunk stays behind
        with contextlib.suppress(OSError):
            lines_file.unlink()
        raise
    cols = "{" + ", ".join(f"{k}: '{v}'" for k, v in LINE_COLUMNS.items()) + "}"
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _j AS SELECT * FROM read_json(?,
            format = 'newline_delimited', columns = {cols}, ignore_errors = true)""",
                    [os.fspath(lines_file)])
    finally:
        lines_file.unlink()
    junk.mark_incomplete(con)
    # one pass for the chunk's facts; statements with nothing to do are skipped
    (begun, bad, closed, last_seq, last_hash, pid, host, start, heads, lone_ends, asked,
     used), = con.execute("""SELECT count(*) FILTER (t = 'begin'), count(*) FILTER (t IS NULL),
        bool_or(t = 'close'), max(seq), arg_max(hash, seq), first(pid) FILTER (t = 'head'),
        first(host) FILTER (t = 'head'), first(pid_start) FILTER (t = 'head'),
        count(*) FILTER (t = 'head'), count(*) FILTER (t = 'end' AND event_id NOT IN
            (SELECT event_id FROM _j WHERE t = 'begin' AND event_id IS NOT NULL)),
        count(*) FILTER (t = 'approval'), count(*) FILTER (t = 'approval_use') FROM _j"""
                                        ).fetchall()
    if heads:
        facts["head"] = {"pid": pid, "host": host, "pid_start": start}
    facts.update(closed=bool(closed), last_seq=last_seq, last_hash=last_hash or "")
    plain = ", ".join(f"b.{c}" for c in _EVENT_COLUMNS)
    final = ", ".join(f"coalesce(e.{c}, b.{c}) AS {c}" for c in _FINAL)
    if begun:
        con.execute(f"""INSERT INTO events_live BY NAME SELECT {plain}, {final},
            make_timestamp(b.ts_us) AS ts, CASE WHEN e.event_id IS NOT NULL
            THEN make_timestamp(e.finished_us) WHEN b.status <> 'running'
            THEN make_timestamp(b.ts_us) END AS finished_at
            FROM _j b LEFT JOIN (SELECT * FROM _j WHERE t = 'end') e USING (event_id)
            WHERE b.t = 'begin'""")
    if lone_ends:   # ends of events begun in an earlier chunk
        con.execute("""UPDATE events_live SET status = e.status, duration_ms = e.duration_ms,
            rows_affected = e.rows_affected, seq = e.seq, prev_hash = e.prev_hash,
            hash = e.hash, finished_at = make_timestamp(e.finished_us)
            FROM (SELECT * FROM _j WHERE t = 'end' AND event_id NOT IN
                  (SELECT event_id FROM _j WHERE t = 'begin')) e
            WHERE events_live.event_id = e.event_id AND events_live.status = 'running'
            AND events_live.ts >= (SELECT make_timestamp(min(ts_us)) FROM _j WHERE t = 'end')""")
    if begun or lone_ends:
        con.execute("""INSERT INTO lineage_live SELECT event_id, l->>0, l->>1, l->>2,
            coalesce(TRY_CAST(l->3 AS BOOLEAN), false) FROM (SELECT event_id,
            unnest(TRY_CAST(lineage AS JSON[])) AS l FROM _j
            WHERE t IN ('begin', 'end') AND lineage IS NOT NULL)
            WHERE l->>0 IS NOT NULL AND l->>1 IS NOT NULL AND l->>2 IS NOT NULL""")
    if asked:
        con.execute("""INSERT INTO approvals BY NAME SELECT request_id, event_id, requested_by,
            code_sha256, code, reason, make_timestamp(requested_us) AS requested_at,
            'pending' AS status, make_timestamp(expires_us) AS expires_at
            FROM _j WHERE t = 'approval'""")
    if used:
        con.execute("""UPDATE approvals SET status = 'used' WHERE status = 'approved'
            AND request_id IN (SELECT request_id FROM _j WHERE t = 'approval_use')""")
    con.execute("DROP TABLE _j")
    return int(begun), int(bad), facts
