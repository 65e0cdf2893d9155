"""Inference by ordering: ranking rows by a sensitive column while showing something else in that
order (``SELECT id … ORDER BY ssn``, ``rank() OVER (ORDER BY email)``, ``ntile``, ``arg_min``,
an ordered ``list``) reveals roughly where each value lies, and is refused by the ``inference``
rule. Benign twins run with correct results: ordering by other columns or by a property, a
sensitive column sorted and shown alone (masked), and ``min``/``max`` per group (whole values,
masked: no raw value in any message)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 3000   # ranks up to 3000: most are 4 digits, so no check for short pieces catches them


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "order_inference"
    d.mkdir()
    with guarded_kernel(d, warehouse=N, connect=True) as kernel:
        yield kernel


ORDERED = [
    pytest.param("SELECT id FROM customers ORDER BY ssn LIMIT 5", id="order-by"),
    pytest.param("SELECT id FROM customers ORDER BY ssn DESC LIMIT 1", id="order-by-desc-top"),
    pytest.param("SELECT c.id FROM customers c ORDER BY c.ssn", id="aliased-table"),
    pytest.param("SELECT id, ssn AS s FROM customers ORDER BY s", id="output-alias"),
    pytest.param("SELECT id, ssn FROM customers ORDER BY 2", id="position"),
    pytest.param("SELECT * FROM customers ORDER BY email", id="star"),
    pytest.param("SELECT id, rank() OVER (ORDER BY email) AS r FROM customers", id="rank"),
    pytest.param("SELECT id, row_number() OVER (ORDER BY ssn) FROM customers", id="row-number"),
    pytest.param("SELECT id, ntile(10) OVER (ORDER BY ssn) FROM customers", id="ntile"),
    pytest.param("SELECT id, percent_rank() OVER (ORDER BY upper(email)) FROM customers",
                 id="percent-rank-of-expression"),
    pytest.param("SELECT id, lag(id) OVER (ORDER BY ssn) FROM customers", id="lag-other-column"),
    pytest.param("SELECT id FROM customers QUALIFY row_number() OVER (ORDER BY ssn) <= 3",
                 id="qualify"),
    pytest.param("SELECT arg_min(id, ssn), arg_max(id, ssn) FROM customers", id="arg-min"),
    pytest.param("SELECT city, min_by(id, email) FROM customers GROUP BY city", id="min-by"),
    pytest.param("SELECT list(id ORDER BY ssn) FROM customers", id="ordered-list"),
    pytest.param("SELECT string_agg(CAST(id AS VARCHAR), ',' ORDER BY email) FROM customers",
                 id="ordered-string-agg"),
    pytest.param("SELECT id FROM (SELECT id, ssn FROM customers ORDER BY ssn) t LIMIT 3",
                 id="subquery"),
    pytest.param("WITH t AS (SELECT id, ssn AS x FROM customers) SELECT id FROM t ORDER BY x "
                 "LIMIT 5", id="cte-alias"),
    pytest.param("SELECT id FROM (SELECT id, ssn AS x FROM customers) t ORDER BY x LIMIT 5",
                 id="derived-alias"),
    pytest.param("SELECT arg_min(id, x) FROM (SELECT id, email AS x FROM customers) t",
                 id="arg-min-derived-alias"),
]


@pytest.mark.parametrize("q", ORDERED)
def test_ranking_by_a_sensitive_column_is_refused(k: Kernel, q: str) -> None:
    r = k.blocked(f"print(con.sql({q!r}).fetchall())", "inference")
    assert r.stream == ""
    text = r.everything()   # a QUALIFY on the rank compares it with a constant as well
    assert "ranks rows by sensitive column" in text or "QUALIFY" in q.upper(), text


def test_guarded_sql_and_execute_are_refused_too(k: Kernel) -> None:
    k.blocked("%%guarded_sql con\nSELECT id, rank() OVER (ORDER BY ssn) FROM customers",
              "inference")
    k.blocked("con.execute('SELECT id FROM customers ORDER BY email LIMIT 3').fetchall()",
              "inference")


def test_ordering_by_other_columns_or_a_property_runs(k: Kernel) -> None:
    r = k.ok("print(con.sql('SELECT id, city FROM customers ORDER BY city, id LIMIT 2')"
             ".fetchall())")
    assert r.stream.strip() == "[(1, 'Lyon'), (4, 'Lyon')]"
    r = k.ok("print(con.sql('SELECT id FROM customers ORDER BY length(email), id LIMIT 3')"
             ".fetchall())")
    assert r.stream.strip() == "[(0,), (1,), (2,)]"
    r = k.ok("print(con.sql('SELECT id, rank() OVER (PARTITION BY city ORDER BY amount) AS r "
             "FROM customers ORDER BY id LIMIT 3').fetchall())")
    assert r.stream.strip() == "[(0, 1), (1, 1), (2, 1)]"


def test_a_sensitive_column_sorted_and_shown_alone_is_masked_not_refused(k: Kernel) -> None:
    r = k.ok("x = con.sql('SELECT ssn FROM customers ORDER BY ssn DESC').fetchall()\n"
             "print(len(x)); print(x[:3])")
    assert r.stream.splitlines()[0] == str(N)
    assert "1000000" not in json.dumps([m["content"] for m in r.outputs])


def test_min_and_max_per_group_are_masked_whole_values(k: Kernel) -> None:
    r = k.ok("print(con.sql('SELECT city, min(ssn) AS lo, max(ssn) AS hi FROM customers "
             "GROUP BY city ORDER BY city').fetchall())")
    sent = json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply])
    assert "Lyon" in sent and "1000000" not in sent
