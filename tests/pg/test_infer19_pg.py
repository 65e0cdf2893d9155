"""Inference by a computed guess on PostgreSQL (the same analysis as DuckDB's,
``analyze.sql_guessfn``), in a real kernel on a real server: a guess combined with ``ssn`` by a
function or an operator, then aggregated or filtered on, is refused (``inference``, no answer in
any message); the honest twins (a domain filter, data-quality checks) run with the count the
server itself gives."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.cursor_cells import cur, psycopg_kernel, refused, served

pytestmark = pytest.mark.kernel

G = "100000012"


k = psycopg_kernel("pg-infer19")


@pytest.mark.parametrize("sql", [
    f"SELECT min(length(replace(ssn, '{G}', ''))) FROM customers",
    f"SELECT count(*) FROM customers WHERE replace(ssn, '{G}', '') <> ssn",
    f"SELECT min(length(regexp_replace(ssn, '{G}', ''))) FROM customers",
    "SELECT sum(sign(ssn::bigint - 100000150)) FROM customers",
    "SELECT min(abs(ssn::bigint - 100000150)) FROM customers",
    f"SELECT max(strpos(ssn, '{G}')) FROM customers",
])
def test_a_computed_guess_is_refused(k: Any, sql: str) -> None:
    refused(k.run(cur(sql)))


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'",
    "SELECT count(*) FROM customers WHERE split_part(email, '@', 2) = 'example.com'",
    "SELECT count(*) FROM customers WHERE ssn IS NULL OR ssn = ''",
    "SELECT count(*) FROM customers WHERE length(ssn) <> 9",
    "SELECT count(*) FROM customers WHERE ssn !~ '^[0-9]{3}-[0-9]{2}-[0-9]{4}$'",
])
def test_an_honest_check_runs(k: Any, sql: str) -> None:
    served(k, sql)


def test_area_counts_run(k: Any) -> None:
    """A table-wide histogram of ``left(ssn, 3)`` over groups of ``min_group_size`` rows."""
    served(k, "SELECT left(ssn, 3) AS area, count(*) FROM customers GROUP BY 1")


def test_pieces_over_small_groups_stay_refused(k: Any) -> None:
    refused(k.run(cur("SELECT right(ssn, 2) AS d, count(*) FROM customers WHERE id < 40 "
                      "GROUP BY 1")))
