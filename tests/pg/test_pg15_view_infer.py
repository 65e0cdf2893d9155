"""Inference through a PostgreSQL view, in a real kernel on a real server: a view that renames
``ssn`` (``CREATE VIEW v AS SELECT id, ssn AS x FROM customers``) compared with a literal or a
pattern (``LIKE``, ``=``, ``IN``, ranges, ``~``) is decided by the ``inference`` rule as the
table's column is (refused, no count printed), whether the view was made through the guard or
by another session; a comparison on a view column that reads no sensitive column runs with the
correct count. Psycopg, and asyncpg for a view made elsewhere."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    # ``ov`` made outside the guard (another session): the guard learns it from the catalog
    with pg_kernel(pg, work_root / "pg15-view-infer",
                   "import asyncpg\nac = await asyncpg.connect("
                   "'postgresql://postgres@127.0.0.1:{port}/{db}')\n"
                   "import psycopg\npg = psycopg.connect({dsn!r}, autocommit=True)\n"
                   "pg.execute('CREATE VIEW v AS SELECT id, ssn AS x, city AS y FROM customers')",
                   "CREATE VIEW ov AS SELECT id, ssn AS x, city AS y FROM customers") as kernel:
        kernel.lyon = pg.query("SELECT count(*) FROM customers WHERE city LIKE 'L%'",
                               db=kernel.db)[0][0]
        yield kernel


def _cur(sql: str) -> str:
    return f"c = pg.cursor()\nc.execute({sql!r})\nprint('ANSWER', c.fetchall())"


def _async(sql: str) -> str:
    return f"print('ANSWER', await ac.fetchval({sql!r}))"


_GUESSES = ["x LIKE '123%'", "x = '123-45-6789'", "x IN ('123-45-6789', '987-65-4321')",
            "x BETWEEN '100' AND '200'", "x > '5'", "x ~ '^12'", "starts_with(x, '12')"]


@pytest.mark.parametrize("view", ["v", "ov"])
@pytest.mark.parametrize("guess", _GUESSES)
def test_a_renamed_sensitive_view_column_compared_is_refused(k: Any, view: str,
                                                             guess: str) -> None:
    r = k.run(_cur(f"SELECT count(*) FROM {view} WHERE {guess}"))
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


@pytest.mark.parametrize("view", ["v", "ov"])
def test_a_plain_view_column_compared_runs(k: Any, view: str) -> None:
    r = k.run(_cur(f"SELECT count(*) FROM {view} WHERE y LIKE 'L%'"))
    assert r.status == "ok", r.text
    assert f"ANSWER [({k.lyon},)]" in r.stream


@pytest.mark.parametrize("guess", ["x LIKE '123%'", "x = '100000001'"])
def test_through_asyncpg_a_renamed_view_column_compared_is_refused(k: Any, guess: str) -> None:
    """asyncpg's decision reads the views from the answers awaited before it (the same query)."""
    r = k.run(_async(f"SELECT count(*) FROM ov WHERE {guess}"))
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream
    r = k.run(_async("SELECT count(*) FROM ov WHERE y LIKE 'L%'"))
    assert r.status == "ok" and f"ANSWER {k.lyon}" in r.stream, r.text
