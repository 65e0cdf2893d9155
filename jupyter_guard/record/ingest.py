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
from .ingest_journal import _adopt_fallbacks, _ingest_journal
from .journal import ingested_dir, journal_dir
from .rows import load_rows
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
            name, files = segments.merge(published, names)
        except (duckdb.Error, OSError):   # the segments stay as they are; the next ingest retries
            return
        if name:   # its inputs' seals checked and linked, the merge sealed
            seal_write.seal_segment(published, name, names, files)


def _sessions_from_segments(con: duckdb.DuckDBPyConnection) -> None:
    """Sessions whose journals were deleted once sealed: their heads come from the segments."""
    con.execute("""INSERT INTO sessions (session_id, journal, last_seq, last_hash, closed)
        SELECT session_id, session_id || '.jsonl', max(seq), arg_max(hash, seq), true
        FROM events WHERE seq IS NOT NULL
        AND session_id NOT IN (SELECT session_id FROM sessions) GROUP BY session_id""")


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
    seal_write.flush(published)
    return aside
