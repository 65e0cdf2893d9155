"""``COPY … FROM STDIN`` through every driver, in a real kernel against a real PostgreSQL: the
rows copied in run inside the effect check, so what they set off is measured. ``staging`` has
a trigger (made by the database's owner, outside the notebook) that deletes every order when
rows arrive: each copy into it is refused with orders and staging unchanged and no session left
in a transaction; the same copy into a table without the trigger lands its rows."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel

COPIES = {
    "psycopg": "import psycopg\ncon = psycopg.connect(DSN, autocommit=True)\n"
               "with con.cursor().copy('COPY {t} FROM STDIN') as cp:\n    cp.write('1\\tx\\n')",
    "psycopg-rows-transaction": "import psycopg\ncon = psycopg.connect(DSN)\n"
                                "with con.cursor().copy('COPY {t} (id, note) FROM STDIN') as cp:\n"
                                "    cp.write_row((1, 'x'))\ncon.commit()",
    "psycopg-async": "import psycopg\naconn = await psycopg.AsyncConnection.connect(DSN, "
                     "autocommit=True)\nasync with aconn.cursor() as c:\n"
                     "    async with c.copy('COPY {t} FROM STDIN') as cp:\n"
                     "        await cp.write('1\\tx\\n')",
    "psycopg2-copy_from": "import io, psycopg2\ncon = psycopg2.connect(DSN)\n"
                          "con.cursor().copy_from(io.StringIO('1\\tx\\n'), '{t}')\ncon.commit()",
    "psycopg2-copy_expert": "import io, psycopg2\ncon = psycopg2.connect(DSN)\n"
                            "con.autocommit = True\ncon.cursor().copy_expert("
                            "'COPY {t} FROM STDIN', io.StringIO('1\\tx\\n'))",
    "pg8000-native": "import io, pg8000.native\npn = pg8000.native.Connection(**PG8000)\n"
                     "pn.run('COPY {t} FROM STDIN', stream=io.StringIO('1\\tx\\n'))",
    "pg8000-dbapi": "import io, pg8000.dbapi\npn = pg8000.dbapi.connect(**PG8000)\n"
                    "pn.cursor().execute('COPY {t} FROM STDIN', stream=io.StringIO('1\\tx\\n'))\n"
                    "pn.commit()",
    "asyncpg-copy_to_table": "import io, asyncpg\nac = await asyncpg.connect(URL)\n"
                             "await ac.copy_to_table('{t}', source=io.BytesIO(b'1\\tx\\n'))",
    "asyncpg-records": "import asyncpg\nac = await asyncpg.connect(URL)\n"
                       "await ac.copy_records_to_table('{t}', records=[(1, 'x')])",
}
CLOSE = ("for _n in ('con', 'pn'):\n    if _n in globals():\n        globals().pop(_n).close()\n"
         "for _n in ('ac', 'aconn'):\n    if _n in globals():\n"
         "        await globals().pop(_n).close()")


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-copy-in"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    r = kernel.run("%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    yield kernel
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture()
def tables(db: Db) -> Db:
    for sql in ("CREATE TABLE staging (id int, note text)",
                "CREATE TABLE plain (id int, note text)",
                "CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN DELETE FROM orders; RETURN NULL; END $$",
                "CREATE TRIGGER wipe_orders AFTER INSERT ON staging "
                "FOR EACH STATEMENT EXECUTE FUNCTION wipe()",
                "GRANT ALL ON staging, plain TO PUBLIC"):
        db.query(sql)
    return db


def _setup(k: Kernel, db: Db) -> None:
    port = db.server.port
    r = k.run(f"DSN = {db.dsn!r}\nURL = 'postgresql://postgres@127.0.0.1:{port}/{db.name}'\n"
              f"PG8000 = dict(user='postgres', host='127.0.0.1', port={port}, "
              f"database={db.name!r})")
    assert r.status == "ok", r.text


@pytest.mark.parametrize("route", list(COPIES))
def test_a_copy_whose_trigger_deletes_every_order_is_refused(k: Kernel, tables: Db,
                                                              route: str) -> None:
    _setup(k, tables)
    r = k.run(COPIES[route].format(t="staging"))
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "bulk-change" in r.text, r.text
    r = k.run(CLOSE)
    assert r.status == "ok", r.text
    tables.intact()
    assert tables.count("staging") == 0
    assert idle_in_transaction(tables) == 0


@pytest.mark.parametrize("route", list(COPIES))
def test_a_small_copy_lands_its_rows(k: Kernel, tables: Db, route: str) -> None:
    _setup(k, tables)
    r = k.run(COPIES[route].format(t="plain"))
    assert r.status == "ok", r.text
    r = k.run(CLOSE)
    assert r.status == "ok", r.text
    assert tables.query("SELECT id, note FROM plain") == [(1, "x")]
    tables.intact()
    assert idle_in_transaction(tables) == 0
