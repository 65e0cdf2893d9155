"""A rendering function's format, template, character set or fill is no guess (issue 15, false
positives of the inference rules): ``strftime(birth_date, '%Y-%m')``, ``encode(email)`` (its
character set), ``format('{:>12}', ssn)``, ``printf('SSN %s', ssn)`` and ``lpad(ssn, 11, '0')``
write a value out; none compares it with anything. In a real guarded kernel on a real DuckDB
warehouse file each honest query runs with the answer a raw DuckDB connection gives on the same
file (shown row by row: it runs, masked). The attacks beside them, a guess searched for, replaced,
matched by a parsing format or compared with a rendered value, are still refused as
``inference`` with no answer in any message.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, answered_kernel, ask, refused, same_answer
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300
G = "100000012"   # an SSN the warehouse holds (customer 12)
HONEST = {
    "birth-months": "SELECT strftime(birth_date, '%Y-%m') AS m, count(*) FROM customers "
                    "GROUP BY 1 ORDER BY 1",
    "encoded-emails": "SELECT count(DISTINCT encode(email)), sum(octet_length(encode(email))) "
                      "FROM customers",
    "formatted-ssns": "SELECT count(DISTINCT format('{:>12}', ssn)) FROM customers",
    "printed-ssns": "SELECT count(DISTINCT printf('SSN %s', ssn)) FROM customers",
    "padded-ssns": "SELECT count(DISTINCT lpad(ssn, 11, '0')) FROM customers",
}
SHOWN = [
    "encode(email)",
    "strftime(birth_date, '%Y-%m-%d')",
    "printf('SSN %s', ssn)",
    "format('{:>12}', ssn)",
]
ATTACKS = [
    f"SELECT count(*) FROM customers WHERE contains(ssn, '{G}')",
    f"SELECT sum(length(replace(ssn, '{G}', ''))) FROM customers",
    f"SELECT id, replace(ssn, '{G}', 'HIT') AS x FROM customers",
    f"SELECT count(*) FROM customers WHERE regexp_replace(ssn, '^{G}$', '') = ''",
    f"SELECT count(*) FROM customers WHERE printf('%s', ssn) = '{G}'",
    f"SELECT count(*) FROM customers WHERE format('{{}}', ssn) = '{G}'",
    f"SELECT count(*) FROM customers WHERE try_strptime(ssn, '{G}') IS NOT NULL",
    f"SELECT sum(strpos(printf('%s', ssn), '{G}')) FROM customers",
    "SELECT count(*) FROM customers WHERE strftime(birth_date, '%Y-%m-%d') = '1970-01-13'",
]


expected, k = answered_kernel(HONEST, N, [
    "ALTER TABLE customers ADD COLUMN birth_date DATE",
    "UPDATE customers SET birth_date = DATE '1970-01-01' + CAST(id % 90 AS INT)"])


@pytest.mark.parametrize("name", list(HONEST))
def test_a_rendered_value_runs_with_the_right_answer(
        k: Kernel, expected: tuple[Path, Answers], name: str) -> None:
    same_answer(k, expected, name, HONEST[name])


@pytest.mark.parametrize("expr", SHOWN)
def test_a_rendered_value_shown_row_by_row_runs_masked(k: Kernel, expr: str) -> None:
    r = k.ok(f"print('ANSWER', con.sql(\"SELECT id, {expr} AS x FROM customers WHERE id = 12\")"
             ".fetchall())")
    seen = r.everything() + repr(r.reply)
    assert "ANSWER [(12, " in r.stream and G not in seen and "user12@" not in seen, seen


def test_a_rendered_value_in_guarded_sql_runs(k: Kernel, expected: tuple[Path, Answers]) -> None:
    r = k.ok("%%guarded_sql con\nSELECT count(DISTINCT printf('SSN %s', ssn)) AS n "
             "FROM customers")
    assert str(expected[1]["printed-ssns"][0][0]) in r.everything(), r.everything()


@pytest.mark.parametrize("q", ATTACKS)
def test_a_guess_beside_a_rendering_is_refused(k: Kernel, q: str) -> None:
    refused(k.run(ask(q)))
