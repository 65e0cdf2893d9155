"""On DuckDB the session's own tables are known by where they live: the database file (whatever
name it is attached under) or the connection (in-memory and temporary databases), the schema and
the name. A table of the same name the session made in another file that happens to carry the
same database name, in another in-memory database, in another schema or as a temporary table
exempts nothing; the analyst's own tables, temporary ones included, may be emptied, rewritten
and dropped, in the same cell and in later ones."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "ownplaces"
    d.mkdir()
    (d / "sub").mkdir()
    with guarded_kernel(d, warehouse=3000, connect=True) as kernel:
        yield kernel


def _count(k: Kernel, table: str, con: str = "con") -> int:
    r = k.ok(f"print({con}.sql('SELECT count(*) FROM {table}').fetchall()[0][0])")
    return int(r.stream.strip())


@pytest.mark.parametrize("made, act", [
    # another file whose database is also called ``wh``
    ("other = duckdb.connect('sub/wh.duckdb')\n"
     "other.execute('CREATE OR REPLACE TABLE customers AS SELECT 1 AS id')",
     "con.execute('DROP TABLE customers')"),
    ("other = duckdb.connect('sub/wh.duckdb')\n"
     "other.execute('CREATE OR REPLACE TABLE customers AS SELECT 1 AS id')",
     "con.execute('DELETE FROM customers')"),
    ("other = duckdb.connect('sub/wh.duckdb')\n"
     "other.execute('CREATE OR REPLACE TABLE customers AS SELECT 1 AS id')",
     "con.execute('TRUNCATE customers')"),
    # a file attached under the warehouse's name by an in-memory connection
    ("mem = duckdb.connect()\nmem.execute(\"ATTACH 'sub/w2.duckdb' AS wh\")\n"
     "mem.execute('CREATE OR REPLACE TABLE wh.main.customers AS SELECT 1 AS id')",
     "con.execute('DROP TABLE wh.main.customers')"),
    # another schema, a temporary table of the same name
    ("con.execute('CREATE SCHEMA IF NOT EXISTS s2')\n"
     "con.execute('CREATE OR REPLACE TABLE s2.customers AS SELECT 1 AS id')",
     "con.execute('DROP TABLE customers')"),
    ("con.execute('CREATE OR REPLACE TEMP TABLE customers AS SELECT 1 AS id')",
     "con.execute('DROP TABLE main.customers')"),
    ("con.execute('CREATE OR REPLACE TEMP TABLE customers AS SELECT 1 AS id')",
     "con.execute('DELETE FROM main.customers')"),
], ids=["other-file-same-name-drop", "other-file-same-name-delete",
        "other-file-same-name-truncate", "attached-under-the-same-name", "other-schema",
        "temp-twin-drop", "temp-twin-delete"])
def test_a_table_of_that_name_elsewhere_exempts_nothing(k: Kernel, made: str, act: str) -> None:
    k.ok(made)
    r = k.run(act)
    assert r.status == "error" and ("[destructive-ddl]" in r.everything() or
                                    "[bulk-change]" in r.everything()), r.everything()
    assert _count(k, "wh.main.customers") == 3000
    k.run("con.execute('DROP TABLE IF EXISTS temp.main.customers')")


def test_another_in_memory_database_is_another_place(work_root: Path) -> None:
    """Two ``duckdb.connect()`` both call their database ``memory``; a table in one made before
    the guard was loaded is not the session's own because the other got one of that name."""
    d = work_root / "ownplaces-mem"
    d.mkdir()
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": None})
    try:
        k.ok("import duckdb\nold = duckdb.connect()\n"
             "old.execute('CREATE TABLE t AS SELECT range AS i FROM range(3000)')")
        k.ok("%load_ext jupyter_guard")
        k.ok("new = duckdb.connect()\nnew.execute('CREATE TABLE t AS SELECT 1 AS i')")
        for act in ("old.execute('DROP TABLE t')", "old.execute('DELETE FROM t')"):
            r = k.run(act)
            assert r.status == "error" and "Blocked by jupyter_guard" in r.everything(), act
        assert _count(k, "t", "old") == 3000
        # a cursor of the other in-memory connection opens that one's database, not ``old``'s
        for act in ("old.cursor().execute('DROP TABLE t')",
                    "oc = old.cursor()\noc.execute('DELETE FROM t')"):
            r = k.run(act)
            assert r.status == "error" and "Blocked by jupyter_guard" in r.everything(), act
        assert _count(k, "t", "old") == 3000
        k.ok("new.execute('DELETE FROM t')\nnew.execute('DROP TABLE t')")   # its own
    finally:
        k.stop()


@pytest.mark.parametrize("cells, table", [
    (["con.execute('CREATE TABLE own_a AS SELECT * FROM range(5000)')",
      "con.execute('DELETE FROM own_a')"], "own_a"),
    (["con.execute('CREATE TABLE own_b AS SELECT * FROM range(5000)')\n"
      "con.execute('DELETE FROM own_b')"], "own_b"),
    (["con.execute('CREATE TEMP TABLE own_t AS SELECT * FROM range(3000)')\n"
      "con.execute('DELETE FROM own_t')"], "own_t"),
    (["con.execute('CREATE TEMP TABLE own_t2 AS SELECT * FROM range(3000)')",
      "con.execute('DELETE FROM own_t2')"], "own_t2"),
    (["con.execute(\"ATTACH 'sub/scratch.duckdb' AS sc\")\n"
      "con.execute('CREATE TABLE sc.main.own_f AS SELECT * FROM range(5000)')",
      "con.execute('DELETE FROM sc.own_f')"], "sc.own_f"),
    (["%%guarded_sql con\nCREATE TABLE own_c AS SELECT * FROM range(3000);\nDELETE FROM own_c"],
     "own_c"),
    (["import duckdb\nmem = duckdb.connect()\n"
      "mem.execute('CREATE TABLE own_m AS SELECT * FROM range(2000)')",
      "mem.execute('DELETE FROM own_m')"], "own_m"),
    # a cursor of an in-memory connection opens the same database: its tables stay the session's
    (["import duckdb\nmem = duckdb.connect()\n"
      "mem.execute('CREATE TABLE own_mc AS SELECT * FROM range(2000)')",
      "c = mem.cursor()", "c.execute('DELETE FROM own_mc WHERE range < 1500')",
      "c.execute('DELETE FROM own_mc')"], "own_mc"),
], ids=["later-cell", "same-cell", "temporary-same-cell", "temporary-later-cell",
        "attached-file", "guarded-sql-same-cell", "in-memory", "in-memory-cursor"])
def test_the_sessions_own_tables_may_be_emptied_truncated_and_dropped(
        k: Kernel, cells: list[str], table: str) -> None:
    con = "mem" if table.startswith("own_m") else "con"
    for code in cells:
        k.ok(code)
    assert _count(k, table, con) == 0
    k.ok(f"{con}.execute('INSERT INTO {table} SELECT * FROM range(4000)')\n"
         f"{con}.execute('UPDATE {table} SET range = 0')")
    assert k.ok(f"print({con}.sql('SELECT sum(range) FROM {table}').fetchall()[0][0])"
                ).stream.strip() == "0"
    k.ok(f"{con}.execute('TRUNCATE {table}')")
    k.ok(f"{con}.execute('DROP TABLE {table}')")
    r = k.run(f"{con}.sql('SELECT 1 FROM {table}')")
    assert r.status == "error" and "does not exist" in r.everything()
    assert _count(k, "wh.main.customers") == 3000
