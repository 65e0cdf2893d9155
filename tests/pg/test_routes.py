"""Routes to the raw driver objects, in a real kernel on a real PostgreSQL: psycopg 3's cursor
classes and libpq (``pgconn``), psycopg2's C cursor, and rows counted per cell. Each attack
ends the cell in error with the rule named and ``orders`` intact (a fresh database each); the
everyday twins run with correct results."""
from __future__ import annotations

import re

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

SETUP = {
    "pg3": "import psycopg\ncon = psycopg.connect(DSN)\ncur = con.cursor()",
    "pg3-auto": "import psycopg\ncon = psycopg.connect(DSN, autocommit=True)\ncur = con.cursor()",
    "pg2": "import psycopg2\ncon = psycopg2.connect(DSN)\ncur = con.cursor()",
    # psycopg2's C method kept from an earlier cell: no spelling of it in the attack's cell
    "pg2-saved": "import psycopg2, psycopg2.extensions\ncon = psycopg2.connect(DSN)\n"
                 "cur = con.cursor()\nf2 = psycopg2.extensions.cursor.execute",
}

ATTACKS = [
    ("pg3", "bulk-change", "cur.connection.execute('DELETE FROM orders'); con.commit()"),
    ("pg3", "bulk-change", "cur._conn.execute('DELETE FROM orders'); con.commit()"),
    ("pg3", "bulk-change", "psycopg.Cursor(con).execute('DELETE FROM orders'); con.commit()"),
    ("pg3", "bulk-change", "psycopg.ClientCursor(con).execute('DELETE FROM orders'); con.commit()"),
    ("pg3", "bulk-change", "psycopg.RawCursor(cur.connection).execute('DELETE FROM orders')\n"
                           "con.commit()"),
    ("pg3", "bulk-change", "psycopg.Cursor.execute(cur, 'DELETE FROM orders'); con.commit()"),
    ("pg3", "bulk-change", "list(cur.stream('DELETE FROM orders RETURNING id')); con.commit()"),
    ("pg3", "bulk-change", "list(cur.connection.cursor().stream("
                           "'WITH d AS (DELETE FROM orders RETURNING 1) SELECT 1 FROM d'))\n"
                           "con.commit()"),
    ("pg3", "bulk-change", "cur.connection.cursor().executemany('DELETE FROM orders WHERE id = %s',"
                           " [(i,) for i in range(1, 2001)]); con.commit()"),
    ("pg3", "self-protection", "con.pgconn.exec_(b'DELETE FROM orders')"),
    ("pg3-auto", "self-protection", "cur.connection.pgconn.exec_params(b'DELETE FROM orders', [])"),
    ("pg3-auto", "self-protection", "import psycopg.generators as g\n"
                                    "con.pgconn.send_query(b'DELETE FROM orders')\n"
                                    "con.wait(g.execute(con.pgconn))"),
    ("pg3-auto", "self-protection", "r = cur.connection\nr.wait(r.cursor()._execute_gen("
                                    "'DELETE FROM orders'))"),
    ("pg3", "self-protection", "from functools import partial\nwith con.pipeline() as p:\n"
     "    con._pipeline.command_queue.append(partial(con.pgconn.send_query_params, "
     "b'DELETE FROM orders', None))\n    p.sync()"),
    ("pg3", "self-protection", "import psycopg.pq.pq_ctypes as pc\n"
                               "pc.PGconn.connect(DSN.encode()).exec_(b'DELETE FROM orders')"),
    ("pg3", "self-protection", "con.pgconn.prepare(b'd', b'DELETE FROM orders')\n"
                               "con.pgconn.exec_prepared(b'd', [])"),
    ("pg3-auto", "bulk-change", "import asyncio\nasync def f():\n"
     "    a = await psycopg.AsyncConnection.connect(DSN, autocommit=True)\n"
     "    async for r in a.cursor().stream('WITH d AS (DELETE FROM orders RETURNING 1) "
     "SELECT count(*) FROM d'):\n        print(r)\nawait f()"),
    ("pg3-auto", "self-protection", "import asyncio\nasync def f():\n"
     "    a = await psycopg.AsyncConnection.connect(DSN, autocommit=True)\n"
     "    await psycopg.AsyncCursor(a._jg_con).execute('DELETE FROM orders')\nawait f()"),
    ("pg3", "bulk-change", "cur.execute('DELETE FROM orders WHERE id < 900')\n"
                           "cur.execute('DELETE FROM orders WHERE id < 1800'); con.commit()"),
    ("pg3-auto", "bulk-change", "import threading\nerrs = []\ndef f(i):\n    try:\n"
     "        psycopg.connect(DSN, autocommit=True).execute("
     "f'DELETE FROM orders WHERE id % 50 = {i}')\n"
     "    except PermissionError as e:\n        errs.append(e)\n"
     "ts = [threading.Thread(target=f, args=(i,)) for i in range(50)]\n"
     "[t.start() for t in ts]; [t.join() for t in ts]\nraise errs[0]"),
    # spelled from the class in the cell: refused before it runs (the static layer)
    ("pg2", "self-protection", "psycopg2.extensions.cursor.execute(cur, 'DELETE FROM orders')\n"
                               "con.commit()"),
    ("pg2-saved", "bulk-change", "f2(cur, 'DELETE FROM orders'); con.commit()"),
    ("pg2", "bulk-change", "super(type(cur), cur).execute('DELETE FROM orders'); con.commit()"),
    ("pg2", "bulk-change", "type(cur).__mro__[-2].execute(cur, 'DELETE FROM orders'); con.commit()"),
    ("pg2", "bulk-change", "import psycopg2.extensions as e\n"
                           "c = e.connection(DSN); e.cursor(c).execute('DELETE FROM orders')\n"
                           "c.commit()"),
    ("pg2", "bulk-change", "import psycopg2.extras as x\nx.execute_batch(cur, 'DELETE FROM orders "
                           "WHERE id = %s', [(i,) for i in range(1, 5000)]); con.commit()"),
    ("pg2", "bulk-change", "import psycopg2.extras as x\nx.execute_values(cur, 'DELETE FROM orders "
                           "WHERE id IN (VALUES %s)', [(i,) for i in range(1, 5000)])\n"
                           "con.commit()"),
]


