"""Differencing through derived tables (red team 21, issue 15): the crowd's person is the stored
table's row, whatever stands between it and the check (``analyze.sql_crowd_carry``). Before,
the person was hashed as the derived table's row: ``WITH c AS (SELECT id, email, 'x' AS pad FROM
customers) … AND id <> 12`` hashed rows no query on ``customers`` hashes, so the pair looked
disjoint and the second answer told person 12's domain.

In a real guarded kernel on a real DuckDB file (views and a keyed copy made outside any guard),
``redact`` masking: the first query of each pair is answered, the second refused as
``inference`` with no answer in any message (``con.sql`` and ``%%guarded_sql``); a view or
derived table that merges rows has no one stored row per row and is refused; honest twins
through CTEs, views and subqueries are answered with raw DuckDB's numbers.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, ask, raw_answers, refused
from tests.kernelutil import guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
HIDES_DOMAINS = "version: 1\nextends: default\nsensitive:\n  strategy: redact\n"
DOMAIN = "email LIKE '%@example.com'"
SETUP = (   # made by a connection no guard watches, before the kernel opens the file
    "CREATE VIEW padded AS SELECT id, email, city, 'x' AS pad FROM customers",
    "CREATE VIEW merged AS SELECT id, email FROM customers GROUP BY ALL",
    "CREATE TABLE keyed (id BIGINT PRIMARY KEY, email VARCHAR, city VARCHAR)",
    "INSERT INTO keyed SELECT id, email, city FROM customers",
    "CREATE TABLE keyed_copy (id BIGINT PRIMARY KEY, email VARCHAR, city VARCHAR)",
    "INSERT INTO keyed_copy SELECT * FROM keyed WHERE id <> 12",
)
WHOLE = f"SELECT count(*) FROM customers WHERE {DOMAIN}"
PAIRS = {   # (first, answered; second, refused): they differ by person 12
    "a-cte-that-adds-a-column": (WHOLE, "WITH c AS (SELECT id, email, 'x' AS pad FROM customers) "
                                        f"SELECT count(*) FROM c WHERE id <> 12 AND {DOMAIN}"),
    "a-subquery-in-from": (WHOLE, "SELECT count(*) FROM (SELECT *, 1 AS z FROM customers) "
                                  f"WHERE id <> 12 AND {DOMAIN}"),
    "a-random-column": (WHOLE, "SELECT count(*) FROM (SELECT *, random() AS r FROM customers) s "
                               f"WHERE s.id <> 12 AND s.{DOMAIN}"),
    "a-view-that-adds-a-column": (WHOLE, f"SELECT count(*) FROM padded WHERE id <> 12 AND {DOMAIN}"),
    "a-computed-column": (WHOLE, "SELECT count(*) FROM (SELECT id, lower(email) AS email FROM "
                                 f"customers) s WHERE id <> 12 AND {DOMAIN}"),
    "a-column-dropped": (WHOLE, "SELECT count(*) FROM (SELECT id, email FROM customers) s "
                                f"WHERE id <> 12 AND {DOMAIN}"),
    "a-cte-renaming-columns": (WHOLE, "WITH c(i, m) AS (SELECT id, email FROM customers) "
                                      "SELECT count(*) FROM c WHERE i <> 12 AND "
                                      "m LIKE '%@example.com'"),
    "ctes-of-ctes": (WHOLE, "WITH a AS (SELECT * FROM customers), b AS (SELECT id, email, "
                            "'y' AS pad FROM a) SELECT count(*) FROM b WHERE id <> 12 AND "
                            f"{DOMAIN}"),
    "the-cte-first": ("WITH c AS (SELECT id, email, 'x' AS pad FROM customers) "
                      f"SELECT count(*) FROM c WHERE {DOMAIN}",
                      f"SELECT count(*) FROM customers WHERE id <> 12 AND {DOMAIN}"),
    "a-keyed-table-and-a-one-row-join": (
        f"SELECT count(*) FROM keyed WHERE {DOMAIN}",
        f"SELECT count(*) FROM keyed k, (SELECT 1 AS z) WHERE k.id <> 12 AND k.{DOMAIN}"),
    "a-keyed-table-through-a-cte": (
        f"SELECT count(*) FROM keyed WHERE {DOMAIN}",
        "WITH c AS (SELECT id, email, 'x' AS pad FROM keyed) "
        f"SELECT count(*) FROM c WHERE id <> 12 AND {DOMAIN}"),
    "a-keyed-table-renamed-by-an-alias-list": (
        f"SELECT count(*) FROM keyed WHERE {DOMAIN}",
        "SELECT count(*) FROM keyed t(a, b) WHERE a <> 12 AND b LIKE '%@example.com'"),
    "a-keyed-copy-made-elsewhere": (f"SELECT count(*) FROM keyed WHERE {DOMAIN}",
                                    f"SELECT count(*) FROM keyed_copy WHERE {DOMAIN}"),
}
CHANGES = {   # the same count on the keyed table before and after one row changes
    "delete": "DELETE FROM keyed WHERE id = 12",
    "update": "UPDATE keyed SET email = 'x@other.org' WHERE id = 12",
}
MERGED = {   # no one stored row per row: refused whatever the count
    "a-view-that-groups": f"SELECT count(*) FROM merged WHERE {DOMAIN}",
    "a-cte-that-groups": "WITH c AS (SELECT id, email, 'x' AS pad FROM customers GROUP BY ALL) "
                         f"SELECT count(*) FROM c WHERE {DOMAIN}",
    "a-distinct-subquery": "SELECT count(*) FROM (SELECT DISTINCT id, email FROM customers) s "
                           f"WHERE {DOMAIN}",
}
HONEST = {
    "cte-paris": "WITH c AS (SELECT id, email, city, 'x' AS pad FROM customers) "
                 f"SELECT count(*) FROM c WHERE city = 'Paris' AND {DOMAIN}",
    "view-lyon": f"SELECT count(*) FROM padded WHERE city = 'Lyon' AND {DOMAIN}",
    "subquery-whole": f"SELECT count(*) FROM (SELECT id, email FROM customers) s WHERE {DOMAIN}",
    "keyed-by-city": f"SELECT city, count(*) FROM keyed WHERE {DOMAIN} GROUP BY 1 ORDER BY 1",
    "keyed-again": f"SELECT count(*) FROM keyed WHERE {DOMAIN}",
}


@pytest.fixture(scope="module")
def expected(work_root: Path) -> tuple[Path, Answers]:
    return raw_answers(work_root, HONEST, N, SETUP)


def fresh(work_root: Path) -> Path:
    return raw_answers(work_root, {}, N, SETUP)[0]


@pytest.mark.parametrize("name", list(PAIRS))
def test_the_second_of_a_pair_through_a_derived_table_is_refused(work_root: Path,
                                                                 name: str) -> None:
    first, second = PAIRS[name]
    with guarded_kernel(fresh(work_root), connect=True, policy=HIDES_DOMAINS) as k:
        r = k.run(ask(first))
        assert r.status == "ok" and f"ANSWER [({N},)]" in r.stream, r.everything()
        refused(k.run(ask(second)))
        refused(k.run(f"%%guarded_sql con\n{second}"))


@pytest.mark.parametrize("name", list(CHANGES))
def test_the_same_count_after_one_keyed_row_changes_is_refused(work_root: Path,
                                                               name: str) -> None:
    q = f"SELECT count(*) FROM keyed WHERE {DOMAIN}"
    with guarded_kernel(fresh(work_root), connect=True, policy=HIDES_DOMAINS) as k:
        assert k.run(ask(q)).status == "ok"
        k.ok(f"con.execute({CHANGES[name]!r})")
        refused(k.run(ask(q)))


@pytest.mark.parametrize("name", list(MERGED))
def test_a_derived_table_that_merges_rows_is_refused(work_root: Path, name: str) -> None:
    with guarded_kernel(fresh(work_root), connect=True, policy=HIDES_DOMAINS) as k:
        refused(k.run(ask(MERGED[name])))


def test_honest_counts_through_derived_tables_are_answered(
        expected: tuple[Path, Answers]) -> None:
    with guarded_kernel(expected[0], connect=True, policy=HIDES_DOMAINS) as k:
        for name, q in HONEST.items():   # in one session: the differencing memory too
            r = k.run(ask(q))
            assert r.status == "ok" and f"ANSWER {expected[1][name]!r}" in r.stream, \
                (name, r.everything())
