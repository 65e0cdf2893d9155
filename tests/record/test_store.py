from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
from record_helpers import cell

from jupyter_guard.record import AuditError, AuditLog, connect_readonly, ingest, repair, verify
from jupyter_guard.record.schema import SCHEMA_VERSION


def rows(audit: Path, sql: str) -> list[tuple]:
    con = connect_readonly(audit)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_begin_finish_round_trip(audit: Path) -> None:
    log = AuditLog(audit, background=False, redact=lambda s: s.replace("123-45-6789", "***"))
    ran = cell(log, 1, code="SELECT * FROM c WHERE ssn = '123-45-6789'")
    blocked = log.begin(user="ada", actor="agent:bot", notebook="n.ipynb", cell_id="c2",
                        execution_count=2, kind="shell", code="rm -rf data", decision="block",
                        rule_id="destructive-files", reason="recursive delete", status="blocked",
                        policy_revision="r1", decision_id="d1", groups=["eng"])
    log.close()
    got = rows(audit, "SELECT event_id, status, seq, code, rows_affected, duration_ms, kind, "
                      "groups, prev_hash = '' FROM events ORDER BY ts")
    assert [(r[0], r[1], r[2]) for r in got] == [(ran, "ok", 1), (blocked, "blocked", 2)]
    assert got[0][3] == "SELECT * FROM c WHERE ssn = '***'"
    assert got[0][4:7] == (3, 2.5, "sql") and got[1][7] == ["eng"] and got[0][8]
    assert rows(audit, "SELECT direction, object_kind, name, is_sensitive FROM cell_lineage "
                       f"WHERE event_id = '{ran}' ORDER BY ALL") == [
        ("read", "column", "customers.ssn", True), ("read", "table", "customers", False),
        ("write", "variable", "df1", False)]
    assert rows(audit, "SELECT max(schema_version) FROM meta") == [(SCHEMA_VERSION,)]
    assert rows(audit, "SELECT user_name, blocked, allowed FROM blocked_by_user_day") == [
        ("ada", 1, 1)]
    assert rows(audit, "SELECT name FROM sensitive_access") == [("customers.ssn",)]
    assert verify(audit).ok


