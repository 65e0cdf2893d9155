"""Check every session's hash chain in the store, its archives, and the journals still on disk.

A row is *edited* if its hash does not match its content, *deleted* if a ``seq`` is missing (or the
store ends before the session's last ingested ``seq``), *reordered* if it links to a row of its own
session that is not the one before it. ``problems[0]`` is the first problem, by session and seq.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from .chain import chain_hash
from .chainsql import flagged_sessions, limit_memory
from .ingest import load_rows
from .journal import ingested_dir, journal_dir, parse_lines
from .store import connect_readonly

What = Literal["edited", "deleted", "reordered", "lost", "malformed"]


@dataclass(frozen=True)
class Problem:
    session_id: str
    seq: int
    event_id: str
    what: What
    detail: str

    def __str__(self) -> str:
        if not self.session_id:
            return f"{self.what}: {self.detail}"
        return (f"session {self.session_id} seq {self.seq} event {self.event_id or '?'}: "
                f"{self.what} ({self.detail})")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    problems: tuple[Problem, ...]
    checked: int                       # events whose chain link and hash were checked
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.checked} events, every chain intact"
        return f"FAILED: {self.problems[0]} ({len(self.problems)} problem(s))"


def verify(path: str | os.PathLike[str], *, incremental: bool = False) -> VerifyResult:
    """Recompute every chain (store, segments, archives) and compare it with the journals on
    disk. ``incremental``: segments unchanged since the last verify that passed are not read
    again (see ``checkpoint.py``)."""
    from .health import read_heads

    kept = read_heads(path)   # before the store is opened: never newer than what it reads
    con = connect_readonly(path)
    try:
        limit_memory(con)
        return _verify(con, Path(os.fspath(path)), incremental, kept)
    finally:
        con.close()


def _q(p: str) -> str:
    return "'" + p.replace("'", "''") + "'"


def _sources(con: duckdb.DuckDBPyConnection, path: Path, skip: set[str], notes: list[str],
             problems: list[Problem]) -> tuple[str, list[tuple[str, str, int]], list[str]]:
    """What to check: live rows, the segments on disk (a missing one is a problem), the
    archives on disk. Returns (all events as one relation, the parts one by one (events,
    lineage, size), the segments read)."""
    from .segments import segment_dir

    folder = segment_dir(path).resolve()
    read: list[str] = []
    parts: list[tuple[str, str, int]] = []
    (live,), = con.execute("SELECT count(*) FROM events_live").fetchall()
    parts.append(("events_live", "lineage_live", int(live)))
    if _has(con, "events_delta"):
        (recent,), = con.execute("SELECT count(*) FROM events_delta").fetchall()
        parts.append(("events_delta", "lineage_delta", int(recent)))
    for name, events in con.execute("SELECT name, events FROM segments ORDER BY name").fetchall():
        if not all((folder / f"{name}.{k}.parquet").exists() for k in ("events", "lineage")):
            problems.append(Problem("", 0, "", "deleted", f"segment {name} ({events} events) "
                                    f"is missing from {folder}"))
        elif name not in skip:
            read.append(name)
            ev, li = (f"read_parquet({_q(os.fspath(folder / f'{name}.{k}.parquet'))})"
                      for k in ("events", "lineage"))
            parts.append((ev, li, int(events)))
    archives = con.execute("SELECT DISTINCT archive FROM chain_anchors ORDER BY 1").fetchall()
    present = [a for (a,) in archives if os.path.exists(f"{a}.events.parquet")]
    if len(present) < len(archives):
        notes.append("some archives are gone: their chains are checked from the anchor on")
    for stem in present:
        ev = f"read_parquet({_q(f'{stem}.events.parquet')})"
        (n,), = con.execute(f"SELECT count(*) FROM {ev}").fetchall()
        parts.append((ev, f"read_parquet({_q(f'{stem}.lineage.parquet')})", int(n)))
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {e}" for e, _, _ in parts)
    return f"({union})", parts, read


def _anchors(con: duckdb.DuckDBPyConnection, notes: list[str],
             start: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    """Where each chain starts: after archives that are gone, or after a verified checkpoint."""
    anchors = dict(start)
    if any("archives are gone" in n for n in notes):
        for sid, seq, h in con.execute("SELECT session_id, max(seq), arg_max(hash, seq) "
                                       "FROM chain_anchors GROUP BY 1").fetchall():
            if int(seq) > anchors.get(sid, (0, ""))[0]:
                anchors[sid] = (int(seq), h)
    return anchors


def _verify(con: duckdb.DuckDBPyConnection, path: Path, incremental: bool,
            kept: dict[str, Any]) -> VerifyResult:
    from .checkpoint import load_checkpoint, save_checkpoint

    problems: list[Problem] = []
    notes: list[str] = []
    point = load_checkpoint(con, path) if incremental else None
    recent = _delta_sessions(con, path)   # before the rows: never newer than what is read
    skip = set(point.segments) if point else set()
    events, parts, read = _sources(con, path, skip, notes, problems)
    cut = _anchors(con, notes, {})   # rows up to an archive that is gone are not checked
    anchors = dict(cut)
    for sid, head in (point.heads if point else {}).items():
        anchors[sid] = max(anchors.get(sid, (0, "")), head)
    for table, values in (("_cut", cut), ("_anchor", anchors)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (session_id VARCHAR, seq BIGINT, "
                    "hash VARCHAR)")
        if values:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)",
                            [[s, q, h] for s, (q, h) in values.items()])
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _ev AS SELECT e.* FROM {events} e
        LEFT JOIN _cut a USING (session_id) WHERE e.seq > coalesce(a.seq, 0)
        OR e.seq IS NULL""")
    lineage = " UNION ALL BY NAME ".join(f"SELECT * FROM {li}" for _, li, _ in parts)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _li AS {lineage}")
    marks, checked = flagged_sessions(con, parts)
    flagged = {str(s) for (s,) in con.execute(
        "SELECT DISTINCT session_id FROM _ev WHERE hash(session_id) IN (SELECT unnest(?))",
        [sorted(marks)]).fetchall()} if marks else set()
    by_session: dict[str, list[dict[str, Any]]] = {}
    for sid in sorted(flagged):   # checked again, exactly, row by row
        rows = load_rows(con, "session_id = ? ORDER BY seq", [sid], table="_ev",
                         lineage_table="_li")
        by_session[sid] = rows
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
    problems += _against_journals(con, path, anchors, notes, recent)
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
    if not ordered:
        save_checkpoint(con, path, read, point)
    if point:
        notes.append(f"incremental: {len(point.segments)} segment(s) verified before were "
                     "not read again")
    return VerifyResult(not ordered, ordered, checked + (point.events if point else 0),
                        tuple(notes))


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


