"""sqlite3 statements count toward one cell's ``max_affected_rows`` per table, by the rows they
changed (``total_changes``): a loop of one-row deletes, an ``executemany``, autocommit mode,
two connections and threads cannot change more rows of a table in one cell than one statement
may. The statement that crosses the limit is undone; the rows changed before it stay (at most
the limit). Each cell commits in ``finally``, so the file shows exactly what was kept."""
from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

ROWS = 5000
_N = itertools.count()
LOOP = "for i in range({a}, {b}):\n        s.execute('DELETE FROM t WHERE id = ?', (i,))\n"
ATTACKS = [
    pytest.param("s = sqlite3.connect(DB)\ntry:\n    " + LOOP.format(a=0, b=3000) +
                 "finally:\n    s.commit()", 1000, id="loop-of-one-row-deletes"),
    pytest.param("s = sqlite3.connect(DB)\ntry:\n    s.executemany('DELETE FROM t WHERE id = ?', "
                 "[(i,) for i in range(1500)])\nfinally:\n    s.commit()", 0, id="executemany"),
    pytest.param("s = sqlite3.connect(DB, isolation_level=None)\ntry:\n    " +
                 LOOP.format(a=0, b=3000) + "finally:\n    pass", 1000, id="autocommit"),
    pytest.param("s = sqlite3.connect(DB)\ns.execute('BEGIN')\ntry:\n    " +
                 LOOP.format(a=0, b=3000) + "finally:\n    s.commit()", 1000,
                 id="inside-the-users-transaction"),
    pytest.param("s = sqlite3.connect(DB)\ntry:\n    for i in range(3000):\n        "
                 "s.execute('UPDATE t SET v = ? WHERE id = ?', ('y', i))\nfinally:\n    "
                 "s.commit()", 1000, id="loop-of-one-row-updates"),
    pytest.param("a, b = sqlite3.connect(DB), sqlite3.connect(DB, isolation_level=None)\n"
                 "try:\n    for i in range(700):\n        a.execute('DELETE FROM t WHERE id = ?', "
                 "(i,))\n    a.commit()\n    for i in range(700, 1400):\n        "
                 "b.execute('DELETE FROM t WHERE id = ?', (i,))\nfinally:\n    a.commit()",
                 1000, id="two-connections"),
    pytest.param("import threading\ndef work(k):\n    c = sqlite3.connect(DB, timeout=60, "
                 "check_same_thread=False)\n    try:\n        for i in range(k * 500, k * 500 + "
                 "500):\n            c.execute('DELETE FROM t WHERE id = ?', (i,))\n"
                 "            c.commit()\n    except Exception as e:\n        errs.append(str(e))\n"
                 "errs = []\nts = [threading.Thread(target=work, args=(k,)) for k in range(4)]\n"
                 "[t.start() for t in ts]\n[t.join() for t in ts]\n"
                 "raise SystemError(' '.join(errs))", 1000, id="threads"),
]


@pytest.fixture()
def db(kernel: Kernel) -> Path:
    path = kernel.workdir / f"t{next(_N)}.sqlite"
    with sqlite3.connect(path) as s:   # made outside the guard
        s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        s.executemany("INSERT INTO t VALUES (?, 'x')", [(i,) for i in range(ROWS)])
    kernel.ok(f"import sqlite3\nDB = {str(path)!r}")
    return path


def _count(path: Path, where: str = "") -> int:
    with sqlite3.connect(path) as s:
        return int(s.execute(f"SELECT count(*) FROM t {where}").fetchone()[0])


@pytest.mark.parametrize("code,kept", ATTACKS)
def test_a_cell_cannot_change_more_rows_than_the_limit(kernel: Kernel, db: Path, code: str,
                                                       kept: int) -> None:
    r = kernel.run(code, timeout=300)
    text = r.everything()
    assert r.status == "error" and "bulk-change" in text and "max_affected_rows" in text, text
    kernel.run("for _c in ('s', 'a', 'b'):\n    if _c in globals():\n        "
               "globals()[_c].close()")
    changed = ROWS - _count(db) + _count(db, "WHERE v = 'y'")
    assert changed <= 1000, changed
    if "threads" not in code:
        assert changed == kept   # exactly the rows before the refused statement


