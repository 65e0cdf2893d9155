"""A view redefined by another session is seen (leak15): the taint PostgreSQL results keep per
statement (``pg_results``: columns, view definitions, each statement's column taint) is read
again when the catalog's version changed (``pg_version``). In a real kernel on a real
PostgreSQL: a plain view is read and printed, a second session (the test's own connection)
redefines it to select ``ssn`` under the same column name, and the same statement run again
prints no SSN in any message. The twin: a view redefined to another plain column prints it."""
from __future__ import annotations

import json

import pytest

from tests.kernelutil import Kernel, Reply
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

READ = ("cur.execute('SELECT id, note FROM v WHERE id <= 3 ORDER BY id')\n"
        "print(cur.fetchall())")


def _sent(r: Reply) -> str:
    return json.dumps([m["content"] for m in r.messages] + [r.reply])


def _ssns(db: Db) -> list[str]:
    return [str(r[0]) for r in db.query("SELECT ssn FROM customers WHERE id <= 3 ORDER BY id")]


def test_a_view_redefined_by_another_session_is_seen(kernel: Kernel, db: Db) -> None:
    db.query("CREATE VIEW v AS SELECT id, city AS note FROM customers")
    r = kernel.run(f"import psycopg\ncur = psycopg.connect({db.dsn!r}, autocommit=True).cursor()\n"
                   + READ, timeout=180)
    assert r.status == "ok" and "Lyon" in r.stream, _sent(r)[-600:]   # plain: printed
    db.query("CREATE OR REPLACE VIEW v AS SELECT id, ssn AS note FROM customers")
    r = kernel.run(READ, timeout=120)
    leaked = [s for s in _ssns(db) if s in _sent(r)]
    assert leaked == [] and "\u2588" in r.stream, _sent(r)[-600:]


def test_a_view_redefined_to_another_plain_column_prints_it(kernel: Kernel, db: Db) -> None:
    db.query("CREATE VIEW v AS SELECT id, city AS note FROM customers")
    r = kernel.run(f"import psycopg\ncur = psycopg.connect({db.dsn!r}, autocommit=True).cursor()\n"
                   + READ, timeout=180)
    assert r.status == "ok" and "Lyon" in r.stream, _sent(r)[-600:]
    db.query("CREATE OR REPLACE VIEW v AS SELECT id, name AS note FROM customers")
    r = kernel.run(READ, timeout=120)
    assert r.status == "ok" and "name 1" in r.stream, _sent(r)[-600:]
