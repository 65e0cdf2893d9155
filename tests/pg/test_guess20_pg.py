"""Red team 20's ``@`` and regular-expression class spellings on PostgreSQL (the same analysis
as DuckDB's, ``analyze.sql_guessfn``), in a real kernel on a real server whose SSNs are random
``ddd-dd-dddd``: an ``@`` glued to ``ssn``, a local part of an e-mail and digits in a regular
expression's class are refused (``inference``, no answer nor SSN in any message); the domain
filter and ``IS NOT NULL`` beside them run with the answer the server itself gives."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.cursor_cells import cur, psycopg_kernel, refused, served

pytestmark = pytest.mark.kernel

RANDOM_SSNS = """UPDATE customers c SET ssn = substr(x, 1, 3) || '-' || substr(x, 4, 2) || '-' ||
    substr(x, 6, 4) FROM (SELECT id AS i, lpad((abs(hashtext(id::text || 'rt20')) % 1000000000)
    ::text, 9, '0') AS x FROM customers) s WHERE c.id = s.i"""


k = psycopg_kernel("pg-guess20", setup=RANDOM_SSNS)


@pytest.mark.parametrize("spelling", [
    "('@' || ssn) = '@{s}'",
    "('@' || ssn) > '@{p}'",
    "concat_ws('@', '', ssn) = '@{s}'",
    "lpad(ssn, 12, '@') = '@{s}'",
    "('@' || ssn) LIKE '@{p}%'",
    "ssn ~ '^[{{{a}}}][{{{b}}}]'",
])
def test_an_at_sign_or_a_class_that_singles_out_an_ssn_is_refused(k: Any, spelling: str) -> None:
    s = k.ssns[0]
    sql = "SELECT count(*) FROM customers WHERE " + spelling.format(s=s, p=s[:3], a=s[0], b=s[1])
    refused(k.run(cur(sql)), k.ssns)


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'",
    "SELECT count(*) FROM customers WHERE ssn IS NOT NULL",
])
def test_the_honest_twins_run(k: Any, sql: str) -> None:
    served(k, sql)
