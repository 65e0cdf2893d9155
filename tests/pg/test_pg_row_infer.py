"""Inference through a whole row on PostgreSQL, in a real kernel on a real server: a row cast to
text (``c::text``, ``row_to_json(c)``, ``CAST(c AS text)``) compared with a pattern holds every
column of the row, the SSNs included, and is refused (``inference``, no count printed); the same
of a table with no sensitive column runs with the correct count."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.cursor_cells import cur, psycopg_kernel, refused, served

pytestmark = pytest.mark.kernel


k = psycopg_kernel("pg-row-infer")


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM customers c WHERE c::text LIKE '%1000%'",
    "SELECT count(*) FROM customers c WHERE CAST(c AS text) LIKE '%1000%'",
    "SELECT count(*) FROM customers c WHERE row_to_json(c)::text LIKE '%1000%'",
])
def test_a_whole_row_compared_with_a_pattern_is_refused(k: Any, sql: str) -> None:
    refused(k.run(cur(sql)))


def test_a_row_of_a_plain_table_runs(k: Any) -> None:
    served(k, "SELECT count(*) FROM orders o WHERE o::text LIKE '%'")
