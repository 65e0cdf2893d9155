"""PostgreSQL results keep the SQL taint of their columns, in a real kernel on a real server:
fetched through psycopg 3, psycopg2, ``pd.read_sql`` or ``%%guarded_sql``, no raw SSN or e-mail
(also reversed, hexed, with dashes dropped) reaches any message the kernel sends, the fetched
values are refused at a file exit, pieces too short to mask and comparisons of sensitive columns
with constants are refused (``inference``), and the benign twins run with correct values."""
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
CONNS = ["pg", "pg2", "p8"]   # psycopg 3, psycopg2 and pg8000 connections, opened in the kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    d = work_root / "pg-result-taint"
    d.mkdir()
    name = pg.fresh()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    try:
        assert kernel.run("%load_ext jupyter_guard").status == "ok"
        r = kernel.run(f"import psycopg, psycopg2, pandas as pd\n"
                       f"pg = psycopg.connect({pg.dsn(name)!r}, autocommit=True)\n"
                       f"pg2 = psycopg2.connect({pg.dsn(name)!r})\npg2.autocommit = True\n"
                       f"import pg8000.dbapi, pg8000.native\nkw = dict(user='postgres', "
                       f"host='127.0.0.1', port={pg.port}, database={name!r})\n"
                       f"p8 = pg8000.dbapi.connect(**kw)\np8.autocommit = True\n"
                       f"pn = pg8000.native.Connection(**kw)\nimport sqlalchemy\n"
                       f"engine = sqlalchemy.create_engine({pg.url(name)!r})\n"
                       f"URL = {pg.url(name)!r}")
        assert r.status == "ok", r.text
        rows = pg.query("SELECT email, ssn FROM customers ORDER BY id LIMIT 60", db=name)
        kernel.workdir_ = d
        kernel.raw = [e for e, _ in rows] + [s for _, s in rows]
        kernel.raw += [e[::-1] for e, _ in rows] + [e.encode().hex() for e, _ in rows]
        # values no other test fetches (the file exit must not depend on what is known already)
        kernel.tail = [r[0] for r in pg.query(
            "SELECT ssn FROM customers ORDER BY id DESC LIMIT 150", db=name)]
        yield kernel
    finally:
        kernel.stop()
        pg.drop(name)
        shutil.rmtree(d, ignore_errors=True)


def leaked(k: Any, r: Reply) -> list[str]:
    """Raw values in any message the kernel sent for this cell (outputs and the reply)."""
    text = r.everything() + json.dumps(r.reply, default=str) + json.dumps(
        [m["content"] for m in r.messages if m["msg_type"] != "execute_input"], default=str)
    return [v for v in k.raw if v in text]


def cur(conn: str, sql: str, fetch: str = ".fetchall()") -> str:
    c = f"c = {conn}.cursor()\nc.execute({sql!r})\n"
    return c + ("c" + fetch if fetch.startswith(".") else fetch)


SHOWN = [
    pytest.param("SELECT email, ssn FROM customers ORDER BY id LIMIT 5", ".fetchall()",
                 id="plain"),
    pytest.param("SELECT reverse(email) AS a, replace(ssn, '-', '') AS b FROM customers "
                 "ORDER BY id LIMIT 5", ".fetchall()", id="reverse-replace"),
    pytest.param("SELECT encode(email::bytea, 'hex') AS h, ssn AS x FROM customers "
                 "ORDER BY id LIMIT 5", ".fetchall()", id="hex-renamed"),
    pytest.param("SELECT c.ssn, c.email FROM customers c ORDER BY id LIMIT 5",
                 ".fetchmany(5)", id="fetchmany-alias"),
    pytest.param("SELECT ssn || '' AS s FROM customers ORDER BY id LIMIT 1", ".fetchone()",
                 id="fetchone-concat"),
    pytest.param("SELECT x.s FROM (SELECT ssn AS s FROM customers ORDER BY id LIMIT 5) x",
                 "[r for r in c]", id="iteration-subquery"),
    pytest.param("SELECT email, ssn FROM customers ORDER BY id LIMIT 5", "\nprint(c.fetchall())",
                 id="printed"),
]


@pytest.mark.parametrize("conn", CONNS)
@pytest.mark.parametrize("sql,fetch", SHOWN)
def test_fetched_values_masked(k: Any, conn: str, sql: str, fetch: str) -> None:
    r = k.run(cur(conn, sql, fetch) if not fetch.startswith("\n") else cur(conn, sql, "") + fetch)
    assert r.status == "ok", r.text
    assert "█" in r.text, r.text
    assert not leaked(k, r), leaked(k, r)


def test_pg8000_native_run_masked_and_pieces_refused(k: Any) -> None:
    r = k.run("pn.run(\"SELECT reverse(email), ssn FROM customers ORDER BY id LIMIT 5\")")
    assert r.status == "ok" and "█" in r.text, r.text
    assert not leaked(k, r), leaked(k, r)
    r = k.run("pn.run('SELECT substr(ssn, 3, 1) FROM customers ORDER BY id LIMIT 3')")
    assert r.status == "error" and "inference" in r.text, r.text
    r = k.run("pn.run('SELECT id, city FROM customers ORDER BY id LIMIT 2')")
    assert r.status == "ok" and "Lyon" in r.text and "Nice" in r.text, r.text


