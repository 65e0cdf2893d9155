"""The session's own tables are known by where they live (server, database, schema, name, object
id), in a real kernel against a real PostgreSQL: a table of the same name made by the session
anywhere else (an in-memory DuckDB, another database, another schema, a temporary table, a
quoted name, a table it dropped and someone else made again) exempts nothing, and the table is
still there afterwards. The analyst's own scratch and temporary tables may be dropped, emptied
and bulk-changed, in the same cell and in later ones."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-own-places"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    kernel.ok("%load_ext jupyter_guard\nimport duckdb, psycopg")
    yield kernel
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


def _refused(k: Kernel, code: str, rule: str = "destructive-ddl") -> None:
    r = k.run(code, timeout=120)
    assert r.status == "error" and f"[{rule}]" in r.everything(), r.everything()


def _tables(db: Db, schema: str = "public") -> set[str]:
    return {r[0] for r in db.query(f"SELECT tablename FROM pg_tables WHERE schemaname = "
                                   f"'{schema}'")}


@pytest.mark.parametrize("act, rule", [
    ("DROP TABLE orders CASCADE", "destructive-ddl"),
    ("TRUNCATE orders CASCADE", "destructive-ddl"),
    ("DELETE FROM orders", "bulk-change"),
    ("ALTER TABLE orders RENAME TO orders_old", "destructive-ddl"),
])
def test_an_in_memory_duckdb_table_exempts_nothing_on_postgres(k: Kernel, db: Db, act: str,
                                                               rule: str) -> None:
    k.ok("mem = duckdb.connect()\nmem.execute('CREATE TABLE orders AS SELECT 1 AS id')")
    k.ok(f"pg = psycopg.connect({db.dsn!r}, autocommit=True)")
    _refused(k, f"pg.execute({act!r})", rule)
    db.intact()


@pytest.mark.parametrize("act", ["DROP TABLE orders CASCADE", "TRUNCATE orders CASCADE",
                                 "DELETE FROM orders"])
def test_asyncpg_measures_whose_table_it_is(k: Kernel, db: Db, pg: PgServer, act: str) -> None:
    """asyncpg runs no query while deciding: a name like one of the session's own is left to
    the effect check, which knows the table by object id."""
    url = f"postgresql://postgres@127.0.0.1:{pg.port}/{db.name}"
    k.ok("mem = duckdb.connect()\nmem.execute('CREATE TABLE orders AS SELECT 1 AS id')")
    k.ok(f"import asyncpg\nac = await asyncpg.connect({url!r})")
    r = k.run(f"await ac.execute({act!r})", timeout=120)
    assert r.status == "error" and "Blocked by jupyter_guard" in r.everything(), r.everything()
    db.intact()
    k.ok("await ac.execute('CREATE TEMP TABLE orders AS SELECT g AS id "
         "FROM generate_series(1, 3000) g')\n"
         "await ac.execute('DELETE FROM orders')\nawait ac.execute('DROP TABLE orders')\n"
         "await ac.close()")   # its own temporary twin: emptied and dropped
    db.intact()


def test_a_table_made_in_another_database_exempts_nothing(k: Kernel, db: Db,
                                                           pg: PgServer) -> None:
    other = pg.fresh()
    try:
        x = pg.dsn(other)
        k.ok(f"px = psycopg.connect({x!r}, autocommit=True)\n"
             "px.execute('CREATE TABLE mine AS SELECT g AS id FROM generate_series(1, 10) g')\n"
             "px.close()")
        db.query("CREATE TABLE mine AS SELECT g AS id FROM generate_series(1, 5000) g")
        k.ok(f"px = psycopg.connect({db.dsn!r}, autocommit=True)")   # the same name, now Y
        _refused(k, "px.execute('DROP TABLE mine')")
        _refused(k, "px.execute('DELETE FROM mine')", "bulk-change")
        assert db.count("mine") == 5000
        assert pg.query("SELECT count(*) FROM mine", db=other)[0][0] == 10
    finally:
        k.run("px.close()")
        pg.drop(other)


def test_a_temporary_table_exempts_nothing_but_itself(k: Kernel, db: Db) -> None:
    k.ok(f"pt = psycopg.connect({db.dsn!r}, autocommit=True)\n"
         "pt.execute('CREATE TEMP TABLE orders AS SELECT g AS id FROM generate_series(1, 3000) g')")
    _refused(k, "pt.execute('DROP TABLE public.orders CASCADE')")
    _refused(k, "pt.execute('TRUNCATE public.orders CASCADE')")
    _refused(k, "pt.execute('DELETE FROM public.orders')", "bulk-change")
    db.intact()
    # the temporary one is the session's own: a bare name finds it first
    k.ok("pt.execute('DELETE FROM orders')\n"
         "assert pt.execute('SELECT count(*) FROM pg_temp.orders').fetchone()[0] == 0")
    k.ok("pt.execute('DROP TABLE orders')")
    db.intact()
    k.run("pt.close()")


def test_search_path_and_schemas_are_part_of_the_place(k: Kernel, db: Db) -> None:
    k.ok(f"ps = psycopg.connect({db.dsn!r}, autocommit=True)\n"
         "ps.execute('CREATE SCHEMA scratch')\n"
         "ps.execute('CREATE TABLE scratch.orders AS SELECT g AS id FROM generate_series(1, 9) g')")
    k.ok("ps.execute('SET search_path = public')")
    _refused(k, "ps.execute('DROP TABLE orders CASCADE')")
    _refused(k, "ps.execute('TRUNCATE orders CASCADE')")
    db.intact()
    # where the search path finds the session's own table, it is its own to drop
    k.ok("ps.execute('SET search_path = scratch, public')\nps.execute('DELETE FROM orders')\n"
         "ps.execute('DROP TABLE orders')")
    assert "orders" not in _tables(db, "scratch")
    db.intact()
    k.run("ps.close()")


def test_quoted_names_are_other_tables(k: Kernel, db: Db) -> None:
    k.ok(f"pq = psycopg.connect({db.dsn!r}, autocommit=True)\n"
         "pq.execute('CREATE TABLE \"Orders\" (id int)')")
    _refused(k, "pq.execute('DROP TABLE orders CASCADE')")
    _refused(k, "pq.execute('DROP TABLE ORDERS CASCADE')")
    db.intact()
    assert "Orders" in _tables(db)
    k.run("pq.close()")


def test_a_table_dropped_and_made_again_by_someone_else_is_theirs(k: Kernel, db: Db) -> None:
    k.ok(f"pr = psycopg.connect({db.dsn!r}, autocommit=True)\n"
         "pr.execute('CREATE TABLE ledger AS SELECT g AS id FROM generate_series(1, 5) g')")
    k.ok("pr.execute('DROP TABLE ledger')")
    db.query("CREATE TABLE ledger AS SELECT g AS id FROM generate_series(1, 4000) g")
    _refused(k, "pr.execute('DROP TABLE ledger')")
    _refused(k, "pr.execute('DELETE FROM ledger')", "bulk-change")
    assert db.count("ledger") == 4000
    k.run("pr.close()")


def test_someone_else_replacing_a_table_the_session_made_makes_it_theirs(k: Kernel,
                                                                         db: Db) -> None:
    k.ok(f"pz = psycopg.connect({db.dsn!r}, autocommit=True)\n"
         "pz.execute('CREATE TABLE audit_copy AS SELECT g AS id FROM generate_series(1, 5) g')")
    db.query("DROP TABLE audit_copy; "
             "CREATE TABLE audit_copy AS SELECT g AS id FROM generate_series(1, 4000) g")
    _refused(k, "pz.execute('DROP TABLE audit_copy')")
    assert db.count("audit_copy") == 4000
    k.run("pz.close()")


@pytest.mark.parametrize("cells", [
    pytest.param(["po.execute('CREATE TABLE scratch AS SELECT g AS id, 0 AS v "
                  "FROM generate_series(1, 5000) g')",
                  "po.execute('UPDATE scratch SET v = 1')",
                  "po.execute('DELETE FROM scratch')"], id="later-cells"),
    pytest.param(["po.execute('CREATE TABLE scratch AS SELECT g AS id, 0 AS v "
                  "FROM generate_series(1, 5000) g')\n"
                  "po.execute('UPDATE scratch SET v = 1')\npo.execute('DELETE FROM scratch')"],
                 id="same-cell"),
    pytest.param(["po.execute('CREATE TEMP TABLE scratch AS SELECT g AS id, 0 AS v "
                  "FROM generate_series(1, 5000) g')",
                  "po.execute('UPDATE scratch SET v = 1')\npo.execute('DELETE FROM scratch')"],
                 id="temporary"),
    pytest.param(["%%guarded_sql {URL}\nCREATE TABLE scratch AS SELECT g AS id, 0 AS v "
                  "FROM generate_series(1, 5000) g;\nUPDATE scratch SET v = 1;\n"
                  "DELETE FROM scratch"], id="guarded-sql-same-cell"),
])
def test_the_analysts_own_tables_may_be_bulk_changed_emptied_and_dropped(
        k: Kernel, db: Db, cells: list[str]) -> None:
    k.ok(f"po = psycopg.connect({db.dsn!r}, autocommit=True)")
    for code in cells:
        r = k.run(code.replace("{URL}", db.url), timeout=120)
        assert r.status == "ok", r.everything()
    r = k.ok("print(po.execute('SELECT count(*) FROM scratch').fetchone()[0])")
    assert r.stream.strip() == "0"
    k.ok("po.execute('INSERT INTO scratch SELECT g, 0 FROM generate_series(1, 3000) g')\n"
         "po.execute('TRUNCATE scratch')")
    k.ok("po.execute('DROP TABLE scratch')\npo.close()")
    assert "scratch" not in _tables(db)
    db.intact()


def test_a_schema_the_session_made_and_its_renamed_tables_stay_its_own(k: Kernel,
                                                                       db: Db) -> None:
    k.ok(f"ps = psycopg.connect({db.dsn!r}, autocommit=True)\n"
         "ps.execute('CREATE SCHEMA work')\n"
         "ps.execute('CREATE TABLE work.t AS SELECT g FROM generate_series(1, 3000) g')\n"
         "ps.execute('CREATE TABLE draft AS SELECT g FROM generate_series(1, 3000) g')")
    k.ok("ps.execute('ALTER TABLE draft RENAME TO final')")
    k.ok("ps.execute('DELETE FROM final')\nps.execute('DROP TABLE final')")
    k.ok("ps.execute('DELETE FROM work.t')\nps.execute('DROP SCHEMA work CASCADE')")
    assert "final" not in _tables(db) and not db.query(
        "SELECT 1 FROM pg_namespace WHERE nspname = 'work'")
    db.intact()
    k.run("ps.close()")


def test_a_schema_the_session_made_does_not_carry_someone_elses_table_away(k: Kernel,
                                                                          db: Db) -> None:
    k.ok(f"pq = psycopg.connect({db.dsn!r}, autocommit=True)\npq.execute('CREATE SCHEMA shared')")
    db.query("CREATE TABLE shared.theirs AS SELECT g FROM generate_series(1, 4000) g")
    _refused(k, "pq.execute('DROP SCHEMA shared CASCADE')")
    assert db.count("shared.theirs") == 4000
    # a schema that was there already is not made by ``IF NOT EXISTS``, nor a renamed table
    # that was not the session's
    k.ok("pq.execute('CREATE SCHEMA IF NOT EXISTS public')")
    _refused(k, "pq.execute('DROP SCHEMA public CASCADE')")
    _refused(k, "pq.execute('ALTER TABLE orders RENAME TO orders_x')")
    db.intact()
    k.run("pq.close()")
