"""``%%guarded_sql`` parameters, identifiers, limits and named connections, in a real kernel."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "sql-params"
    (d / "data").mkdir(parents=True)
    with guarded_kernel(d, warehouse=5000, connect=True) as kernel:
        yield kernel


def value(k: Kernel, expr: str) -> str:
    r = k.run(f"print({expr})")
    assert r.status == "ok", r.text
    return r.text.strip()


def total(k: Kernel) -> int:
    return int(value(k, "con.execute('SELECT count(*) FROM customers').fetchone()[0]"))


@pytest.mark.parametrize("sql", [
    pytest.param("SELECT count(*) AS c FROM customers WHERE city = :city AND id < $n", id="both"),
    pytest.param("SELECT count(*) AS c FROM customers WHERE city=:city AND id<$n", id="no-spaces"),
])
def test_parameters_bind_python_values(k: Kernel, sql: str) -> None:
    assert k.run("city = 'Paris'\nn = 30").status == "ok"
    r = k.run(f"%%guarded_sql con -o out\n{sql}")
    assert r.status == "ok", r.text
    assert value(k, "int(out.c[0])") == "10"


@pytest.mark.parametrize("evil", ["Paris' OR '1'='1", "x' OR 1=1 --",
                                  "Paris'; DROP TABLE customers; --"])
def test_values_are_never_spliced(k: Kernel, evil: str) -> None:
    assert k.run(f"city = {evil!r}").status == "ok"
    r = k.run("%%guarded_sql con -o out\nSELECT count(*) AS c FROM customers WHERE city = :city")
    assert r.status == "ok", r.text
    assert value(k, "int(out.c[0])") == "0"
    d = k.run("%%guarded_sql con\nDELETE FROM customers WHERE city = $city")
    assert d.status == "ok", d.text
    assert total(k) == 5000


def test_strings_and_casts_are_not_parameters(k: Kernel) -> None:
    r = k.run("%%guarded_sql con -o out\nSELECT ':city' AS s, '$n' AS t, 7::VARCHAR AS u, "
              "[1, 2, 3][2:3] AS v")
    assert r.status == "ok", r.text
    assert value(k, "list(out.iloc[0][['s', 't', 'u']])") == "[':city', '$n', '7']"


def test_bound_values_are_judged(k: Kernel) -> None:
    assert k.run("n = 10\nflag = True").status == "ok"
    big = k.run("%%guarded_sql con\nDELETE FROM customers WHERE id > $n")
    assert big.reply.get("jupyter_guard", {}).get("effect", {}).get("rows") == 4989, big.text
    always = k.run("%%guarded_sql con\nDELETE FROM customers WHERE :flag")
    assert always.status == "error" and always.reply["jupyter_guard"]["rule_id"] == "bulk-change"
    assert total(k) == 5000
    assert k.run("n = 4995").status == "ok"
    small = k.run("%%guarded_sql con\nDELETE FROM orders WHERE order_id > $n")
    assert small.status == "ok", small.text


def test_missing_variable_is_named(k: Kernel) -> None:
    r = k.run("%%guarded_sql con\nSELECT * FROM customers WHERE city = :nowhere")
    assert r.status == "error"
    assert ":nowhere has no value: define the Python variable 'nowhere'" in r.error["evalue"]


def test_identifiers_from_the_catalog_only(k: Kernel) -> None:
    assert k.run("col = 'city'\ntable = 'customers'").status == "ok"
    r = k.run("%%guarded_sql con -o out\nSELECT {{col}}, count(*) AS c FROM {{table}} "
              "GROUP BY ALL ORDER BY 1")
    assert r.status == "ok", r.text
    assert value(k, "list(out.city)") == "['Lyon', 'Nice', 'Paris']"
    for bad, why in [("city; DROP TABLE customers", "must hold a table or column name"),
                     ("1 OR 1=1", "must hold a table or column name"),
                     ("nosuchcolumn", "is not a table, view or column")]:
        assert k.run(f"col = {bad!r}").status == "ok"
        refused = k.run("%%guarded_sql con\nSELECT {{col}} FROM customers")
        assert refused.status == "error" and why in refused.error["evalue"], refused.text
    assert total(k) == 5000


def test_limit_and_display_limit(k: Kernel) -> None:
    r = k.run("%%guarded_sql con --limit 5 -o few\nSELECT id FROM customers ORDER BY id")
    assert r.status == "ok"
    assert "showing 5 of more than 5 rows (--limit 5)" in r.text
    assert value(k, "len(few)") == "5"
    exact = k.run("%%guarded_sql con --limit 5000 -o few\nSELECT id FROM customers")
    assert "showing" not in exact.text and value(k, "len(few)") == "5000"
    assert k.run("%config GuardedSql.displaylimit = 3").status == "ok"
    shown = k.run("%%guarded_sql con -o every\nSELECT id FROM customers ORDER BY id")
    assert "showing 3 of 5000 rows (GuardedSql.displaylimit = 3)" in shown.text
    result = next(m for m in shown.messages if m["msg_type"] == "execute_result")
    assert "<td>2</td>" in result["content"]["data"]["text/html"]
    assert "<td>3</td>" not in result["content"]["data"]["text/html"]
    assert value(k, "len(every)") == "5000"
    assert k.run("%config GuardedSql.displaylimit = 0").status == "ok"


def test_aliases_and_connections(k: Kernel) -> None:
    r = k.run("%%guarded_sql duckdb:///:memory: --alias scratchpad\n"
              "CREATE TABLE t AS SELECT 42 AS x")
    assert r.status == "ok", r.text
    assert k.run("%%guarded_sql con\nSELECT 1").status == "ok"
    back = k.run("%%guarded_sql scratchpad -o got\nSELECT x FROM t")
    assert back.status == "ok" and value(k, "int(got.x[0])") == "42"
    listing = k.run("%guard connections").text
    assert "* scratchpad" in listing and "alias of duckdb:///:memory:" in listing
    assert " con " in listing and "duckdb connection" in listing
    missing = k.run("%%guarded_sql nope\nSELECT 1")
    assert missing.status == "error"
    assert "no variable or URL named 'nope'" in missing.error["evalue"]
