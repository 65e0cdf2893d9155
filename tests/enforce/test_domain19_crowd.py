"""No-guess checks (a domain, a format, a length) on a sensitive column answer for the
people they are asked of (red team 18: ``WHERE id = 12 AND email LIKE '%@gmail.com'`` tells one
person's domain). They run only as an aggregate over a crowd: the rows the check's answer depends
on, per group, number at least ``sensitive.min_group_size`` (measured before the query runs,
``guard.infer_crowd``), and no output shows a row (``analyze.sql_crowd``). In a real guarded
kernel on a real DuckDB warehouse file: each attack is refused as ``inference`` with no answer
in any message; each honest twin's answer equals a raw DuckDB computation on the same file.
Whether a value is there at all (``IS [NOT] NULL``) is asked of anyone, chosen rows included:
every listing shows it (a masked value beside a NULL).

The kernel's policy masks with ``redact``, which hides an e-mail's domain: under ``partial``,
which shows it, a domain check is asked of anyone (``test_fp20_crowd.py``).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.enforce.raw_answers import answered_kernel, ask, refused, same_answer
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300
HIDES_DOMAINS = "version: 1\nextends: default\nsensitive:\n  strategy: redact\n"
CHOSEN = [   # a check asked of chosen rows: a filter, a key, a window, a row listing
    "SELECT count(*) FROM customers WHERE id = 12 AND email LIKE '%@example.com'",
    "SELECT count(*) FROM customers WHERE id = 12 AND ends_with(email, '@example.com')",
    "SELECT count(*) FROM customers WHERE id = 12 AND split_part(email, '@', 2) = 'example.com'",
    "SELECT count(*) FROM customers WHERE id = 12 AND regexp_matches(ssn, '^\\d{9}$')",
    "SELECT count(*) FROM customers WHERE length(ssn) = 9 AND id = 12",
    "SELECT count(*) FROM customers WHERE NOT (id = 12 AND email LIKE '%@example.com')",
    "SELECT count_if(email LIKE '%@example.com') FROM customers WHERE id = 12",
    "SELECT sum(CASE WHEN id = 12 AND email LIKE '%@example.com' THEN 1 ELSE 0 END) "
    "FROM customers",
    "SELECT count(*) FILTER (WHERE length(ssn) = 9) FROM customers WHERE id = 12",
    "SELECT id, count(*) FROM customers WHERE email LIKE '%@example.com' GROUP BY id",
    "SELECT id, email LIKE '%@example.com' AS g FROM customers WHERE id IN (12, 13)",
    "SELECT id FROM customers WHERE email LIKE '%@example.com' AND id < 20",
    "SELECT id, count_if(length(ssn) = 9) OVER (PARTITION BY id) FROM customers",
    "SELECT min(id) FROM customers WHERE email LIKE '%@example.com'",
    "SELECT sum(pow(2, id % 60)) FROM customers WHERE email LIKE '%@example.com'",
    "SELECT count(*) FROM (SELECT * FROM customers WHERE email LIKE '%@example.com') "
    "WHERE id = 12",
    "WITH t AS (SELECT id FROM customers WHERE length(ssn) = 9) SELECT count(*) FROM t "
    "WHERE id = 12",
    "SELECT email LIKE '%@example.com' AS g, count(*) FROM customers WHERE id = 12 GROUP BY 1",
]
HONEST = {
    "domain-count": "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'",
    "domain-ends-with": "SELECT count(*) FROM customers WHERE ends_with(email, '@example.com')",
    "domain-histogram": "SELECT split_part(email, '@', 2) AS d, count(*) FROM customers "
                        "GROUP BY 1 ORDER BY 1",
    "null-count": "SELECT count(*) FROM customers WHERE ssn IS NULL",
    "length-count": "SELECT count(*) FROM customers WHERE length(ssn) <> 9",
    "format-over-a-large-filter": "SELECT count(*) FROM customers WHERE id > 100 "
                                  "AND NOT regexp_matches(ssn, '^\\d{3}-\\d{2}-\\d{4}$')",
    "null-by-city": "SELECT city, count_if(ssn IS NULL), count(*) FROM customers "
                    "GROUP BY city ORDER BY city",
    "domain-share": "SELECT avg((email LIKE '%@example.com')::INT), sum(amount) FROM customers",
    "two-checks": "SELECT count(*) FROM customers WHERE ssn IS NOT NULL AND length(email) > 5",
    "domain-over-a-large-filter": "SELECT count(*) FROM customers WHERE id > 100 "
                                  "AND email LIKE '%@example.com'",
    "null-of-one-person": "SELECT count(*) FROM customers WHERE ssn IS NULL AND id = 12",
    "listing-with-a-value": "SELECT id FROM customers WHERE ssn IS NOT NULL AND id < 20 "
                            "ORDER BY id",
    "null-per-row": "SELECT id, count_if(email IS NULL) FROM customers WHERE id < 10 "
                    "GROUP BY 1 ORDER BY 1",
    "check-as-a-key": "SELECT email LIKE '%@example.com' AS g, count(*) FROM customers "
                      "GROUP BY 1",
}


expected, k = answered_kernel(HONEST, N, policy=HIDES_DOMAINS)


@pytest.mark.parametrize("q", CHOSEN)
def test_a_check_asked_of_chosen_rows_is_refused(k: Kernel, q: str) -> None:
    refused(k.run(ask(q)))


def test_a_check_of_chosen_rows_through_the_relational_api_is_refused(k: Kernel) -> None:
    refused(k.run("print('ANSWER', con.table('customers').filter(\"id = 12 AND email LIKE "
                  "'%@example.com'\").aggregate('count(*)').fetchall())"))


def test_a_check_of_chosen_rows_in_guarded_sql_is_refused(k: Kernel) -> None:
    r = k.run("%%guarded_sql con\nSELECT count(*) AS n FROM customers WHERE id = 12 "
              "AND email LIKE '%@example.com'")
    assert r.status == "error" and "[inference]" in r.everything(), r.everything()


@pytest.mark.parametrize("name", list(HONEST))
def test_a_check_over_a_crowd_runs_with_the_right_answer(
        k: Kernel, expected: tuple[Path, dict[str, list[tuple[object, ...]]]], name: str) -> None:
    same_answer(k, expected, name, HONEST[name])


def test_a_check_over_a_crowd_through_the_relational_api_runs(
        k: Kernel, expected: tuple[Path, dict[str, list[tuple[object, ...]]]]) -> None:
    r = k.ok("print('ANSWER', con.table('customers').filter(\"id > 100 AND email LIKE "
             "'%@example.com'\").aggregate('count(*)').fetchall())")
    assert f"ANSWER {expected[1]['domain-over-a-large-filter']!r}" in r.stream, r.everything()
