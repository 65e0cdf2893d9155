"""A value loader of the user's would see every raw value before the guard judges a row: a
psycopg 3 loader class registered on a connection, on ``psycopg.adapters`` (every connection),
through a reference to ``AdaptersMap.register_loader`` taken in the cell, and an asyncpg type
codec's ``decoder``. Each is refused in a real kernel on a real PostgreSQL, and no SSN reaches
any message, then or in the next cell that prints what the loader kept. psycopg's own loaders,
``set_json_loads`` and asyncpg's documented ``decoder=json.loads`` run."""
from __future__ import annotations

import re

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel

LOADER = ("import psycopg, psycopg.adapt\nKEPT = []\nclass Keep(psycopg.adapt.Loader):\n"
          "    def load(self, data):\n        KEPT.append(bytes(data).decode()[::-1])\n"
          "        return 'x'\n")
SELECT = "SELECT ssn FROM customers ORDER BY id LIMIT 3"
ASYNC = ("import asyncpg\nKEPT = []\nasync def f():\n"
         "    c = await asyncpg.connect(host='127.0.0.1', port=PORT, user='postgres', "
         "database=NAME)\n    await c.set_type_codec('text', schema='pg_catalog', encoder=str, "
         "decoder=lambda v: KEPT.append(v[::-1]) or 'x', format='text')\n"
         f"    await c.fetch({SELECT!r})\nawait f()")
ATTACKS = [
    LOADER + f"con = psycopg.connect(DSN)\ncon.adapters.register_loader('text', Keep)\n"
             f"con.execute({SELECT!r}).fetchall()",
    LOADER + f"psycopg.adapters.register_loader('text', Keep)\n"
             f"psycopg.connect(DSN).execute({SELECT!r}).fetchall()",
    LOADER + "import psycopg._adapters_map as m\nf = m.AdaptersMap.register_loader\n"
             f"con = psycopg.connect(DSN)\nf(con.adapters, 25, Keep)\n"
             f"con.execute({SELECT!r}).fetchall()",
    ASYNC,
]
SSN = re.compile(r"\b\d{9}\b")
TWINS = """
import psycopg, psycopg.types.json as j, psycopg.types.string as s, json, asyncpg
con = psycopg.connect(DSN)
j.set_json_loads(json.loads, con)
con.adapters.register_loader('text', s.TextLoader)
print('pg3', con.execute(\"SELECT '{\\\"a\\\": 1}'::json, city FROM customers WHERE id = 1\").fetchone())
async def f():
    c = await asyncpg.connect(host='127.0.0.1', port=PORT, user='postgres', database=NAME)
    await c.set_type_codec('json', schema='pg_catalog', encoder=json.dumps, decoder=json.loads)
    print('asyncpg', await c.fetchval(\"SELECT '{\\\"b\\\": 2}'::json\"))
await f()
"""


def _prelude(db: Db) -> str:
    return f"DSN = {db.dsn!r}\nPORT = {db.server.port}\nNAME = {db.name!r}\n"


@pytest.mark.parametrize("at", range(len(ATTACKS)))
def test_user_loaders_are_refused(kernel: Kernel, db: Db, at: int) -> None:
    r = kernel.run(_prelude(db) + ATTACKS[at], timeout=180)
    text = r.everything()
    assert r.status == "error", text[-600:]
    assert "[self-protection]" in text and "would see every value" in text, text[-600:]
    r = kernel.run("print('kept', KEPT)")
    assert "kept" in r.stream and not SSN.search(r.everything()), r.everything()[-600:]


def test_drivers_own_loaders_and_json_decoders_run(kernel: Kernel, db: Db) -> None:
    r = kernel.run(_prelude(db) + TWINS, timeout=180)
    assert r.status == "ok", r.everything()[-800:]
    assert "pg3 ({'a': 1}, 'Lyon')" in r.stream and "asyncpg {'b': 2}" in r.stream, r.stream
