"""Results of more than 200,000 rows (the slice one piece check looks at) through libpq's routes:
every value of a sensitive column is known, the 240,000th as much as the first (a file exit
refuses it), on every route; the benign twin (the same rows under a plain name) writes; when the
known values are full the fetch is refused, never handed out unremembered."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import Db, run

ROWS = 250_000
SQL = ("SELECT g AS id, ({base} + g * 7)::text AS {col} FROM generate_series(1, "
       f"{ROWS}) g ORDER BY g")
FETCH = {
    "psycopg-fetchall": "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit=True)\n"
                        "rows = con.execute({sql!r}).fetchall()",
    "psycopg-stream": "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit=True)\n"
                      "rows = list(con.cursor().stream({sql!r}))",
    "psycopg-named": "import psycopg\ncon = psycopg.connect({dsn!r})\n"
                     "cur = con.cursor(name='big')\ncur.execute({sql!r})\nrows = []\n"
                     "while (part := cur.fetchmany(60000)):\n    rows += part\ncon.rollback()",
    "psycopg2-fetchall": "import psycopg2\ncon = psycopg2.connect({dsn!r})\ncur = con.cursor()\n"
                         "cur.execute({sql!r})\nrows = cur.fetchall()\ncon.rollback()",
    "psycopg2-named": "import psycopg2\ncon = psycopg2.connect({dsn!r})\n"
                      "cur = con.cursor('big')\ncur.execute({sql!r})\nrows = cur.fetchall()\n"
                      "con.rollback()",
    "magic": "%%guarded_sql {url} -o df\n{sql}",
}


@pytest.fixture(autouse=True)
def _forget_after_each() -> Iterator[None]:
    """Each test fetches values of its own: forgetting them after it keeps the matcher of
    known values at one fetch's size (~1.5 million values and forms each)."""
    yield
    from jupyter_guard.hooks import exits

    exits.known.clear()
    exits.counted[0] = 0


def fetch(ip: Any, db: Db, route: str, col: str, base: int = 100000000) -> str:
    code = FETCH[route].format(dsn=db.dsn, url=db.url, sql=SQL.format(col=col, base=base))
    r = run(ip, code)
    assert r.error is None, r.error
    if route == "magic":
        assert run(ip, "rows = list(df.itertuples(index=False))").error is None
    if "con" in ip.user_ns:
        run(ip, "con.close()")
    value = ip.user_ns["rows"][239_999][1]
    assert value == str(base + 240_000 * 7)
    return str(value)


@pytest.mark.parametrize("route", list(FETCH))
def test_value_past_200k_rows_is_known(ip: Any, db: Db, route: str, tmp_path: Path) -> None:
    fetch(ip, db, route, "ssn", 100000000 + 10000000 * list(FETCH).index(route))   # its own
    out = tmp_path / "out.txt"
    r = run(ip, f"open({str(out)!r}, 'w').write(rows[239999][1])")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert not out.exists() or out.read_text() == ""
    run(ip, "del rows")


@pytest.mark.parametrize("route", ["psycopg-fetchall", "psycopg2-named"])
def test_plain_column_past_200k_rows_writes(ip: Any, db: Db, route: str, tmp_path: Path
                                            ) -> None:
    """The benign twin: the same rows under a name nothing marks sensitive."""
    value = fetch(ip, db, route, "code", 900000000)   # values no sensitive fetch gave
    out = tmp_path / "out.txt"
    r = run(ip, f"open({str(out)!r}, 'w').write(rows[239999][1])")
    assert r.error is None, r.error
    assert out.read_text() == value
    run(ip, "del rows")


def test_known_values_full_refuses_the_fetch(ip: Any, db: Db) -> None:
    """Past ``exits.MAX_KNOWN`` the guard cannot remember more values: the fetch is refused
    (``guard-error``, naming the fix) instead of handing out values it would not know."""
    from jupyter_guard.hooks import exits

    sql = ("SELECT (200000000 + g * 13)::text AS ssn FROM generate_series(1, 5000) g")
    r = run(ip, f"import psycopg\ncon = psycopg.connect({db.dsn!r}, autocommit=True)")
    assert r.error is None, r.error
    ip.user_ns.pop("got", None)   # the in-process shell is shared: another test's name
    counted = exits.counted[0]
    exits.counted[0] = exits.MAX_KNOWN   # as if that many values had been remembered
    try:
        r = run(ip, f"got = con.execute({sql!r}).fetchall()")
    finally:
        exits.counted[0] = counted
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "guard-error", r.error
    assert "fetch fewer rows" in str(r.error)
    assert "got" not in ip.user_ns
    r = run(ip, f"got = con.execute({sql!r}).fetchall()\ncon.close()")   # room again: it runs
    assert r.error is None, r.error
    assert len(ip.user_ns["got"]) == 5000
