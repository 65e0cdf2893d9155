"""Bring the published store up to date from every session's journal.

Idempotent: each journal's ingested byte offset is stored in the ``sessions`` table of the same file
that receives its lines, and both are published together by one ``os.replace``. A crash anywhere
before that leaves the published file as it was; the lines are ingested by the next attempt.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import duckdb

from . import junk, seal_write
from .errors import AuditError
from .hint import (
    _APPROVED,
    _PUBLISHED,
    _stamp,
    _unchanged,
    _up_to_date,
    approved_now,
    hint_path,
    read_hint,
    write_hint,
)
from .journal import Chunk, append_lines, ingested_dir, journal_dir, read_from, writer_alive
from .rows import _interrupt, load_rows
from .store import readable, restore_journals, rewrite, set_aside, store_lock

__all__ = [
    "_APPROVED",
    "_PUBLISHED",
    "_stamp",
    "approved_now",
    "hint_path",
    "ingest",
    "load_rows",
    "read_hint",
    "try_ingest",
    "write_hint",
]

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

_MERGES: dict[str, list[str]] = {}   # segments to merge after the lock is released
_FOLD: dict[str, bool] = {}           # stores whose next ingest must fold (``ingest(fold=True)``)


def _arrow_ready() -> bool:
    from .delta import arrow_ready

    return arrow_ready()


def ingest(path: str | os.PathLike[str], *, fold: bool = False) -> int:
    """Bring the published file up to date from all journals (waits for the lock).

    Returns the number of events ingested. Events still ``running`` in a session whose writer is
    gone (or that was closed) are completed as ``interrupted``. ``fold``: every event lands in
    the catalog's own tables (no delta file is left), as before an archive.
    """
    key = os.fspath(path)
    if fold:
        _FOLD[key] = True
    try:
        return _ingest(path, wait=None) or 0
    finally:
        _FOLD.pop(key, None)


def fold_locked(path: str | os.PathLike[str]) -> None:
    """Ingest with every event in the catalog's own tables (the caller holds ``store_lock``):
    what rewrites those tables (an archive) runs after it."""
    key = os.fspath(path)
    _FOLD[key] = True
    try:
        _ingest(path, None, locked=True)
    finally:
        _FOLD.pop(key, None)


def try_ingest(path: str | os.PathLike[str], wait: float = 0.0) -> int | None:
    """Like ``ingest`` but gives up (returning None) if another process holds the lock."""
    return _ingest(path, wait=wait)


def _ingest(path: str | os.PathLike[str], wait: float | None, *, locked: bool = False
            ) -> int | None:
    """``locked``: the caller already holds ``store_lock`` (a second flock of it in the same
    process would wait for itself)."""
    if locked:
        return _ingest_locked(Path(os.fspath(path)))
    if _nothing_new(Path(os.fspath(path))):
        return 0   # no lock taken: a reader's command and an idle kernel's tick cost a few stats
    with store_lock(path, wait=wait) as got:
        count = _ingest_locked(Path(os.fspath(path))) if got else None
    seal_write.flush(Path(os.fspath(path)))   # the segments it wrote, checked and sealed
    merge = _MERGES.pop(os.fspath(path), None)
    if merge:
        _merge(Path(os.fspath(path)), merge)
    return count


def _nothing_new(published: Path) -> bool:
    """Every journal is where the hint says the published file has it, and nothing waits in
    the fallback folder or for a fold: the ingest would do nothing (it checks again under the
    lock). The hint is replaced only after its file is published, so it never runs ahead."""
    from .journal import fallback_dir

    if _FOLD.get(os.fspath(published)):
        return False
    try:
        spare = fallback_dir(published)
        if spare.is_dir() and any(spare.glob("*.jsonl")):
            return False
        folder = journal_dir(published)
        journals = sorted(folder.glob("*.jsonl")) if folder.exists() else []
        return _up_to_date(published, journals)
    except OSError:   # a journal gone between the listing and its stat: the locked path decides
        return False


def _ingest_locked(published: Path) -> int:
    """Ingest; a deleted store (its heads say it held events) or an unreadable one (truncated)
    is rebuilt from every journal, the unreadable file kept aside as ``<file>.corrupt-<ts>``."""
    from .health import note_rebuild, read_heads

    heads = read_heads(published) if not published.exists() else {}
    if heads.get("events"):
        note_rebuild(published, "deleted", "", heads)
        restore_journals(published)
    try:
        return _ingest_once(published)
    except (AuditError, duckdb.Error) as exc:
        from .journal import ingested_dir

        if not isinstance(exc, AuditError) and readable(published):
            raise   # the store is fine: not a damage this can repair

        journals = [d for d in (journal_dir(published), ingested_dir(published)) if d.is_dir()
                    and any(d.glob("*.jsonl"))]
        heads = heads or read_heads(published)
        if not published.exists() or not (heads or journals):
            raise   # nothing to rebuild from: `jupyter guard repair` after a look at the file
        note_rebuild(published, "unreadable", str(set_aside(published)), heads)
        restore_journals(published)
        return _ingest_once(published)


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


def _ingest_once(published: Path) -> int:
    from . import segments
    from .health import heads_kept, note_heads_moved, write_heads

    adopted = _adopt_fallbacks(published)
    folder = journal_dir(published)
    journals = sorted(folder.glob("*.jsonl")) if folder.exists() else []
    if _up_to_date(published, journals) and not (
            _FOLD.get(os.fspath(published)) and _deltas_left(published)):
        return 0
    count, ended, looked = 0, [], []
    hint: dict[str, Any] = {}
    fresh = not published.exists()
    known = read_hint(published)
    if known.get(_PUBLISHED) != _stamp(published):
        known = {}   # the file changed since the hint: every journal is looked at again
    elif not (fresh or adopted or _FOLD.get(os.fspath(published))) and _arrow_ready():
        from .append import append

        got = append(published, journals, known)
        if got is not None:
            return got   # one delta file: the catalog is not touched
    from . import delta

    with rewrite(published) as con:
        if fresh:   # a new or rebuilt store takes back the segments left on disk
            segments.adopt(con, published)
        gen = delta.fold(con, published)   # the deltas first: the journals' offsets are there
        segments.create_views(con, published)
        one_by_one, hint = junk.book(con, journals, known)
        for journal in one_by_one:
            if _unchanged(known.get(journal.name), journal):
                hint[journal.name] = known[journal.name]   # nothing new: no SQL for it
                continue
            n, state = _ingest_journal(con, journal)
            if state.pop("moved"):
                looked.append(journal.name)
            count += n
            hint[journal.name] = state
            if state["ended"] and not state["running"]:
                ended.append(journal)
        if fresh:
            segments.dedupe(con, published)
            _sessions_from_segments(con)
        segments.seal(con, published)
        # every head after a rebuild or when a heads file is missing; else only those the
        # journals moved (``verify`` compares every head kept with the store's)
        full = fresh or not heads_kept(published)
        heads = con.execute("SELECT session_id, last_seq, last_hash FROM sessions"
                            + ("" if full else " WHERE list_contains(?, journal)"),
                            [] if full else [looked]).fetchall()
        (events,), = con.execute("SELECT (SELECT count(*) FROM events_live) + "
                                 "(SELECT coalesce(sum(events), 0) FROM segments)").fetchall()
        approved = approved_now(con)
        done = ingested_dir(published)
        waiting = [j.name for j in ended] + (
            [j.name for j in done.glob("*.jsonl")] if done.is_dir() else [])
        sealed = {j for (j,) in con.execute("""SELECT journal FROM sessions s
            WHERE list_contains(?, journal) AND NOT EXISTS
            (SELECT 1 FROM events_live e WHERE e.session_id = s.session_id)""",
                                            [waiting]).fetchall()} if waiting else set()
        merge = segments.merge_candidates(con)
        going = {j.name for j in ended}
        live = con.execute("SELECT journal, session_id, byte_offset, last_seq, last_hash, pid, "
                           "host, pid_start FROM sessions WHERE list_contains(?, journal)",
                           [[j.name for j in journals if j.name not in going]]).fetchall()
    if full and not fresh:   # a rebuild has its own record (note_rebuild)
        note_heads_moved(published, heads)
    write_heads(published, heads, events, full=full)
    for journal in ended:
        done.mkdir(exist_ok=True)
        os.replace(journal, done / journal.name)
        hint.pop(journal.name)
    for journal in sorted(done.glob("*.jsonl")) if done.is_dir() else ():
        if journal.name in sealed:   # every event of this ended session is in a segment
            with contextlib.suppress(OSError):
                journal.unlink()
    from .append import reset

    hint[delta.DELTA] = reset(published, gen, live, events)
    write_hint(published, hint, approved)
    delta.retire_old(published, gen)
    if merge:
        _MERGES[os.fspath(published)] = merge   # done by ``_ingest`` once the lock is released
    return count


def _deltas_left(published: Path) -> bool:
    from .delta import read_state

    return bool(read_state(published).get("last"))


def _merge(published: Path, names: list[str]) -> None:
    """Merge segments without the writers' lock; one merge at a time per store."""
    from . import segments
    from .store import hold

    with hold(Path(f"{published}.merge.lock"), wait=0) as got:
        if not got:
            return   # another process merges
        try:
            name = segments.merge(published, names)
        except (duckdb.Error, OSError):   # the segments stay as they are; the next ingest retries
            return
        if name:   # its inputs' seals checked and linked, the merge sealed
            seal_write.seal_segment(published, name, names)


def _sessions_from_segments(con: duckdb.DuckDBPyConnection) -> None:
    """Sessions whose journals were deleted once sealed: their heads come from the segments."""
    con.execute("""INSERT INTO sessions (session_id, journal, last_seq, last_hash, closed)
        SELECT session_id, session_id || '.jsonl', max(seq), arg_max(hash, seq), true
        FROM events WHERE seq IS NOT NULL
        AND session_id NOT IN (SELECT session_id FROM sessions) GROUP BY session_id""")


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


def repair(path: str | os.PathLike[str]) -> Path | None:
    """Move an unreadable store aside and rebuild it from all journals; a deleted store is
    rebuilt too. Returns where the old file went (None if nothing was moved)."""
    published = Path(os.fspath(path))
    aside: Path | None = None
    with store_lock(published, wait=None):
        if published.exists() and not readable(published):
            aside = set_aside(published)
        if aside is not None or not published.exists():
            restore_journals(published)
        _ingest(published, None, locked=True)
    return aside
