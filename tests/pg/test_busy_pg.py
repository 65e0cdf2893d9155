"""The guard's ``Busy`` block, reached with a name built at run time and entered from a cell,
lends nothing on a real PostgreSQL: the 30,000-row DELETE inside it is judged (refused by the
cell's row budget) and ``orders`` is intact. Before the token (``hooks/state.py``) it went
through. A statement outside any such block still runs."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

BUSY = ("import codecs, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "for name, mod in list(sys.modules.items()):\n"
        "    if name == R('whclgre_thneq.ubbxf.fgngr'):\n        B = getattr(mod, R('Ohfl'))\n")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-busy-token"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    assert kernel.run("%load_ext jupyter_guard").status == "ok"
    yield kernel
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_busy_entered_from_a_cell_lends_nothing(k: Kernel, db: Db) -> None:
    k.ok(f"import psycopg\ncon = psycopg.connect({db.dsn!r})")
    r = k.run(BUSY + "with B():\n    con.cursor().execute('DELETE FROM orders WHERE id <= 30000')"
              "\ncon.commit()")
    assert not r.ok and "Blocked by jupyter_guard" in r.everything(), r.everything()
    k.run("con.rollback()")
    r = k.ok(BUSY + "with B():\n    print('n', con.execute('SELECT count(*) FROM customers')"
             ".fetchone()[0])\ncon.close()")   # the twin: a read inside it still runs
    assert "n 10000" in r.stream, r.everything()
    db.intact()


def test_a_composition_renders_itself_as_user_code(k: Kernel, db: Db) -> None:
    """An object with ``as_string`` (a psycopg ``sql.Composable`` look-alike) that the guard
    renders: here a library function bound to it deletes ``data/`` when called. The guard
    renders it before its own work starts, so the delete is judged, and refused."""
    data = k.workdir / "data"
    data.mkdir(exist_ok=True)
    (data / "keep.csv").write_text("id\n1\n")
    k.ok(f"import psycopg\ncon = psycopg.connect({db.dsn!r})")
    r = k.run("import codecs, functools, importlib\nR = lambda s: codecs.decode(s, 'rot13')\n"
              "rm = getattr(importlib.import_module(R('fuhgvy')), R('ezgerr'))\n"
              "class Q:\n    as_string = staticmethod(functools.partial(rm, 'data'))\n"
              "con.cursor().execute(Q())")
    assert (data / "keep.csv").exists(), r.everything()
    r = k.ok("from psycopg import sql\nprint('n', con.execute(sql.SQL('SELECT count(*) FROM "
             "{}').format(sql.Identifier('customers'))).fetchone()[0])\ncon.close()")
    assert "n 10000" in r.stream, r.everything()   # the twin: a real composition still runs
    db.intact()
