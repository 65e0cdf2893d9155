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


def verify(path: str | os.PathLike[str]) -> VerifyResult:
    """Recompute every chain (store + archives) and compare it with the journals on disk."""
    con = connect_readonly(path)
    try:
        return _verify(con, Path(os.fspath(path)))
    finally:
        con.close()


def _archive_rows(con: duckdb.DuckDBPyConnection, stems: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for stem in stems:
        ev, li = f"{stem}.events.parquet", f"{stem}.lineage.parquet"
        def q(p: str) -> str:
            return "read_parquet('" + p.replace("'", "''") + "')"
        rows += load_rows(con, "seq IS NOT NULL", [], table=q(ev), lineage_table=q(li))
    return rows


def _verify(con: duckdb.DuckDBPyConnection, path: Path) -> VerifyResult:
    problems: list[Problem] = []
    notes: list[str] = []
    by_session: dict[str, list[dict[str, Any]]] = {}
    anchors: dict[str, tuple[int, str]] = {}
    archives = con.execute("SELECT DISTINCT archive FROM chain_anchors ORDER BY 1").fetchall()
    present = [a for (a,) in archives if os.path.exists(f"{a}.events.parquet")]
    if len(present) < len(archives):
        notes.append("some archives are gone: their chains are checked from the anchor on")
        for sid, seq, h in con.execute("SELECT session_id, max(seq), arg_max(hash, seq) "
                                       "FROM chain_anchors GROUP BY 1").fetchall():
            anchors[sid] = (int(seq), h)
    for row in _archive_rows(con, present) + load_rows(con, "seq IS NOT NULL ORDER BY seq", []):
        by_session.setdefault(row["session_id"], []).append(row)
    checked = 0
    for sid, rows in sorted(by_session.items()):
        rows.sort(key=lambda r: r["seq"])
        start_seq, prev = anchors.get(sid, (0, ""))
        rows = [r for r in rows if r["seq"] > start_seq]
        hashes = {r["hash"] for r in rows}
        for row in rows:
            checked += 1
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
    for sid, last_seq in con.execute("SELECT session_id, last_seq FROM sessions").fetchall():
        seen = by_session.get(sid, [])
        top = max([int(r["seq"]) for r in seen] + [anchors.get(sid, (0, ""))[0]])
        if last_seq > top:
            problems.append(Problem(sid, top + 1, "", "deleted",
                                    f"store ends at seq {top}, session reached {last_seq}"))
    problems += _against_journals(con, path, by_session, anchors, notes)
    from .health import rebuilds

    last = {str(sid): int(q or 0) for sid, q in
            con.execute("SELECT session_id, last_seq FROM sessions").fetchall()}
    lost, rebuilt = rebuilds(path, last)
    problems += [Problem("", 0, "", "lost", x) for x in lost]
    notes += rebuilt
    outage = [(p.session_id, p.seq, p.detail) for p in problems if p.what == "lost" and p.seq]
    problems = [p for p in problems if not (p.what == "deleted" and any(
        sid == p.session_id and first <= p.seq for sid, first, _ in outage))]
    unique: dict[tuple[str, int, str], Problem] = {}
    for p in problems:  # the chain's finding wins; the journal only names what the store lost
        key = (p.session_id, p.seq, p.what)
        if key not in unique or not unique[key].event_id:
            unique[key] = p
    ordered = tuple(sorted(unique.values(), key=lambda p: (p.session_id, p.seq)))
    return VerifyResult(not ordered, ordered, checked, tuple(notes))


def _against_journals(con: duckdb.DuckDBPyConnection, path: Path,
                      by_session: dict[str, list[dict[str, Any]]],
                      anchors: dict[str, tuple[int, str]], notes: list[str]) -> list[Problem]:
    """Each final line of a journal that the store says it ingested must be in the store as is.
    Lines that are not what the writer writes are reported, never a crash; ``lost`` lines
    (written by the guard after an outage) name the events it could not keep."""
    problems: list[Problem] = []
    ingested = dict(con.execute("SELECT journal, last_seq FROM sessions").fetchall())
    files = [d.glob("*.jsonl") for d in (journal_dir(path), ingested_dir(path)) if d.exists()]
    for journal in (f for group in files for f in group):
        if journal.name not in ingested:
            continue
        sid = journal.stem
        stored = {int(r["seq"]): r for r in by_session.get(sid, [])}
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


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0
