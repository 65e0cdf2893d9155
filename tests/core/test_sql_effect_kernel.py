"""Issue 14's forms in a real ipykernel: refused by their measured effect, the cell ends in error,
the message states the effect, the table is untouched; benign twins give correct results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel, guarded_kernel


@pytest.fixture(scope="module")
def kern(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / "sql-effect-kernel"
    d.mkdir(parents=True)
    make_warehouse(d / "wh.duckdb")
    con = duckdb.connect(str(d / "wh.duckdb"))   # before any guard: the test's own set-up
    con.execute("CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner VARCHAR)")
    con.execute("INSERT INTO accounts SELECT range, 'o' || range FROM range(5000)")
    con.close()
    # rows are checked by value here (ssn = 'x'): the inference rule is tested apart
    policy = "version: 1\nextends: default\nsensitive:\n  inference: allow\n"
    with guarded_kernel(d, policy=policy, connect=True) as kernel:
        yield kernel, d


def count(kernel: Kernel, where: str = "TRUE") -> str:
    r = kernel.run(f'print(con.execute("SELECT count(*) FROM customers WHERE {where}")'
                   '.fetchone()[0])')
    return r.text.strip()


@pytest.mark.parametrize("code,says", [
    ('con.execute("MERGE INTO customers USING (SELECT range AS id FROM range(5000)) s '
     'ON customers.id = s.id WHEN MATCHED THEN DELETE")', "would delete 5000 rows of customers"),
    ("con.execute(\"INSERT OR REPLACE INTO accounts SELECT id, 'x' FROM accounts\")",
     "would update 5000 rows of accounts"),
    ("con.execute(\"INSERT INTO accounts SELECT id, 'x' FROM accounts ON CONFLICT DO UPDATE "
     "SET owner = excluded.owner\")", "would update 5000 rows of accounts"),
    ("con.table('customers').update({'city': duckdb.ConstantExpression('X')})",
     "updates every row of customers (no WHERE clause, 5000 rows)"),
    ("con.execute(\"ALTER TABLE customers ALTER COLUMN email SET DATA TYPE VARCHAR USING NULL\")",
     "would rewrite column email in 5000 rows of customers"),
    ("%%guarded_sql con\nCREATE TABLE IF NOT EXISTS customers (id INT);\nDROP TABLE customers",
     "destructive-ddl"),
])
def test_refused_by_effect_in_a_kernel(kern, code, says):
    kernel, _ = kern
    r = kernel.run(code)
    assert r.status == "error"
    assert says in r.text
    assert "Blocked by jupyter_guard" in r.text
    assert count(kernel) == "5000"
    r = kernel.run("print(con.execute(\"SELECT count(*) FROM accounts "
                   "WHERE owner = 'x'\").fetchone()[0])")
    assert r.text.strip() == "0"
    assert count(kernel, "email IS NULL OR city = 'X' OR ssn = 'x'") == "0"


def test_benign_twins_in_a_kernel(kern):
    kernel, _ = kern
    r = kernel.run('print(con.execute("MERGE INTO customers USING (SELECT range AS id FROM '
                   "range(5)) s ON customers.id = s.id WHEN MATCHED THEN UPDATE SET city = 'Y'\")"
                   ".fetchall())")
    assert r.status == "ok" and r.text.strip() == "[(5,)]"
    assert count(kernel, "city = 'Y'") == "5"
    r = kernel.run("%%guarded_sql con\nCREATE TABLE IF NOT EXISTS scratch (a INT);\n"
                   "ALTER TABLE scratch RENAME TO scratch2;\nDROP TABLE scratch2")
    assert r.status == "ok", r.text
    r = kernel.run('print(con.execute("EXPLAIN DELETE FROM customers").fetchall()[0][0])')
    assert r.status == "ok" and "physical_plan" in r.text
    assert count(kernel) == "5000"


def test_threads_of_one_cell_share_its_row_limit(kern):
    """40 threads each deleting 50 rows of ``accounts`` (2,000 in all) through their own
    cursors: each effect is judged against what the others already committed, so no more than
    ``max_affected_rows`` (1,000) go, whatever the interleaving."""
    kernel, _ = kern
    r = kernel.run("import threading\n"
                   "def part(j):\n"
                   "    try:\n"
                   "        con.cursor().execute(f'DELETE FROM accounts WHERE id < 2000 AND "
                   "id % 40 = {j}')\n"
                   "    except Exception:\n"
                   "        pass\n"
                   "ts = [threading.Thread(target=part, args=(j,)) for j in range(40)]\n"
                   "[t.start() for t in ts]; [t.join() for t in ts]\n"
                   "print(con.execute('SELECT count(*) FROM accounts WHERE id < 2000')"
                   ".fetchone()[0])")
    left = int(r.text.strip().splitlines()[-1])
    assert 1000 <= left < 2000, r.text   # at most 1,000 deleted, and honest parts did run
