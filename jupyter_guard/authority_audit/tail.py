"""Reading a kernel's journal for the shipper, whatever its owner did to the file.

The journal is the guard's buffer but the user's file. Reading it must never stop on what a
user can do to it, and never hide it:

- a line that is not an event (not JSON, not an object, a ``begin`` without a usable id) is
  skipped and reported (``malformed``);
- a line longer than ``MAX_LINE`` is skipped without being held in memory (``oversized``); reads
  are bounded per step, so a huge file delays nothing else for long;
- a file shorter than what was read (``truncated``), whose bytes before the read position
  changed (``rewritten``), that vanished (``missing``) or is another file now (``replaced``) is
  read again from its start: every event in it is sent again, and the authority stores an
  event id once, so only what the user destroyed before it was read is lost, and that is
  reported.

Reports are tamper events (``tamper.report``) the shipper sends with the events.
"""
from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_guard.record.chain import norm_lineage
from jupyter_guard.record.schema import FINAL_STATUSES

from .tamper import report

CHUNK = 1 << 20            # bytes read at once
MAX_LINE = 8 << 20         # a longer journal line is skipped (reported), never parsed
STEP_BYTES = 8 << 20       # bytes read from one file per step (the rest waits for the next)
MARK = 64                  # bytes before the read position kept to notice a rewrite
Tell = Callable[[dict[str, Any]], None]
# what a cell's ``end`` line sets on its event
ENDED = ("status", "duration_ms", "rows_affected", "finished_us", "seq", "prev_hash", "hash",
         "lineage")


