"""Savepoints, LISTEN/UNLISTEN and NOTIFY of a literal run through psycopg 3 and psycopg2 cursors
in a real guarded kernel on a real PostgreSQL, with correct results; the effect check still holds
inside a savepoint (a bulk DELETE there is measured and refused, and the user's transaction and
savepoint stay usable)."""
from __future__ import annotations

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

CONNECT = {
    "psycopg": "import psycopg\ncon = psycopg.connect(DSN)\ncur = con.cursor()",
    "psycopg2": "import psycopg2\ncon = psycopg2.connect(DSN)\ncur = con.cursor()",
}


def _connect(kernel: Kernel, db: Db, driver: str) -> None:
    r = kernel.run(f"DSN = {db.dsn!r}\n" + CONNECT[driver], timeout=120)
    assert r.status == "ok", r.everything()[-600:]


@pytest.mark.parametrize("driver", sorted(CONNECT))
def test_savepoints_run_and_roll_back(kernel: Kernel, db: Db, driver: str) -> None:
    _connect(kernel, db, driver)
    r = kernel.run(
        "cur.execute('SAVEPOINT s1')\n"
        "cur.execute('DELETE FROM orders WHERE id = 1')\n"
        "cur.execute('ROLLBACK TO SAVEPOINT s1')\n"
        "cur.execute('SAVEPOINT s2')\n"
        "cur.execute('DELETE FROM orders WHERE id = 2')\n"
        "cur.execute('RELEASE SAVEPOINT s2')\n"
        "con.commit()\n"
        "cur.execute('SELECT count(*) FROM orders')\nprint('n =', cur.fetchone()[0])", timeout=120)
    assert r.status == "ok", r.everything()[-800:]
    assert "n = 49999" in r.stream
    assert db.query("SELECT count(*) FROM orders WHERE id IN (1, 2)")[0][0] == 1   # 1 kept, 2 gone


@pytest.mark.parametrize("driver", sorted(CONNECT))
def test_bulk_delete_in_a_savepoint_is_refused(kernel: Kernel, db: Db, driver: str) -> None:
    _connect(kernel, db, driver)
    r = kernel.run("cur.execute('DELETE FROM orders WHERE id = 3')\n"
                   "cur.execute('SAVEPOINT s1')\n"
                   "cur.execute('DELETE FROM orders WHERE id <= 30000')", timeout=120)
    assert r.status == "error", r.everything()[-600:]
    # the refusal undid only its own statement: the user's savepoint and earlier work stand
    r = kernel.run("cur.execute('ROLLBACK TO SAVEPOINT s1')\ncon.commit()", timeout=120)
    assert r.status == "ok", r.everything()[-800:]
    assert db.count("orders") == 49_999
    assert db.query("SELECT count(*) FROM orders WHERE id = 3")[0][0] == 0


@pytest.mark.parametrize("driver", sorted(CONNECT))
def test_listen_notify_unlisten(kernel: Kernel, db: Db, driver: str) -> None:
    _connect(kernel, db, driver)
    r = kernel.run("con.autocommit = True\n"
                   "cur.execute('LISTEN jobs')\n"
                   "cur.execute(\"NOTIFY jobs, 'done'\")\n"
                   "cur.execute('NOTIFY jobs')\n"
                   "cur.execute('UNLISTEN jobs')\n"
                   "cur.execute('UNLISTEN *')\nprint('ok-listen')", timeout=120)
    assert r.status == "ok", r.everything()[-800:]
    assert "ok-listen" in r.stream
    db.intact()


def test_sqlalchemy_nested_transaction(kernel: Kernel, db: Db) -> None:
    """SQLAlchemy's ``begin_nested`` (its own SAVEPOINT/RELEASE/ROLLBACK TO) runs; a bulk DELETE
    inside it is refused and the outer transaction keeps its work."""
    r = kernel.run(
        f"import sqlalchemy as sa\neng = sa.create_engine({db.url!r})\n"
        "with eng.connect() as c:\n"
        "    c.execute(sa.text('DELETE FROM orders WHERE id = 5'))\n"
        "    nested = c.begin_nested()\n"
        "    c.execute(sa.text('DELETE FROM orders WHERE id = 6'))\n"
        "    nested.rollback()\n"
        "    with c.begin_nested():\n"
        "        c.execute(sa.text('DELETE FROM orders WHERE id = 7'))\n"
        "    c.commit()\nprint('done')", timeout=120)
    assert r.status == "ok", r.everything()[-800:]
    assert [i for (i,) in db.query("SELECT id FROM orders WHERE id IN (5, 6, 7)")] == [6]
    r = kernel.run(
        "c = eng.connect()\nc.execute(sa.text('DELETE FROM orders WHERE id = 8'))\n"
        "n = c.begin_nested()\nc.execute(sa.text('DELETE FROM orders WHERE id <= 30000'))",
        timeout=120)
    assert r.status == "error", r.everything()[-600:]
    r = kernel.run("n.rollback()\nc.commit()\nc.close()", timeout=120)
    assert r.status == "ok", r.everything()[-800:]
    assert db.count("orders") == 49_997   # 5, 7 and 8 deleted, the bulk DELETE undone
