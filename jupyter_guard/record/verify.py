"""Check every session's hash chain in the store, its archives, and the journals still on disk.

A row is *edited* if its hash does not match its content, *deleted* if a ``seq`` is missing (or the
store ends before the session's last ingested ``seq``), *reordered* if it links to a row of its own
session that is not the one before it. ``problems[0]`` is the first problem, by session and seq.
A segment sealed by an earlier run and unchanged since is not re-hashed (``seal.py``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from .chain import chain_hash
from .chainsql import Part, flagged_sessions, limit_memory
from .ingest import load_rows
from .store import connect_readonly
from .verify_journals import against_journals
from .verify_types import Problem, VerifyResult, What

__all__ = ["Problem", "VerifyResult", "verify"]


def verify(path: str | os.PathLike[str], *, full: bool = False,
           incremental: bool = False) -> VerifyResult:
    """Recompute every chain (store, segments, archives) and compare it with the journals on
    disk. Segments a previous passing run sealed, unchanged since, are linked but not re-hashed,
    unless ``full``; a run that passes seals what it re-hashed. ``incremental`` is the old
    name of the default, kept for callers."""
    from .health import read_heads

    del incremental
    kept = read_heads(path)   # before the store is opened: never newer than what it reads
    con = connect_readonly(path)
    try:
        limit_memory(con)
        return _verify(con, Path(os.fspath(path)), full, kept)
    finally:
        con.close()


def _q(p: str) -> str:
    return "'" + p.replace("'", "''") + "'"


class _Seals:
    """This run's view of the seals: which segments hold, and the digests of those it reads."""

    def __init__(self, path: Path, full: bool, notes: list[str]) -> None:
        from . import seal

        self.path, self.key = path, seal.load_key()
        self.valid: dict[str, seal.Seal] = {}
        self.good: set[str] = set()
        self.changed: list[str] = []
        self.new: list[seal.Seal] = []
        self.full = full   # every segment re-hashed; the seals still name what changed
        if self.key is None:
            notes.append(f"no seal key at {seal.key_path()}: every segment is re-hashed")
            return
        self.valid, bad = seal.read(path, self.key)
        if bad:
            notes.append(f"{bad} seal(s) in {seal.log_path(path)} do not check under this key: "
                         "their segments are re-hashed")

    def sort(self, con: duckdb.DuckDBPyConnection, folder: Path) -> None:
        from . import seal

        if self.key is None:
            return
        listed = dict(con.execute("SELECT name, events FROM segments").fetchall())
        self.good, self.changed = seal.check(folder, listed, self.valid)

    def reading(self, folder: Path, name: str, events: int) -> None:
        """A segment about to be re-hashed: its digest now, sealed if the run passes."""
        from . import seal

        if self.key is not None:
            try:
                self.new.append(seal.Seal(name, events, seal.digest(folder, name)))
            except OSError:
                pass   # unreadable now: re-hashed again next run

    def save(self) -> None:
        from . import seal

        if self.key is not None and self.new:
            seal.add(self.path, self.key, self.new)


