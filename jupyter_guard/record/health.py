"""Is the published store complete and current? Staleness for readers, chain heads kept beside it.

- ``staleness``: journals that hold lines the published file does not (the writers' lock held too
  long, an ingest failing): ``report``, ``verify`` and the sidebar say so instead of showing old
  data as if it were complete.
- ``<audit>.heads.json``: each session's last ``seq`` and hash and the event count, as a log (a
  snapshot, then per publish a line with the heads it moved; a copy in the user's state folder
  survives the deletion of the whole audit folder). A store that was deleted, truncated or
  replaced by an older copy is told apart from an empty one by it, rebuilt from the journals,
  and ``verify`` fails loudly for what the journals cannot give back or the store contradicts.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from .journal import journal_dir


def hint_path(path: str | os.PathLike[str]) -> Path:
    """A small JSON of ingested offsets, read without opening DuckDB to skip no-op ingests."""
    return Path(f"{os.fspath(path)}.ingested.json")


def heads_path(path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(path)}.heads.json")


def heads_copy(path: str | os.PathLike[str]) -> Path:
    """A second copy of the heads outside the audit folder (the user's state folder, beside the
    fallback journals), so a deleted audit folder is told apart from a new store."""
    from .journal import fallback_dir

    spare = fallback_dir(path)
    return spare.parent.parent / "heads" / f"{spare.name}.json"


def staleness(path: str | os.PathLike[str]) -> str:
    """"" when the published file holds every complete journal line, else what is missing."""
    folder = journal_dir(path)
    journals = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    try:
        hint = json.loads(hint_path(path).read_text())
    except (OSError, ValueError):
        hint = {}
    behind, newest = 0, 0.0
    for journal in journals:
        try:
            st = journal.stat()
        except OSError:
            continue
        known = hint.get(journal.name) or {}
        done = known.get("seen", known.get("offset", 0))   # past it: a partial last line
        if st.st_size > done:
            behind += 1
            newest = max(newest, st.st_mtime)
    from .journal import fallback_dir

    spare = fallback_dir(path)
    away = len(list(spare.glob("*.jsonl"))) if spare.is_dir() else 0
    if away:
        return (f"{away} journal(s) wait in the fallback folder {spare} because the audit folder "
                "could not be written: this data may be incomplete")
    if not behind:
        return ""
    age = max(0.0, time.time() - newest)
    return (f"{behind} journal(s) hold events not yet in {os.fspath(path)} (newest written "
            f"{age:.0f} s ago); the writers' lock {os.fspath(path)}.lock may be held or ingest "
            "failing: this data may be incomplete")


FOLD_MIN = 2**20   # bytes a heads log may grow past four times its snapshot before a fold
_HEADER = '{"heads": 2, "snapshot_bytes": "%012d"}\n'   # fixed width: read with one pread


def write_heads(path: str | os.PathLike[str], sessions: list[tuple[Any, ...]], events: int,
                *, full: bool = False) -> None:
    """Record session heads beside the store and in the copy outside it (best effort on a full
    disk: the old heads stay, which only makes the next check stricter).

    The file is a log: a snapshot, then one appended line per ingest with the heads that moved
    (so an ingest costs what it changed, not the number of sessions). ``full``: ``sessions`` is
    every session (a new or rebuilt store) and replaces the file. A log grown past four times
    its snapshot is folded into a new snapshot.
    """
    heads = {str(s): [int(q or 0), str(h or "")] for s, q, h in sessions}
    line = json.dumps({"events": int(events), "sessions": heads}) + "\n"
    for target in (heads_path(path), heads_copy(path)):
        with contextlib.suppress(OSError):
            target.parent.mkdir(parents=True, exist_ok=True)
            snapshot = _snapshot_bytes(target)
            if full or not target.exists():
                _replace(target, line)
            elif snapshot >= 0 and target.stat().st_size > 4 * snapshot + FOLD_MIN:
                folded = _fold(target)
                folded["sessions"].update(heads)
                _replace(target, json.dumps({"events": int(events),
                                             "sessions": folded["sessions"]}) + "\n")
            else:
                _append(target, line)


def heads_kept(path: str | os.PathLike[str]) -> bool:
    """Whether both copies of the heads are logs an ingest may append to (else it writes them
    whole, after comparing them with the store)."""
    return all(_snapshot_bytes(t) >= 0 for t in (heads_path(path), heads_copy(path)))


def _snapshot_bytes(target: Path) -> int:
    """The snapshot's size from the log's header; -1 if there is no log (or an old file)."""
    try:
        with open(target, "rb") as f:
            head = json.loads(f.read(len(_HEADER % 0)))
        return int(head["snapshot_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def _replace(target: Path, snapshot: str) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(_HEADER % len(snapshot.encode()) + snapshot)
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _append(target: Path, line: str) -> None:
    """One write in append mode; after a torn last line (a crash mid-write) a newline first."""
    fd = os.open(target, os.O_RDWR | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        os.write(fd, (("\n" if torn else "") + line).encode())
    finally:
        os.close(fd)


def _fold(source: Path) -> dict[str, Any]:
    """The heads a log holds: its lines applied in order (unparseable lines are skipped)."""
    out: dict[str, Any] = {"events": 0, "sessions": {}}
    with open(source, "rb") as f:
        for raw in f:
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("sessions"), dict):
                out["events"] = int(data.get("events") or 0)
                out["sessions"].update(data["sessions"])
    return out


def read_heads(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The heads kept beside the store, else (the audit folder is gone) the copy kept outside."""
    for source in (heads_path(path), heads_copy(path)):
        try:
            data = _fold(source)
        except OSError:
            continue
        if data["sessions"] or data["events"]:
            return data
    return {}


