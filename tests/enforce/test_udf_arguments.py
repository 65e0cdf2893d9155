"""Python functions registered with ``create_function`` receive column values straight from
DuckDB, in the middle of a statement the guard may be measuring. In a real kernel: the values a
statement passes them from sensitive columns are known values inside the function (a file write
of them is refused, nothing raw on disk), the function's own actions are judged like any other
user code (a bulk DELETE it runs leaves the table intact), and functions over plain columns, or
in a targeted DELETE, work with correct results."""
from __future__ import annotations

import duckdb
import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exits import _no_raw

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb", rows=500)
    kernel.ok("import duckdb, pyarrow as pa\nfrom duckdb.sqltypes import BIGINT, VARCHAR\n"
              "con = duckdb.connect('wh.duckdb')\ncur = con.cursor()")
    return kernel


def _rows(k, table: str = "orders") -> int:
    k.ok("con.close()")
    c = duckdb.connect(str(k.workdir / "wh.duckdb"), read_only=True)
    try:
        return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        c.close()
        k.ok("con = duckdb.connect('wh.duckdb')\ncur = con.cursor()")


LEAKS = [
    pytest.param("def keep(x):\n    open(F, 'a').write(x + ',')\n    return x\n"
                 "con.create_function('keep', keep, [VARCHAR], VARCHAR)\n"
                 "con.execute('SELECT count(keep(ssn)) FROM customers').fetchall()", id="select"),
    pytest.param("def keep(x):\n    open(F, 'a').write(x + ',')\n    return 1\n"
                 "con.create_function('keep', keep, [VARCHAR], BIGINT)\n"
                 "con.execute('SELECT id FROM customers WHERE keep(email) = 1').fetchall()",
                 id="where"),
    pytest.param("def keep(x):\n    open(F, 'a').write(','.join(x.to_pylist()))\n    return x\n"
                 "con.create_function('keep', keep, [VARCHAR], VARCHAR, type='arrow')\n"
                 "con.execute('SELECT count(keep(s)) FROM (SELECT ssn AS s FROM customers)')"
                 ".fetchall()", id="arrow-renamed-subquery"),
    pytest.param("def keep(x):\n    open(F, 'a').write(x + ',')\n    return x\n"
                 "duckdb.create_function('keep', keep, [VARCHAR], VARCHAR, connection=con)\n"
                 "con.execute('SELECT count(keep(ssn)) FROM customers').fetchall()",
                 id="module-level-create"),
    pytest.param("def keep(a, x):\n    open(F, 'a').write(str(x) + ',')\n    return a\n"
                 "con.create_function('keep', keep, [BIGINT, VARCHAR], BIGINT)\n"
                 "con.execute('UPDATE orders SET total = total WHERE order_id = 1 AND "
                 "keep(1, (SELECT string_agg(ssn) FROM customers)) = 1')", id="in-a-dml"),
]


@pytest.mark.parametrize("code", LEAKS)
def test_sensitive_arguments_written_by_the_function_are_refused(k, code, request):
    f = f"udf_{request.node.callspec.id}.txt"
    r = k.run(f"F = {f!r}\ntry:\n    con.remove_function('keep')\nexcept Exception:\n"
              f"    pass\n{code}")
    # refused as exfiltration, or (in a DML) as a change the guard could not count because the
    # function's write was refused while the rows were counted
    assert r.status == "error" and "Blocked by jupyter_guard" in r.everything(), r.everything()
    assert "exfiltration" in r.everything() or "could not count" in r.everything()
    if (k.workdir / f).exists():
        _no_raw((k.workdir / f).read_bytes())


def test_a_bulk_delete_inside_a_function_leaves_the_table_intact(k):
    r = k.run("def wipe(x):\n    cur.execute('DELETE FROM orders WHERE order_id >= 0')\n"
              "    return x\n"
              "con.create_function('wipe', wipe, [BIGINT], BIGINT)\n"
              "con.execute('DELETE FROM orders WHERE order_id = wipe(1)')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.everything(), r.everything()
    assert _rows(k) == 2000


def test_functions_over_plain_columns_work(k):
    r = k.ok("def up(x):\n    open('cities.txt', 'a').write(x + ',')\n    return x.upper()\n"
             "con.create_function('up', up, [VARCHAR], VARCHAR)\n"
             "print(con.execute('SELECT up(city) FROM customers ORDER BY id LIMIT 3')"
             ".fetchall())\n"
             "open('cities2.txt', 'w').write(','.join(sorted({c for (c,) in "
             "con.execute('SELECT city FROM customers').fetchall()})))")
    assert "[('PARIS',), ('LYON',), ('NICE',)]" in r.everything(), r.everything()
    assert (k.workdir / "cities.txt").read_text().startswith("Paris,Lyon,Nice,")
    assert (k.workdir / "cities2.txt").read_text() == "Lyon,Nice,Paris"
    k.ok("con.create_function('same', lambda x: x, [BIGINT], BIGINT)\n"
         "con.execute('DELETE FROM orders WHERE order_id = same(7)')")
    assert _rows(k) == 1999
