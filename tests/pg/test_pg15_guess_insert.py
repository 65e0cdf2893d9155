"""Inference by a join against a guess table filled after it was made, on PostgreSQL (psycopg,
a real kernel on a real server): ``CREATE TABLE g(s text)`` then ``INSERT INTO g VALUES
('…')`` holds only the attacker's guesses, so ``ssn IN (SELECT s FROM g)`` or ``JOIN g ON
c.ssn = g.s`` is refused (``inference``, no count printed). Twins: a table filled from
``customers`` joins on ``ssn``, a guess table joined on a plain column runs, both with the
correct counts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import PSYCOPG, pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    with pg_kernel(pg, work_root / "pg15-guess-insert", PSYCOPG) as kernel:
        kernel.ssn = kernel.ssns[0]
        kernel.towns = pg.query("SELECT count(*) FROM customers WHERE city IN ('Lyon', 'Nice')",
                                db=kernel.db)[0][0]
        yield kernel


def _ask(sql: str) -> str:
    return f"c = pg.cursor()\nc.execute({sql!r})\nprint('ANSWER', c.fetchall())"


@pytest.mark.parametrize("fill", ["INSERT INTO {t} VALUES ('{g}')",
                                  "INSERT INTO {t}(s) VALUES ('{g}'), ('x')",
                                  "INSERT INTO {t} SELECT '{g}'"])
@pytest.mark.parametrize("probe", ["SELECT count(*) FROM customers WHERE ssn IN "
                                   "(SELECT s FROM {t})",
                                   "SELECT count(*) FROM customers c JOIN {t} g ON c.ssn = g.s",
                                   "SELECT count(*) FROM customers WHERE ssn = ANY(ARRAY("
                                   "SELECT s FROM {t}))"])
def test_a_table_filled_with_guesses_compared_with_ssn_is_refused(k: Any, fill: str,
                                                                  probe: str) -> None:
    t = f"g{abs(hash((fill, probe))) % 10**8}"
    r = k.run(f"pg.execute('CREATE TABLE {t}(s text, n int)')\n"
              f"pg.execute({fill.format(t=t, g=k.ssn)!r})")
    assert r.status == "ok", r.text
    r = k.run(_ask(probe.format(t=t)))
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_a_table_filled_from_customers_joins_on_ssn(k: Any) -> None:
    r = k.run("pg.execute('CREATE TABLE kept(s text)')\n"
              "pg.execute('INSERT INTO kept SELECT ssn FROM customers ORDER BY id LIMIT 4')")
    assert r.status == "ok", r.text
    r = k.run(_ask("SELECT count(*) FROM customers c JOIN kept k ON c.ssn = k.s"))
    assert r.status == "ok", r.text
    assert "ANSWER [(4,)]" in r.stream


def test_a_guess_table_joined_on_a_plain_column_runs(k: Any) -> None:
    r = k.run("pg.execute('CREATE TABLE towns(s text)')\n"
              "pg.execute(\"INSERT INTO towns VALUES ('Lyon'), ('Nice')\")")
    assert r.status == "ok", r.text
    r = k.run(_ask("SELECT count(*) FROM customers c JOIN towns t ON c.city = t.s"))
    assert r.status == "ok", r.text
    assert f"ANSWER [({k.towns},)]" in r.stream
