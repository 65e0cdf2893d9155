"""A crowd is people, and each aggregate picks its own (red team 20, issue 15). A no-guess check
on a sensitive column (``email LIKE '%@gmail.com'``) runs only as an aggregate over at least
``sensitive.min_group_size`` people (``analyze.sql_crowd``, ``guard.infer_crowd``):

- joined copies of one person are one person: ``FROM customers c, range(5) r WHERE c.id = 12``
  (and ``JOIN orders``, a self-join, ``generate_series``, ``unnest``, a table of copies, a
  derived table of one row times five) is a crowd of one;
- an aggregate's own rows are a crowd of their own: ``count_if(id = 12)``, ``count(*) FILTER
  (WHERE id = 12)``, ``bool_or(id = 12)``; two aggregates whose people differ by a few answer
  for those few; ``HAVING`` other than a floor on ``count(*)`` picks rows; a sum of an
  identifier, or of a value a CTE computes (``2 ** id``), spells out which rows passed.

In a real guarded kernel on a real DuckDB file of realistic people (random names, e-mails at six
domains, SSNs): each attack is refused as ``inference`` with no answer in any message; each
honest twin returns what a raw DuckDB connection answers on the same file.
"""
from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import new_workspace
from tests.enforce.raw_answers import ask, refused
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
HIDES_DOMAINS = "version: 1\nextends: default\nsensitive:\n  strategy: redact\n"
GMAIL = "c.email LIKE '%@gmail.com'"
PEOPLE = {   # joined rows of chosen people counted as a crowd
    "cross-range": f"SELECT count(*) FROM customers c, range(5) r WHERE c.id = 12 AND {GMAIL}",
    "cross-range-per-person": f"SELECT c.id, count(*) FROM customers c, range(5) r "
                              f"WHERE {GMAIL} GROUP BY c.id",
    "join-range": f"SELECT count(*) FROM customers c JOIN range(5) r ON true "
                  f"WHERE c.id = 12 AND {GMAIL}",
    "join-orders": f"SELECT count(*) FROM customers c JOIN orders o ON o.customer_id = c.id "
                   f"WHERE c.id = 12 AND {GMAIL}",
    "self-join-on-city": f"SELECT count(*) FROM customers c JOIN customers d ON c.city = d.city "
                         f"WHERE c.id = 12 AND {GMAIL}",
    "union-all-in-from": "SELECT count(*) FROM (SELECT * FROM customers UNION ALL SELECT * FROM "
                         "customers UNION ALL SELECT * FROM customers UNION ALL SELECT * FROM "
                         "customers UNION ALL SELECT * FROM customers) c "
                         f"WHERE c.id = 12 AND {GMAIL}",
    "tagged-union-in-from": "SELECT count(*) FROM (SELECT *, 1 AS k FROM customers UNION ALL "
                            "SELECT *, 2 FROM customers UNION ALL SELECT *, 3 FROM customers "
                            "UNION ALL SELECT *, 4 FROM customers UNION ALL SELECT *, 5 FROM "
                            f"customers) c WHERE c.id = 12 AND {GMAIL}",
    "generate-series": f"SELECT count(*) FROM customers c, generate_series(1, 5) g "
                       f"WHERE c.id = 12 AND {GMAIL}",
    "unnest": f"SELECT count(*) FROM customers c, unnest([1, 2, 3, 4, 5]) u "
              f"WHERE c.id = 12 AND {GMAIL}",
    "one-row-subquery-times-five": "SELECT count(*) FROM (SELECT * FROM customers ORDER BY id "
                                   f"LIMIT 1 OFFSET 12) c, range(5) r WHERE {GMAIL}",
    "copies-inside-a-cte": "WITH c AS (SELECT customers.* FROM customers, range(5)) "
                           f"SELECT count(*) FROM c WHERE c.id = 12 AND {GMAIL}",
}
PICKED = {   # rows chosen inside the aggregates, HAVING, sums that spell out rows
    "count-if": "SELECT count_if(id = 12), count_if(id = 13) FROM customers "
                "WHERE email LIKE '%@gmail.com'",
    "filter": "SELECT count(*) FILTER (WHERE id = 12) FROM customers "
              "WHERE email LIKE '%@gmail.com'",
    "bool-or": "SELECT bool_or(id = 12) FROM customers WHERE email LIKE '%@gmail.com'",
    "all-but-one": "SELECT count(*), count_if(id <> 12) FROM customers "
                   "WHERE email LIKE '%@gmail.com'",
    "having": "SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com' "
              "HAVING bool_or(id = 12)",
    "sum-of-powers-in-a-cte": "WITH t AS (SELECT *, (2::HUGEINT ** id)::HUGEINT AS w FROM "
                              "customers) SELECT sum(w)::VARCHAR FROM t "
                              "WHERE email LIKE '%@gmail.com' AND id < 50",
    "sum-of-powers-renamed": "WITH t AS (SELECT *, (2::HUGEINT ** id)::HUGEINT AS w FROM "
                             "customers), u AS (SELECT w AS v, email FROM t) SELECT sum(v) "
                             "FROM u WHERE email LIKE '%@gmail.com'",
    "avg-of-ids": "SELECT avg(id) FROM customers WHERE email LIKE '%@gmail.com' "
                  "AND id IN (1, 2, 4, 8, 16, 32, 64)",
}
HONEST = {
    "orders-per-city": f"SELECT c.city, count(*) FROM customers c JOIN orders o "
                       f"ON o.customer_id = c.id WHERE {GMAIL} GROUP BY c.city ORDER BY 1",
    "sum-of-amounts": "SELECT sum(amount) FROM customers WHERE email LIKE '%@gmail.com'",
    "having-a-floor": "SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com' "
                      "HAVING count(*) >= 5",
    "avg-per-city": "SELECT city, avg(amount) FROM customers WHERE email LIKE '%@gmail.com' "
                    "GROUP BY city ORDER BY city",
}
COPIES = ("CREATE TEMP TABLE pick AS SELECT c.* FROM customers c, range(5) r WHERE c.id = 12",
          "SELECT count(*) FROM pick WHERE email LIKE '%@gmail.com'")
