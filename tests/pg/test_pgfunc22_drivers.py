"""Red team 22b on every driver's notice channel (psycopg2 ``.notices``, pg8000 ``.notices``,
asyncpg ``add_log_listener``): a DO block that raises a sensitive column's values, in the ``~``
and ``*3`` forms no value detector knows, is refused before it runs; a function a DBA made that
reads ``ssn`` shows no SSN; an honest DO block with a constant notice runs and its notice
arrives. Same random 300 people as ``test_pgfunc22_functions``."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer
from tests.pg.test_pgfunc22_functions import SETUP, recovered, sent

pytestmark = pytest.mark.kernel

ROUTES = {
    "psycopg2": "import psycopg2\npg = psycopg2.connect({dsn!r})\npg.autocommit = True\n"
                "def q(sql):\n    cur = pg.cursor()\n    cur.execute(sql)\n"
                "    print('NOTICES', pg.notices)\n"
                "    return [tuple(r) for r in cur.fetchall()] if cur.description else None",
    "pg8000": "import pg8000.dbapi\npg = pg8000.dbapi.connect(user='postgres', host='127.0.0.1', "
              "port={port}, database={db!r})\npg.autocommit = True\n"
              "def q(sql):\n    cur = pg.cursor()\n    cur.execute(sql)\n"
              "    print('NOTICES', list(pg.notices))\n"
              "    return [tuple(r) for r in cur.fetchall()] if cur.description else None",
    "asyncpg": "import asyncpg, asyncio\n"
               "ac = await asyncpg.connect('postgresql://postgres@127.0.0.1:{port}/{db}')\n"
               "NOTES = []\n"
               "ac.add_log_listener(lambda c, m: (NOTES.append(m.message), print('NOTICE', "
               "m.message)))",
}
DO = ["DO $$DECLARE r record; BEGIN FOR r IN SELECT id, ssn FROM customers WHERE id <= 300 "
      "LOOP RAISE NOTICE '% %', r.id, replace(r.ssn, '-', '~'); END LOOP; END$$",
      "DO $$DECLARE r record; BEGIN FOR r IN SELECT id, ssn FROM customers WHERE id <= 300 "
      "LOOP RAISE NOTICE '% %', r.id, replace(r.ssn, '-', '')::bigint * 3; END LOOP; END$$"]


@pytest.fixture(scope="module", params=list(ROUTES))
def k(pg: PgServer, work_root: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    with pg_kernel(pg, work_root / f"pgfunc22-{request.param}", ROUTES[request.param],
                   SETUP) as kernel:
        kernel.route = request.param
        yield kernel


def _exec(k: Any, sql: str) -> str:
    return f"await ac.execute({sql!r})" if k.route == "asyncpg" else f"q({sql!r})"


def _rows(k: Any, sql: str) -> str:
    return f"print(await ac.fetch({sql!r}))" if k.route == "asyncpg" else f"print(q({sql!r}))"


@pytest.mark.parametrize("sql", DO)
def test_a_do_block_raising_derived_values_is_refused(k: Any, sql: str) -> None:
    r = k.run(_exec(k, sql))
    text = sent(r)
    assert r.status == "error" and "exfiltration" in text, text[-600:]
    assert recovered(text) == {"ssn": 0, "email": 0}


@pytest.mark.parametrize("sql", ["SELECT id, f3(id) FROM customers WHERE id <= 300",
                                 "SELECT id, e(id) FROM customers WHERE id <= 300"])
def test_a_dba_function_shows_no_ssn(k: Any, sql: str) -> None:
    r = k.run(_rows(k, sql))
    text = sent(r)
    assert recovered(text) == {"ssn": 0, "email": 0}, text[:600]


def test_an_honest_do_block_runs_and_its_notice_arrives(k: Any) -> None:
    wait = ("\nfor _ in range(200):\n    if NOTES:\n        break\n"
            "    await asyncio.sleep(0.05)\nprint(NOTES)")   # the listener runs on the loop
    r = k.run(_exec(k, "DO $$BEGIN RAISE NOTICE 'made %', 41 + 1; END$$") +
              (wait if k.route == "asyncpg" else ""))
    assert r.status == "ok" and "made 42" in r.text, r.text
