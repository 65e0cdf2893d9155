"""The SQL analyser as a decision table, plus properties: whitespace, comments and case never change
what a statement is."""
from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_guard.analyze.sql import analyze_sql
from jupyter_guard.model import Intent
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.load import load_or_refuse
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import Context


def classify(text: str) -> list[tuple[str, str]]:
    return [(s.type.name, s.query) for s in duckdb.extract_statements(text)]


def first(sql: str, dialect: str = "duckdb") -> Intent:
    a = analyze_sql(sql, dialect, classify=classify if dialect == "duckdb" else None)
    return a.intents[0]


CASES = [
    pytest.param("DROP TABLE main.customers", "sql.drop", "main.customers", "", id="drop-qualified"),
    pytest.param("DROP VIEW v", "sql.drop", "v", "", id="drop-view"),
    pytest.param("DROP SCHEMA s CASCADE", "sql.drop", "s", "", id="drop-schema"),
    pytest.param("TRUNCATE t", "sql.truncate", "t", "", id="truncate"),
    pytest.param("ALTER TABLE t DROP COLUMN ssn", "sql.drop_column", "t", "", id="drop-column"),
    pytest.param("ALTER TABLE t ADD COLUMN x INT", "sql.alter", "t", "", id="add-column"),
    pytest.param("CREATE OR REPLACE TABLE t AS SELECT 1", "sql.replace", "t", "", id="replace"),
    pytest.param("CREATE TEMP TABLE t AS SELECT 1", "sql.create", "t", "", id="temp"),
    pytest.param("DELETE FROM t", "sql.delete", "t", "none", id="delete-all"),
    pytest.param("DELETE FROM t WHERE 1=1", "sql.delete", "t", "always", id="delete-1-1"),
    pytest.param("DELETE FROM t WHERE a = a AND 1 = 1", "sql.delete", "t", "always", id="and-tautologies"),
    pytest.param("DELETE FROM t WHERE a = 1 OR (2 > 1)", "sql.delete", "t", "always", id="or-comparison"),
    pytest.param("DELETE FROM t WHERE a = 1 AND 1 = 1", "sql.delete", "t", "filtered", id="and-keeps-filter"),
    pytest.param("DELETE FROM t WHERE a = ?", "sql.delete", "t", "param", id="placeholder"),
    # constant folding by sqlglot's simplify, one OR branch without columns at a time
    pytest.param("DELETE FROM t WHERE 1 + 1 = 2", "sql.delete", "t", "always", id="fold-arith"),
    pytest.param("DELETE FROM t WHERE id = 3 OR 'a' || 'b' = 'ab'", "sql.delete", "t", "always",
                 id="fold-concat"),
    pytest.param("DELETE FROM t WHERE 1 BETWEEN 0 AND 2", "sql.delete", "t", "always", id="fold-between"),
    pytest.param("UPDATE t SET a = 1 WHERE id = 3 OR (CAST(1 AS INT) = 1 AND NOT FALSE)",
                 "sql.update", "t", "always", id="fold-cast-and"),
    pytest.param("DELETE FROM t WHERE id = 3 AND 1 + 1 = 2", "sql.delete", "t", "filtered",
                 id="fold-keeps-filter"),
    pytest.param("DELETE FROM t WHERE 1 + 1 = 3 OR id = 3", "sql.delete", "t", "filtered",
                 id="fold-false-branch"),
    pytest.param("UPDATE t SET a = 1 WHERE b IN (b)", "sql.update", "t", "always", id="in-self"),
    pytest.param("UPDATE t SET a = 1 WHERE id = 3", "sql.update", "t", "filtered", id="update-targeted"),
    pytest.param("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "sql.merge", "t", "", id="merge"),
    pytest.param("COPY t TO 'x.csv'", "sql.export", "x.csv", "", id="copy-to"),
    pytest.param("COPY t FROM 'x.csv'", "sql.load", "t", "", id="copy-from"),
    pytest.param("EXPORT DATABASE 'dir'", "sql.export", "*", "", id="export-database"),
    pytest.param("ATTACH 'o.duckdb' AS o", "sql.attach", "o", "", id="attach"),
    pytest.param("INSERT INTO t SELECT * FROM u", "sql.insert", "t", "", id="insert-select"),
    pytest.param("PIVOT t ON a USING sum(b)", "sql.select", "t", "", id="pivot"),
    pytest.param("SELECT * FROM t GROUP BY ALL", "sql.select", "t", "", id="group-by-all"),
    pytest.param("SUMMARIZE t", "sql.select", "t", "", id="summarize"),
    pytest.param("BEGIN TRANSACTION", "sql.transaction", "", "", id="begin"),
    pytest.param("SET threads = 2", "sql.set", "", "", id="set"),
]


@pytest.mark.parametrize("sql,action,target,where", CASES)
def test_statement_kinds(sql, action, target, where):
    i = first(sql)
    assert (i.action, i.target, i.where) == (action, target, where)


def test_every_statement_of_a_cell_is_seen():
    a = analyze_sql("SELECT 1; DROP TABLE a; -- x\nDELETE FROM b", classify=classify)
    assert [i.action for i in a.intents] == ["sql.select", "sql.drop", "sql.delete"]


def test_columns_through_cte_alias_and_subquery():
    i = first("COPY (WITH x AS (SELECT c.email AS e FROM customers c) SELECT e FROM (SELECT * FROM x)) TO 'f.csv'")
    assert "customers.email" in i.columns and i.reads == ("customers",)


def test_bound_parameters_turn_a_filter_into_a_tautology():
    a = analyze_sql("DELETE FROM t WHERE id = ? OR ?", classify=classify, params=[1, True])
    assert a.intents[0].where == "always"
    b = analyze_sql("DELETE FROM t WHERE id = $1", classify=classify, params=[7])
    assert b.intents[0].where == "filtered" and b.intents[0].detail.endswith("id = 7")


def test_unparsable_sql_is_never_allowed():
    a = analyze_sql("SELEC * FRM t", classify=classify)
    assert a.errors and a.intents[0].action == "sql.unparsed"
    v = decide(a.intents, Policy(), Context())[0]
    assert v.decision == "block" and v.rule_id == "sql-parse-error"
    b = analyze_sql("DROP TABL t", "postgres")  # sqlglot keeps it as an opaque command
    assert decide(b.intents, Policy(), Context())[0].decision == "block"
    c = analyze_sql("SELECT FROM WHERE (", "postgres")
    assert c.errors and c.errors[0].startswith("SQL could not be parsed")


def test_other_dialects():
    assert first("DROP TABLE public.t", "postgres").action == "sql.drop"
    assert first("DELETE FROM t WHERE TRUE", "sqlite").where == "always"


# -- properties -------------------------------------------------------------------------
DEFAULT = load_or_refuse(None)
STATEMENTS = [
    "DROP TABLE customers", "DELETE FROM orders WHERE 1 = 1", "DELETE FROM orders WHERE id = 3",
    "UPDATE customers SET city = 'x'", "SELECT email FROM customers WHERE id = 1",
    "COPY (SELECT email FROM customers) TO 'x.csv'", "TRUNCATE orders", "SELECT 'drop table x'",
    "CREATE TABLE s AS SELECT 1 AS a", "ALTER TABLE customers DROP COLUMN ssn",
]
KEYWORDS = {"drop", "table", "delete", "from", "where", "update", "set", "select", "copy", "to",
            "truncate", "create", "as", "alter", "column"}


def _render(sql: str, draw_ws: list[str], upper: list[bool], comments: list[bool]) -> str:
    out: list[str] = []
    for n, tok in enumerate(sql.split(" ")):
        word = tok.upper() if (tok.lower() in KEYWORDS and upper[n % len(upper)]) else tok
        if tok.lower() in KEYWORDS and not upper[n % len(upper)]:
            word = tok.lower()
        out.append(word)
        out.append(draw_ws[n % len(draw_ws)])
        if comments[n % len(comments)]:
            out.append("/* DROP TABLE customers; */ ")
    return "".join(out).strip() + ("\n-- DELETE FROM orders" if comments[0] else "")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(STATEMENTS),
       st.lists(st.sampled_from([" ", "  ", "\n", "\t", " \n  "]), min_size=1, max_size=6),
       st.lists(st.booleans(), min_size=1, max_size=6),
       st.lists(st.booleans(), min_size=1, max_size=6))
