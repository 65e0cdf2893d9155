"""PostgreSQL drivers inside a Python child of a guarded kernel, against a real PostgreSQL: SQL
in a module the child imports (which the kernel cannot read before the child starts) is judged
in the child by its effect, through psycopg, psycopg2 and SQLAlchemy, as in the kernel. The
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
    assert idle_in_transaction(db) == 0
