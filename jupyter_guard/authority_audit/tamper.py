"""Journal tamper events: what the record says when a user damaged their own kernel's buffer.

A kernel's journal is written by the guard but owned by the user, who can append malformed or
oversized lines, reuse another event's id, truncate, replace or delete the file, or fill its
folder with junk. None of that may stop the kernel from sending its later events, and none of it
may pass unnoticed: the shipper skips what it cannot send and reports it, the authority records
what it refuses itself, both as an event of kind ``journal-tamper`` (recorded, like every event,
as the user the authority knows), and ``verify --authority`` names each one.

Each tamper event's id is derived from what it reports, so a report sent twice is stored once.
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any

KIND = "journal-tamper"
FORMS = ("malformed", "oversized", "collision", "truncated", "rewritten", "replaced", "missing",
         "junk", "rejected")
EXCERPT = 200
# what the authority adds to an event when it stores it (not part of what the kernel sent)
STORED_ONLY = ("gseq", "sseq", "kernel_id", "received_us")


def event_id(form: str, *parts: object) -> str:
    """A stable id (at most 64 characters) for the report of ``form`` about ``parts``.

    >>> event_id("junk", "s1", "a.jsonl") == event_id("junk", "s1", "a.jsonl")
    True
    """
    digest = hashlib.sha256(json.dumps([form, *map(str, parts)]).encode()).hexdigest()
    return f"tamper-{form}-{digest[:40]}"


def report(form: str, session_id: str, detail: str, *, key: tuple[object, ...] = (),
           excerpt: str = "", ts_us: int = 0) -> dict[str, Any]:
    """A tamper event about ``session_id`` (``key`` makes its id; the detail by default)."""
    facts: dict[str, Any] = {"tamper": form}
    if excerpt:
        facts["excerpt"] = excerpt[:EXCERPT]
    return {"event_id": event_id(form, session_id, *(key or (detail,))),
            "session_id": session_id[:128] or "unknown", "kind": KIND, "status": "tamper",
            "decision": "record", "reason": detail[:2000], "facts": facts,
            "ts_us": ts_us or time.time_ns() // 1000}


def same_event(stored_body: str, fresh: dict[str, Any]) -> bool:
    """Whether ``fresh`` (a cleaned event) is a resend of the stored one, not another event
    that reuses its id (the authority's side: ``orjson`` is not loaded in kernels)."""
    import orjson

    try:
        stored = orjson.loads(stored_body)
    except orjson.JSONDecodeError:
        try:
            stored = json.loads(stored_body)
        except ValueError:
            return False
    if not isinstance(stored, dict):
        return False
    if stored.get("kind") == KIND and fresh.get("kind") == KIND:
        return True   # a report sent again (its id is made from what it reports)
    for k in STORED_ONLY:
        stored.pop(k, None)
    return bool(stored == fresh)


def described(body: str) -> str | None:
    """The problem a stored tamper event reports (None for any other event).

    >>> described('{"kind":"python"}') is None
    True
    """
    if f'"kind":"{KIND}"' not in body:
        return None
    try:
        e = json.loads(body)
    except ValueError:
        return None
    if not isinstance(e, dict) or e.get("kind") != KIND:
        return None
    form = (e.get("facts") or {}).get("tamper", "?") if isinstance(e.get("facts"), dict) else "?"
    return (f"{form}: {e.get('user_name')}'s session {e.get('session_id')} "
            f"(kernel {e.get('kernel_id')}): {e.get('reason')}")
