"""Every PostgreSQL route at once (issue 15): the quick check to run after any change to the SQL
analysis, the guard's oracles or anything that queries the user's connection.

For each route — psycopg 3, psycopg2, pg8000, asyncpg, pyodbc, a SQLAlchemy engine,
``%%guarded_sql`` and jupysql's ``%%sql`` — one real kernel (shared by the routes, each with its
own connection) on a fresh copy of the test warehouse runs, with the route's own placeholders: an honest write into ``customers`` (which holds
sensitive values: the guard reads its constraint catalog for it), an honest insert of a row of
plain values, an honest count, a listing of e-mails (masked: no raw value in any message) and
one attack the guard refuses (``DELETE FROM orders``). Each is checked in the database and in
every message the kernel sent. Two earlier changes broke ~110 tests on routes their authors did
not run (asyncpg's ``$n`` and ODBC's ``?`` placeholders; SQLAlchemy's ``oid::regtype::text`` on
connect): each would have failed here.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Reply
from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel


@dataclass(frozen=True)
class Route:
    connect: str   # formatted with dsn, port, db (and url, odsn)
    run: str       # one statement: {sql} its text, {args} its parameters (a Python literal)
    update: str    # the honest UPDATE in the route's placeholder style
    insert: str    # the honest INSERT of plain values, likewise


def _dbapi(style: str) -> tuple[str, str]:
    a, b, c = (style,) * 3
    return (f"UPDATE customers SET city = {a} WHERE id = {b}",
            f"INSERT INTO customers (id, name, city) VALUES ({a}, {b}, {c})")


DBAPI_RUN = ("cur = {conn}.cursor()\ncur.execute({sql!r}, {args})\n"
             "print('ROWS', cur.fetchall() if cur.description else cur.rowcount)")
ROUTES = {
    "psycopg": Route("import psycopg\npsy = psycopg.connect({dsn!r}, autocommit=True)",
                     DBAPI_RUN, *_dbapi("%s")),
    "psycopg2": Route("import psycopg2\npsy2 = psycopg2.connect({dsn!r})\npsy2.autocommit = True",
                      DBAPI_RUN, *_dbapi("%s")),
    "pg8000": Route("import pg8000.dbapi\np8k = pg8000.dbapi.connect(user='postgres', "
                    "host='127.0.0.1', port={port}, database={db!r})\np8k.autocommit = True",
                    DBAPI_RUN, *_dbapi("%s")),
    "pyodbc": Route("import pyodbc\nodbc = pyodbc.connect({odsn!r}, autocommit=True)",
                    DBAPI_RUN, *_dbapi("?")),
    "asyncpg": Route("import asyncpg\nac = await asyncpg.connect("
                     "'postgresql://postgres@127.0.0.1:{port}/{db}')",
                     "print('ROWS', await ac.fetch({sql!r}, *{args}))",
                     "UPDATE customers SET city = $1 WHERE id = $2",
                     "INSERT INTO customers (id, name, city) VALUES ($1, $2, $3)"),
    "sqlalchemy": Route("import sqlalchemy as sa\neng = sa.create_engine({url!r})",
                        "with eng.begin() as c:\n    r = c.execute(sa.text({sql!r}), {named})\n"
                        "    print('ROWS', r.fetchall() if r.returns_rows else r.rowcount)",
                        "UPDATE customers SET city = :a WHERE id = :b",
                        "INSERT INTO customers (id, name, city) VALUES (:a, :b, :c)"),
    "guarded_sql": Route("URL = {url!r}",
                         "{assign}\n_r = get_ipython().run_cell_magic('guarded_sql', URL, "
                         "{sql!r})\nprint('ROWS', _r.values.tolist() if _r is not None "
                         "else None)",
                         "UPDATE customers SET city = :a WHERE id = :b",
                         "INSERT INTO customers (id, name, city) VALUES (:a, :b, :c)"),
    "jupysql": Route("%load_ext sql\n%config SqlMagic.displaylimit = 20\n%sql {url}",
                     "{assign}\n_r = get_ipython().run_cell_magic('sql', '', {literal!r})\n"
                     "print('ROWS', [tuple(x) for x in _r] if _r is not None else None)",
                     "UPDATE customers SET city = :a WHERE id = :b",
                     "INSERT INTO customers (id, name, city) VALUES (:a, :b, :c)"),
}
NEW_ID = 20_001
CONN = {"psycopg": "psy", "psycopg2": "psy2", "pg8000": "p8k", "pyodbc": "odbc"}


def sent(r: Reply) -> str:
    return json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply], default=str, ensure_ascii=False)


def cell(name: str, sql: str, args: tuple[Any, ...] = ()) -> str:
    """The cell that runs ``sql`` with ``args`` on route ``name``."""
    keys = "abc"[:len(args)]
    literal = sql
    for key, value in zip(keys, args):   # jupysql: the values spelt into its text
        literal = literal.replace(f":{key}", repr(value) if isinstance(value, int)
                                  else "'" + str(value) + "'")
    return ROUTES[name].run.format(
        conn=CONN.get(name, ""), sql=sql, args=repr(tuple(args)), named=repr(dict(zip(keys, args))), literal=literal,
        assign="; ".join(f"{k} = {v!r}" for k, v in zip(keys, args)) or "pass")


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    """One kernel with every route's connection to one fresh database (a kernel's start is
    most of a route's cost); each route writes its own rows."""
    connect = "\n".join(r.connect for r in ROUTES.values())
    connect = connect.replace("{url!r}", repr(pg.url("{db}"))).replace(
        "{url}", pg.url("{db}")).replace("{odsn!r}", repr(
            "DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={port};DATABASE={db};"
            "UID=postgres"))
    with pg_kernel(pg, work_root / "every-route", connect) as kernel:
        kernel.raw = [e for (e,) in pg.query("SELECT email FROM customers WHERE id <= 20",
                                             db=kernel.db)] + kernel.ssns
        yield kernel


@pytest.mark.parametrize("name", list(ROUTES))
def test_the_route_writes_reads_and_refuses(k: Any, name: str) -> None:
    route, n = ROUTES[name], list(ROUTES).index(name)
    q = k.pg.query
    r = k.run(cell(name, route.update, ("Oslo", 7 + n)))   # a table holding sensitive values
    assert r.status == "ok", sent(r)[-1500:]
    assert q(f"SELECT city FROM customers WHERE id = {7 + n}", db=k.db) == [("Oslo",)]
    r = k.run(cell(name, route.insert, (NEW_ID + n, "new one", "Bergen")))
    assert r.status == "ok", sent(r)[-1500:]
    assert q(f"SELECT name, city, email FROM customers WHERE id = {NEW_ID + n}",
             db=k.db) == [("new one", "Bergen", None)]
    r = k.run(cell(name, "SELECT count(*) + 4242000 FROM customers WHERE id <= 10 OR id = "
                         f"{NEW_ID + n}"))
    assert r.status == "ok" and "4242011" in r.stream, sent(r)[-1500:]
    r = k.run(cell(name, "SELECT id, email FROM customers WHERE id <= 20 ORDER BY id"))
    text = sent(r)
    assert r.status == "ok" and "\u2588" in text and "example.com" in text, text[-1500:]
    assert not [v for v in k.raw if v in text], text[-1500:]
    r = k.run(cell(name, "DELETE FROM orders"))
    text = sent(r)
    assert r.status == "error" and "[bulk-change]" in text, text[-1500:]
    assert q("SELECT count(*) FROM orders", db=k.db) == [(50_000,)]
    assert not [v for v in k.raw if v in text]
