"""``AuditAuthority``: the component a jupyter-server extension mounts now and a hub service can
mount later (``handlers.py``). It holds the ledger, the MAC key and the signing key, and gives
each event the identity the authority knows for the sender, never the one the event claims.

A ``Principal`` is what a kernel token stands for: the kernel, the users whose cells the
authority forwarded to it (or the one owner of a single-user server), and the user recorded when
an event claims anyone else.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import cplog
from .ledger import Ledger, SqliteLedger
from .mac import load_or_create_key
from .tamper import report

MAX_BATCH = 5000
GROUP = 32            # batches written in one transaction at most
# the fields of a final event a kernel may send (everything else is dropped)
FIELDS = ("event_id", "session_id", "ts_us", "user_name", "actor", "groups", "notebook",
          "cell_id", "execution_count", "kind", "code", "code_sha256", "decision", "rule_id",
          "reason", "policy_revision", "decision_id", "status", "duration_ms", "rows_affected",
          "lineage", "host", "seq", "prev_hash", "hash", "finished_us", "facts",
          "server_event_id", "parent_session")


_KEPT = frozenset(FIELDS)


@dataclass(frozen=True)
class Principal:
    kernel_id: str
    default_user: str
    users: frozenset[str] = field(default_factory=frozenset)
    trusted: bool = False        # the authority's own events (its server gate): claims stand

    def user_for(self, claimed: str) -> str:
        return claimed if self.trusted or claimed in self.users else self.default_user


class BadBatch(ValueError):
    """A batch the authority refuses (the message says what is wrong)."""


def _clean(event: Any, principal: Principal) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise BadBatch("each event must be a JSON object")
    eid, sid = event.get("event_id"), event.get("session_id")
    if not isinstance(eid, str) or not eid or len(eid) > 64:
        raise BadBatch("each event needs an event_id (a string of at most 64 characters)")
    if not isinstance(sid, str) or not sid or len(sid) > 128:
        raise BadBatch("each event needs a session_id (a string of at most 128 characters)")
    out = {k: v for k, v in event.items() if k in _KEPT}
    claimed = str(event.get("user_name") or "")
    out["user_name"] = principal.user_for(claimed)
    if out["user_name"] != claimed:
        out["claimed_user"] = claimed
    return out


def _rejected(event: Any, why: str, principal: Principal) -> dict[str, Any]:
    """The tamper event stored instead of an event the authority refuses."""
    text = json.dumps(event, sort_keys=True, default=str)
    sid = event.get("session_id") if isinstance(event, dict) else None
    got = report("rejected", sid if isinstance(sid, str) else "unknown",
                 f"the authority refused an event: {why}", key=(principal.kernel_id, text),
                 excerpt=text)
    return {**got, "user_name": principal.default_user}


@dataclass
class _Slot:
    """One batch waiting for the group commit."""

    kernel_id: str
    events: list[dict[str, Any]]
    acked: list[str] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class AuditAuthority:
    """Receives kernels' events, stores them chained, signs checkpoints."""

    def __init__(self, ledger: Ledger, public_key: str) -> None:
        self.ledger, self.public_key = ledger, public_key
        self.received = 0
        self._waiting: list[_Slot] = []
        self._queue_lock, self._write_lock = threading.Lock(), threading.Lock()

    @classmethod
    def open(cls, folder: str, *, dsn: str = "", signer: Any = None) -> AuditAuthority:
        """The authority over ``folder`` (key files) and its ledger: SQLite in ``folder``, or
        PostgreSQL at ``dsn`` (hub mode). ``signer`` defaults to the Ed25519 key in ``folder``."""
        from jupyter_guard.authority import Signer
        from jupyter_guard.authority import load_or_create_key as ed25519_key

        os.makedirs(folder, mode=0o700, exist_ok=True)
        if signer is None:
            signer = Signer(ed25519_key(os.path.join(folder, "authority.key")))
        key = load_or_create_key(folder)
        ledger: Ledger
        if dsn:
            from .pg import PgLedger

            ledger = PgLedger(dsn, key, signer)
        else:
            ledger = SqliteLedger(folder, key, signer)
        ledger.checkpoint_log = cplog.log_path(folder)
        return cls(ledger, signer.public)

    def receive(self, principal: Principal, events: Any) -> list[str]:
        """Store a batch from the kernel ``principal``; the acknowledged event ids."""
        if not isinstance(events, list):
            raise BadBatch('the body must be {"events": [...]}')
        if len(events) > MAX_BATCH:
            raise BadBatch(f"at most {MAX_BATCH} events per batch")
        clean, refused = [], []
        for e in events:
            try:
                clean.append(_clean(e, principal))
            except BadBatch as why:   # one bad event never holds back the others
                clean.append(_rejected(e, str(why), principal))
                eid = e.get("event_id") if isinstance(e, dict) else None
                if isinstance(eid, str):
                    refused.append(eid)
        acked = self._append(principal.kernel_id, clean)
        self.received += len(clean)
        return [*acked, *refused]

    def _append(self, kernel_id: str, events: list[dict[str, Any]]) -> list[str]:
        """Group commit: the thread that gets the write lock writes every batch that waits
        (one transaction, one checkpoint for all); the others find theirs written."""
        slot = _Slot(kernel_id, events)
        with self._queue_lock:
            self._waiting.append(slot)
        while not slot.done:   # more than one transaction takes may wait: until ours is written
            with self._write_lock:
                if slot.done:
                    break
                with self._queue_lock:
                    todo, self._waiting = self._waiting[:GROUP], self._waiting[GROUP:]
                try:
                    results = self.ledger.append_groups([(t.kernel_id, t.events) for t in todo])
                    for t, acked in zip(todo, results):
                        t.acked = acked
                except Exception as e:  # noqa: BLE001 - handed to each batch's own thread, which raises it: nothing is acknowledged, kernels resend
                    for t in todo:
                        t.error = e
                for t in todo:
                    t.done = True
        if slot.error is not None:
            raise slot.error
        return slot.acked

    def latest_checkpoint(self) -> dict[str, Any] | None:
        cps = self.ledger.checkpoints(last=True)
        if not cps:
            return None
        gseq, body, sig = cps[-1]
        return {"gseq": gseq, "body": body, "signature": sig, "public_key": self.public_key}


Resolver = Callable[[str], "Principal | None"]
