"""The asyncpg attack tests' shared parts: the DELETE a cell tries to send past the guard, the
check that a cell doing so is refused with the data intact, and the honest twin (asyncpg's own
pool reset and transactions, and a plain connection, still run with correct results)."""
from __future__ import annotations

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.test_magic import idle_in_transaction

# a function of the user's sending a 30,000-row DELETE through a connection it is handed
SRC = "async def f(c):\n    return await c.execute('DELETE FROM orders WHERE id <= 30000')\n"


def refused(k: Kernel, db: Db, cell: str) -> None:
    """``cell`` (which uses ``raw``, an asyncpg connection opened by ``saved_connect``, a
    reference taken before the guard loaded) ends refused, and the data is intact."""
    r = k.run(f"raw = await saved_connect({db.url.replace('+psycopg', '')!r})")
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    r = k.run("await raw.close()")
    assert r.status == "ok", r.text
    db.intact()


def own_calls_run(k: Kernel, db: Db) -> None:
    """asyncpg's transactions and its pool's connection reset call the routed methods from
    asyncpg's own code; a one-row DELETE and a read through them give correct results, as does
    a one-row DELETE on a connection opened by the saved ``connect``."""
    url = db.url.replace("+psycopg", "")
    r = k.run(f"pool = await asyncpg.create_pool({url!r}, min_size=1, max_size=1)\n"
              "async with pool.acquire() as c:\n"
              "    async with c.transaction():\n"
              "        print('del', await c.execute('DELETE FROM orders WHERE id = 1'))\n"
              "async with pool.acquire() as c:\n"
              "    print('left', await c.fetchval('SELECT count(*) FROM orders'))\n"
              "await pool.close()\n"
              f"raw = await saved_connect({url!r})\n"
              "print('raw', await raw.execute('DELETE FROM orders WHERE id = 2'))\n"
              "await raw.close()")
    assert r.status == "ok", r.text
    for line in ("del DELETE 1", "left 49999", "raw DELETE 1"):
        assert line in r.text, r.text
    assert db.count("orders") == 50_000 - 2
    assert idle_in_transaction(db) == 0