@pytest.mark.parametrize("con", ["pg", "engine"])
def test_read_sql_and_tolist_masked(k: Any, con: str) -> None:
    q = "SELECT reverse(email) AS r, ssn FROM customers ORDER BY id LIMIT 5"
    q = f"sqlalchemy.text({q!r})" if con == "engine" else repr(q)
    r = k.run(f"d = pd.read_sql({q}, {con})\nprint(d.r.tolist(), d.ssn.tolist())\nd")
    assert r.status == "ok", r.text
    assert not leaked(k, r), leaked(k, r)
    r = k.run(f"pd.read_sql({q.replace('reverse(email)', 'city')}, {con}).r.tolist()")
    assert r.status == "ok" and "['Lyon', 'Nice', 'Paris', 'Lyon', 'Nice']" in r.text, r.text


@pytest.mark.parametrize("conn", CONNS)
def test_fetched_values_refused_at_file_exit(k: Any, conn: str) -> None:
    target = k.workdir_ / f"x-{conn}.txt"
    own = 50 * CONNS.index(conn)   # each driver its own 50 rows: none known beforehand
    r = k.run(cur(conn, "SELECT replace(ssn, '-', '') FROM customers ORDER BY id DESC "
                  f"LIMIT 50 OFFSET {own}", "rows = c.fetchall()")
              + f"\nopen({str(target)!r}, 'w').write(str(rows))")
    assert r.status == "error" and "exfiltration" in r.text, r.text
    assert "budget" not in r.text, r.text   # refused for these values, not a spent budget
    tail = k.tail[own:own + 50]
    assert not target.exists() or not [v for v in tail if v in target.read_text()]
    r = k.run(cur(conn, "SELECT id, city FROM customers ORDER BY id LIMIT 50",
                  "rows = c.fetchall()") + f"\nopen({str(target)!r}, 'w').write(str(rows))")
    assert r.status == "ok", r.text   # the benign twin: non-sensitive values are written
    assert "1, 'Lyon'" in target.read_text() and "2, 'Nice'" in target.read_text()


def test_guarded_sql_derived_columns_masked(k: Any) -> None:
    r = k.run("%%guarded_sql -o res {URL}\nSELECT id, reverse(email) AS r, "
              "replace(ssn, '-', '') AS s, city FROM customers ORDER BY id LIMIT 3")
    assert r.status == "ok", r.text
    assert "Lyon" in r.text and "Nice" in r.text
    assert not leaked(k, r), leaked(k, r)
    r = k.run("print(res.r.tolist(), list(res.s))")
    assert r.status == "ok", r.text
    assert not leaked(k, r), leaked(k, r)


PIECES = [
    "SELECT substr(ssn, 3, 1) AS d FROM customers ORDER BY id LIMIT 3",
    "SELECT left(email, 2) FROM customers ORDER BY id LIMIT 3",
    "SELECT ascii(ssn) FROM customers ORDER BY id LIMIT 3",
    "SELECT ssn::bigint % 100 FROM customers ORDER BY id LIMIT 3",
    "SELECT id, right(ssn, 1) AS t FROM customers ORDER BY id LIMIT 3",
]


@pytest.mark.parametrize("sql", PIECES)
def test_pieces_refused(k: Any, sql: str) -> None:
    for conn in CONNS:
        r = k.run(cur(conn, sql))
        assert r.status == "error" and "inference" in r.text, r.text
    r = k.run(f"%%guarded_sql {{URL}}\n{sql}")
    assert r.status == "error" and "inference" in r.text, r.text
    r = k.run(cur("pg", "SELECT id, length(email) AS n FROM customers ORDER BY id LIMIT 3"))
    assert r.status == "ok" and "(1, 17)" in r.text, r.text   # a length reveals no piece


INFERENCE = [
    "SELECT count(*) FROM customers WHERE ssn LIKE '1%'",
    "SELECT count(*) FROM customers c WHERE c.email = 'user1@example.com'",
    "SELECT count(*) FROM customers WHERE ssn IN ('100000001', '100000002')",
    "SELECT count(*) FROM customers WHERE ssn BETWEEN '1' AND '2'",
    "SELECT count(*) FROM customers WHERE left(ssn, 3) = '100'",
    "SELECT id FROM customers WHERE starts_with(email, 'user1')",
]


@pytest.mark.parametrize("sql", INFERENCE)
def test_inference_refused_on_every_route(k: Any, sql: str) -> None:
    for code in (cur("pg", sql), cur("pg2", sql), cur("p8", sql), f"pd.read_sql({sql!r}, pg)",
                 f"pd.read_sql(sqlalchemy.text({sql!r}), engine)",
                 f"%%guarded_sql {{URL}}\n{sql}"):
        r = k.run(code)
        assert r.status == "error" and "inference" in r.text, (code, r.text)
    r = k.run(cur("pg", "SELECT count(*) FROM customers a JOIN customers b ON a.ssn = b.ssn "
                  "WHERE a.city = 'Lyon'"))
    assert r.status == "ok" and "3334" in r.text, r.text   # a join on ssn is no inference


def test_parameterised_inference_refused(k: Any) -> None:
    for conn in CONNS:
        r = k.run(f"c = {conn}.cursor()\n"
                  "c.execute('SELECT count(*) FROM customers WHERE ssn = %s', ('100000001',))\n"
                  "c.fetchall()")
        assert r.status == "error" and "inference" in r.text, r.text
    r = k.run("c = pg.cursor()\nc.execute('SELECT city FROM customers WHERE id = %s', (2,))\n"
              "c.fetchall()")
    assert r.status == "ok" and "Nice" in r.text, r.text