PER_CELL = {a for _, _, a in ATTACKS if "threading" in a or "1800" in a or "x.execute_" in a}


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("driver", ["pg3", "pg3-auto", "pg2"])
def test_routes_to_raw_objects_are_judged(kernel: Kernel, pg: PgServer, driver: str) -> None:
    for setup, rule, attack in [a for a in ATTACKS if a[0].split("-saved")[0] == driver]:
        name = pg.fresh()
        db = Db(pg, name)
        try:
            r = kernel.run(f"DSN = {db.dsn!r}\n" + SETUP[setup])
            assert r.status == "ok", r.text
            r = kernel.run(attack, timeout=180)
            text = _plain(r.everything())
            assert r.status == "error", f"ran: {attack}\n{text[-400:]}"
            assert f"[{rule}]" in text, f"{attack}\n{text[-600:]}"
            assert ("in this cell" in text) == (attack in PER_CELL), f"{attack}\n{text[-600:]}"
            kernel.run("try:\n    con.rollback()\nexcept Exception:\n    pass\ncon.close()")
            if "in this cell" in text:   # the cell's budget: at most max_affected_rows kept
                assert db.count("orders") >= 49_000, attack
                assert db.count("customers") == 10_000
            else:
                db.intact()
        finally:
            pg.drop(name)


CONNECT = "import psycopg, pandas as pd\ncon = psycopg.connect(DSN)\ncur = con.cursor()"
BENIGN = """
cur.execute('DELETE FROM orders WHERE id = %s', (7,))
print('one', cur.rowcount)
psycopg.Cursor(con).execute('DELETE FROM orders WHERE id < 900')
print('select', cur.connection.execute('SELECT count(*) FROM orders').fetchone()[0])
print('stream', sum(1 for _ in cur.stream('SELECT id FROM orders WHERE id < 2000')))
cur.connection.commit()
s = con.cursor(name='sc'); s.execute('SELECT id FROM orders ORDER BY id'); print('server', s.fetchone()[0])
s.close(); con.commit()
print('pandas', len(pd.read_sql('SELECT id FROM orders LIMIT 5', cur.connection)))
with con.cursor().copy('COPY (SELECT id FROM orders WHERE id < 1000) TO STDOUT') as cp:
    print('copy', sum(1 for _ in cp.rows()))
print('status', con.pgconn.transaction_status, con.pgconn.exec_(b'COMMIT').status)
with con.pipeline():
    cur.execute('DELETE FROM orders WHERE id = %s', (995,))
    cur.execute('SELECT count(*) FROM orders')
print('pipeline', cur.fetchone()[0])
cur.executemany('DELETE FROM orders WHERE id = %s', [(996,), (997,)])
con.commit()
"""

CONNECT2 = "import psycopg2, psycopg2.extras as x\nc2 = psycopg2.connect(DSN)\nk = c2.cursor()"
BENIGN2 = """
type(k).__mro__[-2].execute(k, 'DELETE FROM orders WHERE id = %s', (901,))
x.execute_batch(k, 'DELETE FROM orders WHERE id = %s', [(i,) for i in range(902, 950)])
k.execute('SELECT count(*) FROM orders'); print('pg2', k.fetchone()[0]); c2.commit()
"""


def test_everyday_twins_run(kernel: Kernel, db: Db) -> None:
    assert kernel.run(f"DSN = {db.dsn!r}\n" + CONNECT).status == "ok"
    r = kernel.run(BENIGN, timeout=180)
    text = _plain(r.everything())
    assert r.status == "ok", text[-800:]
    assert "one 1" in text and "select 49101" in text, text
    assert "stream 1100" in text and "server 900" in text and "pandas 5" in text, text
    assert "copy 100" in text and "pipeline 49100" in text, text
    assert kernel.run(CONNECT2).status == "ok"
    r = kernel.run(BENIGN2, timeout=180)
    assert r.status == "ok", _plain(r.everything())[-800:]
    assert db.count("orders") == 50_000 - 899 - 3 - 49, db.count("orders")
