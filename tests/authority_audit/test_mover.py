"""The mover's DuckDB copy: the local store's schema and views, opened read-only at any time,
each pass adding only the new events, merged parts still listing each event once."""
from __future__ import annotations

from pathlib import Path

import duckdb

from jupyter_guard.authority_audit.mover import Mover
from jupyter_guard.authority_audit.service import AuditAuthority
from jupyter_guard.record.schema import EVENTS_DDL
from tests.authority_audit.conftest import ALICE, BOB, event, fill


def q(path: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_copy_has_events_lineage_and_views(authority: AuditAuthority, tmp_path: Path) -> None:
    fill(authority)
    authority.receive(ALICE, [event("s-a", n=7, lineage=[["read", "column", "customers.ssn",
                                                          True]])])
    copy = tmp_path / "gov.duckdb"
    mover = Mover(authority.ledger, str(copy))
    assert mover.run_once() == 13
    assert q(copy, "SELECT count(*), count(DISTINCT gseq) FROM events") == [(13, 13)]
    assert q(copy, "SELECT user_name, name FROM sensitive_access") == [("alice",
                                                                       "customers.ssn")]
    assert q(copy, "SELECT user_name, count(*) FROM events GROUP BY 1 ORDER BY 1") == [
        ("alice", 9), ("bob", 4)]
    cols = {r[0] for r in q(copy, "DESCRIBE events")}
    local = {line.split()[0] for line in EVENTS_DDL.splitlines()[2:-1]}
    assert local <= cols, local - cols
    for view in ("cells", "blocked_by_user_day", "cell_lineage", "derivations"):
        q(copy, f"SELECT count(*) FROM {view}")
    assert mover.run_once() == 0
    authority.receive(BOB, [event("s-b", "bob", n=9)])
    assert mover.run_once() == 1
    assert q(copy, "SELECT max(gseq), count(*) FROM events") == [(14, 14)]


def test_parts_merge_without_duplicates(authority: AuditAuthority, tmp_path: Path) -> None:
    copy = tmp_path / "gov.duckdb"
    mover = Mover(authority.ledger, str(copy))
    for i in range(10):
        authority.receive(ALICE, [event("s-a", n=i)])
        mover.run_once()
    listed = mover._listed()
    assert (1, 8) in listed and len(listed) == 3, listed   # eight one-event parts merged
    assert q(copy, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(10, 10)]
    assert [r[0] for r in q(copy, "SELECT gseq FROM events ORDER BY gseq")] == list(range(1, 11))


def test_readme_governance_query_runs_on_the_copy(authority: AuditAuthority,
                                                   tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    part = readme.split("### Audit kept by the authority", 1)[1].split("\n### ", 1)[0]
    # (``SQL``: the audit file's own query test counts the ``sql`` blocks of its section)
    (query,) = re.findall(r"```SQL\n(.*?)```", part, re.S)
    authority.receive(ALICE, [event("s-a", n=1, lineage=[["read", "column",
                                                          "main.customers.ssn", True]])])
    authority.receive(BOB, [event("s-b", "bob", n=1)])
    copy = tmp_path / "gov.duckdb"
    Mover(authority.ledger, str(copy)).run_once()
    rows = q(copy, query)
    assert [(r[1], r[2]) for r in rows] == [("alice", "k-alice")]


def test_one_mover_per_copy(authority: AuditAuthority, tmp_path: Path) -> None:
    import fcntl

    authority.receive(ALICE, [event("s-a", n=1)])
    copy = tmp_path / "gov.duckdb"
    mover = Mover(authority.ledger, str(copy))
    with open(f"{copy}.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert mover.run_once() == 0 and not copy.exists()   # another mover holds it
    assert mover.run_once() == 1 and q(copy, "SELECT count(*) FROM events") == [(1,)]