def test_the_limit_is_per_cell_and_counts_only_rows_that_changed(kernel: Kernel,
                                                                  db: Path) -> None:
    loop = "s = sqlite3.connect(DB)\nfor i in range({a}, {b}):\n    " \
           "s.execute('DELETE FROM t WHERE id = ?', (i,))\ns.commit()"
    kernel.ok(loop.format(a=0, b=900))
    kernel.ok(loop.format(a=900, b=1800))
    # deletes that match nothing change no rows: 5,000 of them run
    kernel.ok(loop.format(a=10_000, b=15_000))
    assert _count(db) == ROWS - 1800


def test_the_sessions_own_tables_are_not_counted(kernel: Kernel) -> None:
    r = kernel.ok("import sqlite3\nm = sqlite3.connect(':memory:')\nm.execute('CREATE TABLE mine (id INT)')\n"
                  "m.executemany('INSERT INTO mine VALUES (?)', [(i,) for i in range(3000)])\n"
                  "for i in range(3000):\n    m.execute('DELETE FROM mine WHERE id = ?', (i,))\n"
                  "m.execute('CREATE TEMP TABLE scratch AS SELECT 1 AS id FROM "
                  "(SELECT 1 UNION ALL SELECT 2)')\n"
                  "m.execute('UPDATE scratch SET id = 3')\n"
                  "print(m.execute('SELECT count(*) FROM mine').fetchone()[0])")
    assert r.stream.strip() == "0"


NOT_OURS = [
    pytest.param("s = sqlite3.connect(DB)\ns.execute('CREATE TABLE IF NOT EXISTS t (id INT)')\n"
                 "s.execute('DELETE FROM t')\ns.commit()", id="create-if-not-exists"),
    pytest.param("s = sqlite3.connect(DB)\ns.execute('CREATE TABLE IF NOT EXISTS t (id INT)')\n"
                 "s.execute('DROP TABLE t')\ns.commit()", id="drop-after-create-if-not-exists"),
    pytest.param("m = sqlite3.connect(':memory:')\nm.execute('CREATE TABLE t (id INT)')\n"
                 "m.execute('ATTACH ' + repr(DB) + ' AS o')\nm.execute('DELETE FROM o.t')\n"
                 "m.commit()", id="own-name-in-memory-real-one-attached"),
    pytest.param("s = sqlite3.connect(DB)\ns.execute('CREATE TEMP TABLE t AS SELECT 1 AS id')\n"
                 "s.execute('DELETE FROM main.t')\ns.commit()", id="temp-twin-main-named"),
    pytest.param("x = sqlite3.connect(DB + '.other')\nx.execute('CREATE TABLE t (id INT)')\n"
                 "s = sqlite3.connect(DB)\ns.execute('UPDATE t SET v = ?', ('y',))\ns.commit()",
                 id="same-name-in-another-file"),
]


@pytest.mark.parametrize("code", NOT_OURS)
def test_a_table_of_the_same_name_the_session_made_is_another_table(kernel: Kernel, db: Path,
                                                                     code: str) -> None:
    r = kernel.run(code)
    text = r.everything()
    assert r.status == "error" and ("bulk-change" in text or "destructive-ddl" in text), text
    kernel.run("for _c in ('s', 'm', 'x'):\n    if _c in globals():\n        "
               "globals()[_c].close()")
    assert _count(db) == ROWS and _count(db, "WHERE v = 'y'") == 0


def test_the_sessions_own_sqlite_tables_take_whole_table_changes(kernel: Kernel) -> None:
    f = kernel.workdir / "mine.sqlite"
    r = kernel.ok(f"import sqlite3\nf = sqlite3.connect({str(f)!r})\n"
                  "f.execute('CREATE TABLE s5 AS SELECT 1 AS id')\nf.execute('UPDATE s5 SET id = 2')\n"
                  "m = sqlite3.connect(':memory:')\nm.execute('CREATE TEMP TABLE tmp (id INT)')\n"
                  "m.execute('INSERT INTO tmp VALUES (1), (2)')\nm.execute('DELETE FROM tmp')\n"
                  "print(f.execute('SELECT id FROM s5').fetchall(), "
                  "m.execute('SELECT count(*) FROM tmp').fetchone()[0])")
    assert r.stream.strip() == "[(2,)] 0"
    kernel.ok("f.execute('DELETE FROM s5')\nf.execute('DROP TABLE s5')\nf.commit()\nf.close()")
    with sqlite3.connect(f) as s:
        assert s.execute("SELECT count(*) FROM sqlite_master WHERE name = 's5'").fetchone() == (0,)


