"""%%guarded_sql on PostgreSQL with ``:name``/``$name`` parameters and ``--limit`` (the same as
on DuckDB): values go to the driver as parameters, never into the SQL text; the guard judges the
statement as the driver binds it; no transaction outlives the cell."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.conftest import Db, run
from tests.pg.test_magic import ROUTES, idle_in_transaction, target


@pytest.mark.parametrize("route", ROUTES)
def test_parameters_are_bound_not_spliced(ip: Any, db: Db, route: str) -> None:
    where = target(ip, db, route)
    ip.user_ns.update(who="x' OR '1'='1", lo=9990, city="Oslo", cid=7)
    cells = {
        "SELECT id FROM customers WHERE city = :who": 0,            # the quote is a value
        "SELECT id FROM customers WHERE id > $lo ORDER BY id": 10,
        "SELECT id FROM customers WHERE name LIKE 'name 999%' AND id > :lo": 9,  # % kept
        "SELECT id, :who AS v FROM customers WHERE id = 1": 1,
    }
    for cell, n in cells.items():
        r = run(ip, f"%%guarded_sql {where} -o got\n{cell}")
        assert r.error is None, (cell, r.error)
        assert len(ip.user_ns["got"]) == n, cell
        assert idle_in_transaction(db) == 0, cell
    assert ip.user_ns["got"]["v"][0] == "x' OR '1'='1"
    r = run(ip, f"%%guarded_sql {where} -o got\nUPDATE customers SET city = :city WHERE id = 1;\n"
                "DELETE FROM orders WHERE customer_id = :cid;\n"
                "SELECT city FROM customers WHERE id = :lo - 9989")
    assert r.error is None, r.error
    assert list(ip.user_ns["got"]["city"]) == ["Oslo"]
    assert db.query("SELECT city FROM customers WHERE id = 1") == [("Oslo",)]
    assert db.count("orders") == 50_000 - 5
    assert idle_in_transaction(db) == 0


@pytest.mark.parametrize("route", ROUTES)
def test_parameters_cannot_hide_a_bulk_change(ip: Any, db: Db, route: str) -> None:
    where = target(ip, db, route)
    ip.user_ns.update(n=30000, everyone="x' OR '1'='1", t="orders")
    for cell in ("DELETE FROM orders WHERE id <= :n",
                 "UPDATE orders SET amount = 0 WHERE id <= $n",
                 "DELETE FROM {{t}} WHERE id > :n - 30000",
                 "SELECT 1;\nDELETE FROM orders WHERE id <= :n"):
        r = run(ip, f"%%guarded_sql {where}\n{cell}")
        assert r.error is not None and getattr(r.error, "rule_id", "") == "bulk-change", (
            cell, r.error)
        assert idle_in_transaction(db) == 0, cell
    r = run(ip, f"%%guarded_sql {where}\nDELETE FROM customers WHERE city = :everyone")
    assert r.error is None, r.error   # the value matches no row: nothing deleted
    db.intact()
    assert db.query("SELECT sum(amount) FROM orders")[0][0] == db.query(
        "SELECT sum(g * 1.5) FROM generate_series(1, 50000) g")[0][0]


@pytest.mark.parametrize("route", ROUTES)
def test_limit_fetches_at_most_n_rows(ip: Any, db: Db, route: str, capsys: Any) -> None:
    where = target(ip, db, route)
    ip.user_ns.update(lo=100)
    r = run(ip, f"%%guarded_sql {where} --limit 5 -o got\nSELECT id FROM orders ORDER BY id")
    assert r.error is None, r.error
    assert list(ip.user_ns["got"]["id"]) == [1, 2, 3, 4, 5]
    assert "showing 5 of more than 5 rows" in capsys.readouterr().out
    r = run(ip, f"%%guarded_sql {where} --limit 3 -o got\n"
                "SELECT id FROM orders WHERE id > :lo ORDER BY id")
    assert r.error is None, r.error
    assert list(ip.user_ns["got"]["id"]) == [101, 102, 103]
    assert "showing 3 of more than 3 rows" in capsys.readouterr().out
    r = run(ip, f"%%guarded_sql {where} --limit 10 -o got\nSELECT id FROM orders WHERE id <= 2")
    assert r.error is None and len(ip.user_ns["got"]) == 2
    assert "showing" not in capsys.readouterr().out
    assert idle_in_transaction(db) == 0


def test_an_undefined_parameter_runs_nothing(ip: Any, db: Db) -> None:
    where = target(ip, db, "url-psycopg")
    ip.user_ns.pop("nosuchvar", None)
    r = run(ip, f"%%guarded_sql {where}\nDELETE FROM orders WHERE id = :nosuchvar")
    assert r.error is not None and "nosuchvar" in str(r.error)
    db.intact()