def note_rebuild(path: str | os.PathLike[str], why: str, aside: str, heads: dict[str, Any]) -> None:
    """Keep what the store held (its heads) before a rebuild, for ``verify`` to compare."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    note = Path(f"{os.fspath(path)}.rebuilt-{stamp}-{os.getpid()}.json")
    with contextlib.suppress(OSError):
        note.parent.mkdir(parents=True, exist_ok=True)   # the whole audit folder may be gone
        note.write_text(json.dumps({"why": why, "aside": aside, "heads": heads,
                                    "at": time.time()}))


def rebuilds(path: str | os.PathLike[str], sessions: dict[str, int]) -> tuple[list[str], list[str]]:
    """(problems, notes) from every rebuild of the store: sessions the journals could not give
    back, or a store whose content was never known (no heads were kept)."""
    problems: list[str] = []
    notes: list[str] = []
    p = Path(os.fspath(path))
    for note in sorted(p.parent.glob(f"{p.name}.rebuilt-*.json")):
        try:
            data = json.loads(note.read_text())
        except (OSError, ValueError):
            problems.append(f"{note}: unreadable record of a rebuild")
            continue
        heads = data.get("heads") or {}
        what = f"the audit file was {data.get('why')}" + (
            f" (kept at {data['aside']})" if data.get("aside") else "")
        if not heads.get("sessions") and not heads.get("events"):
            problems.append(f"{what} and rebuilt from the journals, but no record of what it "
                            f"held exists: events may be lost. Inspect it, then delete {note}")
            continue
        lost = [f"session {sid}: had seq {h[0]}, the rebuilt store has "
                f"{sessions.get(sid, 0)}" for sid, h in sorted(heads["sessions"].items())
                if isinstance(h, list) and h and int(h[0]) > sessions.get(sid, 0)]
        if lost:
            problems += [f"{what}; rebuilt without these events (their journals are gone): {x}"
                         for x in lost]
        else:
            notes.append(f"{what} and rebuilt from the journals with every event ({note.name})")
    return problems, notes


def _moved(old: dict[str, Any], now: dict[str, tuple[int, str]]) -> dict[str, dict[str, Any]]:
    """Sessions whose kept head (``old``) went back, changed its hash at the same ``seq``, or
    is gone from ``now``."""
    moved = {}
    for sid, head in old.items():
        if not (isinstance(head, list) and len(head) == 2):
            continue
        seq, h = int(head[0] or 0), str(head[1] or "")
        new = now.get(sid)
        if new is None or new[0] < seq or (new[0] == seq and new[1] != h):
            moved[sid] = {"was": [seq, h], "now": list(new) if new else None}
    return moved


def _what(was: list[Any], now: list[Any] | None) -> str:
    return ("the session is gone from the store" if now is None else
            f"its head went from seq {was[0]} back to {now[0]}" if now[0] < was[0] else
            f"seq {was[0]} has another hash than before (a recomputed chain)")


def note_heads_moved(path: str | os.PathLike[str], heads: list[tuple[Any, ...]]) -> None:
    """Before the heads are rewritten whole: a session whose head went back, changed its hash
    at the same ``seq``, or vanished from the store was edited outside the guard (a deleted
    session, a truncated tail, a recomputed chain); keep that for ``verify``."""
    now = {str(s): (int(q or 0), str(h or "")) for s, q, h in heads}
    moved = _moved(read_heads(path).get("sessions") or {}, now)
    if moved:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        note = Path(f"{os.fspath(path)}.tampered-{stamp}-{os.getpid()}.json")
        with contextlib.suppress(OSError):
            note.write_text(json.dumps({"at": time.time(), "sessions": moved}))


def heads_differ(kept: dict[str, Any], now: dict[str, tuple[int, str]]
                 ) -> list[tuple[str, int, str]]:
    """(session, seq, what) for every head kept beside the store (read before the store was
    opened, so never newer than it) that the store's own heads contradict."""
    moved = _moved(kept.get("sessions") or {}, now)
    return [(sid, int(d["was"][0]), f"{_what(d['was'], d['now'])} (heads kept beside the store)")
            for sid, d in sorted(moved.items())]


def heads_moved(path: str | os.PathLike[str]) -> list[tuple[str, int, str]]:
    """(session, seq, what) for every session a ``note_heads_moved`` record names."""
    found: list[tuple[str, int, str]] = []
    p = Path(os.fspath(path))
    for note in sorted(p.parent.glob(f"{p.name}.tampered-*.json")):
        try:
            sessions = json.loads(note.read_text())["sessions"]
        except (OSError, ValueError, KeyError, TypeError):
            found.append(("", 0, f"{note}: unreadable record of a changed chain head"))
            continue
        for sid, d in sorted(sessions.items()):
            was, now = d.get("was") or [0, ""], d.get("now")
            found.append((sid, int(was[0]), f"{_what(was, now)} ({note.name})"))
    return found
