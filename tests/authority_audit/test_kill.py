"""SIGKILL the authority (a separate process) while a session streams events to it: after a
restart every event is in the ledger once, in one sequence, and the keyed chain verifies."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from jupyter_guard.authority_audit.mac import load_or_create_key
from jupyter_guard.authority_audit.service import AuditAuthority
from jupyter_guard.authority_audit.shipper import Shipper
from jupyter_guard.authority_audit.verify import verify
from jupyter_guard.record.audit import AuditLog
from tests.authority_audit.authority_proc import AuthorityProc

N = 3000


def wait_for(cond: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not cond():   # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_kill_authority_mid_stream_loses_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "authority"
    proc = AuthorityProc(folder, {"tok-a": {"kernel": "k1", "user": "alice"}})
    proc.start()
    log = AuditLog(tmp_path / "audit.duckdb", background=False)
    shipper = Shipper(log._journal, proc.url, "tok-a", interval=0.05)
    shipper.start()
    ids: list[str] = []

    def write() -> None:
        for i in range(N):
            ids.append(log.begin(user="alice", actor="human", notebook="n", cell_id=f"c{i}",
                                 execution_count=i, kind="python", code=f"x = {i}",
                                 decision="block", rule_id="r", reason="", status="blocked"))
            if i % 50 == 0:
                time.sleep(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: shipper.acked > 300, "some events acknowledged before the kill")
        proc.kill()
        acked_at_kill = shipper.acked
        assert acked_at_kill < N, "the kill came after the stream ended"
        time.sleep(0.5)   # the writer goes on while the authority is down
        assert shipper.acked == acked_at_kill   # nothing acknowledged by a dead authority
        proc.start()
        writer.join(timeout=300)
        wait_for(lambda: shipper.acked >= N and not shipper.events.ready,
                 f"all {N} events acknowledged after the restart", timeout=300)
    finally:
        shipper.stop(flush_s=5)
        proc.stop()
        log.close()
    auth = AuditAuthority.open(str(folder))
    rows = list(auth.ledger.rows())
    assert [r.gseq for r in rows] == list(range(1, N + 1))
    assert sorted(r.event_id for r in rows) == sorted(ids)      # each once, none lost
    res = verify(auth.ledger, load_or_create_key(str(folder)), auth.public_key)
    assert res.ok, res.problems
