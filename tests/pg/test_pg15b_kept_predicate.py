"""A comparison with a constant allowed once, on a PostgreSQL view another session then redefines
to read ``ssn`` (``CREATE OR REPLACE VIEW … AS SELECT id, ssn AS x …``, run by the tests' own
unguarded connection): the same text run again is refused by ``inference``, on every route that
reads its answer without a cursor fetch (psycopg2's ``cur.rowcount``: the route the kept decision
let through before), and on the routes decided anew anyway (psycopg 3, ``%%guarded_sql``,
asyncpg). The kept decision is keyed on the views' fingerprint (``guard.decisions``). Twins: a
view left as it was keeps answering, with the correct count, before and after another view
changed. Real kernel, real server."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

ROUTES = {   # psycopg2's rowcount: no fetch, no result read whole (psycopg 3's is, ``held``)
    "psycopg2 rowcount": "c = p2.cursor()\nc.execute(\"SELECT id FROM {v} WHERE x LIKE "
                         "'{p}%'\")\nprint('ANSWER', c.rowcount)",
    "rowcount": "c = pg.cursor()\nc.execute(\"SELECT id FROM {v} WHERE x LIKE '{p}%'\")\n"
                "print('ANSWER', c.rowcount)",
    "magic": "%%guarded_sql {url} -o df\nSELECT count(*) AS n FROM {v} WHERE x LIKE '{p}%'",
    "asyncpg": "print('ANSWER', await ac.fetchval(\"SELECT count(*) FROM {v} WHERE x LIKE "
               "'{p}%'\"))",
}


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    with pg_kernel(pg, work_root / "pg15b-kept",
                   "import psycopg, psycopg2, asyncpg\np2 = psycopg2.connect({dsn!r})\n"
                   "p2.autocommit = True\npg = psycopg.connect({dsn!r}, autocommit=True)\n"
                   "ac = await asyncpg.connect('postgresql://postgres@127.0.0.1:{port}/{db}')"
                   ) as kernel:
        kernel.url = f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/{kernel.db}"
        kernel.lyon = pg.query("SELECT count(*) FROM customers WHERE city LIKE 'L%'",
                               db=kernel.db)[0][0]
        yield kernel


def _run(k: Any, route: str, view: str, prefix: str) -> Any:
    r = k.run(ROUTES[route].format(v=view, p=prefix, url=k.url))
    if route == "magic" and r.status == "ok":
        r = k.run("print('ANSWER', int(df.n[0]))")
    return r


def _view(k: Any, sql: str) -> str:
    name = "v" + uuid.uuid4().hex[:8]
    k.pg.query(f"CREATE VIEW {name} AS SELECT id, {sql} AS x FROM customers", db=k.db)
    return name


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_kept_comparison_is_decided_again_when_the_view_changed_elsewhere(
        k: Any, route: str) -> None:
    v = _view(k, "city")
    for _ in range(2):   # allowed, then kept
        r = _run(k, route, v, "1")
        assert r.status == "ok" and "ANSWER 0" in r.stream, r.text
    k.pg.query(f"CREATE OR REPLACE VIEW {v} AS SELECT id, ssn AS x FROM customers", db=k.db)
    r = _run(k, route, v, "1")
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_view_left_as_it_was_keeps_answering(k: Any, route: str) -> None:
    keep, other = _view(k, "city"), _view(k, "city")
    r = _run(k, route, keep, "L")
    assert r.status == "ok" and f"ANSWER {k.lyon}" in r.stream, r.text
    k.pg.query(f"CREATE OR REPLACE VIEW {other} AS SELECT id, ssn AS x FROM customers",
               db=k.db)
    for _ in range(2):
        r = _run(k, route, keep, "L")
        assert r.status == "ok" and f"ANSWER {k.lyon}" in r.stream, r.text
