"""Inference through a whole row on PostgreSQL, in a real kernel on a real server: a row cast to
text (``c::text``, ``row_to_json(c)``, ``CAST(c AS text)``) compared with a pattern holds every
column of the row, the SSNs included, and is refused (``inference``, no count printed); the same
of a table with no sensitive column runs with the correct count."""
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
    with pg_kernel(pg, work_root / "pg-row-infer", PSYCOPG) as kernel:
        kernel.orders = pg.query("SELECT count(*) FROM orders", db=kernel.db)[0][0]
        yield kernel


def _cur(sql: str) -> str:
    return f"c = pg.cursor()\nc.execute({sql!r})\nprint('ANSWER', c.fetchall())"


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM customers c WHERE c::text LIKE '%1000%'",
    "SELECT count(*) FROM customers c WHERE CAST(c AS text) LIKE '%1000%'",
    "SELECT count(*) FROM customers c WHERE row_to_json(c)::text LIKE '%1000%'",
])
def test_a_whole_row_compared_with_a_pattern_is_refused(k: Any, sql: str) -> None:
    r = k.run(_cur(sql))
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_a_row_of_a_plain_table_runs(k: Any) -> None:
    r = k.run(_cur("SELECT count(*) FROM orders o WHERE o::text LIKE '%'"))
    assert r.status == "ok", r.text
    assert f"ANSWER [({k.orders},)]" in r.stream
