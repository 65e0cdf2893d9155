"""``START TRANSACTION`` (with its modes) and ``ABORT`` are transaction control like ``BEGIN``
and ``ROLLBACK``, through psycopg 3, psycopg2 and ``%%guarded_sql``: a transaction the user
starts holds its changes until it ends, ``ABORT``/``ROLLBACK`` puts the rows back and
``COMMIT`` keeps them. ``EXECUTE`` of a harmless prepared statement runs on a database with a
foreign server; one that deletes every row stays refused with the rows intact."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import Db, run
from tests.pg.redpg16b_corpus import SSN, kernel_for
from tests.pg.test_magic import idle_in_transaction

CONNECT = {
    "psycopg": "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit=True)\ncur = con.cursor()",
    "psycopg2": "import psycopg2\ncon = psycopg2.connect({dsn!r})\ncon.autocommit = True\n"
                "cur = con.cursor()",
}
STARTS = ["START TRANSACTION", "start transaction isolation level repeatable read, read write",
          "START TRANSACTION READ WRITE NOT DEFERRABLE"]
ENDS = ["ABORT", "ROLLBACK", "ABORT WORK"]


def ok(ip: Any, code: str) -> Any:
    r = run(ip, code)
    assert r.error is None, repr(r.error)
    return r


def in_session_count(ip: Any) -> int:
    ok(ip, "cur.execute('SELECT count(*) FROM orders')\nn_orders = cur.fetchone()[0]")
    return int(ip.user_ns["n_orders"])


@pytest.mark.parametrize("driver", sorted(CONNECT))
@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("end", ENDS)
def test_cursor_start_transaction_then_abort_puts_rows_back(ip: Any, db: Db, driver: str,
                                                            start: str, end: str) -> None:
    ok(ip, CONNECT[driver].format(dsn=db.dsn))
    ok(ip, f"cur.execute({start!r})")
    ok(ip, "cur.execute('DELETE FROM orders WHERE id <= 5')")
    assert in_session_count(ip) == 49_995        # the delete is inside the user's transaction
    assert db.count("orders") == 50_000          # and not committed: others still see the rows
    ok(ip, f"cur.execute({end!r})")
    assert in_session_count(ip) == 50_000 and db.count("orders") == 50_000
    assert idle_in_transaction(db) == 0
    ok(ip, "con.close()")


@pytest.mark.parametrize("driver", sorted(CONNECT))
def test_cursor_start_transaction_then_commit_keeps_rows(ip: Any, db: Db, driver: str) -> None:
    ok(ip, CONNECT[driver].format(dsn=db.dsn))
    ok(ip, "cur.execute('START TRANSACTION ISOLATION LEVEL SERIALIZABLE')")
    ok(ip, "cur.execute('DELETE FROM orders WHERE id <= 5')")
    assert db.count("orders") == 50_000
    ok(ip, "cur.execute('COMMIT')")
    assert db.count("orders") == 49_995 and idle_in_transaction(db) == 0
    ok(ip, "con.close()")


@pytest.mark.parametrize("end", ["ABORT", "ROLLBACK"])
def test_magic_in_the_users_transaction_abort_puts_rows_back(ip: Any, db: Db, end: str) -> None:
    """``%%guarded_sql con`` on a connection whose user started a transaction runs inside it;
    a cell of ``ABORT`` ends it: the rows the earlier cell deleted are back."""
    ok(ip, CONNECT["psycopg"].format(dsn=db.dsn))
    ok(ip, "%%guarded_sql con\nSTART TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    ok(ip, "cur.execute('START TRANSACTION')")
    ok(ip, "%%guarded_sql con\nDELETE FROM orders WHERE id <= 5")
    assert in_session_count(ip) == 49_995 and db.count("orders") == 50_000
    ok(ip, f"%%guarded_sql con\n{end}")
    assert in_session_count(ip) == 50_000 and db.count("orders") == 50_000
    assert idle_in_transaction(db) == 0
    ok(ip, "con.close()")


@pytest.mark.parametrize("sql", ["START TRANSACTION", "ABORT",
                                 "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY"])
def test_magic_by_url_runs_transaction_control_and_leaves_none_open(ip: Any, db: Db,
                                                                   sql: str) -> None:
    ok(ip, f"%%guarded_sql {db.url}\n{sql}")
    assert idle_in_transaction(db) == 0
    db.intact()


FDW = """
CREATE EXTENSION postgres_fdw;
CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw
  OPTIONS (host '127.0.0.1', port '{port}', dbname '{db}');
CREATE USER MAPPING FOR postgres SERVER loop OPTIONS (user 'postgres');
"""


@pytest.mark.parametrize("fdw", [True, False], ids=["foreign-server", "no-foreign-server"])
@pytest.mark.parametrize("route", ["psycopg", "magic"])
def test_execute_of_prepared_statement_with_a_foreign_server(ip: Any, db: Db, route: str,
                                                             fdw: bool) -> None:
    """A foreign server makes code the guard cannot see (functions, DO) refused; ``EXECUTE p`` is
    judged by the prepared statement's own text: ``SELECT 1`` runs and returns 1, ``DELETE FROM
    orders`` stays refused and the rows stay."""
    if fdw:
        db.query(FDW.format(port=db.server.port, db=db.name))
    ok(ip, CONNECT["psycopg"].format(dsn=db.dsn))
    if route == "psycopg":
        ok(ip, "cur.execute('PREPARE p AS SELECT 41 + 1; EXECUTE p')\ncur.nextset()\n"
               "got = cur.fetchall()")
        assert ip.user_ns["got"] == [(42,)]
        r = run(ip, "cur.execute('PREPARE d AS DELETE FROM orders; EXECUTE d')")
    else:
        ok(ip, "%%guarded_sql con -o got\nPREPARE p AS SELECT 41 + 1;\nEXECUTE p")
        assert ip.user_ns["got"].iloc[0, 0] == 42
        r = run(ip, "%%guarded_sql con\nPREPARE d AS DELETE FROM orders;\nEXECUTE d")
    assert isinstance(r.error, PermissionError), repr(r.error)
    db.intact()
    assert idle_in_transaction(db) == 0
    ok(ip, "con.close()")


def test_execute_result_is_tainted_as_the_prepared_statement(work_root: Path, db: Db) -> None:
    """``EXECUTE s`` of ``PREPARE s AS SELECT ssn AS x ...``: its column is the SSN under another
    name; no raw SSN reaches any message the kernel sends, through the magic or a cursor."""
    sql = "PREPARE s AS SELECT ssn AS x FROM customers WHERE id < 4; EXECUTE s"
    with kernel_for(work_root, "magic16-execute") as k:
        r = k.run(f"import psycopg\ncon = psycopg.connect({db.dsn!r}, autocommit=True)\n"
                  "cur = con.cursor()")
        assert r.status == "ok", r.everything()[-600:]
        cell = sql.replace("; ", ";\n")
        r = k.run(f"%%guarded_sql {db.url}\n{cell}")
        assert r.status == "ok" and "\u2588" in r.everything(), r.everything()[-600:]
        assert not SSN.search(r.everything()), r.everything()[-600:]
        r = k.run(f"cur.execute({sql!r})\ncur.nextset()\nrows = cur.fetchall()\n"
                  "print(len(rows), rows)")
        assert r.status == "ok" and r.stream.startswith("3 "), r.everything()[-600:]
        assert not SSN.search(r.everything()), r.everything()[-600:]
