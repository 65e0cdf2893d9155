"""An authority over a temporary folder (SQLite ledger) and events shaped like a kernel's."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from jupyter_guard.authority_audit.service import AuditAuthority, Principal


def event(session: str, user: str = "alice", n: int = 0, **kw: Any) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "session_id": session, "ts_us": time.time_ns() // 1000,
            "user_name": user, "actor": "human", "groups": [], "notebook": "n.ipynb",
            "cell_id": f"c{n}", "execution_count": n, "kind": "python", "code": f"x = {n}",
            "code_sha256": "0" * 64, "decision": "allow", "rule_id": "", "reason": "",
            "policy_revision": "r1", "decision_id": uuid.uuid4().hex[:12], "status": "ok",
            "duration_ms": 1.5, "rows_affected": None, "lineage": [], "host": "h1", "seq": n,
            "prev_hash": "", "hash": "", **kw}


ALICE = Principal("k-alice", "alice", frozenset({"alice"}))
BOB = Principal("k-bob", "bob", frozenset({"bob"}))


@pytest.fixture
def authority(tmp_path: Path) -> AuditAuthority:
    return AuditAuthority.open(str(tmp_path / "authority"))


def fill(auth: AuditAuthority) -> None:
    """Three sessions, 12 events, in four batches (so four checkpoints)."""
    auth.receive(ALICE, [event("s-a", n=i) for i in range(1, 4)])
    auth.receive(BOB, [event("s-b", "bob", n=i) for i in range(1, 5)])
    auth.receive(ALICE, [event("s-a", n=i) for i in range(4, 6)])
    auth.receive(ALICE, [event("s-c", n=i) for i in range(1, 4)])
