"""The psycopg routes' ``judged_on`` mark (a statement the guard judged passes the class-level
methods unjudged) is a token like ``Busy``: it holds only for the guard's own frame that entered
it and what that frame runs, with no user code in between. Entered from a cell (the function
found at run time), on a real PostgreSQL: the 30,000-row DELETE through a raw psycopg cursor is
still judged (refused by the cell's row budget) and ``orders`` is intact. A user's row factory
the guard's judged fetch runs is user code too. Statements outside it still run."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

# the guard's ``judged_on``, found by walking sys.modules (rot13: no textbook spelling)
FIND = ("import codecs, sys, psycopg\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "for name, mod in list(sys.modules.items()):\n"
        "    if name == R('whclgre_thneq.pbaarpgvbaf.qoncv'):\n"
        "        J = getattr(mod, R('whqtrq_ba'))\n"
        "        S = getattr(mod, R('_WHQTRQ'))\n")
DELETE = "DELETE FROM orders WHERE id <= 30000"


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-judged-token"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    assert kernel.run("%load_ext jupyter_guard").status == "ok"
    yield kernel
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("enter", [
    pytest.param("with J(raw):\n    psycopg.ClientCursor(raw).execute(Q)\n", id="context"),
    pytest.param("S.set(frozenset({id(raw.pgconn)}))\npsycopg.ClientCursor(raw).execute(Q)\n",
                 id="set-var"),
    pytest.param("S.set(S.get() | {id(raw.pgconn)})\nraw.execute(Q)\n", id="set-var-conn"),
])
def test_the_judged_mark_entered_from_a_cell_lends_nothing(k: Kernel, db: Db, enter: str) -> None:
    k.ok(f"import psycopg\ncon = psycopg.connect({db.dsn!r})\nraw = con.cursor().connection\n"
         f"Q = {DELETE!r}")
    r = k.run(FIND + enter + "raw.commit()")
    assert not r.ok and "Blocked by jupyter_guard" in r.everything(), r.everything()
    k.run("raw.rollback()\ncon.close()")
    db.intact()


def test_statements_outside_still_run(k: Kernel, db: Db) -> None:
    """The twins: a read through the guarded connection, a raw cursor, a stream and a row
    factory of the user's."""
    r = k.ok(f"import psycopg\nfrom psycopg.rows import dict_row\n"
             f"con = psycopg.connect({db.dsn!r})\n"
             "print('n', con.execute('SELECT count(*) FROM customers').fetchone()[0])\n"
             "cur = con.cursor(row_factory=dict_row)\n"
             "print('d', cur.execute('SELECT count(*) AS c FROM orders').fetchone()['c'])\n"
             "print('s', sum(1 for _ in con.cursor().stream('SELECT id FROM customers "
             "LIMIT 50')))\ncon.close()")
    assert "n 10000" in r.stream and "d 50000" in r.stream and "s 50" in r.stream, r.everything()
    db.intact()