RELATION = ("con.sql('SELECT c.* FROM customers c, range(5) r').filter(\"id = 12 AND email "
            "LIKE '%@gmail.com'\").aggregate('count(*)').fetchall()")


def warehouse(path: Path) -> None:
    """``customers`` (random first.last123@ e-mails at six domains, SSNs, three cities, amounts)
    and ``orders`` (one to four a customer, six for person 12), made outside any guard."""
    rnd = random.Random(20)
    names = ["anna", "omar", "li", "sofia", "jan", "maria", "kenji", "ada", "ravi", "eva"]
    domains = ["gmail.com", "yahoo.com", "outlook.com", "proton.me", "corp.example", "uni.edu"]
    rows = [(i, f"{rnd.choice(names)}.{rnd.choice(names)}{rnd.randint(1, 999)}@"
                f"{domains[i % 6] if i % 5 else rnd.choice(domains)}",
             f"{rnd.randint(100, 899)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}",
             ["Paris", "Lyon", "Nice"][rnd.randint(0, 2)], round(rnd.uniform(5, 500), 2))
            for i in range(N)]
    per = [6 if i == 12 else rnd.randint(1, 4) for i in range(N)]   # person 12: a crowd of rows
    owners = [i for i in range(N) for _ in range(per[i])]
    orders = [(n, i, round(rnd.uniform(1, 90), 2)) for n, i in enumerate(owners)]
    con = unwrap(duckdb.connect(str(path)))
    try:
        con.execute("CREATE TABLE customers (id BIGINT, email VARCHAR, ssn VARCHAR, "
                    "city VARCHAR, amount DECIMAL(10, 2))")
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", rows)
        con.execute("CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, "
                    "total DECIMAL(10, 2))")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?)", orders)
    finally:
        con.close()


@pytest.fixture(scope="module")
def expected(work_root: Path) -> tuple[Path, dict[str, list[tuple[object, ...]]]]:
    d = new_workspace(work_root)
    warehouse(d / "wh.duckdb")
    raw = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    try:
        gmail = raw.execute("SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com' "
                            "GROUP BY city").fetchall()
        assert min(n for (n,) in gmail) >= 5, gmail   # each city a crowd: the twins can pass
        return d, {name: raw.execute(q).fetchall() for name, q in HONEST.items()}
    finally:
        raw.close()


@pytest.fixture(scope="module")
def k(work_root: Path):  # type: ignore[no-untyped-def]
    d = new_workspace(work_root)   # its own file: the honest twins' kernel opens the other
    warehouse(d / "wh.duckdb")
    with guarded_kernel(d, connect=True, policy=HIDES_DOMAINS) as kernel:
        yield kernel


@pytest.mark.parametrize("name", list(PEOPLE))
def test_joined_copies_of_one_person_are_one_person(k: Kernel, name: str) -> None:
    refused(k.run(ask(PEOPLE[name])))
    refused(k.run(f"%%guarded_sql con\n{PEOPLE[name]}"))


@pytest.mark.parametrize("name", list(PICKED))
def test_rows_an_aggregate_or_having_picks_are_their_own_crowd(k: Kernel, name: str) -> None:
    refused(k.run(ask(PICKED[name])))


def test_a_table_of_copies_of_one_person_is_one_person(k: Kernel) -> None:
    r = k.run(f"con.execute({COPIES[0]!r})")
    assert r.status == "ok", r.everything()
    refused(k.run(ask(COPIES[1])))


def test_the_relational_api_over_copies_is_refused(k: Kernel) -> None:
    refused(k.run(f"print('ANSWER', {RELATION})"))


def test_honest_twins_return_raw_duckdbs_answers(
        expected: tuple[Path, dict[str, list[tuple[object, ...]]]]) -> None:
    with guarded_kernel(expected[0], connect=True, policy=HIDES_DOMAINS) as k:
        for name, q in HONEST.items():   # in one session: the differencing memory too
            r = k.run(ask(q))
            assert r.status == "ok" and f"ANSWER {expected[1][name]!r}" in r.stream, \
                (name, r.everything())
