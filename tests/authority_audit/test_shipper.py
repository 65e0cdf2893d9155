"""The kernel's shipper: a running event is sent once it ends (with its end's status and
lineage), a forked child's refusals reach the authority too, and a session's events arrive
once each in the order of the journal."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from jupyter_guard.authority_audit.service import AuditAuthority
from jupyter_guard.authority_audit.shipper import Events, Shipper
from jupyter_guard.record.audit import AuditLog
from tests.authority_audit.authority_proc import AuthorityProc


def test_events_from_begin_and_end() -> None:
    ev = Events()
    assert ev.feed({"t": "begin", "event_id": "a", "session_id": "s", "status": "running",
                    "lineage": [["read", "table", "t", False]]}) == ""
    ev.feed({"t": "begin", "event_id": "b", "session_id": "s", "status": "blocked",
             "lineage": []})
    assert list(ev.ready) == ["b"]
    ev.feed({"t": "end", "event_id": "a", "status": "ok", "duration_ms": 2.0, "seq": 2,
             "lineage": [["write", "variable", "x", False]]})
    assert ev.ready["a"]["status"] == "ok" and len(ev.ready["a"]["lineage"]) == 2
    ev.feed({"t": "begin", "event_id": "c", "session_id": "s", "status": "running"})
    # the same line read again is taken; another event with a waiting event's id is not
    assert ev.feed({"t": "begin", "event_id": "c", "session_id": "s", "status": "running"}) == ""
    assert ev.feed({"t": "begin", "event_id": "c", "session_id": "s", "status": "running",
                    "code": "other"}) == "collision"
    assert ev.feed({"t": "begin", "event_id": 7, "session_id": "s"}) == "malformed"
    assert ev.feed({"t": "begin", "event_id": "x" * 65, "session_id": "s"}) == "malformed"
    ev.interrupt_running()
    assert ev.ready["c"]["status"] == "interrupted" and "code" not in ev.ready["c"]


def run(log: AuditLog, n: int, status: str = "blocked") -> str:
    return log.begin(user="alice", actor="human", notebook="n", cell_id=f"c{n}",
                     execution_count=n, kind="python", code=f"x = {n}", decision="block",
                     rule_id="r", reason="", status=status)


def test_forked_child_refusals_are_sent(tmp_path: Path) -> None:
    folder = tmp_path / "authority"
    proc = AuthorityProc(folder, {"tok": {"kernel": "k1", "user": "alice"}})
    proc.start()
    log = AuditLog(tmp_path / "audit.duckdb", background=False)
    shipper = Shipper(log._journal, proc.url, "tok", interval=0.05)
    shipper.start()
    try:
        first = run(log, 1)
        running = run(log, 2, status="running")
        pid = os.fork()
        if pid == 0:   # the child: its own session, its journal names the parent
            try:
                run(log, 99)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        log.finish(running, status="ok", duration_ms=1.0)
        auth = AuditAuthority.open(str(folder))
        deadline = time.monotonic() + 60
        while len(rows := list(auth.ledger.rows())) < 3:
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
    finally:
        shipper.stop(flush_s=5)
        proc.stop()
        log.close()
    by_id = {r.event_id: r for r in rows}
    assert len(rows) == 3 and first in by_id and running in by_id
    child = [r for r in rows if r.session_id != log.session_id]
    assert len(child) == 1 and child[0].user_name == "alice" and '"x = 99"' in child[0].body
    assert '"status":"ok"' in by_id[running].body


def test_journal_deleted_or_truncated_after_sending_changes_nothing(tmp_path: Path) -> None:
    """The subject deletes a journal, or truncates one through a hard link: what the authority
    acknowledged stays in its ledger, the chain verifies, and verify names both acts (the
    shippers reported them)."""
    from jupyter_guard.authority_audit.mac import load_or_create_key
    from jupyter_guard.authority_audit.verify import verify

    folder = tmp_path / "authority"
    proc = AuthorityProc(folder, {"tok": {"kernel": "k1", "user": "alice"}})
    proc.start()
    logs = [AuditLog(tmp_path / "audit.duckdb", background=False) for _ in range(2)]
    shippers = [Shipper(log._journal, proc.url, "tok", interval=0.05) for log in logs]
    try:
        for s in shippers:
            s.start()
        for log in logs:
            for i in range(10):
                run(log, i)
        deadline = time.monotonic() + 60
        while sum(s.acked for s in shippers) < 20:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.unlink(logs[0].journal_path)                       # a deleted journal
        link = tmp_path / "link.jsonl"
        os.link(logs[1].journal_path, link)
        with open(link, "r+b") as f:                          # truncated through a hard link
            f.truncate(0)
        later = run(logs[1], 11)                              # and written on: still sent
        while shippers[1].acked < 11:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        for s in shippers:
            s.stop(flush_s=2)
        proc.stop()
    auth = AuditAuthority.open(str(folder))
    rows = list(auth.ledger.rows())
    assert later in {r.event_id for r in rows}
    cells = [r for r in rows if not r.event_id.startswith("tamper-")]
    assert len(cells) == 21 and {r.session_id for r in rows} == {lg.session_id for lg in logs}
    told = {(r.session_id, json.loads(r.body)["facts"]["tamper"]) for r in rows
            if r.event_id.startswith("tamper-")}
    assert told == {(logs[0].session_id, "missing"), (logs[1].session_id, "truncated")}, told
    res = verify(auth.ledger, load_or_create_key(str(folder)), auth.public_key)
    assert res.forms() == {"journal"}, res.problems
