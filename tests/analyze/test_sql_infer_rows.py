"""What a whole row, ``COLUMNS(...)`` and a catalog view's column stand for in a comparison with
a constant (``sql_infer``/``sql_sources``): decision tables, pure (the catalog expansion is
tested by effect in ``tests/enforce/test_redteam3_infer.py``)."""
from __future__ import annotations

import pytest
import sqlglot

from jupyter_guard.analyze.sql_infer import predicate_intents
from jupyter_guard.guard.infer_catalog import view_sources


def _targets(q: str) -> list[tuple[str, str]]:
    return [(i.target, i.detail) for i in predicate_intents(sqlglot.parse_one(q, read="duckdb"))
            if not i.detail.startswith(("against", "rank"))]   # comparisons with a guess


@pytest.mark.parametrize(("q", "want"), [
    pytest.param("SELECT 1 FROM customers c WHERE c::VARCHAR LIKE '%1%'",
                 [("customers.*", ""), ("customers.c", "")], id="alias-cast"),
    pytest.param("SELECT 1 FROM customers WHERE customers::VARCHAR LIKE '%1%'",
                 [("customers.*", ""), ("customers.customers", "")], id="table-name-cast"),
    pytest.param("SELECT 1 FROM customers c WHERE to_json(c)::VARCHAR LIKE '%1%'",
                 [("customers.*", ""), ("customers.c", "")], id="to-json"),
    pytest.param("SELECT 1 FROM customers c WHERE COLUMNS(c.*) = 'a'", [("customers.*", "")],
                 id="columns-of-star"),
    pytest.param("SELECT 1 FROM customers WHERE COLUMNS('ssn') LIKE '1%'",
                 [("customers.*", "columns:ssn")], id="columns-regex"),
    pytest.param("SELECT 1 FROM customers WHERE COLUMNS(x -> x LIKE '%s%') LIKE '1%'",
                 [("customers.*", "")], id="columns-lambda"),
    pytest.param("SELECT 1 FROM (SELECT ssn AS q, id FROM customers) d WHERE d::VARCHAR LIKE 'a'",
                 [("customers.ssn", ""), ("customers.id", ""), ("customers.d", "")],
                 id="row-of-derived"),
    pytest.param("SELECT 1 FROM email e JOIN customers c ON e.id = c.id WHERE email = 'x'",
                 [("email.*", ""), ("email", "")], id="column-named-like-a-table-kept"),
    pytest.param("SELECT 1 FROM customers c WHERE c.city = 'Lyon'", [("customers.city", "")],
                 id="plain-column"),
    pytest.param("SELECT 1 FROM customers c JOIN orders o ON c.id = o.customer_id", [],
                 id="join-no-constant"),
])
def test_what_a_compared_row_stands_for(q: str, want: list[tuple[str, str]]) -> None:
    assert _targets(q) == want


@pytest.mark.parametrize(("create", "col", "want"), [
    pytest.param("CREATE VIEW v AS SELECT id, ssn AS n FROM customers;", "n",
                 ["customers.ssn"], id="renamed"),
    pytest.param("CREATE VIEW v(k, m) AS SELECT c.id, c.email FROM customers c;", "m",
                 ["customers.email"], id="column-list"),
    pytest.param("CREATE VIEW v AS FROM customers;", "ssn", ["customers.ssn"], id="from-first"),
    pytest.param("CREATE VIEW v AS SELECT * FROM customers c;", "*", ["customers.*"], id="star"),
    pytest.param("CREATE VIEW v AS SELECT upper(email) AS u FROM customers;", "u",
                 ["customers.email"], id="computed"),
    pytest.param("CREATE VIEW v AS SELECT 'x' AS z FROM customers;", "z", [], id="constant"),
    pytest.param("not a view", "x", [], id="unreadable"),
])
def test_a_catalog_view_column_stands_for_its_sources(create: str, col: str,
                                                      want: list[str]) -> None:
    assert view_sources(create, col) == want
