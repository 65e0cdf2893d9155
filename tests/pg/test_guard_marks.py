"""The guard's own marks (``Busy``, ``judged_on``) and kept driver bodies, reached from a
routed or replaced driver method through ``__globals__`` / ``__closure__``, in a real kernel
on a real PostgreSQL: the cell is refused before it runs (``self-protection``) and ``orders``
is intact. Each of these deleted 30,000 rows before. Reading ordinary function attributes
still runs."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

D = "'DELETE FROM orders WHERE id <= 30000'"
R = "psycopg.Cursor.execute.__globals__['__jupyter_guard_route__'].__globals__['_ROUTED']"


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-guard-marks"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    assert kernel.run("%load_ext jupyter_guard").status == "ok"
    yield kernel
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


ATTACKS = [
    pytest.param(f"r = {R}['psycopg.Cursor.execute']\nwith r.run.__globals__['judged_on']("
                 f"con.pgconn):\n    r.body(con.cursor(), {D})\ncon.commit()",
                 id="psycopg-judged-on"),
    pytest.param(f"r = {R}['psycopg.Cursor.execute']\nwith r.run.__globals__['Busy']():\n"
                 f"    con.cursor().execute({D})\ncon.commit()", id="psycopg-busy"),
    pytest.param("g = getattr(psycopg2.extensions.cursor.execute, '__glo' + 'bals__')\n"
                 f"g['busy'].__globals__['_tl'].busy = True\nc2.cursor().execute({D})\n"
                 "c2.commit()", id="psycopg2-busy-flag"),
    pytest.param("f = psycopg2.extensions.cursor.execute\n"
                 "g = object.__getattribute__(f, '__globals__')\n"
                 f"g['busy'].__globals__['_tl'].busy = True\nc2.cursor().execute({D})\n"
                 "c2.commit()", id="psycopg2-getattribute"),
    pytest.param("import inspect\nv = inspect.getclosurevars(psycopg2.extensions.cursor.execute)\n"
                 f"v.nonlocals['o']['execute'](c2.cursor(), {D})\nc2.commit()",
                 id="psycopg2-closure-original"),
    pytest.param("f = psycopg2.extensions.cursor.execute\n"
                 "o = [c.cell_contents for c in f.__closure__ if isinstance(c.cell_contents, "
                 f"dict)][0]\no['execute'](c2.cursor(), {D})\nc2.commit()",
                 id="psycopg2-cell-contents"),
    pytest.param("g = asyncpg.Connection.execute.__globals__['__jupyter_guard_route__']\n"
                 "b = g.__globals__['_ROUTED']['asyncpg.connection.Connection.execute'].body\n"
                 f"await b(raw, {D})", id="asyncpg-kept-body"),
]


@pytest.mark.parametrize("cell", ATTACKS)
def test_the_guards_marks_are_not_reached(k: Kernel, db: Db, cell: str) -> None:
    url = db.url.replace("+psycopg", "")
    r = k.run(f"import asyncpg, psycopg, psycopg2, psycopg2.extensions\n"
              f"con = psycopg.connect({db.dsn!r})\nc2 = psycopg2.connect({db.dsn!r})\n"
              f"raw = await asyncpg.connection.connect({url!r})")
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error" and "Blocked by jupyter_guard [self-protection]" in r.text, r.text
    r = k.run("con.rollback()\ncon.close()\nc2.rollback()\nc2.close()\nawait raw.close()")
    assert r.status == "ok", r.text
    db.intact()


def test_ordinary_function_attributes_still_read(k: Kernel) -> None:
    r = k.run("def f(x=1):\n    'doc'\n    return x\n"
              "print(f.__name__, f.__doc__, f.__defaults__, getattr(f, '__qualname__'), "
              "f.__module__)")
    assert r.status == "ok" and "f doc (1,) f __main__" in r.text, r.text
