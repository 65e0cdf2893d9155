"""A sensitive column renamed by an alias column list on PostgreSQL (red team 20:
``SELECT a FROM customers t(a, b, c, d) WHERE d LIKE …``), in a real kernel on a real server:
the catalog names ``d`` as ``ssn`` and the query is refused (``inference``, no answer in any
message); the benign twin (the same list, a filter on ``city``) runs with the server's answer."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import PSYCOPG, pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

G = "100000012"


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    with pg_kernel(pg, work_root / "pg-alias20", PSYCOPG) as kernel:
        yield kernel


def _cur(sql: str) -> str:
    return f"c = pg.cursor()\nc.execute({sql!r})\nprint('ANSWER', c.fetchall())"


@pytest.mark.parametrize("sql", [
    "SELECT a FROM customers t(a, b, c, d) WHERE d LIKE '1000000%'",
    f"SELECT count(*) FROM customers t(a, b, c, d) WHERE t.d = '{G}'",
    "SELECT a FROM customers t(a, b, c) WHERE c LIKE 'user12@%'",
    f"SELECT a FROM (SELECT * FROM customers) t(a, b, c, d) WHERE d = '{G}'",
    f"WITH t(a, b, c, d) AS (SELECT * FROM customers) SELECT a FROM t WHERE d = '{G}'",
])
def test_a_renamed_sensitive_column_is_refused(k: Any, sql: str) -> None:
    r = k.run(_cur(sql))
    seen = r.everything() + repr(r.reply)
    assert r.status == "error" and "[inference]" in r.everything(), seen
    assert "ANSWER" not in seen, seen


def test_the_benign_twin_runs_with_the_servers_answer(k: Any) -> None:
    sql = "SELECT a, e FROM customers t(a, b, c, d, e) WHERE e = 'Paris' ORDER BY a LIMIT 5"
    want = k.pg.query(sql, db=k.db)
    r = k.run(_cur(sql))
    assert r.status == "ok", r.everything()
    assert f"ANSWER {[tuple(w) for w in want]!r}" in r.stream, r.everything()
