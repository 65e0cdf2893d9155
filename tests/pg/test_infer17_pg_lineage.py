"""Inference decided by lineage on PostgreSQL (psycopg, a real kernel on a real server; the
analysis is the same static one as DuckDB's, ``analyze.sql_sides``): comparing ``ssn`` with
generated rows (``generate_series``, ``unnest(ARRAY[…])``), a ``VALUES`` list, a temporary table
of guesses or a table filled by ``COPY … FROM STDIN`` is refused (``inference``, no count
printed). Twins: a join on ``ssn`` with a table filled from ``customers`` and a join on a plain
column with generated rows run with the correct counts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

GEN = "lpad((100000000 + {v})::text, 9, '0')"


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    with pg_kernel(pg, work_root / "infer17-pg",
                   "import psycopg\npg = psycopg.connect({dsn!r}, autocommit=True)") as kernel:
        kernel.lyon = pg.query("SELECT count(*) FROM customers WHERE city = 'Lyon'",
                               db=kernel.db)[0][0]
        yield kernel


def _ask(sql: str) -> str:
    return f"c = pg.cursor()\nc.execute({sql!r})\nprint('ANSWER', c.fetchall())"


GUESSES = [
    pytest.param("", f"SELECT count(*) FROM customers WHERE ssn IN (SELECT {GEN.format(v='g')} "
                 "FROM generate_series(1, 50) g)", id="generate-series"),
    pytest.param("", "SELECT count(*) FROM customers c JOIN generate_series(1, 50) AS g(n) "
                 f"ON c.ssn = {GEN.format(v='g.n')}", id="generate-series-join"),
    pytest.param("", "SELECT count(*) FROM customers WHERE ssn IN (SELECT unnest(ARRAY["
                 "'100000012', '100000013']))", id="unnest-array"),
    pytest.param("", "SELECT count(*) FROM customers c JOIN (SELECT * FROM (VALUES "
                 "('100000012')) v(s)) w ON c.ssn = w.s", id="values-nested"),
    pytest.param("pg.execute('CREATE TEMP TABLE gtemp(s text)')\n"
                 "pg.execute(\"INSERT INTO gtemp VALUES ('100000012')\")\n",
                 "SELECT count(*) FROM customers WHERE ssn IN (SELECT s FROM gtemp)",
                 id="temp-table"),
    pytest.param("pg.execute('CREATE TABLE gcopy(ssn text)')\n"
                 "with pg.cursor().copy('COPY gcopy (ssn) FROM STDIN') as cp:\n"
                 "    cp.write_row(['100000012'])\n",
                 "SELECT count(*) FROM customers c JOIN gcopy g ON c.ssn = g.ssn",
                 id="copy-from-stdin"),
    pytest.param("", "SELECT count(*) FROM customers WHERE ssn = ANY(ARRAY(SELECT "
                 f"{GEN.format(v='g')} FROM generate_series(1, 50) g))", id="any-array"),
]


@pytest.mark.parametrize(("pre", "q"), GUESSES)
def test_a_guess_is_refused_as_inference(k: Any, pre: str, q: str) -> None:
    if pre:
        r = k.run(pre)
        assert r.status == "ok", r.text
    r = k.run(_ask(q))
    assert "ANSWER" not in r.stream and "inference" in r.everything(), r.everything()


def test_twins_run_with_correct_counts(k: Kernel) -> None:
    r = k.run("pg.execute('CREATE TABLE kept17(s text)')\n"
              "pg.execute('INSERT INTO kept17 SELECT ssn FROM customers ORDER BY id LIMIT 4')")
    assert r.status == "ok", r.text
    r = k.run(_ask("SELECT count(*) FROM customers c JOIN kept17 k ON c.ssn = k.s"))
    assert "ANSWER [(4,)]" in r.stream, r.everything()
    r = k.run(_ask("SELECT count(*) FROM customers c JOIN unnest(ARRAY['Lyon']) AS t(town) "
                   "ON c.city = t.town"))
    assert f"ANSWER [({k.lyon},)]" in r.stream, r.everything()  # type: ignore[attr-defined]
