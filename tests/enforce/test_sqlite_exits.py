"""Python's ``sqlite3`` writes its pages in C, below the file writes the exits scan: values a
cell puts in a SQLite file (bound, typed into the SQL, read from an in-memory database beside
it, or copied by ``backup``) are judged before the statement runs. Refused: the file holds no raw
value. Plain rows, and any rows kept in memory, are written as asked."""
from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

MEM = ("m = sqlite3.connect(':memory:')\nm.execute('CREATE TABLE t (v TEXT)')\n"
       "m.executemany('INSERT INTO t VALUES (?)', [(v,) for v in df.{col}])\nm.commit()\n")
ATTACHED = ("m.execute('ATTACH ' + repr(OUT) + ' AS o')\n"
            "m.execute('CREATE TABLE o.x (v TEXT)')\n"
            "m.executemany('INSERT INTO o.x VALUES (?)', [('plain',)] * 200)\nm.commit()\n")
ATTACKS = [
    pytest.param("s = sqlite3.connect(OUT)\ns.execute('CREATE TABLE t (v TEXT)')\n"
                 "s.executemany('INSERT INTO t VALUES (?)', [(v,) for v in df.{col}])\n"
                 "s.commit()", id="executemany"),
    pytest.param("s = sqlite3.connect(OUT)\ns.execute('CREATE TABLE t (v TEXT)')\n"
                 "for v in df.{col}[:5]:\n    s.cursor().execute('INSERT INTO t VALUES (?)', [v])\n"
                 "s.commit()", id="cursor-execute"),
    pytest.param("s = sqlite3.connect(OUT)\ns.execute('CREATE TABLE t (v TEXT)')\n"
                 "s.execute('INSERT INTO t VALUES (:v)', {{'v': df.{col}[1]}})\ns.commit()",
                 id="named-parameter"),
    pytest.param("s = sqlite3.connect(OUT)\ns.executescript('CREATE TABLE t (v TEXT); "
                 "INSERT INTO t VALUES (\\'' + df.{col}[2] + '\\');')", id="executescript"),
    pytest.param("s = sqlite3.connect(OUT)\ndf[['id']].assign(v=df.{col}.str.upper())"
                 ".to_sql('t', s)", id="to_sql-derived"),
    pytest.param(MEM + "b = sqlite3.connect(OUT)\nm.backup(b)\nb.close()", id="backup"),
    pytest.param(MEM + "m.execute('ATTACH ' + repr(OUT) + ' AS o')\n"
                 "m.execute('CREATE TABLE o.x AS SELECT * FROM main.t')\nm.commit()",
                 id="attach-create-as"),
    pytest.param(MEM + "m.execute('ATTACH ' + repr(OUT) + ' AS o')\n"
                 "m.execute('CREATE TABLE o.x (v TEXT)')\n"
                 "m.execute('INSERT INTO o.x SELECT upper(v) FROM main.t')\nm.commit()",
                 id="attach-insert-select"),
    # values set by an UPDATE out of another table, and rows far past the first thousands
    pytest.param(MEM + ATTACHED + "m.execute('UPDATE o.x SET v = s.v FROM main.t AS s "
                 "WHERE o.x.rowid = s.rowid')\nm.commit()", id="attach-update-from"),
    pytest.param(MEM + ATTACHED + "m.execute('UPDATE o.x SET v = (SELECT s.v FROM main.t AS s "
                 "WHERE s.rowid = o.x.rowid)')\nm.commit()", id="attach-update-subselect"),
    pytest.param("m = sqlite3.connect(':memory:')\nm.execute('CREATE TABLE t (v TEXT)')\n"
                 "m.executemany('INSERT INTO t VALUES (?)', [('plain',)] * 30000)\n"
                 "m.executemany('INSERT INTO t VALUES (?)', [(v,) for v in df.{col}])\n"
                 "m.commit()\nm.execute('ATTACH ' + repr(OUT) + ' AS o')\n"
                 "m.execute('CREATE TABLE o.x AS SELECT * FROM main.t')\nm.commit()",
                 id="rows-past-30000"),
]


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb", rows=200)
    kernel.ok("import duckdb, sqlite3\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


def _raw_in(path: object, col: str) -> bool:
    import pathlib

    p = pathlib.Path(str(path))
    if not p.exists():
        return False
    data = p.read_bytes().lower()
    values = ([f"user{i}@example.com" for i in range(200)] if col == "email"
              else [str(100000000 + i) for i in range(200)])
    return any(v.encode() in data for v in values)


@pytest.mark.parametrize("col", ["email", "ssn"])
@pytest.mark.parametrize("code", ATTACKS)
def test_sensitive_values_do_not_reach_a_sqlite_file(k: Kernel, code: str, col: str) -> None:
    out = k.workdir / f"leak_{abs(hash((code, col)))}.sqlite"
    r = k.run(f"OUT = {str(out)!r}\n" + code.format(col=col))
    assert r.status == "error" and "exfiltration" in r.everything(), r.everything()
    k.run("for _c in ('s', 'b', 'm'):\n    if _c in globals():\n        globals()[_c].close()")
    assert not _raw_in(out, col)


def test_plain_rows_and_rows_in_memory_are_written(k: Kernel) -> None:
    out, copy = k.workdir / "plain.sqlite", k.workdir / "plain_copy.sqlite"
    k.ok(f"s = sqlite3.connect({str(out)!r})\ns.execute('CREATE TABLE t (c TEXT, n INT)')\n"
         "s.executemany('INSERT INTO t VALUES (?, ?)', list(zip(df.city, df.id.tolist())))\n"
         "s.execute('INSERT INTO t VALUES (?, ?)', ('Lyon', 1))\n"
         "df[['id', 'city']].to_sql('f', s)\ns.commit()\ns.close()\n"
         # sensitive values may sit in memory: nothing leaves the kernel
         "m = sqlite3.connect(':memory:')\nm.execute('CREATE TABLE e (v TEXT)')\n"
         "m.executemany('INSERT INTO e VALUES (?)', [(v,) for v in df.email])\nm.commit()\n"
         "print(m.execute('SELECT count(*) FROM e').fetchone()[0])\n"
         "p = sqlite3.connect(':memory:')\np.execute('CREATE TABLE t (c TEXT)')\n"
         "p.executemany('INSERT INTO t VALUES (?)', [(c,) for c in df.city])\np.commit()\n"
         f"b = sqlite3.connect({str(copy)!r})\np.backup(b)\nb.close()")
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (201,)
        assert db.execute("SELECT count(*) FROM f").fetchone() == (200,)
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (200,)


def test_plain_updates_and_large_plain_copies_are_written(k: Kernel) -> None:
    out = k.workdir / "plain_large.sqlite"
    k.ok("m = sqlite3.connect(':memory:')\nm.execute('CREATE TABLE t (v TEXT)')\n"
         "m.executemany('INSERT INTO t VALUES (?)', [(c,) for c in df.city] * 150)\n"
         f"m.execute('ATTACH ' + repr({str(out)!r}) + ' AS o')\n"
         "m.execute('CREATE TABLE o.x AS SELECT * FROM main.t')\n"
         "m.execute('UPDATE o.x SET v = upper(s.v) FROM main.t AS s "
         "WHERE o.x.rowid = s.rowid AND s.rowid <= 500')\n"
         "m.commit()\nm.close()")
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT count(*) FROM x").fetchone() == (30000,)
        first = db.execute("SELECT v FROM x WHERE rowid = 1").fetchone()[0]
    assert first and first == first.upper()