@pytest.mark.parametrize("code", [
    pytest.param("s.execute(\"INSERT OR REPLACE INTO t SELECT id, 'y' FROM t\")", id="or-replace"),
    pytest.param("s.execute(\"INSERT INTO t SELECT id, 'y' FROM t WHERE true "
                 "ON CONFLICT(id) DO UPDATE SET v = 'y'\")", id="on-conflict-do-update"),
    # the driver begins no transaction before a statement starting with WITH: it commits at once
    pytest.param("s.execute('WITH x AS (SELECT id FROM t WHERE id > 600) "
                 "DELETE FROM t WHERE id IN (SELECT id FROM x)')", id="with-delete-autocommits"),
    pytest.param("s.execute(\"/* tidy */ WITH x AS (SELECT 1) UPDATE t SET v = 'y'"
                 " WHERE id >= 0\")", id="with-update-after-a-comment"),
])
def test_statements_that_change_rows_by_other_names_are_counted_and_undone(
        kernel: Kernel, db: Path, code: str) -> None:
    r = kernel.run(f"s = sqlite3.connect(DB)\ntry:\n    {code}\nfinally:\n    s.commit()")
    text = r.everything()
    assert r.status == "error" and "max_affected_rows" in text, text
    kernel.run("s.close()")
    assert _count(db) == ROWS and _count(db, "WHERE v = 'y'") == 0


@pytest.mark.parametrize("code", [
    "s.execute('PRAGMA writable_schema = ON')",
    "s.execute(\"DELETE FROM sqlite_master WHERE name = 't'\")",
    "s.execute(\"UPDATE sqlite_schema SET sql = 'CREATE TABLE t (id INT)' WHERE name = 't'\")",
])
def test_sqlites_schema_table_is_not_written(kernel: Kernel, db: Path, code: str) -> None:
    r = kernel.run(f"s = sqlite3.connect(DB)\ntry:\n    {code}\nfinally:\n    s.commit()")
    text = r.everything()
    assert r.status == "error" and "destructive-ddl" in text and "schema table" in text, text
    kernel.run("s.close()")
    assert _count(db) == ROWS


def test_upserts_that_add_rows_or_replace_a_few_run(kernel: Kernel, db: Path) -> None:
    kernel.ok("s = sqlite3.connect(DB)\n"
              "s.execute(\"INSERT OR REPLACE INTO t SELECT id + 100000, 'n' FROM t "
              "WHERE id < 2000\")\n"
              "s.execute(\"INSERT OR REPLACE INTO t VALUES (1, 'one')\")\n"
              "s.execute(\"INSERT INTO t VALUES (2, 'two') ON CONFLICT(id) DO UPDATE "
              "SET v = excluded.v\")\n"
              "s.execute('CREATE TABLE mine (id INTEGER PRIMARY KEY, v TEXT)')\n"
              "s.execute(\"INSERT OR REPLACE INTO mine SELECT id, 'a' FROM t\")\n"
              "s.execute(\"INSERT OR REPLACE INTO mine SELECT id, 'b' FROM t\")\n"
              "s.commit()\ns.close()")
    assert _count(db) == ROWS + 2000
    assert _count(db, "WHERE v IN ('one', 'two')") == 2
    with sqlite3.connect(db) as s:
        assert s.execute("SELECT count(*) FROM mine WHERE v = 'b'").fetchone() == (ROWS + 2000,)


def test_a_script_is_counted_as_a_whole_and_undone(kernel: Kernel, db: Path) -> None:
    three = "; ".join(f"DELETE FROM t WHERE id >= {a} AND id < {a + 900}" for a in (0, 900, 1800))
    r = kernel.run(f"s = sqlite3.connect(DB)\ns.executescript({three!r})")
    text = r.everything()
    assert r.status == "error" and "max_affected_rows" in text, text
    assert _count(db) == ROWS   # every statement of the script undone
    # a script within the limit runs, whole, and is kept
    kernel.ok("s.executescript('DELETE FROM t WHERE id < 400; "
              "UPDATE t SET v = \\'y\\' WHERE id >= 400 AND id < 800;')\ns.close()")
    assert _count(db) == ROWS - 400 and _count(db, "WHERE v = 'y'") == 400