def _against_journals(con: duckdb.DuckDBPyConnection, path: Path,
                      anchors: dict[str, tuple[int, str]], notes: list[str],
                      recent: dict[str, dict[str, Any]]) -> list[Problem]:
    """Each final line of a journal that the store says it ingested must be in the store as is.
    Lines that are not what the writer writes are reported, never a crash; ``lost`` lines
    (written by the guard after an outage) name the events it could not keep."""
    problems: list[Problem] = []
    ingested = dict(con.execute("SELECT journal, last_seq FROM sessions").fetchall())
    ingested.update({j: s["last_seq"] for j, s in recent.items()})
    files = [d.glob("*.jsonl") for d in (journal_dir(path), ingested_dir(path)) if d.exists()]
    journals = [f for group in files for f in group if f.name in ingested]
    con.execute("CREATE OR REPLACE TEMP TABLE _jsid AS SELECT unnest(?::VARCHAR[]) AS session_id",
                [[j.stem for j in journals]])
    by_session: dict[str, dict[int, dict[str, Any]]] = {}
    for sid, seq, eid, h in con.execute("SELECT session_id, seq, event_id, hash FROM _ev "
                                        "WHERE session_id IN (SELECT session_id FROM _jsid) "
                                        "AND seq IS NOT NULL").fetchall():
        by_session.setdefault(sid, {})[int(seq)] = {"event_id": eid, "hash": h}
    for journal in journals:
        sid = journal.stem
        stored = by_session.get(sid, {})
        floor = anchors.get(sid, (0, ""))[0]
        try:
            data = journal.read_bytes()
        except OSError as e:
            notes.append(f"journal {journal} could not be read ({e.strerror or e})")
            continue
        top = ingested[journal.name]
        for n, line in enumerate(parse_lines(data), 1):
            if line.get("t") == "lost":
                problems.append(Problem(sid, _int(line.get("first_seq")), "", "lost",
                                        f"the guard could not write {line.get('lines')} journal "
                                        f"line(s) up to seq {line.get('last_seq')} "
                                        f"({line.get('why')}): an outage, not an edit"))
                continue
            seq = line.get("seq")
            if seq is None:
                continue
            if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(
                    line.get("hash"), str) or not isinstance(line.get("event_id"), str):
                problems.append(Problem(sid, 0, str(line.get("event_id") or ""), "malformed",
                                        f"{journal.name} line {n} has a field of the wrong type"))
                continue
            if seq <= floor or top is None or seq > top:
                continue
            row = stored.get(seq)
            if row is None:
                problems.append(Problem(sid, seq, line["event_id"], "deleted",
                                        "in the journal, not in the store"))
            elif row["hash"] != line["hash"] or row["event_id"] != line["event_id"]:
                what: What = "reordered" if row["event_id"] != line["event_id"] else "edited"
                problems.append(Problem(sid, seq, row["event_id"], what,
                                        "store row differs from the journal"))
    return problems


def _has(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND "
                            "database_name = current_database()", [name]).fetchall()[0][0])


def _delta_sessions(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, dict[str, Any]]:
    """Each journal's state after the delta files of the catalog's generation."""
    from .delta import current_gen, delta_dir, files, sessions_in

    gen = current_gen(con)
    return sessions_in(files(delta_dir(path) / gen)) if gen else {}


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0
