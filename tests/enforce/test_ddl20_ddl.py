"""Inference through generated columns and DDL that judges a table's values (issue 15; red team
20): a generated column computing ``x = G`` over written SSNs, a unique index or primary key
added over SSNs and a guess, a prefix index, a column's type changed to an ``ENUM`` of guesses,
and ``COPY … FROM`` a file of guesses into a key over SSNs each answer about single values. Each
is refused as ``inference`` in a real guarded kernel on a real DuckDB warehouse file, no answer
reaches any message, and the judging table is unchanged. The honest twins (a generated
``upper(city)``, a plain index on e-mails, unique keys on ids, a unique index over e-mails
only) run with the answer raw DuckDB gives on the same file.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, answered_kernel
from tests.enforce.test_ddl19_oracles import G, N, ask, ddl, refused
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


expected, k = answered_kernel({
    "upper-city": "SELECT upper(city), count(*) FROM customers GROUP BY 1 ORDER BY 1",
    "emails": "SELECT count(*), count(DISTINCT email) FROM customers",
    "gmail": "SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com'"}, N)


def _keys(t: str) -> str:
    return (f"(SELECT count(*) FROM duckdb_indexes() WHERE table_name = '{t}') + "
            f"(SELECT count(*) FROM duckdb_constraints() WHERE table_name = '{t}' "
            "AND constraint_type <> 'NOT NULL')")


# (setup, attack, a query of the judging table, its answer before the attack)
ATTACKS = {
    "generated-member": (
        f"CREATE TEMP TABLE gc1 (x VARCHAR, y BOOLEAN GENERATED ALWAYS AS (x = '{G}') VIRTUAL)",
        "INSERT INTO gc1 (x) SELECT ssn FROM customers", "SELECT count(*) FROM gc1", 0),
    "generated-rank-one-person": (
        "CREATE TEMP TABLE gc2 (x VARCHAR, y BOOLEAN GENERATED ALWAYS AS (x > '100000150'))",
        "INSERT INTO gc2 (x) SELECT ssn FROM customers WHERE id = 77",
        "SELECT count(*) FROM gc2", 0),
    "generated-domain-one-person": (
        "CREATE TEMP TABLE gc3 (x VARCHAR, y BOOLEAN GENERATED ALWAYS AS "
        "(x LIKE '%@gmail.com') VIRTUAL)",
        "INSERT INTO gc3 (x) SELECT email FROM customers WHERE id = 12",
        "SELECT count(*) FROM gc3", 0),
    "generated-in-the-same-text": (
        "SELECT 1",
        f"CREATE TEMP TABLE gc4 (x VARCHAR, y BOOLEAN GENERATED ALWAYS AS (x = '{G}') VIRTUAL); "
        "INSERT INTO gc4 (x) SELECT ssn FROM customers",
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'gc4'", 0),
    "unique-index-after-the-fill": (
        f"CREATE TEMP TABLE ui1 AS SELECT ssn AS x FROM customers; INSERT INTO ui1 VALUES ('{G}')",
        "CREATE UNIQUE INDEX ui1_x ON ui1 (x)", f"SELECT {_keys('ui1')}", 0),
    "primary-key-after-the-fill": (
        f"CREATE TEMP TABLE pk1 AS SELECT ssn AS x FROM customers; INSERT INTO pk1 VALUES ('{G}')",
        "ALTER TABLE pk1 ADD PRIMARY KEY (x)", f"SELECT {_keys('pk1')}", 0),
    "add-unique-after-the-fill": (
        f"CREATE TEMP TABLE pk2 AS SELECT ssn AS x FROM customers; INSERT INTO pk2 VALUES ('{G}')",
        "ALTER TABLE pk2 ADD UNIQUE (x)", f"SELECT {_keys('pk2')}", 0),
    "ssns-and-a-guess-in-one-insert": (
        "CREATE TEMP TABLE u7 (x VARCHAR); "
        f"INSERT INTO u7 SELECT ssn FROM customers UNION ALL SELECT '{G}'",
        "CREATE UNIQUE INDEX u7_i ON u7 (x)", f"SELECT {_keys('u7')}", 0),
    "prefix-index-one-person": (
        "CREATE TEMP TABLE xi1 AS SELECT ssn AS x FROM customers WHERE id = 12; "
        "INSERT INTO xi1 VALUES ('100')",
        "CREATE UNIQUE INDEX xi1_i ON xi1 (left(x, 3))", f"SELECT {_keys('xi1')}", 0),
    "guess-in-the-key-expression": (
        "CREATE TEMP TABLE xi2 AS SELECT ssn AS x FROM customers WHERE id IN (12, 13)",
        f"CREATE UNIQUE INDEX xi2_i ON xi2 ((x = '{G}'))", f"SELECT {_keys('xi2')}", 0),
    "alter-type-to-an-enum": (
        f"CREATE TYPE ge20 AS ENUM ('{G}', 'zzz'); "
        "CREATE TEMP TABLE at1 AS SELECT ssn AS x FROM customers WHERE id = 12",
        "ALTER TABLE at1 ALTER x TYPE ge20 USING x::ge20",
        "SELECT data_type FROM duckdb_columns() WHERE table_name = 'at1'", "'VARCHAR'"),
    "set-data-type-enum": (
        f"CREATE TYPE ge20b AS ENUM ('{G}', 'zzz'); "
        "CREATE TEMP TABLE at2 AS SELECT ssn AS x FROM customers WHERE id = 12",
        "ALTER TABLE at2 ALTER x SET DATA TYPE ge20b",
        "SELECT data_type FROM duckdb_columns() WHERE table_name = 'at2'", "'VARCHAR'"),
    "alter-type-using-a-comparison": (
        "CREATE TEMP TABLE at3 AS SELECT ssn AS x FROM customers",
        f"ALTER TABLE at3 ALTER x TYPE BOOLEAN USING x = '{G}'",
        "SELECT data_type FROM duckdb_columns() WHERE table_name = 'at3'", "'VARCHAR'"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_ddl_judging_sensitive_values_is_refused(k: Kernel, name: str) -> None:
    setup, attack, probe, before = ATTACKS[name]
    k.ok(ddl(setup))
    follow = ask("SELECT count(*) FROM gc1 WHERE y") if name == "generated-member" else ""
    refused(k.run(ddl(attack) + follow + "print('ANSWER')"))
    r = k.ok(f"print('STATE', con.execute({probe!r}).fetchall())")
    assert f"STATE [({before},)]" in r.stream, r.everything()   # nothing judged, nothing written


def test_copy_from_a_file_of_guesses_into_a_key_over_ssns_is_refused(k: Kernel,
                                                                    tmp_path: Path) -> None:
    f = tmp_path / "guesses.csv"
    f.write_text(f"x\n{G}\n")
    k.ok(ddl("CREATE TEMP TABLE cf1 AS SELECT ssn AS x FROM customers")
         + ddl("CREATE UNIQUE INDEX cf1_i ON cf1 (x)"))   # SSNs only: de-duplication
    refused(k.run(ddl(f"COPY cf1 FROM '{f}' (HEADER)") + "print('ANSWER')"))
    r = k.ok("print('ROWS', con.execute('SELECT count(*) FROM cf1').fetchall())")
    assert f"ROWS [({N},)]" in r.stream, r.everything()


# the honest twins, run in turn in one kernel: (statements, a query of what they made, the key
# of raw DuckDB's answer in ``expected``, or the rows)
TWINS: list[tuple[tuple[str, ...], str, str | list[tuple[int]]]] = [
    (("CREATE TEMP TABLE hg (c VARCHAR, u VARCHAR GENERATED ALWAYS AS (upper(c)) VIRTUAL)",
      "INSERT INTO hg (c) SELECT city FROM customers"),
     "SELECT u, count(*) FROM hg GROUP BY 1 ORDER BY 1", "upper-city"),
    (("CREATE TEMP TABLE he AS SELECT id, email FROM customers",
      "INSERT INTO he VALUES (1000, 'someone@example.org')",
      "CREATE INDEX he_i ON he (email)", "CREATE UNIQUE INDEX he_id ON he (id)"),
     "SELECT count(*) FROM he WHERE email LIKE '%@gmail.com'", "gmail"),
    (("CREATE TEMP TABLE hk AS SELECT id, ssn FROM customers",
      "INSERT INTO hk VALUES (1000, '999999999')", "ALTER TABLE hk ADD PRIMARY KEY (id)"),
     "SELECT count(*) FROM hk", [(N + 1,)]),
    (("CREATE TEMP TABLE hu AS SELECT email FROM customers",
      "CREATE UNIQUE INDEX hu_i ON hu (email)"),
     "SELECT count(*), count(DISTINCT email) FROM hu", "emails"),
    (("CREATE TEMP TABLE hv (email VARCHAR)", "INSERT INTO hv SELECT email FROM customers",
      "CREATE UNIQUE INDEX hv_i ON hv (email)"),
     "SELECT count(*), count(DISTINCT email) FROM hv", "emails"),
]


def test_honest_generated_columns_indexes_and_keys_work(
        k: Kernel, expected: tuple[Path, Answers]) -> None:
    for statements, q, want in TWINS:
        rows = expected[1][want] if isinstance(want, str) else want
        r = k.ok("".join(ddl(st) for st in statements) + ask(q))
        assert f"ANSWER {rows!r}" in r.stream, r.everything()