def _usable_id(value: object, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


class Events:
    """Final events from journal lines (pure: the shipper's parsing, tested alone)."""

    def __init__(self) -> None:
        self.running: dict[str, dict[str, Any]] = {}
        self.ready: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def feed(self, line: dict[str, Any]) -> str:
        """Take one journal line: '' when taken, else what is wrong with it (``malformed``: a
        ``begin`` that cannot be an event; ``collision``: a ``begin`` reusing the id of another
        event still waiting here, which stands)."""
        kind = line.get("t")
        if kind == "begin":
            if not (_usable_id(line.get("event_id"), 64)
                    and _usable_id(line.get("session_id"), 128)):
                return "malformed"
            row = {k: v for k, v in line.items() if k != "t"}
            eid = str(row["event_id"])
            had = self.running.get(eid) or self.ready.get(eid)
            if had is not None:     # read again (the file was re-read), or another event
                same = all(had.get(k) == v for k, v in row.items() if k not in ENDED)
                return "" if same else "collision"
            target = self.ready if row.get("status") in FINAL_STATUSES else self.running
            target[eid] = row
        elif kind == "end":
            row = self.running.pop(str(line.get("event_id")), {})
            if not row:
                return ""
            row.update({k: line.get(k) for k in ENDED if k != "lineage"})
            row["lineage"] = norm_lineage(list(row.get("lineage") or []) +
                                          list(line.get("lineage") or []))
            self.ready[str(row["event_id"])] = row
        return ""

    def interrupt_running(self) -> None:
        """At close: cells that never finished are sent as ``interrupted``."""
        for eid, row in self.running.items():
            self.ready[eid] = {**row, "status": "interrupted"}
        self.running.clear()


@dataclass
class Tail:
    """Where the shipper is in one journal file."""

    name: str
    offset: int = 0
    ino: int = 0
    mark: bytes = b""
    skip_from: int = -1        # an oversized line starts there; ``offset`` is where its end is
    missing: bool = False      # sought from ``offset`` (a position inside that line)
    size: int = 0              # the file's size when last read
    ended: bool = False        # its writer is gone (moved aside by the local ingest)

    def restart(self) -> None:
        self.offset, self.mark, self.skip_from = 0, b"", -1


def read(tail: Tail, path: Any, session: str, events: Events, tell: Tell) -> None:
    """Read what is new in ``path`` into ``events``; report what the user did to the file."""
    try:
        f = open(path, "rb")   # noqa: SIM115 - closed below; a missing file is reported instead
    except OSError:
        if tail.ino and not tail.missing:
            tail.missing = True
            if tail.ended and tail.offset >= tail.size:
                return   # an ended journal read to its end, then removed by the local ingest
            tell(report("missing", session, f"the journal {tail.name} is gone (deleted or "
                        "moved by its owner); events it held that were not yet read are lost",
                        key=(tail.name, tail.ino)))
        return
    with f:
        st = os.fstat(f.fileno())
        if tail.ino and st.st_ino != tail.ino:
            tell(report("replaced", session, f"the journal {tail.name} was deleted or replaced "
                        "by another file; read again from its start", key=(tail.name,
                                                                            tail.ino, st.st_ino)))
        tail.ino, tail.missing, tail.size = st.st_ino, False, st.st_size
        if st.st_size < tail.offset:
            tell(report("truncated", session, f"the journal {tail.name} was cut from "
                        f"{tail.offset} to {st.st_size} bytes; lines written after the last "
                        "read and before the cut are lost", key=(tail.name, st.st_ino,
                                                                 tail.offset, st.st_size)))
            tail.restart()
        elif tail.mark and os.pread(f.fileno(), len(tail.mark),
                                    tail.offset - len(tail.mark)) != tail.mark:
            tell(report("rewritten", session, f"the journal {tail.name} was rewritten before "
                        f"byte {tail.offset}; read again from its start",
                        key=(tail.name, st.st_ino, tail.offset)))
            tail.restart()
        _lines(f, tail, session, events, tell)
        start = max(0, tail.offset - MARK)
        tail.mark = os.pread(f.fileno(), tail.offset - start, start)


def _lines(f: Any, tail: Tail, session: str, events: Events, tell: Tell) -> None:
    bad: list[Any] = [0, -1, b""]           # count, first offset, first line
    f.seek(tail.offset)
    budget = STEP_BYTES
    while budget > 0:
        data = f.read(CHUNK)
        if not data:
            break
        budget -= len(data)
        if tail.skip_from >= 0:             # inside an oversized line: look for its end
            end = data.find(b"\n")
            tail.offset += len(data) if end < 0 else end + 1
            if end >= 0:
                tell(report("oversized", session, f"a journal line of "
                            f"{tail.offset - tail.skip_from} bytes at byte {tail.skip_from} of "
                            f"{tail.name} was skipped (longer than {MAX_LINE} bytes)",
                            key=(tail.name, tail.ino, tail.skip_from)))
                tail.skip_from = -1
            f.seek(tail.offset)
            continue
        cut = data.rfind(b"\n") + 1
        if cut == 0:                       # no line end yet: a long line, or one being written
            rest = f.readline(MAX_LINE - len(data)) if len(data) == CHUNK else b""
            data += rest
            if data.endswith(b"\n"):
                cut = len(data)
            elif len(data) >= MAX_LINE:
                tail.skip_from, tail.offset = tail.offset, tail.offset + len(data)
                continue
            else:
                break
        for i, raw in enumerate(data[:cut].splitlines(keepends=True)):
            if i % 100 == 99:
                time.sleep(0)   # let a cell's thread run between chunks
            _one(raw, session, events, tail, bad, tell)
            tail.offset += len(raw)
        f.seek(tail.offset)
    if bad[0]:
        tell(report("malformed", session, f"{bad[0]} line(s) of the journal {tail.name} from "
                    f"byte {bad[1]} are not events and were skipped",
                    key=(tail.name, tail.ino, bad[1]), excerpt=bad[2].decode(errors="replace")))


def _one(raw: bytes, session: str, events: Events, tail: Tail, bad: list[Any],
         tell: Tell) -> None:
    try:
        line = json.loads(raw)
    except ValueError:
        line = None
    wrong = (events.feed(line) if isinstance(line, dict) else "malformed") if raw.strip() else ""
    if wrong == "collision":
        text = raw.decode(errors="replace")
        tell(report("collision", session, f"a line at byte {tail.offset} of the journal "
                    f"{tail.name} reuses the event id {line.get('event_id')} of another event "
                    "(the first one stands; this one is not sent)",
                    key=(tail.name, tail.ino, tail.offset), excerpt=text))
    elif wrong:
        bad[0] += 1
        if bad[1] < 0:
            bad[1], bad[2] = tail.offset, raw[:200]
