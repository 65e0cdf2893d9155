"""psycopg2's judge and its sealed wrappers, in a real kernel on a real PostgreSQL.

``psycopg2.connect`` kept the guard in a closure cell and put the connection's judge in a plain
attribute (``con._jg_check``): a cell that rebound either sent a 30,000-row DELETE unjudged.
The judge is now read-only (held in sealed closures: setting it, through the instance, its
``__dict__``, ``object.__setattr__`` or the class the guard made, fails or is refused) and
``connect`` and the C cursor methods are sealed. The twins: psycopg2, psycopg (sync and
async), asyncpg and SQLAlchemy on psycopg2 still run with correct results.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_seal23b_closures import FAKE
from tests.kernelutil import Kernel, guarded_kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

# a judge that lets everything run; and the guard's, found in the cell (rot13: no textbook name)
PASS = ("import codecs\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "class Judge:\n    def __getattr__(self, n):\n        return getattr(real, n)\n"
        "    def __call__(self, q, p, run, **k):\n        return run()\n"
        + FAKE)
ATTACKS = [
    pytest.param("setattr(c, R('_wt_purpx'), Judge())", id="instance-attribute"),
    pytest.param("vars(c)[R('_wt_purpx')] = Judge()", id="instance-dict"),
    pytest.param("object.__setattr__(c, R('_wt_purpx'), Judge())", id="object-setattr"),
    pytest.param("setattr(type(c), R('_wt_purpx'), Judge())", id="class-attribute"),
    pytest.param("swap(cells(psycopg2.connect), guards)", id="connect-cell"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-seal23b"
    d.mkdir()
    with guarded_kernel(d) as kernel:
        kernel.ok("import psycopg2\n" + PASS)
        yield kernel


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_judge_cannot_be_rebound(k: Kernel, db: Db, attack: str) -> None:
    body = attack.replace("\n", "\n    ").rstrip()
    r = k.run(f"c = psycopg2.connect({db.dsn!r})\nreal = getattr(c, R('_wt_purpx'))\n"
              f"try:\n    {body}\nexcept Exception as e:\n    print('tamper failed:', e)\n"
              "c2 = psycopg2.connect(" + repr(db.dsn) + ")\n"
              "for con in (c, c2):\n    cur = con.cursor()\n"
              "    cur.execute('DELETE FROM orders WHERE id <= 30000')\n    con.commit()")
    k.run("c.rollback()\nc.close()\ntry:\n    c2.close()\nexcept NameError:\n    pass")
    db.intact()
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text


def test_drivers_still_run(k: Kernel, db: Db) -> None:
    url = db.url.replace("+psycopg", "")
    r = k.run(f"import psycopg, asyncpg, sqlalchemy, inspect, asyncio\n"
              f"c = psycopg2.connect({db.dsn!r})\ncur = c.cursor()\n"
              "cur.execute('DELETE FROM orders WHERE id = %s', (1,))\nc.commit()\n"
              "cur.execute('SELECT count(*) FROM orders')\nprint('pg2', cur.fetchone()[0])\n"
              "c.close()\n"
              f"p = psycopg.connect({db.dsn!r})\n"
              "print('pg3', p.execute('SELECT count(*) FROM customers').fetchone()[0])\n"
              f"p.close()\nap = await psycopg.AsyncConnection.connect({db.dsn!r})\n"
              "print('apg3', (await (await ap.execute('SELECT 7')).fetchone())[0])\n"
              f"await ap.close()\na = await asyncpg.connect({url!r})\n"
              "print('apg', await a.fetchval('SELECT count(*) FROM orders'))\nawait a.close()\n"
              f"e = sqlalchemy.create_engine({db.server.url(db.name, driver='psycopg2')!r})\n"
              "with e.connect() as sc:\n"
              "    print('sa', sc.execute(sqlalchemy.text('SELECT count(*) FROM orders'))"
              ".scalar())\ne.dispose()\n"
              "print('coro', asyncio.iscoroutinefunction(asyncpg.connect), "
              "psycopg2.connect.__name__, psycopg2.extensions.cursor.execute.__name__)")
    assert r.status == "ok", r.text
    for line in ("pg2 49999", "pg3 10000", "apg3 7", "apg 49999", "sa 49999",
                 "coro True connect execute"):
        assert line in r.text, r.text
