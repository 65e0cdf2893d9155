"""PostgreSQL drivers inside a Python child of a guarded kernel, against a real PostgreSQL: SQL
in a module the child imports (which the kernel cannot read before the child starts) is judged
in the child by its effect, through psycopg, psycopg2, pg8000, asyncpg and SQLAlchemy, as in
the kernel. The
deletes would succeed unguarded (``orders`` has no rows referring to it), so an unchanged table
shows the child's guard refused them; reads in a child run with correct results."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel

_SA = ("import sys, sqlalchemy\n"
       "engine = sqlalchemy.create_engine(sys.argv[1].replace('postgresql:', "
       "'postgresql+{driver}:'))\n")
_PG8000 = ("import sys, urllib.parse, pg8000.dbapi, pg8000.native\n"
           "u = urllib.parse.urlparse(sys.argv[1])\n"
           "kw = dict(user=u.username, host=u.hostname, port=u.port, database=u.path[1:])\n")
_ASYNCPG = ("import asyncio, sys, asyncpg\nasync def main():\n"
            "    con = await asyncpg.connect(sys.argv[1])\n    {body}\n    print('deleted')\n"
            "asyncio.run(main())\n")
MODULES = {
    "pg_psycopg.py": "import sys, psycopg\ncon = psycopg.connect(sys.argv[1], autocommit=True)\n"
                     "t = 'ord' + 'ers'\ncon.execute('DELETE FROM ' + t)\nprint('deleted')\n",
    "pg_psycopg2.py": "import sys, psycopg2\ncon = psycopg2.connect(sys.argv[1])\n"
                      "cur = con.cursor()\ncur.execute('DELETE FROM orders WHERE id > ' + '0')\n"
                      "con.commit()\nprint('deleted')\n",
    "pg_sqlalchemy.py": _SA.format(driver="psycopg") +
                        "with engine.begin() as c:\n"
                        "    c.execute(sqlalchemy.text('DELETE FROM ' + 'orders'))\n"
                        "print('deleted')\n",
    "pg_pandas.py": _SA.format(driver="psycopg2") + "import pandas as pd\n"
                    "with engine.begin() as c:\n    pd.read_sql(sqlalchemy.text("
                    "'WITH d AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM d'), c)\n"
                    "print('deleted')\n",
    "pg_pg8000.py": _PG8000 + "con = pg8000.dbapi.connect(**kw)\ncur = con.cursor()\n"
                    "cur.execute('DELETE FROM orders WHERE id > %s', (0,))\ncon.commit()\n"
                    "print('deleted')\n",
    "pg_pg8000_cte.py": _PG8000 + "pn = pg8000.native.Connection(**kw)\n"
                        "pn.run('WITH d AS (DELETE FROM orders RETURNING id) "
                        "SELECT count(*) FROM d')\nprint('deleted')\n",
    "pg_asyncpg.py": _ASYNCPG.format(body="await con.execute('DELETE FROM ' + 'orders')"),
    "pg_asyncpg_cte.py": _ASYNCPG.format(
        body="await con.fetchval('WITH d AS (DELETE FROM orders RETURNING id) "
             "SELECT count(*) FROM d')"),
    "pg_pg8000_read.py": _PG8000 + "pn = pg8000.native.Connection(**kw)\n"
                         "n = pn.run('SELECT count(*) FROM customers')[0][0]\n"
                         "pn.run('DELETE FROM orders WHERE id = :i', i=3)\n"
                         "print('pg8000 customers', n)\n",
    "pg_asyncpg_read.py": "import asyncio, sys, asyncpg\nasync def main():\n"
                          "    con = await asyncpg.connect(sys.argv[1])\n"
                          "    n = await con.fetchval('SELECT count(*) FROM customers')\n"
                          "    print('asyncpg', await con.execute("
                          "'DELETE FROM orders WHERE id = $1', 2), n)\n"
                          "    await con.close()\nasyncio.run(main())\n",
    "pg_read.py": "import sys, psycopg\ncon = psycopg.connect(sys.argv[1], autocommit=True)\n"
                  "print('customers', con.execute('SELECT count(*) FROM customers')"
                  ".fetchone()[0])\n",
    "pg_sqlalchemy_read.py": _SA.format(driver="psycopg") +
                             "with engine.connect() as c:\n    n = c.execute(sqlalchemy.text("
                             "'SELECT count(*) FROM orders WHERE id <= 10')).scalar()\n"
                             "    c.execute(sqlalchemy.text('DELETE FROM orders WHERE id = 1'))\n"
                             "    c.commit()\nprint('orders', n)\n",
}


@pytest.fixture(scope="module")
def kd(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / "pg-children"
    d.mkdir()
    for name, text in MODULES.items():
        (d / name).write_text(text)
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    r = kernel.run("%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    yield kernel, d
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


def _url(db: Db) -> str:
    return f"postgresql://postgres@127.0.0.1:{db.server.port}/{db.name}"


REFUSED = [
    pytest.param("import sys\n!{{sys.executable}} -m pg_psycopg {url}", id="psycopg-python-m"),
    pytest.param("import sys\n!{{sys.executable}} -c 'import pg_psycopg2' {url}",
                 id="psycopg2-import"),
    pytest.param("import subprocess, sys\nr = subprocess.run([sys.executable, '-m', "
                 "'pg_sqlalchemy', '{url}'], capture_output=True, text=True)\n"
                 "print(r.stdout, r.stderr)", id="sqlalchemy-subprocess"),
    pytest.param("import sys\n!{{sys.executable}} -m pg_pandas {url}", id="pandas-writable-cte"),
    pytest.param("import sys\n!{{sys.executable}} -m pg_pg8000 {url}", id="pg8000-bulk-delete"),
    pytest.param("import subprocess, sys\nr = subprocess.run([sys.executable, '-m', "
                 "'pg_pg8000_cte', '{url}'], capture_output=True, text=True)\n"
                 "print(r.stdout, r.stderr)", id="pg8000-native-writable-cte"),
    pytest.param("import sys\n!{{sys.executable}} -c 'import pg_asyncpg' {url}",
                 id="asyncpg-bulk-delete"),
    pytest.param("import sys\n!{{sys.executable}} -m pg_asyncpg_cte {url}",
                 id="asyncpg-writable-cte"),
]


@pytest.mark.parametrize("cell", REFUSED)
def test_a_childs_delete_is_refused_by_its_effect(kd: tuple[Kernel, Path], db: Db,
                                                  cell: str) -> None:
    k, _ = kd
    r = k.run(cell.format(url=_url(db)))
    assert "Blocked by jupyter_guard [" in r.text and "deleted" not in r.text, r.text
    db.intact()
    assert idle_in_transaction(db) == 0


def test_a_child_that_reads_or_changes_one_row_runs(kd: tuple[Kernel, Path], db: Db) -> None:
    k, _ = kd
    r = k.run(f"import sys\n!{{sys.executable}} -m pg_read {_url(db)}")
    assert r.status == "ok" and "customers 10000" in r.text and "Blocked" not in r.text, r.text
    r = k.run(f"import sys\n!{{sys.executable}} -m pg_sqlalchemy_read {_url(db)}")
    assert r.status == "ok" and "orders 10" in r.text and "Blocked" not in r.text, r.text
    assert db.count("orders") == 50_000 - 1
    r = k.run(f"import sys\n!{{sys.executable}} -m pg_pg8000_read {_url(db)}")
    assert r.status == "ok" and "pg8000 customers 10000" in r.text, r.text
    assert "Blocked" not in r.text, r.text
    r = k.run(f"import sys\n!{{sys.executable}} -m pg_asyncpg_read {_url(db)}")
    assert r.status == "ok" and "asyncpg DELETE 1 10000" in r.text, r.text
    assert "Blocked" not in r.text, r.text
    assert db.count("orders") == 50_000 - 3
    assert db.query("SELECT count(*) FROM orders WHERE id <= 3") == [(0,)]
    assert idle_in_transaction(db) == 0
