"""``AuditAuthority``: the component a jupyter-server extension mounts now and a hub service can
mount later (``handlers.py``). It holds the ledger, the MAC key and the signing key, and gives
each event the identity the authority knows for the sender, never the one the event claims.

A ``Principal`` is what a kernel token stands for: the kernel, the users whose cells the
authority forwarded to it (or the one owner of a single-user server), and the user recorded when
an event claims anyone else.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .ledger import Ledger, SqliteLedger
from .mac import load_or_create_key

MAX_BATCH = 5000
# the fields of a final event a kernel may send (everything else is dropped)
FIELDS = ("event_id", "session_id", "ts_us", "user_name", "actor", "groups", "notebook",
          "cell_id", "execution_count", "kind", "code", "code_sha256", "decision", "rule_id",
          "reason", "policy_revision", "decision_id", "status", "duration_ms", "rows_affected",
          "lineage", "host", "seq", "prev_hash", "hash", "finished_us", "facts",
          "server_event_id", "parent_session")


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
    out = {k: event[k] for k in FIELDS if k in event}
    claimed = str(event.get("user_name") or "")
    out["user_name"] = principal.user_for(claimed)
    if out["user_name"] != claimed:
        out["claimed_user"] = claimed
    return out


class AuditAuthority:
    """Receives kernels' events, stores them chained, signs checkpoints."""

    def __init__(self, ledger: Ledger, public_key: str) -> None:
        self.ledger, self.public_key = ledger, public_key
        self.received = 0

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
        return cls(ledger, signer.public)

    def receive(self, principal: Principal, events: Any) -> list[str]:
        """Store a batch from the kernel ``principal``; the acknowledged event ids."""
        if not isinstance(events, list):
            raise BadBatch('the body must be {"events": [...]}')
        if len(events) > MAX_BATCH:
            raise BadBatch(f"at most {MAX_BATCH} events per batch")
        clean = [_clean(e, principal) for e in events]
        acked = self.ledger.append(clean, kernel_id=principal.kernel_id)
        self.received += len(clean)
        return acked

    def latest_checkpoint(self) -> dict[str, Any] | None:
        cps = self.ledger.checkpoints(last=True)
        if not cps:
            return None
        gseq, body, sig = cps[-1]
        return {"gseq": gseq, "body": body, "signature": sig, "public_key": self.public_key}


Resolver = Callable[[str], "Principal | None"]
