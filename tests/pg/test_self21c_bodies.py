"""The driver bodies asyncpg's protocol gate looks past are a frozen set the gate took when it
was installed (``driver_methods.bodies()``), no module table: user code can neither add its own
function's code to ``driver_methods.BODIES`` (gone), nor bind that name through ``setattr``,
``object.__setattr__`` or the module's dict, to be looked past. Before, ``BODIES`` was a plain set: a SQL function (which the guard calls through
its own ``call_user``) added to it reached asyncpg's protocol with the guard's frame as its first
judged caller, and a 30,000-row DELETE ran. A real kernel on a real PostgreSQL: each spelling is
refused and ``orders`` is intact; the same function not added anywhere is refused too, and an
honest SQL function and asyncpg call still run."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.asyncpg_attack import refused
from tests.pg.conftest import Db, saved_before_load

pytestmark = pytest.mark.kernel

SAVED = "import asyncpg, asyncio, duckdb\nsaved_connect = asyncpg.connect"
FIND = ("import codecs, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "DM = sys.modules[R('whclgre_thneq.pbaarpgvbaf.qevire_zrgubqf')]\n")
# a SQL function that sends a DELETE through the protocol (the guard calls it through its own
# frame) and keeps the coroutine to await once the statement is done
UDF = ("sent = []\n"
       "def f(x: int) -> int:\n"
       "    sent.append(raw._protocol.query('DELETE FROM orders WHERE id <= 30000', None))\n"
       "    return x\n"
       "con = duckdb.connect()\ncon.create_function('f', f)\n")
RUN = ("try:\n    con.sql('SELECT f(1)').fetchall()\nfinally:\n"
       "    for c in sent:\n        await c\n")
MINE = "frozenset({f.__code__, sys._getframe().f_code})"

ATTACKS = [
    pytest.param(FIND + UDF + "try:\n    getattr(DM, R('OBQVRF')).add(f.__code__)\n"
                 "except AttributeError:\n    print('no table')\n" + RUN, id="added"),
    pytest.param(FIND + UDF + f"setattr(DM, R('OBQVRF'), {MINE})\n" + RUN, id="rebound"),
    pytest.param(FIND + UDF + f"object.__setattr__(DM, R('OBQVRF'), {MINE})\n" + RUN,
                 id="object-setattr"),
    pytest.param(FIND + UDF + f"vars(DM)[R('OBQVRF')] = {MINE}\n" + RUN, id="module-dict"),
    pytest.param(UDF + RUN, id="not-added"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with saved_before_load(work_root, "pg-self21c-bodies", SAVED) as kernel:
        yield kernel


@pytest.mark.parametrize("cell", ATTACKS)
def test_user_code_in_the_bodies_is_judged(k: Kernel, db: Db, cell: str) -> None:
    refused(k, db, cell)


def test_honest_function_and_asyncpg_still_run(k: Kernel, db: Db) -> None:
    r = k.run(f"raw = await saved_connect({db.url.replace('+psycopg', '')!r})\n"
              "con = duckdb.connect()\ncon.create_function('twice', lambda x: 2 * x, "
              "['BIGINT'], 'BIGINT')\nprint('udf', con.sql('SELECT twice(21)').fetchall()[0][0])\n"
              "print('del', await raw.execute('DELETE FROM orders WHERE id = 7'))\n"
              "await raw.close()")
    assert r.status == "ok", r.text
    assert "udf 42" in r.text and "del DELETE 1" in r.text, r.text
    assert db.count("orders") == 50_000 - 1
