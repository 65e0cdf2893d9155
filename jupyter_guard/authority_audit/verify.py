"""``jupyter guard verify`` in authority mode: the keyed chain against the signed checkpoints.

One pass over the events in ``gseq`` order, in bounded memory (the events are read in batches;
per-session state is a count and the last ``gseq``). Each problem names its tamper form:

- ``deleted``: a gap in the sequence; a session the checkpoints list has fewer events than
  signed (``deleted session`` when none is left);
- ``truncated``: the ledger ends before the last signed checkpoint;
- ``edited``: an event whose MAC does not match its content (or whose columns differ from it);
- ``reordered``: an event linked to one that is not its predecessor;
- ``forged``: an event with a bad MAC past the last signed checkpoint, a second event with one
  sequence number, or a checkpoint whose signature is not the authority's;
- ``recomputed``: MACs that are plain SHA-256 (a chain recomputed without the authority's key);
- ``journal``: a tamper event the record holds (a user damaged their kernel's journal: malformed,
  oversized or colliding lines, a truncated, rewritten or replaced file, junk in its folder).
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from .ledger import Ledger
from .mac import mac, signature_ok, unkeyed
from .tamper import described

MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    form: str
    detail: str

    def __str__(self) -> str:
        return f"{self.form}: {self.detail}"


@dataclass
class Result:
    events: int = 0
    checkpoint_gseq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def forms(self) -> set[str]:
        return {p.form for p in self.problems}

    def add(self, form: str, detail: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(form, detail))


def _signed(ledger: Ledger, public: str, extra: list[tuple[str, str]], res: Result
            ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The newest valid checkpoint and, per session, its newest signed head."""
    last: dict[str, Any] = {}
    sessions: dict[str, list[Any]] = {}
    found = [(b, s) for _, b, s in ledger.checkpoints()] + extra
    for body, sig in found:
        if not signature_ok(public, body, sig):
            res.add("forged", "a checkpoint whose signature is not the authority's")
            continue
        cp = json.loads(body)
        if cp.get("gseq", 0) >= last.get("gseq", 0):
            last = cp
        for sid, head in (cp.get("sessions") or {}).items():
            if sid not in sessions or head[0] > sessions[sid][0]:
                sessions[sid] = head
    return last, sessions


def verify(ledger: Ledger, key: bytes, public: str,
           checkpoints: list[tuple[str, str]] | None = None) -> Result:
    """Check every event; ``checkpoints`` adds (body, signature) pairs kept outside the ledger
    (a copy governance saved: a ledger rolled back with its own checkpoints is still caught)."""
    res = Result()
    last, signed = _signed(ledger, public, checkpoints or [], res)
    res.checkpoint_gseq = int(last.get("gseq", 0))
    counts: dict[str, list[int]] = {}     # session -> [events, last gseq]
    expected, prev = 1, ""
    for row in ledger.rows():
        res.events += 1
        if row.gseq < expected:
            res.add("forged", f"a second event with seq {row.gseq} ({row.event_id})")
            continue
        if row.gseq > expected:
            res.add("deleted", f"events {expected}..{row.gseq - 1} are missing")
        want = mac(key, row.gseq, row.prev_mac, row.body)
        if not hmac.compare_digest(want, row.mac):
            _bad_mac(row, key, res)
        elif row.prev_mac != prev and row.gseq == expected:
            where = ledger.by_mac(row.prev_mac) if row.prev_mac else None
            res.add("reordered", f"event {row.gseq} follows event {where or '?'} in the chain, "
                    f"not event {row.gseq - 1}")
        elif not _columns_match(row):
            res.add("edited", f"event {row.gseq}: its columns differ from its MAC'd content")
        told = described(row.body)
        if told is not None:
            res.add("journal", told)
        c = counts.setdefault(row.session_id, [0, 0])
        c[0], c[1] = c[0] + 1, row.gseq
        expected, prev = row.gseq + 1, row.mac
    if res.checkpoint_gseq and expected - 1 < res.checkpoint_gseq:
        res.add("truncated", f"the ledger ends at event {expected - 1}, the signed checkpoint "
                f"says {res.checkpoint_gseq}")
    for sid, (_head_gseq, events, _m) in signed.items():
        have = counts.get(sid, [0, 0])[0]
        if have == 0:
            res.add("deleted", f"deleted session {sid}: none of its {events} signed events left")
        elif have < events:
            res.add("deleted", f"session {sid} has {have} of its {events} signed events")
    return res


def _bad_mac(row: Any, key: bytes, res: Result) -> None:
    try:
        was = int(json.loads(row.body).get("gseq"))
    except (ValueError, TypeError, AttributeError):
        was = row.gseq
    if was != row.gseq and hmac.compare_digest(mac(key, was, row.prev_mac, row.body), row.mac):
        res.add("reordered", f"event {was} ({row.event_id}) was moved to place {row.gseq}")
    elif row.mac == unkeyed(row.gseq, row.prev_mac, row.body):
        res.add("recomputed", f"event {row.gseq}: its MAC is a plain SHA-256 (a chain recomputed "
                "without the authority's key)")
    elif row.gseq > res.checkpoint_gseq:
        res.add("forged", f"event {row.gseq} ({row.event_id}) past the last signed checkpoint "
                "has a bad MAC")
    else:
        res.add("edited", f"event {row.gseq} ({row.event_id}): content does not match its MAC")


def _columns_match(row: Any) -> bool:
    try:
        body = json.loads(row.body)
    except ValueError:
        return False
    return (body.get("event_id"), body.get("session_id"), body.get("user_name"),
            body.get("sseq")) == (row.event_id, row.session_id, row.user_name, row.sseq)