def _sources(con: duckdb.DuckDBPyConnection, path: Path, seals: _Seals, notes: list[str],
             problems: list[Problem]) -> tuple[str, list[Part]]:
    """What to check: live rows, the segments on disk (a missing one is a problem), the
    archives on disk. Returns (all events as one relation, the parts one by one)."""
    from .segments import segment_dir

    folder = segment_dir(path).resolve()
    parts: list[Part] = []
    (live,), = con.execute("SELECT count(*) FROM events_live").fetchall()
    parts.append(("events_live", "lineage_live", int(live), False))
    if _has(con, "events_delta"):
        (recent,), = con.execute("SELECT count(*) FROM events_delta").fetchall()
        parts.append(("events_delta", "lineage_delta", int(recent), False))
    seals.sort(con, folder)
    sealed = 0
    for name, events in con.execute("SELECT name, events FROM segments ORDER BY name").fetchall():
        if not all((folder / f"{name}.{k}.parquet").exists() for k in ("events", "lineage")):
            problems.append(Problem("", 0, "", "deleted", f"segment {name} ({events} events) "
                                    f"is missing from {folder}"))
            continue
        skip = name in seals.good and not seals.full
        if skip:
            sealed += int(events)
        elif name not in seals.good:
            seals.reading(folder, name, int(events))
        ev, li = (f"read_parquet({_q(os.fspath(folder / f'{name}.{k}.parquet'))})"
                  for k in ("events", "lineage"))
        parts.append((ev, li, int(events), skip))
    if sealed:
        notes.append(f"{len(seals.good)} sealed segment(s), {sealed} events, unchanged since "
                     "they were checked and sealed: linked, not re-hashed (--full re-hashes them)")
    archives = con.execute("SELECT DISTINCT archive FROM chain_anchors ORDER BY 1").fetchall()
    present = [a for (a,) in archives if os.path.exists(f"{a}.events.parquet")]
    if len(present) < len(archives):
        notes.append("some archives are gone: their chains are checked from the anchor on")
    for stem in present:
        ev = f"read_parquet({_q(f'{stem}.events.parquet')})"
        (n,), = con.execute(f"SELECT count(*) FROM {ev}").fetchall()
        parts.append((ev, f"read_parquet({_q(f'{stem}.lineage.parquet')})", int(n), False))
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {p[0]}" for p in parts)
    return f"({union})", parts


def _anchors(con: duckdb.DuckDBPyConnection, notes: list[str]) -> dict[str, tuple[int, str]]:
    """Where each chain starts: after archives that are gone (rows up to them not checked)."""
    anchors: dict[str, tuple[int, str]] = {}
    if any("archives are gone" in n for n in notes):
        for sid, seq, h in con.execute("SELECT session_id, max(seq), arg_max(hash, seq) "
                                       "FROM chain_anchors GROUP BY 1").fetchall():
            if int(seq) > anchors.get(sid, (0, ""))[0]:
                anchors[sid] = (int(seq), h)
    return anchors


