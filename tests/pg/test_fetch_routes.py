"""Every way psycopg 3 (sync and asyncio) and pg8000 hand back rows keeps the taint of sensitive
columns, in a real kernel on a real PostgreSQL: raw cursors built from the connection class, a
fetch method saved before ``%load_ext``, named (server) cursors, ``scroll``, ``nextset`` and
``results()``, ``stream``, row factories, pipeline mode, binary, client and raw (``$1``) cursors,
``Connection.execute``, async cursors and pg8000 connections made from their classes. The
customers' SSNs are 9 digits, which no detector matches: only the fetch hook finds them. Each
route reads its own rows (no value is known beforehand), no SSN or e-mail of them reaches any
message the kernel sends, and the benign twin (``city``, ``count(*)``) prints raw and right."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel, Reply
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    d = work_root / "pg-fetch-routes"
    d.mkdir()
    name = pg.fresh()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    try:   # fetch methods saved before the guard loads
        r = kernel.run("import psycopg\nF_ALL = psycopg.Cursor.fetchall\n"
                       "F_NEXT = psycopg.Cursor.__next__\nF_ONE = psycopg.ServerCursor.fetchone")
        assert r.status == "ok", r.text
        assert kernel.run("%load_ext jupyter_guard").status == "ok"
        r = kernel.run(f"import types, dataclasses\nDSN = {pg.dsn(name)!r}\n"
                       "pg = psycopg.connect(DSN, autocommit=True)\n"
                       "aconn = await psycopg.AsyncConnection.connect(DSN, autocommit=True)\n"
                       "import pg8000.dbapi, pg8000.native, pg8000.legacy\nkw = dict("
                       f"user='postgres', host='127.0.0.1', port={pg.port}, database={name!r})")
        assert r.status == "ok", r.text
        kernel.pg_ = pg
        kernel.db_ = name
        yield kernel
    finally:
        kernel.stop()
        pg.drop(name)
        shutil.rmtree(d, ignore_errors=True)


RAW = "c = psycopg.Cursor(pg.cursor().connection)\nc.execute({q!r})\n"
RAWA = "c = psycopg.AsyncCursor(aconn.cursor().connection)\nawait c.execute({q!r})\n"
ROUTES = {
    "raw-fetchall": RAW + "print(c.fetchall())",
    "raw-fetchone": RAW + "print([c.fetchone() for _ in range(5)])",
    "raw-fetchmany": RAW + "print(c.fetchmany(5))",
    "raw-iteration": RAW + "print(list(c))",
    "raw-next": RAW + "print(next(c), next(c, None))",
    "raw-scroll": RAW + "c.fetchone()\nc.scroll(0, mode='absolute')\nprint(c.fetchall())",
    "saved-fetchall": RAW + "print(F_ALL(c))",
    "saved-next": RAW + "print(F_NEXT(c), next(c, None))",
    "pgresult": RAW + "res = c.pgresult\n"
                "print([res.get_value(i, j) for i in range(res.ntuples) for j in range(res.nfields)])",
    "pgresult-proxy": "c = pg.cursor()\nc.execute({q!r})\nres = c.pgresult\n"
                      "print([res.get_value(i, j) for i in range(res.ntuples) "
                      "for j in range(res.nfields)])",
    "pgresult-nextset": RAW.replace("c.execute({q!r})", "c.execute('SELECT 1 AS one; ' + {q!r})")
                        + "c.nextset()\nres = c.pgresult\nprint([res.get_value(i, j) for i in "
                        "range(res.ntuples) for j in range(res.nfields)])",
    "cursor-connection-execute": "print(pg.cursor().connection.execute({q!r}).fetchall())",
    "connection-execute": "print(pg.execute({q!r}).fetchall())",
    "named": "c = pg.cursor(name='n1', withhold=True)\nc.execute({q!r})\nprint(c.fetchall())\n"
             "c.close()",
    "named-iteration": "c = pg.cursor(name='n2', withhold=True)\nc.itersize = 2\n"
                       "c.execute({q!r})\nprint(list(c))\nc.close()",
    "server-raw": "c = psycopg.ServerCursor(pg.cursor().connection, 'n3', withhold=True)\n"
                  "c.execute({q!r})\nprint([c.fetchone(), c.fetchmany(2), F_ONE(c)])\nc.close()",
    "nextset": "c = pg.cursor()\nc.execute('SELECT 1 AS one; ' + {q!r})\nc.nextset()\n"
               "print(c.fetchall())",
    "results": "c = psycopg.Cursor(pg.cursor().connection)\nc.execute('SELECT 1 AS one; ' + "
               "{q!r})\nprint([x.fetchall() for x in c.results()])",
    "stream": "print(list(pg.cursor().stream({q!r})))",
    "stream-raw": "print(list(psycopg.Cursor(pg.cursor().connection).stream({q!r})))",
    "dict_row": "from psycopg.rows import dict_row\nc = pg.cursor(row_factory=dict_row)\n"
                "c.execute({q!r})\nprint(c.fetchall())",
    "namedtuple_row": "from psycopg.rows import namedtuple_row\n"
                      "c = psycopg.Cursor(pg.cursor().connection, row_factory=namedtuple_row)\n"
                      "c.execute({q!r})\nprint(list(c))",
    "class_row": "from psycopg.rows import class_row\n"
                 "c = pg.cursor(row_factory=class_row(types.SimpleNamespace))\n"
                 "c.execute({q!r})\nprint(c.fetchall())",
    "pipeline": "with pg.pipeline():\n    c = pg.cursor()\n    c.execute({q!r})\n"
                "print(c.fetchall())",
    "pipeline-iteration": "with pg.pipeline():\n    c = psycopg.Cursor(pg.cursor().connection)\n"
                          "    c.execute({q!r})\nprint(list(c))",
    "executemany-returning": "c = psycopg.Cursor(pg.cursor().connection)\nc.executemany("
                             "{q!r}.replace('WHERE', 'WHERE id > %s AND'), [(0,), (1,)], "
                             "returning=True)\nprint([x.fetchall() for x in c.results()])",
    "binary": "c = pg.cursor(binary=True)\nc.execute({q!r})\nprint(c.fetchall())",
    "binary-raw": "c = psycopg.Cursor(pg.cursor().connection)\nc.execute({q!r}, binary=True)\n"
                  "print(c.fetchall())",
    "client-cursor": "c = psycopg.ClientCursor(pg.cursor().connection)\nc.execute({q!r})\n"
                     "print(c.fetchall())",
    "raw-cursor-params": "c = psycopg.RawCursor(pg.cursor().connection)\n"
                         "c.execute({q!r}.replace('ORDER BY', 'AND 0 < $1 ORDER BY'), (1,))\n"
                         "print(c.fetchall())",
    "async": "c = aconn.cursor()\nawait c.execute({q!r})\nprint(await c.fetchall())",
    "async-raw": RAWA + "print(await c.fetchall())",
    "async-fetchone": RAWA + "print([await c.fetchone(), await c.fetchmany(2)])",
    "async-iteration": RAWA + "print([r async for r in c])",
    "async-pgresult": RAWA + "res = c.pgresult\nprint([res.get_value(i, j) for i in "
                      "range(res.ntuples) for j in range(res.nfields)])",
    "async-stream": "print([r async for r in aconn.cursor().stream({q!r})])",
    "async-named": "c = aconn.cursor(name='a1', withhold=True)\nawait c.execute({q!r})\n"
                   "print(await c.fetchall())\nawait c.close()",
    "async-connection-execute": "print(await (await aconn.execute({q!r})).fetchall())",
    "pg8000-class": "c = pg8000.dbapi.Connection(**kw).cursor()\nc.execute({q!r})\n"
                    "print(c.fetchall())",
    "pg8000-native-class": "print(pg8000.native.Connection(**kw).run({q!r}))",
    "pg8000-legacy-class": "c = pg8000.legacy.Connection(**kw).cursor()\nc.execute({q!r})\n"
                           "print(c.fetchall())",
}
NAMES = list(ROUTES)
GLUED = {   # one value holding several: each identifier inside it is known
    "record": "SELECT x FROM customers x WHERE id BETWEEN {a} AND {b} ORDER BY id",
    "string_agg": "SELECT string_agg(ssn, ',') FROM customers WHERE id BETWEEN {a} AND {b}",
    "string_agg-space": "SELECT string_agg(ssn || ' ' || email, '; ') FROM customers "
                        "WHERE id BETWEEN {a} AND {b}",
    "row": "SELECT ROW(id, ssn) FROM customers WHERE id BETWEEN {a} AND {b} ORDER BY id",
}


def leaked(r: Reply, raw: list[str]) -> list[str]:
    """Raw values in any message the kernel sent for this cell (all but the echoed code)."""
    text = r.everything() + json.dumps(r.reply, default=str) + json.dumps(
        [m["content"] for m in r.messages if m["msg_type"] != "execute_input"], default=str)
    return [v for v in raw if v in text]


def _q(cols: str, first: int) -> str:
    return f"SELECT {cols} FROM customers WHERE id BETWEEN {first} AND {first + 4} ORDER BY id"


@pytest.mark.parametrize("route", NAMES)
def test_fetched_values_never_shown(k: Any, route: str) -> None:
    first = 2000 + 10 * NAMES.index(route)   # rows of this route alone: none known beforehand
    raw = [str(100_000_000 + i) for i in range(first, first + 5)]
    raw += [f"user{i}@example.com" for i in range(first, first + 5)]
    r = k.run(ROUTES[route].format(q=_q("email, ssn", first)))
    assert r.status == "ok", r.text
    assert "█" in r.text, r.text
    assert not leaked(r, raw), (leaked(r, raw), r.text)
    r = k.run(ROUTES[route].format(q=_q("replace(ssn, '1', 'x') AS s", first)))
    assert r.status == "ok", r.text   # a derived value keeps its column's taint
    assert not leaked(r, [v.replace("1", "x") for v in raw[:5]]), r.text


@pytest.mark.parametrize("route", NAMES)
def test_benign_twin_runs(k: Any, route: str) -> None:
    r = k.run(ROUTES[route].format(q=_q("id, city", 1)))
    assert r.status == "ok", r.text
    assert all(c in r.text for c in ("Lyon", "Nice")), r.text
    assert "█" not in r.text, r.text
    r = k.run(ROUTES[route].format(
        q="SELECT count(*) AS n FROM customers WHERE id > 0 ORDER BY 1"))
    assert r.status == "ok" and "10000" in r.text, r.text


COPIES = [
    "with pg.cursor().copy({q!r}) as cp:\n    print([bytes(b) for b in cp])",
    "with psycopg.Cursor(pg.cursor().connection).copy({q!r}) as cp:\n"
    "    print(list(cp.rows()))",
    "async with aconn.cursor().copy({q!r}) as cp:\n    print([bytes(b) async for b in cp])",
]


@pytest.mark.parametrize("code", COPIES, ids=["copy", "copy-raw", "copy-async"])
def test_copy_to_stdout_refused(k: Any, code: str) -> None:
    first = 3000 + 10 * COPIES.index(code)
    raw = [str(100_000_000 + i) for i in range(first, first + 5)]
    r = k.run(code.format(q=f"COPY ({_q('email, ssn', first)}) TO STDOUT"))
    assert r.status == "error" and "exfiltration" in r.text, r.text
    assert not leaked(r, raw), r.text
    r = k.run(code.format(q=f"COPY ({_q('id, city', 1)}) TO STDOUT"))
    assert r.status == "ok" and "Lyon" in r.text, r.text   # no sensitive column: it runs


@pytest.mark.parametrize("code", [
    "await psycopg.AsyncCursor(aconn.cursor().connection).execute('DELETE FROM orders')",
    "c = psycopg.AsyncServerCursor(aconn.cursor().connection, 'd1')\n"
    "await c.execute('DELETE FROM orders')",
    "await aconn.cursor().connection.execute('DELETE FROM orders')",
], ids=["async-raw", "async-server-raw", "async-connection"])
def test_async_raw_execute_judged(k: Any, code: str) -> None:
    r = k.run(code)
    assert r.status == "error", r.text
    assert k.pg_.query("SELECT count(*) FROM orders", db=k.db_)[0][0] == 50_000
    r = k.run("c = psycopg.AsyncCursor(aconn.cursor().connection)\n"
              "await c.execute('DELETE FROM orders WHERE id = 1')\nprint(c.rowcount)")
    assert r.status == "ok" and "1" in r.text, r.text   # the benign twin: one row, counted
    assert k.pg_.query("SELECT count(*) FROM orders", db=k.db_)[0][0] == 49_999
    k.pg_.query("INSERT INTO orders VALUES (1, 2, 1.5)", db=k.db_)


@pytest.mark.parametrize("sql", list(GLUED.values()), ids=list(GLUED))
@pytest.mark.parametrize("route", ["raw-fetchall", "async-raw"])
def test_glued_values_never_shown(k: Any, route: str, sql: str) -> None:
    first = 5000 + 10 * list(GLUED.values()).index(sql) + 100 * (route == "async-raw")
    raw = [str(100_000_000 + i) for i in range(first, first + 5)]
    r = k.run(ROUTES[route].format(q=sql.format(a=first, b=first + 4)))
    assert r.status == "ok", r.text
    assert "█" in r.text, r.text
    assert not leaked(r, raw), (leaked(r, raw), r.text)
    r = k.run(ROUTES[route].format(q="SELECT string_agg(city, ',' ORDER BY id), count(*) "
                                   "FROM customers WHERE id BETWEEN 1 AND 3"))
    assert r.status == "ok" and "'Lyon,Nice,Paris', 3" in r.text, r.text   # the benign twin
