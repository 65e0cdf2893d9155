"""Writes that meet a key over sensitive values by another road than one ``INSERT`` text (issue
15; red team 21). In a real guarded kernel on a real DuckDB warehouse file, each one bit per
statement before (a real SSN ran or failed, a made-up one did the other):

- a foreign key into a key filled only from ``customers.ssn`` in an earlier cell (the filled
  table's lineage is kept under the source's column name, not the key's);
- ``con.append``, ``rel.insert_into`` and ``from_df(…).insert_into`` into such a key;
- a key filled from a table named ``customers`` in another schema that the session wrote a
  guess into (the source is judged by its place, not its bare name).

Each is refused as ``inference`` the same way for a real SSN and a made-up one, and nothing is
written; a key filled from the warehouse's own ``customers`` still runs.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
GUESSES = {"hit": "100000012", "miss": "999999999"}   # a real SSN, one nobody has


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=N)
    with guarded_kernel(d, connect=True) as kernel:
        yield kernel


def sql(text: str) -> str:
    return f"con.sql({text!r})\n"


def rows(k: Kernel, table: str) -> str:
    r = k.ok(f"print('ROWS', con.sql('SELECT count(*) FROM {table}').fetchall())")
    return r.stream.split("ROWS ", 1)[1].strip()


def refusal(r: Reply) -> str:
    """The refusal, without what only quotes the user's statement: the same for the hit and
    the miss, so the refusal answers nothing."""
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "[inference]" in seen, seen
    assert "ANSWER" not in seen and "Constraint" not in seen and "Duplicate" not in seen, seen
    got = r.reply["jupyter_guard"]   # the reply's refusal; ids differ per run, and the
    # statement quoted in the reason is the user's own text (cut at a length, guess and all)
    return repr((got["rule_id"], got["action"], got["effect"]["columns"],
                 str(got["reason"]).split(" (", 1)[0]))


def test_a_foreign_key_into_a_key_filled_in_an_earlier_cell_is_refused(k: Kernel) -> None:
    k.ok(sql("CREATE TABLE f1 (x VARCHAR UNIQUE)") + sql("INSERT INTO f1 SELECT ssn FROM customers"))
    k.ok(sql("CREATE TABLE ff1 (y VARCHAR REFERENCES f1 (x))"))
    seen = {refusal(k.run(sql(f"INSERT INTO ff1 VALUES ('{g}')") + "print('ANSWER')"))
            for g in GUESSES.values()}
    assert len(seen) == 1, seen
    assert rows(k, "ff1") == "[(0,)]"


ROUTES = {
    "append": "import pandas as pd\ncon.append('{t}', pd.DataFrame({{'x': ['{g}']}}))\n",
    "values-insert-into": "con.values(['{g}']).insert_into('{t}')\n",
    "from-df-insert-into": "import pandas as pd\n"
                           "con.from_df(pd.DataFrame({{'x': ['{g}']}})).insert_into('{t}')\n",
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_write_around_sql_into_a_filled_key_is_refused(k: Kernel, route: str) -> None:
    table = f"a_{route.replace('-', '_')}"
    k.ok(sql(f"CREATE TEMP TABLE {table} (x VARCHAR UNIQUE)") +
         sql(f"INSERT INTO {table} SELECT ssn FROM customers"))
    assert rows(k, table) == f"[({N},)]"
    seen = {refusal(k.run(ROUTES[route].format(t=table, g=g) + "print('ANSWER')"))
            for g in GUESSES.values()}
    assert len(seen) == 1, seen
    assert rows(k, table) == f"[({N},)]"   # nothing appended, whichever the guess


def test_a_key_filled_from_a_customers_table_of_guesses_elsewhere_is_refused(k: Kernel) -> None:
    seen = set()
    for tag, g in GUESSES.items():
        k.ok(sql(f"CREATE SCHEMA s_{tag}") + sql(f"CREATE TABLE s_{tag}.customers (ssn VARCHAR)") +
             sql(f"INSERT INTO s_{tag}.customers VALUES ('{g}')") +
             sql(f"INSERT INTO s_{tag}.customers SELECT ssn FROM main.customers"))
        k.ok(sql(f"CREATE TABLE ck_{tag} (x VARCHAR PRIMARY KEY)"))
        seen.add(refusal(k.run(sql(f"INSERT INTO ck_{tag} SELECT ssn FROM s_{tag}.customers") +
                               "print('ANSWER')")))
        assert rows(k, f"ck_{tag}") == "[(0,)]"
    assert len(seen) == 1, seen


def test_a_key_filled_from_the_warehouse_still_runs(k: Kernel) -> None:
    k.ok(sql("CREATE TEMP TABLE twin (x VARCHAR UNIQUE)") +
         sql("INSERT INTO twin SELECT ssn FROM customers"))
    assert rows(k, "twin") == f"[({N},)]"
    k.ok(sql("CREATE SCHEMA s_twin") +
         sql("CREATE TABLE s_twin.customers AS SELECT ssn FROM main.customers") +
         sql("CREATE TABLE twin2 (x VARCHAR PRIMARY KEY)") +
         sql("INSERT INTO twin2 SELECT ssn FROM s_twin.customers"))
    assert rows(k, "twin2") == f"[({N},)]"   # a copy the session made from the warehouse only
