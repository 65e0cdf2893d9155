"""Hub mode on a real PostgreSQL: the writing role may only INSERT (UPDATE, DELETE, TRUNCATE and
DROP refused by the database itself), several authority processes write at once into one gapless
sequence, and the keyed chain verifies."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

import psycopg
import pytest

from jupyter_guard.authority_audit import pg as pgledger
from jupyter_guard.authority_audit.mac import load_or_create_key
from jupyter_guard.authority_audit.service import AuditAuthority
from jupyter_guard.authority_audit.verify import verify
from tests.authority_audit.authority_proc import write_batches
from tests.authority_audit.conftest import ALICE, event
from tests.pg.conftest import Db

WRITER = "guard_writer"


def writer_dsn(db: Db) -> str:
    db.server.query(f"DO $$ BEGIN CREATE ROLE {WRITER} LOGIN; EXCEPTION WHEN duplicate_object "
                    "THEN NULL; END $$", db="postgres")
    pgledger.setup(db.dsn, WRITER)
    return db.server.dsn(db.name, WRITER)


@pytest.mark.parametrize("statement", [
    "UPDATE guard_audit.events SET user_name = 'carol'",
    "DELETE FROM guard_audit.events",
    "TRUNCATE guard_audit.events",
    "UPDATE guard_audit.checkpoints SET body = '{}'",
    "DELETE FROM guard_audit.checkpoints",
    "TRUNCATE guard_audit.checkpoints",
    "DROP TABLE guard_audit.events",
    "ALTER TABLE guard_audit.events DISABLE TRIGGER ALL",
], ids=["update", "delete", "truncate", "update-cp", "delete-cp", "truncate-cp", "drop",
        "alter"])
def test_writer_role_may_only_insert(db: Db, tmp_path: Path, statement: str) -> None:
    dsn = writer_dsn(db)
    auth = AuditAuthority.open(str(tmp_path / "a"), dsn=dsn)
    auth.receive(ALICE, [event("s-a", n=i) for i in range(3)])
    with psycopg.connect(dsn, autocommit=True) as con, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        con.execute(statement)
    assert db.count("guard_audit.events") == 3
    assert verify(auth.ledger, load_or_create_key(str(tmp_path / "a")), auth.public_key).ok


def test_several_authority_processes_write_at_once(db: Db, tmp_path: Path) -> None:
    dsn = writer_dsn(db)
    folder = str(tmp_path / "a")
    AuditAuthority.open(folder, dsn=dsn)   # keys first, shared by the processes
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=write_batches, args=(dsn, folder, w, 10)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    auth = AuditAuthority.open(folder, dsn=dsn)
    rows = list(auth.ledger.rows())
    assert [r.gseq for r in rows] == list(range(1, 801))
    assert len({r.event_id for r in rows}) == 800
    for w in range(4):   # each session numbered 1..200 by the authority
        assert sorted(r.sseq for r in rows if r.session_id == f"s-{w}") == list(range(1, 201))
    res = verify(auth.ledger, load_or_create_key(folder), auth.public_key)
    assert res.ok and res.events == 800, res.problems


def test_tamper_by_the_database_owner_is_detected(db: Db, tmp_path: Path) -> None:
    """Past the grants (a superuser edits a row): the keyed chain still catches it."""
    dsn = writer_dsn(db)
    folder = str(tmp_path / "a")
    auth = AuditAuthority.open(folder, dsn=dsn)
    auth.receive(ALICE, [event("s-a", n=i) for i in range(5)])
    db.query("UPDATE guard_audit.events SET body = replace(body, 'x = 2', 'x = 3') "
             "WHERE gseq = 3")
    db.query("DELETE FROM guard_audit.events WHERE gseq = 5")
    res = verify(auth.ledger, load_or_create_key(folder), auth.public_key)
    assert {"edited", "truncated"} <= res.forms(), res.problems
