"""Journal input the store cannot take: files that hold no journal line, booked together instead
of one by one, and lines without a field the tables require.

Every line the guard writes is a JSON object with a ``"t"`` key. A new file in the journal folder
with no ``"t"`` anywhere (nor a ``\\u`` escape that could spell it) holds nothing an ingest could
take: the copy-on-write ingest used to give each one its own half-dozen DuckDB statements (80 ms
apiece: 3,000 such files made a kernel's closing ingest take minutes). Here all of them get
their ``sessions`` row in one statement: their complete lines counted as bad lines, their offset
after the last complete line, exactly what the one-by-one way records. Files of a session the
store already knows, and files over ``LIMIT`` bytes, still go the one-by-one way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from .hint import _unchanged

LIMIT = 1 << 20
_BEGIN_OK = " AND ".join(f"{c} IS NOT NULL" for c in (   # the events table's NOT NULL columns
    "event_id", "ts_us", "user_name", "actor", "session_id", "kind", "decision", "status"))


def mark_incomplete(con: duckdb.DuckDBPyConnection) -> None:
    """In the chunk's lines (``_j``), a begin or end without a field the tables require becomes
    a bad line (skipped and counted), never an insert that fails and stops the journal for good."""
    con.execute(f"UPDATE _j SET t = NULL WHERE (t = 'begin' AND NOT ({_BEGIN_OK})) OR (t = 'end' "
                "AND (event_id IS NULL OR status IS NULL))")


def _holds_lines(journal: Path) -> tuple[bool, int, int, int]:
    """(may hold a journal line, offset after its complete lines, how many complete lines, its
    size as read)."""
    try:
        if journal.stat().st_size > LIMIT:
            return True, 0, 0, 0
        data = journal.read_bytes()
    except OSError:
        return True, 0, 0, 0   # the one-by-one way reports what it can
    if b'"t"' in data or b"\\u" in data:
        return True, 0, 0, 0
    cut = data.rfind(b"\n") + 1
    return False, cut, data[:cut].count(b"\n"), len(data)


def book(con: duckdb.DuckDBPyConnection, journals: list[Path], known: dict[str, Any]
         ) -> tuple[list[Path], dict[str, dict[str, Any]]]:
    """(the journals left to ingest one by one, the hint's state of each file booked here)."""
    new = [j for j in journals if not _unchanged(known.get(j.name), j)]
    if not new:
        return journals, {}
    have = {n for (n,) in con.execute("SELECT journal FROM sessions WHERE list_contains(?, "
                                      "journal)", [[j.name for j in new]]).fetchall()}
    junk: dict[str, tuple[str, int, int]] = {}
    sizes: dict[str, int] = {}
    for j in new:
        if j.name in have:
            continue
        lines, offset, count, size = _holds_lines(j)
        if not lines:
            junk[j.name] = (j.stem, offset, count)
            sizes[j.name] = size
    if not junk:
        return journals, {}
    rows = list(junk.items())
    con.execute("""INSERT INTO sessions (session_id, journal, byte_offset, bad_lines)
        SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[]),
        unnest(?::INTEGER[])""", [[s for _, (s, _, _) in rows], [n for n, _ in rows],
                                  [o for _, (_, o, _) in rows], [c for _, (_, _, c) in rows]])
    head = {"pid": None, "host": None, "pid_start": None}
    # "seen": the size as read, past the offset by a last line with no newline (hint._seen)
    states = {n: {"offset": o, "seen": sizes[n], "running": 0, "head": head, "ended": False}
              for n, (_, o, _) in rows}
    return [j for j in journals if j.name not in junk], states
