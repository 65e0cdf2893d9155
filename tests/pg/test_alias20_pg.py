"""A sensitive column renamed by an alias column list on PostgreSQL (red team 20:
``SELECT a FROM customers t(a, b, c, d) WHERE d LIKE …``), in a real kernel on a real server:
the catalog names ``d`` as ``ssn`` and the query is refused (``inference``, no answer in any
message); the benign twin (the same list, a filter on ``city``) runs with the server's answer."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.cursor_cells import cur, psycopg_kernel, refused, served

pytestmark = pytest.mark.kernel

G = "100000012"


k = psycopg_kernel("pg-alias20")


@pytest.mark.parametrize("sql", [
    "SELECT a FROM customers t(a, b, c, d) WHERE d LIKE '1000000%'",
    f"SELECT count(*) FROM customers t(a, b, c, d) WHERE t.d = '{G}'",
    "SELECT a FROM customers t(a, b, c) WHERE c LIKE 'user12@%'",
    f"SELECT a FROM (SELECT * FROM customers) t(a, b, c, d) WHERE d = '{G}'",
    f"WITH t(a, b, c, d) AS (SELECT * FROM customers) SELECT a FROM t WHERE d = '{G}'",
])
def test_a_renamed_sensitive_column_is_refused(k: Any, sql: str) -> None:
    refused(k.run(cur(sql)))


def test_the_benign_twin_runs_with_the_servers_answer(k: Any) -> None:
    served(k, "SELECT a, e FROM customers t(a, b, c, d, e) WHERE e = 'Paris' ORDER BY a LIMIT 5")