def _verify(con: duckdb.DuckDBPyConnection, path: Path, full: bool,
            kept: dict[str, Any]) -> VerifyResult:
    problems: list[Problem] = []
    notes: list[str] = []
    recent = _delta_sessions(con, path)   # before the rows: never newer than what is read
    seals = _Seals(path, full, notes)
    events, parts = _sources(con, path, seals, notes, problems)
    anchors = _anchors(con, notes)
    for table in ("_cut", "_anchor"):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS SELECT unnest(?::VARCHAR[])
            AS session_id, unnest(?::BIGINT[]) AS seq, unnest(?::VARCHAR[]) AS hash""",
                    [list(anchors), [q for q, _ in anchors.values()],
                     [h for _, h in anchors.values()]])
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _ev AS SELECT e.* FROM {events} e
        LEFT JOIN _cut a USING (session_id) WHERE e.seq > coalesce(a.seq, 0)
        OR e.seq IS NULL""")
    lineage = " UNION ALL BY NAME ".join(f"SELECT * FROM {p[1]}" for p in parts)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _li AS {lineage}")
    marks, checked = flagged_sessions(con, parts)
    flagged = {str(s) for (s,) in con.execute(
        "SELECT DISTINCT session_id FROM _ev WHERE hash(session_id) IN (SELECT unnest(?))",
        [sorted(marks)]).fetchall()} if marks else set()
    for sid in sorted(flagged):   # checked again, exactly, row by row
        rows = load_rows(con, "session_id = ? ORDER BY seq", [sid], table="_ev",
                         lineage_table="_li")
        problems += _chain(sid, rows, anchors.get(sid, (0, "")))
    now = {str(sid): (int(q or 0), str(h or "")) for sid, q, h in
           con.execute("SELECT session_id, last_seq, last_hash FROM sessions").fetchall()}
    for s in recent.values():   # the deltas' heads are newer
        now[str(s["session_id"])] = (int(s["last_seq"] or 0), str(s["last_hash"] or ""))
    tops = dict(con.execute("""SELECT s.session_id, t.top FROM (SELECT unnest(?::VARCHAR[])
        AS session_id) s JOIN (SELECT sid, max(seq) AS top FROM _chk GROUP BY sid) t
        ON t.sid = hash(s.session_id)""", [sorted(now)]).fetchall())
    last = {sid: q for sid, (q, _) in now.items()}
    for sid, last_seq in sorted(last.items()):
        top = max(int(tops.get(sid) or 0), anchors.get(sid, (0, ""))[0])
        if last_seq > top:
            problems.append(Problem(sid, top + 1, "", "deleted",
                                    f"store ends at seq {top}, session reached {last_seq}"))
    problems += against_journals(con, path, anchors, notes, recent)
    from .health import heads_differ, heads_moved, rebuilds

    for sid, seq, detail in heads_moved(path) + heads_differ(kept, now):
        what: What = "edited" if "hash" in detail else "deleted"
        problems.append(Problem(sid, seq, "", what, detail))
    lost, rebuilt = rebuilds(path, last)
    problems += [Problem("", 0, "", "lost", x) for x in lost]
    notes += rebuilt
    outage = [(p.session_id, p.seq, p.detail) for p in problems if p.what == "lost" and p.seq]
    problems = [p for p in problems if not (p.what == "deleted" and any(
        sid == p.session_id and first <= p.seq for sid, first, _ in outage))]
    unique: dict[tuple[str, int, str], Problem] = {}
    for p in problems:  # the chain's finding wins; the journal only names what the store lost
        key = (p.session_id, p.seq, p.what if p.session_id else p.what + p.detail)
        if key not in unique or not unique[key].event_id:
            unique[key] = p
    ordered = tuple(sorted(unique.values(), key=lambda p: (p.session_id, p.seq)))
    # after the chain's findings, which name the events: a sealed segment rewritten with a
    # recomputed chain is named by this alone
    ordered += tuple(Problem("", 0, "", "edited", x) for x in seals.changed)
    if not ordered:
        seals.save()
    return VerifyResult(not ordered, ordered, checked, tuple(notes))


def _chain(sid: str, rows: list[dict[str, Any]], anchor: tuple[int, str]) -> list[Problem]:
    """One session's rows (ordered by seq) against its chain, starting after ``anchor``."""
    problems: list[Problem] = []
    start_seq, prev = anchor
    hashes = {r["hash"] for r in rows}
    for row in rows:
        seq, eid = int(row["seq"]), str(row["event_id"])
        if seq > start_seq + 1:
            problems.append(Problem(sid, start_seq + 1, "", "deleted",
                                    f"seq {start_seq + 1}..{seq - 1} missing before {eid}"))
        elif seq <= start_seq:
            problems.append(Problem(sid, seq, eid, "reordered", "seq appears twice"))
        elif row["prev_hash"] != prev and row["prev_hash"] in hashes:
            problems.append(Problem(sid, seq, eid, "reordered",
                                    "links to another row of its session"))
        elif row["prev_hash"] != prev or chain_hash(prev, row) != row["hash"]:
            problems.append(Problem(sid, seq, eid, "edited", "hash does not match content"))
        start_seq, prev = max(seq, start_seq), row["hash"]
    return problems


def _has(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND "
                            "database_name = current_database()", [name]).fetchall()[0][0])


def _delta_sessions(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, dict[str, Any]]:
    """Each journal's state after the delta files of the catalog's generation."""
    from .delta import current_gen, delta_dir, files, sessions_in

    gen = current_gen(con)
    return sessions_in(files(delta_dir(path) / gen)) if gen else {}