def test_ingest_is_idempotent(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    for i in range(5):
        cell(log, i)
    assert ingest(audit) == 5
    assert ingest(audit) == 0
    running = log.begin(user="ada", actor="human", notebook="n", cell_id="c9",
                        execution_count=9, kind="python", code="x = 1", decision="allow",
                        rule_id="", reason="")
    assert ingest(audit) == 1
    assert rows(audit, f"SELECT status FROM events WHERE event_id = '{running}'") == [("running",)]
    log.finish(running, status="error", duration_ms=1.0)
    assert ingest(audit) == 0
    assert rows(audit, "SELECT count(*), count(DISTINCT event_id), count(*) FILTER "
                       "(status = 'running') FROM events") == [(6, 6, 0)]
    assert rows(audit, "SELECT count(*) FROM lineage") == [(15,)]
    log.close()
    assert verify(audit).ok


def test_background_thread_publishes_within_two_seconds(audit: Path) -> None:
    log = AuditLog(audit, interval=0.5)
    try:
        time.sleep(0.3)
        event_id = cell(log, 1)
        done = time.monotonic()
        while time.monotonic() - done < 2.0:
            if audit.exists() and rows(audit, f"SELECT status FROM events "
                                              f"WHERE event_id = '{event_id}'") == [("ok",)]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("finished cell not visible in the store within 2 s")
    finally:
        log.close()


def _tamper(audit: Path, sql: str) -> None:
    con = duckdb.connect(str(audit))
    con.execute(sql)
    con.close()


@pytest.fixture
def five(audit: Path) -> list[str]:
    log = AuditLog(audit, background=False)
    ids = [cell(log, i) for i in range(1, 6)]
    log.close()
    assert verify(audit).ok
    return ids


@pytest.mark.parametrize("sql, what, seq", [
    pytest.param("UPDATE events_live SET decision = 'block' WHERE seq = 3", "edited", 3, id="edited"),
    pytest.param("UPDATE lineage_live SET is_sensitive = false WHERE event_id = "
                 "(SELECT event_id FROM events WHERE seq = 2)", "edited", 2, id="lineage-edited"),
    pytest.param("DELETE FROM events_live WHERE seq = 3", "deleted", 3, id="deleted"),
    pytest.param("DELETE FROM events_live WHERE seq = 5", "deleted", 5, id="deleted-last"),
    pytest.param("UPDATE events_live SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END "
                 "WHERE seq IN (2, 3)", "reordered", 2, id="reordered"),
])
def test_verify_names_the_first_tampered_row(audit: Path, five: list[str], sql: str, what: str,
                                             seq: int) -> None:
    _tamper(audit, sql)
    result = verify(audit)
    assert not result.ok
    first = result.problems[0]
    assert (first.what, first.seq) == (what, seq), result.problems
    expected = five[seq] if what == "reordered" else five[seq - 1]
    assert first.event_id == expected and first.session_id in str(first)


def test_verify_catches_a_recomputed_chain_through_the_journal(audit: Path,
                                                               five: list[str]) -> None:
    from jupyter_guard.record.chain import chain_hash
    from jupyter_guard.record.ingest import load_rows

    con = duckdb.connect(str(audit))
    con.execute("UPDATE events_live SET user_name = 'mallory' WHERE seq = 4")
    prev = ""
    for row in load_rows(con, "true ORDER BY seq", []):
        prev = chain_hash(prev, row)
        con.execute("UPDATE events_live SET prev_hash = ?, hash = ? WHERE event_id = ?",
                    [row["prev_hash"] if row["seq"] == 1 else None, prev, row["event_id"]])
    con.execute("UPDATE events_live SET prev_hash = coalesce(prev_hash, '')")
    con.execute("UPDATE events_live e SET prev_hash = p.hash FROM events_live p "
                "WHERE p.session_id = e.session_id AND p.seq = e.seq - 1")
    con.close()
    first = verify(audit).problems[0]
    assert (first.what, first.seq, first.event_id) == ("edited", 4, five[3])


def test_corrupt_file_raises_and_repair_rebuilds(audit: Path, five: list[str]) -> None:
    audit.write_bytes(b"not a duckdb file" * 1000)
    with pytest.raises(AuditError, match=rf"audit file {audit} is unreadable .*jupyter guard repair"):
        connect_readonly(audit)
    log = AuditLog(audit, background=False)
    cell(log, 6)
    ingest(audit)   # an unreadable store is set aside and rebuilt from every journal
    (aside,) = audit.parent.glob(f"{audit.name}.corrupt-*")
    assert aside.read_bytes().startswith(b"not a duckdb")
    assert repair(audit) is None   # readable now: nothing moved
    log.close()
    assert rows(audit, "SELECT count(*) FROM events") == [(6,)]
    assert verify(audit).ok


def test_approval_request_decide_and_use(audit: Path) -> None:
    from jupyter_guard.record import decide_approval, find_approval, requests

    log = AuditLog(audit, background=False)
    blocked = log.begin(user="ada", actor="human", notebook="n", cell_id="c1", execution_count=1,
                        kind="sql", code="DELETE FROM t", decision="block", rule_id="bulk",
                        reason="no WHERE", status="blocked")
    request_id = log.request_approval(blocked, requested_by="ada", code="DELETE FROM t",
                                      reason="cleanup")
    ingest(audit)
    (pending,) = requests(audit)
    assert (pending["request_id"], pending["code"], pending["status"]) == (
        request_id, "DELETE FROM t", "pending")
    import hashlib
    sha = hashlib.sha256(b"DELETE FROM t").hexdigest()
    assert find_approval(audit, user="ada", code_sha256=sha) is None
    decide_approval(audit, request_id, decided_by="gina", verdict="approved")
    assert find_approval(audit, user="ada", code_sha256=sha)["decided_by"] == "gina"
    with pytest.raises(AuditError, match="already approved"):
        decide_approval(audit, request_id, decided_by="gina", verdict="denied")
    log.use_approval(request_id)
    log.close()
    assert find_approval(audit, user="ada", code_sha256=sha) is None
    assert [r["status"] for r in requests(audit, status=None)] == ["used"]
    assert verify(audit).ok