def test_whitespace_comments_and_case_never_change_a_decision(sql, ws, upper, comments):
    base = [(v.decision, v.rule_id) for v in decide(analyze_sql(sql, classify=classify).intents, DEFAULT, Context())]
    variant = _render(sql, ws, upper, comments)
    got = [(v.decision, v.rule_id) for v in decide(analyze_sql(variant, classify=classify).intents, DEFAULT, Context())]
    assert got == base, variant


@pytest.mark.parametrize("sql, action, where", [
    ("DELETE FROM t WHERE range < 1500", "sql.delete", "filtered"),
    ("UPDATE t SET v = 1 WHERE map < 3 OR range < 2", "sql.update", "filtered"),
    ("SELECT * FROM t WHERE range < 5", "sql.select", ""),
])
def test_a_column_named_like_a_nested_type_compared_with_less_than_is_read(
        sql: str, action: str, where: str) -> None:
    """``SELECT * FROM range(n)`` names its column ``range``; sqlglot reads ``range <`` as a
    type. The statement is judged as what it is, not refused as unreadable."""
    intents = analyze_sql(sql, "duckdb").intents
    assert intents[0].action == action and intents[0].where == where
    if where:
        assert '"range" <' in intents[0].detail or '"map" <' in intents[0].detail


def test_a_type_after_as_stays_a_type() -> None:
    a = analyze_sql("DELETE FROM t WHERE CAST(x AS STRUCT<a INT>) IS NULL AND range < 2", "duckdb")
    assert a.intents[0].action in ("sql.delete", "sql.unparsed")
    assert "CAST(x AS \"struct\"" not in a.intents[0].detail
