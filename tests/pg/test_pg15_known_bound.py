"""A PostgreSQL fetch whose new sensitive values do not fit the known values' bounds
(``exits.MAX_KNOWN`` values, ``MAX_KNOWN_BYTES``) is refused (``guard-error``, naming the fix)
before any of them is remembered or handed out, even when the bound was not reached before the
fetch (one fetch must not overshoot it), on every libpq route; the benign twin (the same fetch
with room for it) runs and its values are known. The bounds are brought near by setting the
counters (as ``test_big_results`` does), not by fetching gigabytes. Real in-process shell,
real server."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.pg.conftest import Db, run

N = 5000
SQL = f"SELECT g AS id, (400000000 + g * 11)::text AS ssn FROM generate_series(1, {N}) g"
FETCH = {
    "psycopg-fetchall": "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit=True)\n"
                        "got = con.execute({sql!r}).fetchall()",
    "psycopg-stream": "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit=True)\n"
                      "got = list(con.cursor().stream({sql!r}))",
    "psycopg-named": "import psycopg\ncon = psycopg.connect({dsn!r})\n"
                     "cur = con.cursor(name='big')\ncur.execute({sql!r})\n"
                     "got = cur.fetchmany(" + str(N) + ")",
    "psycopg2-fetchall": "import psycopg2\ncon = psycopg2.connect({dsn!r})\ncur = con.cursor()\n"
                         "cur.execute({sql!r})\ngot = cur.fetchall()",
    "magic": "%%guarded_sql {url} -o got\n{sql}",
}


@pytest.fixture()
def counters() -> Iterator[Any]:
    from jupyter_guard.hooks import exits

    counted, held = exits.counted[0], exits.held[0]
    exits.remember(["pg15-bound-anchor"])   # something known: ``held`` is kept while it is
    yield exits
    exits.counted[0], exits.held[0] = counted, held
    exits.known.clear()
    exits.counted[0] = 0


def _fetch(ip: Any, db: Db, route: str) -> Any:
    ip.user_ns.pop("got", None)
    r = run(ip, FETCH[route].format(dsn=db.dsn, url=db.url, sql=SQL))
    if "con" in ip.user_ns:
        run(ip, "con.close()")
    return r


@pytest.mark.parametrize("route", list(FETCH))
def test_a_fetch_that_would_pass_the_count_bound_is_refused(ip: Any, db: Db, route: str,
                                                             counters: Any) -> None:
    counters.counted[0] = counters.MAX_KNOWN - 100   # not full: 5000 new values do not fit
    r = _fetch(ip, db, route)
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "guard-error", r.error
    assert "fetch fewer rows" in str(r.error)
    assert "got" not in ip.user_ns
    assert counters.counted[0] == counters.MAX_KNOWN - 100   # none remembered
    counters.counted[0] = counters.MAX_KNOWN - 2 * N   # room for it: it runs, all known
    r = _fetch(ip, db, route)
    assert r.error is None, r.error
    got = ip.user_ns["got"]
    ssns = got.ssn.tolist() if hasattr(got, "ssn") else [row[1] for row in got]
    assert len(ssns) == N and set(ssns) <= counters.known


def test_a_fetch_that_would_pass_the_byte_bound_is_refused(ip: Any, db: Db,
                                                           counters: Any) -> None:
    counters.held[0] = counters.MAX_KNOWN_BYTES - 100_000   # 5000 SSNs and forms do not fit
    r = _fetch(ip, db, "psycopg-fetchall")
    assert isinstance(r.error, PermissionError) and r.error.rule_id == "guard-error", r.error
    assert "got" not in ip.user_ns
    r = run(ip, f"import psycopg\ncon = psycopg.connect({db.dsn!r}, autocommit=True)\n"
                "got = con.execute('SELECT id, city FROM customers').fetchall()\ncon.close()")
    assert r.error is None, r.error   # the plain twin: nothing to remember, it runs
    assert len(ip.user_ns["got"]) == 10_000
