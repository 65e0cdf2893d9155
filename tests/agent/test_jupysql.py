"""jupysql under the guard, in a real kernel: ``%sql con`` connects, benign ``{{var}}`` templates
run with jupysql's own rendering, and values that change the statement's structure are refused
with rule ``template-injection`` before anything reaches the database."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "jupysql"
    (d / "data").mkdir(parents=True)
    with guarded_kernel(d, warehouse=50, connect=True) as kernel:
        for code in ("%load_ext sql", "%config SqlMagic.displaycon = False", "%sql con"):
            kernel.ok(code)
        yield kernel


def scalar(k: Kernel, sql: str) -> str:
    r = k.run(f"_r = %sql {sql}\nprint(list(_r.dict().values())[0][0])")
    assert r.status == "ok", r.text
    return r.text.strip().splitlines()[-1]


def rows(k: Kernel) -> tuple[str, str]:
    return scalar(k, "SELECT count(*) FROM customers"), scalar(k, "SELECT count(*) FROM orders")


@pytest.mark.parametrize("setup, cell, expected", [
    pytest.param("oid = 3", "SELECT city FROM customers WHERE id = {{oid}}", "Paris", id="int"),
    pytest.param("oid = -3", "SELECT count(*) FROM customers WHERE id > {{oid}}", "50",
                 id="negative"),
    pytest.param("city = 'Nice'", "SELECT count(*) FROM customers WHERE city = '{{city}}'", "16",
                 id="quoted-string"),
    pytest.param("t = 'main.orders'", "SELECT count(*) FROM {{t}}", "2000", id="dotted-name"),
    pytest.param("col, n = 'city', 1",
                 "SELECT {{ col }} FROM customers ORDER BY id LIMIT {{n}}", "Paris",
                 id="identifier-and-limit"),
])
def test_benign_templates_run(k: Kernel, setup: str, cell: str, expected: str) -> None:
    assert k.run(setup).status == "ok"
    r = k.run(f"_r = %sql {cell}\nprint(list(_r.dict().values())[0][0])")
    assert r.status == "ok", r.text
    assert r.text.strip().splitlines()[-1] == expected


@pytest.mark.parametrize("value, cell", [
    pytest.param("1; DROP TABLE customers", "SELECT id FROM customers WHERE id = {{oid}}",
                 id="extra-statement"),
    pytest.param("1 OR 1=1", "DELETE FROM orders WHERE order_id = {{oid}}", id="or-branch"),
    pytest.param("1 --", "DELETE FROM orders WHERE order_id = {{oid}} AND total < 0",
                 id="comment-cut"),
    pytest.param("1 /* x */ OR TRUE", "DELETE FROM orders WHERE order_id = {{oid}}",
                 id="block-comment"),
    pytest.param("x' OR '1'='1", "DELETE FROM orders WHERE CAST(order_id AS VARCHAR) = '{{oid}}'",
                 id="quote-closes-string"),
    pytest.param("x' --", "SELECT * FROM customers WHERE city = '{{oid}}' AND id < 0",
                 id="quote-and-comment"),
    pytest.param("orders UNION SELECT id, id, id FROM customers", "SELECT * FROM {{oid}}",
                 id="union"),
    pytest.param("orders; DROP TABLE customers", "SELECT * FROM {{oid}}", id="identifier-stmt"),
])
def test_injections_are_refused(k: Kernel, value: str, cell: str) -> None:
    before = rows(k)
    assert k.run(f"oid = {value!r}").status == "ok"
    for code in (f"%%sql\n{cell}", f"%sql {cell}"):
        r = k.run(code)
        assert r.status == "error", r.text
        assert r.error["ename"] == "GuardBlocked"
        assert r.reply["jupyter_guard"]["rule_id"] == "template-injection"
        assert r.reply["jupyter_guard"]["approval"]["possible"] is False
    assert rows(k) == before


def test_benign_template_write_is_judged_by_effect(k: Kernel) -> None:
    assert k.run("oid = 7").status == "ok"
    r = k.run("%%sql\nDELETE FROM orders WHERE order_id = {{oid}}")
    assert r.status == "ok", r.text
    assert scalar(k, "SELECT count(*) FROM orders WHERE order_id = 7") == "0"
    assert k.run("low = 10").status == "ok"
    big = k.run("%%sql\nDELETE FROM orders WHERE order_id > {{low}}")
    assert big.status == "error" and big.reply["jupyter_guard"]["rule_id"] == "bulk-change"
    assert big.reply["jupyter_guard"]["effect"]["rows"] == 1989
