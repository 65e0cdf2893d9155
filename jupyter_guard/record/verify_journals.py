"""``verify``'s second witness: each final line of a journal the store says it ingested must be in
the store as is (``verify.py`` checks the chains; this names what the store lost or changed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from .journal import ingested_dir, journal_dir, parse_lines
from .verify_types import Problem, What


def against_journals(con: duckdb.DuckDBPyConnection, path: Path,
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


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0
