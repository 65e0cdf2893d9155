"""A key that only ever holds sensitive values de-duplicates them; one that also holds a guess
answers about it (issue 15, false positives of the inference rules; red team 19's oracles). In a
real guarded kernel on a real DuckDB warehouse file (some customers share an e-mail):

- an empty ``UNIQUE`` or ``PRIMARY KEY`` column filled from ``customers.email`` (``INSERT OR
  IGNORE``, ``ON CONFLICT DO NOTHING``, a ``DISTINCT``, in one text with its ``CREATE``) runs, and
  holds what raw DuckDB's ``count(DISTINCT email)`` counts;
- the write that would put a guess beside the e-mails is refused as ``inference``, whichever
  comes first, in one text or through a table of guesses or of mixed values, and nothing of it
  is written; a foreign key into such a key judges the guesses written into it;
- a cast to a user type that only names a built-in one (``CREATE TYPE t AS VARCHAR``) runs with
  raw DuckDB's answer; one to an ``ENUM`` made under the same name afterwards is refused.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, raw_answers
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
G = "user12@example.com"   # an e-mail the warehouse holds


@pytest.fixture(scope="module")
def expected(work_root: Path) -> tuple[Path, Answers]:
    return raw_answers(work_root, {"distinct": "SELECT count(DISTINCT email) FROM customers",
                                   "ssns": "SELECT count(*), count(DISTINCT ssn) FROM customers"},
                       N, ["UPDATE customers SET email = 'user' || (id - 1) || '@example.com' "
                           "WHERE id % 7 = 1"])


@pytest.fixture(scope="module")
def k(expected: tuple[Path, Answers]) -> Iterator[Kernel]:
    with guarded_kernel(expected[0], connect=True) as kernel:
        yield kernel


def ddl(sql: str) -> str:
    return f"con.execute({sql!r}).fetchall()\n"


def count(table: str) -> str:
    return f"print('ROWS', con.execute('SELECT count(*) FROM {table}').fetchall())"


def refused(r: Reply) -> None:
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "[inference]" in r.everything(), seen
    assert "ANSWER" not in seen and "Constraint" not in seen, seen


DEDUP = {
    "unique-insert-or-ignore": ("CREATE TABLE d1 (email VARCHAR UNIQUE)",
                                "INSERT OR IGNORE INTO d1 SELECT email FROM customers", "d1"),
    "primary-key-on-conflict": ("CREATE TEMP TABLE d2 (email VARCHAR PRIMARY KEY)",
                                "INSERT INTO d2 SELECT email FROM customers "
                                "ON CONFLICT DO NOTHING", "d2"),
    "distinct-with-other-columns": ("CREATE TEMP TABLE d3 (email VARCHAR PRIMARY KEY, n INT)",
                                    "INSERT INTO d3 SELECT DISTINCT email, 1 FROM customers", "d3"),
    "one-text": ("SELECT 1", "CREATE TEMP TABLE d4 (email VARCHAR UNIQUE); "
                 "INSERT OR IGNORE INTO d4 SELECT email FROM customers", "d4"),
}


@pytest.mark.parametrize("name", list(DEDUP))
def test_a_key_filled_with_emails_only_dedupes_them(
        k: Kernel, expected: tuple[Path, Answers], name: str) -> None:
    setup, write, table = DEDUP[name]
    r = k.ok(ddl(setup) + ddl(write) + count(table))
    assert f"ROWS {expected[1]['distinct']!r}" in r.stream, r.everything()


# (setup that runs, the write that would mix a guess in, table, rows it holds before the write)
MIXED = {
    "emails-then-a-guess": ("CREATE TEMP TABLE m1 (email VARCHAR UNIQUE); "
                            "INSERT OR IGNORE INTO m1 SELECT email FROM customers",
                            f"INSERT INTO m1 VALUES ('{G}')", "m1"),
    "emails-then-a-quiet-guess": ("CREATE TEMP TABLE m2 (email VARCHAR PRIMARY KEY); "
                                  "INSERT OR IGNORE INTO m2 SELECT email FROM customers",
                                  f"INSERT INTO m2 VALUES ('{G}') ON CONFLICT DO NOTHING", "m2"),
    "a-guess-then-emails": (f"CREATE TEMP TABLE m3 (email VARCHAR UNIQUE); "
                            f"INSERT INTO m3 VALUES ('{G}')",
                            "INSERT OR IGNORE INTO m3 SELECT email FROM customers", "m3"),
    "emails-then-more-emails": ("CREATE TEMP TABLE m4 (email VARCHAR UNIQUE); "
                                "INSERT OR IGNORE INTO m4 SELECT email FROM customers "
                                "WHERE id < 100",
                                "INSERT OR IGNORE INTO m4 SELECT email FROM customers", "m4"),
    "a-guess-and-emails-in-one-write": ("CREATE TEMP TABLE m5 (email VARCHAR UNIQUE)",
                                        "INSERT OR IGNORE INTO m5 SELECT email FROM customers "
                                        f"UNION ALL SELECT '{G}'", "m5"),
    "a-guess-in-a-coalesce": ("CREATE TEMP TABLE m6 (email VARCHAR UNIQUE)",
                              f"INSERT OR IGNORE INTO m6 SELECT coalesce(NULLIF(email, "
                              f"'user11@example.com'), '{G}') FROM customers", "m6"),
    "guesses-named-email-then-emails": (
        f"CREATE TEMP TABLE g7 AS SELECT '{G}' AS email; "
        "CREATE TEMP TABLE m7 (email VARCHAR UNIQUE); INSERT INTO m7 SELECT email FROM g7",
        "INSERT OR IGNORE INTO m7 SELECT email FROM customers", "m7"),
    "a-table-of-mixed-values": (
        f"CREATE TEMP TABLE g8 AS SELECT email FROM customers UNION ALL SELECT '{G}'; "
        "CREATE TEMP TABLE m8 (email VARCHAR UNIQUE)",
        "INSERT OR IGNORE INTO m8 SELECT email FROM g8", "m8"),
    "a-join-of-guesses": (f"CREATE TEMP TABLE g9 AS SELECT 12 AS id, '{G}' AS email; "
                          "CREATE TEMP TABLE m9 (email VARCHAR UNIQUE)",
                          "INSERT OR IGNORE INTO m9 SELECT coalesce(c.email, g.email) "
                          "FROM customers c LEFT JOIN g9 g USING (id)", "m9"),
    "a-foreign-key-into-the-emails": (
        "CREATE TABLE m10 (email VARCHAR UNIQUE); "
        "INSERT OR IGNORE INTO m10 SELECT email FROM customers; "
        "CREATE TABLE f10 (y VARCHAR REFERENCES m10 (email))",
        f"INSERT INTO f10 VALUES ('{G}')", "f10"),
    "a-foreign-key-into-ssns-keyed-later": (
        "CREATE TABLE k14 AS SELECT ssn AS x FROM customers; ALTER TABLE k14 ADD PRIMARY KEY (x); "
        "CREATE TABLE f14 (y VARCHAR REFERENCES k14 (x))",
        "INSERT INTO f14 VALUES ('100000012')", "f14"),
}


@pytest.mark.parametrize("name", list(MIXED))
def test_a_write_that_mixes_a_guess_into_a_key_over_emails_is_refused(
        k: Kernel, name: str) -> None:
    setup, write, table = MIXED[name]
    r = k.ok(ddl(setup) + count(table))
    before = r.stream.split("ROWS ", 1)[1].strip()
    refused(k.run(ddl(write) + "print('ANSWER')"))
    r = k.ok(count(table))
    assert f"ROWS {before}" in r.stream, r.everything()   # nothing written


def test_a_guess_and_emails_in_one_text_are_refused(k: Kernel) -> None:
    refused(k.run(ddl(f"CREATE TEMP TABLE m11 (email VARCHAR UNIQUE); "
                      f"INSERT INTO m11 VALUES ('{G}'); "
                      "INSERT OR IGNORE INTO m11 SELECT email FROM customers") + "print('ANSWER')"))
    r = k.ok("print('TABLES', con.sql(\"SELECT count(*) FROM duckdb_tables() "
             "WHERE table_name = 'm11'\").fetchall())")
    assert "TABLES [(0,)]" in r.stream, r.everything()


def test_a_check_over_emails_stays_refused(k: Kernel) -> None:
    k.ok(ddl(f"CREATE TEMP TABLE c12 (email VARCHAR CHECK (email <> '{G}'))"))
    refused(k.run(ddl("INSERT INTO c12 SELECT email FROM customers") + "print('ANSWER')"))


def test_a_cast_to_an_alias_of_a_builtin_type_runs(
        k: Kernel, expected: tuple[Path, Answers]) -> None:
    k.ok(ddl("CREATE TYPE plain_text AS VARCHAR"))   # (a cell's SQL is read before it runs)
    r = k.ok("print('ANSWER', con.sql(\"SELECT count(*), count(DISTINCT ssn::plain_text) "
             "FROM customers WHERE try_cast(ssn AS plain_text) IS NOT NULL\").fetchall())")
    assert f"ANSWER {expected[1]['ssns']!r}" in r.stream, r.everything()


def test_an_enum_made_under_an_alias_name_is_refused(k: Kernel) -> None:
    k.ok(ddl("CREATE TYPE t13 AS VARCHAR"))
    k.ok(ddl("CREATE OR REPLACE TYPE t13 AS ENUM ('100000012')"))
    refused(k.run("print('ANSWER', con.sql(\"SELECT count(*) FROM customers "
                  "WHERE try_cast(ssn AS t13) IS NOT NULL\").fetchall())"))
