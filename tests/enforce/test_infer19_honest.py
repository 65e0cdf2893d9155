"""Honest queries the inference rule used to refuse (red team 18's false positives) run in a real
guarded kernel with the answer a raw DuckDB computation of the same query on the same file
gives (computed before the kernel opened it):

- domain filters: a pattern that fixes only the part of an e-mail after its ``@``
  (``LIKE '%@example.com'``, ``ends_with``, ``split_part(email, '@', 2) = …``);
- data-quality checks: emptiness, length, and format patterns with no letter or digit that could
  single out a value (``NOT regexp_matches(ssn, '^\\d{3}-\\d{2}-\\d{4}$')``);
- computations with a format or a position only (``count(DISTINCT replace(ssn, '-', ''))``);
- area counts (``left(ssn, 3)`` grouped): a prefix shared by every row of a group of at least
  ``sensitive.min_group_size`` rows reveals no single value.

The attacks beside them are in ``test_infer19_computed.py``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.enforce.raw_answers import answered_kernel, same_answer
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300
HONEST = {
    "like-domain": "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'",
    "ilike-domain": "SELECT count(*) FROM customers WHERE email ILIKE '%@EXAMPLE.COM'",
    "ends-with-domain": "SELECT count(*) FROM customers WHERE ends_with(email, '@example.com')",
    "split-part-domain": "SELECT count(*) FROM customers "
                         "WHERE split_part(email, '@', 2) = 'example.com'",
    "regexp-domain": "SELECT count(*) FROM customers WHERE regexp_matches(email, '@example\\.com$')",
    "null-or-empty": "SELECT count(*) FROM customers WHERE ssn IS NULL OR ssn = ''",
    "not-empty": "SELECT count(*) FROM customers WHERE ssn <> ''",
    "length": "SELECT count(*) FROM customers WHERE length(ssn) <> 9",
    "ssn-format": "SELECT count(*) FROM customers "
                  "WHERE NOT regexp_matches(ssn, '^\\d{3}-\\d{2}-\\d{4}$')",
    "ssn-digits": "SELECT count(*) FROM customers WHERE regexp_matches(ssn, '^[0-9]{9}$')",
    "email-format": "SELECT count(*) FROM customers WHERE NOT regexp_matches(email, '^[^@]+@[^@]+$')",
    "like-shape": "SELECT count(*) FROM customers WHERE ssn LIKE '___-__-____'",
    "distinct-digits": "SELECT count(DISTINCT replace(ssn, '-', '')) FROM customers",
    "length-by-city": "SELECT city, max(length(ssn)) FROM customers GROUP BY 1 ORDER BY 1",
    "area-counts": "SELECT left(ssn, 3) AS area, count(*) FROM customers GROUP BY 1",
    "area-counts-ordered": "SELECT left(ssn, 3) AS area, count(*) AS n FROM customers "
                           "GROUP BY area ORDER BY area",
    "last-digit-counts": "SELECT right(ssn, 1) AS d, count(*), sum(amount) FROM customers "
                         "GROUP BY ALL ORDER BY 1",
    "plain-filter": "SELECT count(*) FROM customers WHERE city = 'Lyon' AND amount > 100",
}


expected, k = answered_kernel(HONEST, N)


@pytest.mark.parametrize("name", list(HONEST))
def test_an_honest_check_runs_with_the_right_answer(
        k: Kernel, expected: tuple[Path, dict[str, list[tuple[object, ...]]]], name: str) -> None:
    same_answer(k, expected, name, HONEST[name])


def test_the_relational_api_twin_runs(k: Kernel) -> None:
    r = k.ok("print('ANSWER', con.table('customers').filter(\"email LIKE '%@example.com'\")"
             ".aggregate('count(*)').fetchall())")
    assert f"ANSWER [({N},)]" in r.stream, r.everything()


@pytest.mark.parametrize("expr", [
    pytest.param("replace(ssn, '-', '')", id="separators-removed"),
    pytest.param("regexp_replace(ssn, '^\\d{5}', '*****')", id="format-masked-by-hand"),
    pytest.param("right(ssn, 4)", id="last-four"),
    pytest.param("lpad(ssn, 11, '0')", id="padded"),
])
def test_a_value_reshaped_with_a_format_is_shown_masked(k: Kernel, expr: str) -> None:
    """A value reshaped with a format or a position only runs (masked as a derived value)."""
    r = k.ok(f"print('ANSWER', con.sql(\"SELECT id, {expr} AS x FROM customers WHERE id = 12\")"
             ".fetchall())")
    assert "ANSWER [(12, " in r.stream and "100000012" not in r.everything(), r.everything()


def test_area_counts_in_guarded_sql_run(k: Kernel) -> None:
    r = k.ok("%%guarded_sql con\nSELECT left(ssn, 3) AS area, count(*) AS n FROM customers "
             "GROUP BY 1")
    assert "100" in r.everything() and str(N) in r.everything(), r.everything()
