"""Sealed segments: final events move out of the small published file into immutable Parquet.

The published file (the catalog) keeps recent events in ``events_live`` / ``lineage_live``, and
the views ``events`` / ``lineage`` add every sealed segment (``<audit>.segments/*.parquet``,
listed in the ``segments`` table). An ingest copies only the catalog, whose size is bounded by
``seal_at()`` events, so its cost follows the new events, not the audit's size.

- ``seal``: once ``seal_at()`` final events are live, they (and their lineage) are written to a
  new segment, deleted from the live tables and added to the views, in the same publish. A crash
  before the publish leaves an unlisted segment that the next seal removes (its events are
  still live).
- ``merge``: once ``FANOUT`` segments of one size tier exist, they are merged into one, written
  without the writers' lock and swapped in under it. A replaced segment is kept for
  ``GRACE_S`` (a reader that opened the previous catalog may still read it), then deleted.
- ``adopt``: a rebuilt catalog (deleted or unreadable) takes back every segment on disk.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb

FANOUT = 8                 # segments of one tier merged into one of the next
MERGE_MAX = 2_000_000      # events: larger merges are left to `jupyter guard compact`
GRACE_S = 600.0            # seconds a replaced segment stays for readers of older catalogs
HOLD_S = 3600.0            # seconds a server gate's event waits in the file for its kernel's


_WRITTEN: dict[str, list[str]] = {}   # segments written under the lock, for ``seal_write``


def written(published: Path) -> list[str]:
    """The segments this process wrote for ``published`` since the last call (to be sealed)."""
    return _WRITTEN.pop(os.fspath(published), [])


def seal_at() -> int:
    """Final live events that make a segment (``JUPYTER_GUARD_AUDIT_SEGMENT``, default 20,000)."""
    try:
        return max(1, int(os.environ.get("JUPYTER_GUARD_AUDIT_SEGMENT", "20000")))
    except ValueError:
        return 20_000


def segment_dir(audit_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(audit_path)}.segments")


def _q(path: Path | str) -> str:
    return "'" + os.fspath(path).replace("'", "''") + "'"


def _files(con: duckdb.DuckDBPyConnection, folder: Path, kind: str) -> list[str]:
    names = [n for (n,) in con.execute("SELECT name FROM segments ORDER BY first_ts, name")
             .fetchall()]
    return [os.fspath(folder / f"{n}.{kind}.parquet") for n in names]


def create_views(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """``events`` and ``lineage``: the live tables plus every listed segment."""
    from .delta import view_sql

    folder = segment_dir(published).resolve()
    for view, sql in zip(("events_delta", "lineage_delta"), view_sql(con, published)):
        con.execute(f"CREATE OR REPLACE VIEW {view} AS {sql}")
    for view, live, kind in (("events", "events_live", "events"),
                             ("lineage", "lineage_live", "lineage")):
        files = _files(con, folder, kind)
        sql = (f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {live} "
               f"UNION ALL BY NAME SELECT * FROM {view}_delta")
        if files:
            listed = ", ".join(_q(f) for f in files)
            sql += (f" UNION ALL BY NAME SELECT * FROM read_parquet([{listed}], "
                    "union_by_name = true)")
        con.execute(sql)


def _write(con: duckdb.DuckDBPyConnection, folder: Path, events_sql: str, lineage_sql: str,
           ) -> str:
    folder.mkdir(exist_ok=True)
    name = f"seg-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    try:
        con.execute(f"COPY ({events_sql}) TO {_q(folder / f'{name}.events.parquet')} "
                    "(FORMAT parquet, COMPRESSION zstd)")
        con.execute(f"COPY ({lineage_sql}) TO {_q(folder / f'{name}.lineage.parquet')} "
                    "(FORMAT parquet, COMPRESSION zstd)")
    except (duckdb.Error, OSError):   # a full disk: no half-written segment stays behind
        _remove(folder, name)
        raise
    return name


def digest(folder: Path, name: str) -> tuple[str, str]:
    """SHA-256 of a segment's two files (raises OSError if one is unreadable)."""
    out = []
    for kind in ("events", "lineage"):
        h = hashlib.sha256()   # (``hashlib.file_digest`` is 3.11+; the package supports 3.10)
        with open(folder / f"{name}.{kind}.parquet", "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        out.append(h.hexdigest())
    return out[0], out[1]


def _remove(folder: Path, name: str) -> None:
    for kind in ("events", "lineage"):
        with contextlib.suppress(OSError):
            (folder / f"{name}.{kind}.parquet").unlink()


def _rollup(con: duckdb.DuckDBPyConnection, name: str, table: str) -> None:
    """The report's counts of the segment's cells (``report.py`` adds them up)."""
    from .report import rollup_sql

    con.execute(f"INSERT INTO report_rollup SELECT ?, * FROM ({rollup_sql(table)})", [name])


def _register(con: duckdb.DuckDBPyConnection, name: str, table: str) -> None:
    con.execute(f"""INSERT INTO segments SELECT ?, count(*), min(ts), max(ts), ?
        FROM {table}""", [name, time.time()])


def seal(con: duckdb.DuckDBPyConnection, published: Path, *, force: bool = False) -> int:
    """Move the live final events to a new segment when there are enough; returns how many.
    ``con`` is the rewrite's connection (under the writers' lock)."""
    (final,), = con.execute("SELECT count(*) FROM events_live WHERE status <> 'running'"
                            ).fetchall()
    if not final or (final < seal_at() and not force):
        return 0
    from .views import CELL_KEY

    folder = segment_dir(published)
    _drop_orphans(con, folder)
    # whole cells only: none with an event still running, and a server gate's event waits up to
    # HOLD_S for its kernel's (so the report's per-segment counts never split a cell)
    held = time.time() - HOLD_S
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _seal AS SELECT * FROM events_live e
        WHERE status <> 'running'
        AND {CELL_KEY} NOT IN (SELECT {CELL_KEY} FROM events_live WHERE status = 'running')
        AND NOT (kind = 'server' AND epoch(ts) > ? AND event_id NOT IN (
            SELECT server_event_id FROM events_live WHERE server_event_id IS NOT NULL))""",
                [held])
    (final,), = con.execute("SELECT count(*) FROM _seal").fetchall()
    if not final or (final < seal_at() and not force):   # held events alone make no segment
        con.execute("DROP TABLE _seal")
        return 0
    name = _write(con, folder, "SELECT * FROM _seal ORDER BY session_id, seq",
                  "SELECT * FROM lineage_live WHERE event_id IN (SELECT event_id FROM _seal)")
    _register(con, name, "_seal")
    _rollup(con, name, "_seal")
    _WRITTEN.setdefault(os.fspath(published), []).append(name)
    con.execute("DELETE FROM lineage_live WHERE event_id IN (SELECT event_id FROM _seal)")
    con.execute("DELETE FROM events_live WHERE event_id IN (SELECT event_id FROM _seal)")
    con.execute("DROP TABLE _seal")
    create_views(con, published)
    return int(final)


def _drop_orphans(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Segments no catalog lists (a seal or merge that crashed before its publish), and
    replaced ones past their grace."""
    if not folder.is_dir():
        return
    from .store import hold

    # a merge writes its segment before it is listed: never delete during one
    with hold(Path(f"{os.fspath(folder)[:-len('.segments')]}.merge.lock"), wait=0) as got:
        if got:
            _drop_unlisted(con, folder)


def _drop_unlisted(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    keep = {n for (n,) in con.execute("SELECT name FROM segments").fetchall()}
    now = time.time()
    for n, at in con.execute("SELECT name, retired_at FROM retired").fetchall():
        if now - at < GRACE_S:
            keep.add(n)
    con.execute("DELETE FROM retired WHERE ? - retired_at >= ?", [now, GRACE_S])
    for f in folder.glob("seg-*.parquet"):
        if f.name.split(".")[0] not in keep and now - f.stat().st_mtime > 60:
            with contextlib.suppress(OSError):
                f.unlink()


def merge_candidates(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The ``FANOUT`` smallest segments of the smallest full tier (or [])."""
    rows = con.execute("SELECT name, events FROM segments ORDER BY events, name").fetchall()
    base = seal_at()
    tiers: dict[int, list[tuple[str, int]]] = {}
    for name, events in rows:
        tier, size = 0, base
        while events > size:
            tier, size = tier + 1, size * FANOUT
        tiers.setdefault(tier, []).append((name, int(events)))
    for tier in sorted(tiers):
        group = tiers[tier][:FANOUT]
        if len(group) == FANOUT and sum(e for _, e in group) <= MERGE_MAX:
            return [n for n, _ in group]
    return []


def merge(published: Path, names: list[str]) -> tuple[str, tuple[str, str]]:
    """Write the merge of ``names`` (no lock: segments never change), then swap it in under the
    writers' lock. Returns the new segment's name ("" if the catalog changed meanwhile) and its
    files' digests, taken as soon as they were written (what ``seal_write`` seals)."""
    from jupyter_guard.duck import own_connection

    from .store import rewrite, store_lock

    folder = segment_dir(published)
    ev = ", ".join(_q(folder / f"{n}.events.parquet") for n in names)
    li = ", ".join(_q(folder / f"{n}.lineage.parquet") for n in names)
    con = own_connection(":memory:")
    try:
        name = _write(con, folder, f"SELECT * FROM read_parquet([{ev}], union_by_name = true) "
                      "ORDER BY session_id, seq",
                      f"SELECT * FROM read_parquet([{li}], union_by_name = true)")
    finally:
        con.close()
    files = digest(folder, name)
    with store_lock(published, wait=None), rewrite(published) as cat:
        listed = {n for (n,) in cat.execute("SELECT name FROM segments").fetchall()}
        if not set(names) <= listed:
            _remove(folder, name)
            return "", files
        _register(cat, name, f"read_parquet({_q(folder / f'{name}.events.parquet')})")
        cat.execute("""INSERT INTO report_rollup SELECT ?, day, user_name, rule_id, sum(blocked),
            sum(allowed), sum(would_block), sum(events) FROM report_rollup
            WHERE list_contains(?, segment) GROUP BY ALL""", [name, names])
        cat.execute("DELETE FROM report_rollup WHERE list_contains(?, segment)", [names])
        cat.execute("DELETE FROM segments WHERE list_contains(?, name)", [names])
        cat.executemany("INSERT INTO retired VALUES (?, ?)", [[n, time.time()] for n in names])
        create_views(cat, published)
    return name, files


def adopt(con: duckdb.DuckDBPyConnection, published: Path) -> int:
    """A rebuilt catalog takes back the segments on disk (one a replaced segment's events are
    all in is left out), and drops live events they already hold; returns the events adopted."""
    folder = segment_dir(published)
    found = sorted({f.name.split(".")[0] for f in folder.glob("seg-*.events.parquet")}
                   ) if folder.is_dir() else []
    found = [n for n in found if (folder / f"{n}.lineage.parquet").exists()]
    if not found:
        return 0
    ev = ", ".join(_q(folder / f"{n}.events.parquet") for n in found)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _found AS SELECT
        regexp_extract(filename, 'seg-[^/.]*') AS name, event_id
        FROM read_parquet([{ev}], filename = true)""")
    sizes = dict(con.execute("SELECT name, count(*) FROM _found GROUP BY 1").fetchall())
    keep: list[str] = []
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):   # largest first: merges win
        if keep:
            (left,), = con.execute("""SELECT count(*) FROM _found WHERE name = ? AND event_id
                NOT IN (SELECT event_id FROM _found WHERE list_contains(?, name))""",
                                   [name, keep]).fetchall()
            if not left:
                continue
        keep.append(name)
    for name in keep:
        _register(con, name, f"read_parquet({_q(folder / f'{name}.events.parquet')})")
        _rollup(con, name, f"read_parquet({_q(folder / f'{name}.events.parquet')})")
    con.execute("DROP TABLE _found")
    create_views(con, published)
    return sum(sizes[n] for n in keep)


def dedupe(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """After a rebuild re-read the journals: live events a segment already holds are dropped."""
    files = _files(con, segment_dir(published).resolve(), "events")
    if not files:
        return
    listed = ", ".join(_q(f) for f in files)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sealed AS SELECT event_id
        FROM read_parquet([{listed}], union_by_name = true)""")
    con.execute("DELETE FROM lineage_live WHERE event_id IN (SELECT event_id FROM _sealed)")
    con.execute("DELETE FROM events_live WHERE event_id IN (SELECT event_id FROM _sealed)")
    con.execute("DROP TABLE _sealed")


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    (n, events), = con.execute("SELECT count(*), coalesce(sum(events), 0) FROM segments"
                               ).fetchall()
    return {"segments": int(n), "sealed_events": int(events)}


def prune(con: duckdb.DuckDBPyConnection, published: Path, gone: str) -> None:
    """Rewrite the segments holding events listed in the temp table ``gone`` without them (an
    archive moved them out); the old files are retired like merged ones."""
    folder = segment_dir(published)
    for (name,) in con.execute("SELECT name FROM segments ORDER BY name").fetchall():
        ev, li = (_q(folder / f"{name}.{k}.parquet") for k in ("events", "lineage"))
        (hit,), = con.execute(f"SELECT count(*) FROM read_parquet({ev}) WHERE event_id IN "
                              f"(SELECT event_id FROM {gone})").fetchall()
        if not hit:
            continue
        keep = f"WHERE event_id NOT IN (SELECT event_id FROM {gone})"
        new = _write(con, folder, f"SELECT * FROM read_parquet({ev}) {keep}",
                     f"SELECT * FROM read_parquet({li}) {keep}")
        _register(con, new, f"read_parquet({_q(folder / f'{new}.events.parquet')})")
        _rollup(con, new, f"read_parquet({_q(folder / f'{new}.events.parquet')})")
        _WRITTEN.setdefault(os.fspath(published), []).append(new)
        con.execute("DELETE FROM report_rollup WHERE segment = ?", [name])
        con.execute("DELETE FROM segments WHERE name = ?", [name])
        con.execute("INSERT INTO retired VALUES (?, ?)", [name, time.time()])
    con.execute("DELETE FROM report_rollup WHERE segment IN (SELECT name FROM segments "
                "WHERE events = 0)")
    con.execute("DELETE FROM segments WHERE events = 0")
    create_views(con, published)
