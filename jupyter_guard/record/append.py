"""The usual ingest: new journal lines become one delta file (``delta.py``); the catalog is not
copied (``delta.write`` writes the file with pyarrow, or with an in-memory DuckDB).

Its cost follows the new lines: read each journal from its offset, check every line is exactly
what the writer writes, build the rows, write one Parquet file and rename it in. Anything it does
not take for sure returns None and the caller runs the copy-on-write ingest, which folds the
deltas first: a new or ended session, a dead writer, an approval, a line that does not parse or
has a field of another type, an end whose begin is not in the deltas, a catalog replaced since.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from . import delta
from .hint import _APPROVED, _PUBLISHED, _stamp, _unchanged
from .journal import read_from, writer_alive

_STR = ("event_id", "user_name", "actor", "session_id", "notebook", "cell_id", "kind", "code",
        "code_sha256", "decision", "rule_id", "reason", "policy_revision", "decision_id",
        "status", "host", "prev_hash", "hash", "server_event_id")
_INT = ("ts_us", "seq", "execution_count", "rows_affected", "finished_us")
_REQUIRED = ("event_id", "ts_us", "user_name", "actor", "session_id", "kind", "decision",
             "status")
_END = ("status", "duration_ms", "rows_affected", "seq", "prev_hash", "hash")


class Refuse(Exception):
    """The copy-on-write ingest must take this one."""


_TYPES: dict[str, tuple[type, ...]] = {**dict.fromkeys(_STR, (str,)), **dict.fromkeys(_INT, (int,)),
                                        "duration_ms": (int, float)}


def _check(line: dict[str, Any]) -> None:
    """Every field the store keeps has the type the writer writes (a bool is not an int)."""
    for k, v in line.items():
        if v is None:
            continue
        want = _TYPES.get(k)
        if want is not None:
            if type(v) not in want or (type(v) is int and not -2**62 < v < 2**62):
                raise Refuse
        elif k == "groups":
            if type(v) is not list or any(type(g) is not str for g in v):
                raise Refuse
        elif k == "lineage":
            if type(v) is not list or any(
                    type(x) is not list or len(x) != 4 or type(x[0]) is not str
                    or type(x[1]) is not str or type(x[2]) is not str or type(x[3]) is not bool
                    for x in v):
                raise Refuse
        elif k == "facts" and type(v) is not dict:
            raise Refuse


def _lineage(items: list[list[Any]] | None) -> list[dict[str, Any]]:
    return [{"direction": d, "object_kind": k, "name": n, "is_sensitive": s}
            for d, k, n, s in items or ()]


def _row(b: dict[str, Any]) -> dict[str, Any]:
    if any(b.get(k) is None for k in _REQUIRED):
        raise Refuse
    facts = b.get("facts")
    return {
        "event_id": b["event_id"], "ts": b["ts_us"], "user_name": b["user_name"],
        "actor": b["actor"], "groups": b.get("groups"), "session_id": b["session_id"],
        "seq": b.get("seq"), "notebook": b.get("notebook"), "cell_id": b.get("cell_id"),
        "execution_count": b.get("execution_count"), "kind": b["kind"], "code": b.get("code"),
        "code_sha256": b.get("code_sha256"), "decision": b["decision"],
        "rule_id": b.get("rule_id"), "reason": b.get("reason"),
        "policy_revision": b.get("policy_revision"), "decision_id": b.get("decision_id"),
        "status": b["status"], "duration_ms": b.get("duration_ms"),
        "rows_affected": b.get("rows_affected"),
        "finished_at": None if b["status"] == "running" else b["ts_us"], "host": b.get("host"),
        "prev_hash": b.get("prev_hash"), "hash": b.get("hash"),
        "facts": None if facts is None else json.dumps(facts, separators=(",", ":"),
                                                        ensure_ascii=False),
        "server_event_id": b.get("server_event_id"), "lineage": _lineage(b.get("lineage"))}


def _ended(row: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
    if e.get("status") is None or row["status"] != "running":
        raise Refuse
    out = {**row, **{k: e.get(k) for k in _END}}
    out["finished_at"] = e.get("finished_us")
    out["lineage"] = row["lineage"] + _lineage(e.get("lineage"))
    return out


def _journal(journal: Path, sess: dict[str, Any], running: dict[str, dict[str, Any]]
             ) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """(rows, events begun, the journal's state after) for one journal's new lines."""
    chunk = read_from(journal, sess["offset"])
    rows: dict[str, dict[str, Any]] = {}
    begun, top, head = 0, None, sess
    for raw in chunk.data.splitlines():
        try:
            line = orjson.loads(raw)   # ~4x json's speed; its errors are ValueErrors
        except ValueError:
            raise Refuse from None
        if not isinstance(line, dict):
            raise Refuse
        t = line.get("t")
        if t == "head":
            head = {"pid": line.get("pid"), "host": line.get("host"),
                    "pid_start": line.get("pid_start")}
            continue
        if t not in ("begin", "end"):
            raise Refuse   # close, approval, lost or anything else
        _check(line)
        eid = line.get("event_id")
        if not isinstance(eid, str):
            raise Refuse
        if t == "begin":
            if eid in rows or eid in running:
                raise Refuse
            rows[eid] = _row(line)
            begun += 1
        else:
            base = rows.get(eid) or running.get(eid)
            if base is None:
                raise Refuse   # its begin is in the catalog
            rows[eid] = _ended(base, line)
        if line.get("seq") is not None and (top is None or line["seq"] > top[0]):
            top = (line["seq"], line.get("hash") or "")
    if not writer_alive(head):
        raise Refuse   # its running events are to be completed as interrupted
    after = {**sess, "offset": chunk.end, "pid": head.get("pid"), "host": head.get("host"),
             "pid_start": head.get("pid_start"), "seen": chunk.end + chunk.tail}
    if top is not None:
        after.update(last_seq=top[0], last_hash=top[1])
    return list(rows.values()), begun, after


def _new(journal: Path) -> dict[str, Any]:
    """A journal the cache does not know: a new session (the fold gives the catalog its row),
    unless a journal of that name was ingested before (then the catalog knows its offset)."""
    if (journal.parent / "ingested" / journal.name).exists():
        raise Refuse
    return {"session_id": journal.stem, "offset": 0, "last_seq": 0, "last_hash": "",
            "pid": None, "host": None, "pid_start": None, "new": True}


def append(published: Path, journals: list[Path], hint: dict[str, Any]) -> int | None:
    """Ingest the journals' new lines as one delta; None when the caller must (see module)."""
    from .health import heads_kept, write_heads
    from .hint import write_hint

    state = hint.get(delta.DELTA) or {}
    gen = state.get("gen")
    if not gen or state.get("stamp") != _stamp(published) or hint.get(_PUBLISHED) != state[
            "stamp"] or not heads_kept(published):
        return None
    folder = delta.delta_dir(published) / gen
    n = int(state["last"]) + 1
    if (not folder.is_dir() or (folder / f"{n:08d}.parquet").exists()
            or n > delta.FOLD_FILES or state["rows"] >= delta.FOLD_ROWS):
        return None
    sessions, running = state["sessions"], state["running"]
    rows, count, moved, after_all, new_hint = [], 0, {}, {}, {}
    seen: dict[str, int] = {}
    try:
        for journal in journals:
            sess = sessions.get(journal.name) or _new(journal)
            if _unchanged(hint.get(journal.name), journal):
                new_hint[journal.name] = hint[journal.name]
                continue
            got, begun, after = _journal(journal, sess, running)
            seen[journal.name] = after.pop("seen")
            rows += got
            count += begun
            after_all[journal.name] = after
            if after["offset"] != sess["offset"]:
                moved[journal.name] = after
    except (Refuse, OSError):
        return None
    for r in rows:
        r["_v"] = n
    if moved:
        try:
            delta.write(folder, n, rows, moved)
        except (OSError, ValueError, TypeError, OverflowError):   # pyarrow's type errors are
            return None   # ValueError/TypeError subclasses: the copy-on-write ingest takes it
        for r in rows:
            if r["status"] == "running":
                running[r["event_id"]] = r
            else:
                running.pop(r["event_id"], None)
        heads = [(s["session_id"], s["last_seq"], s["last_hash"]) for j, s in moved.items()
                 if s["last_seq"] != sessions.get(j, {}).get("last_seq")]
        sessions.update(moved)
        state.update(last=n, rows=state["rows"] + len(rows), events=state["events"] + count)
        write_heads(published, heads, state["events"])
    for name, s in after_all.items():
        new_hint[name] = {
            "offset": s["offset"], "seen": seen[name], "ended": False,
            "head": {"pid": s["pid"], "host": s["host"], "pid_start": s["pid_start"]},
            "running": sum(1 for r in running.values() if r["session_id"] == s["session_id"])}
    new_hint[delta.DELTA] = state
    write_hint(published, new_hint, hint.get(_APPROVED) or [])
    return count


def reset(published: Path, gen: str, sessions: list[tuple[Any, ...]], events: int
          ) -> dict[str, Any]:
    """The cache after a copy-on-write ingest published generation ``gen``."""
    keys = ("session_id", "offset", "last_seq", "last_hash", "pid", "host", "pid_start")
    return {"gen": gen, "stamp": _stamp(published), "last": 0, "rows": 0, "events": int(events),
            "running": {}, "sessions": {j: dict(zip(keys, rest)) for j, *rest in sessions}}
