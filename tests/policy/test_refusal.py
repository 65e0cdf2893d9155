"""Structured refusals and their rewrites, as decision tables (no kernel, no database)."""
from __future__ import annotations

import doctest
import importlib
import json
from dataclasses import replace

import jsonschema
import pytest

from jupyter_guard.analyze.sql import analyze_sql
from jupyter_guard.model import Intent, Verdict
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.load import load_or_refuse
from jupyter_guard.policy.model import Role
from jupyter_guard.policy.refusal import SCHEMA_FILE, approvers_exist, refusal
from jupyter_guard.policy.rules import Context

SCHEMA = json.loads(SCHEMA_FILE.read_text())
DEFAULT = load_or_refuse(None)


@pytest.mark.parametrize("module", ["jupyter_guard.analyze.rewrite", "jupyter_guard.policy.refusal"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed


def refused(sql: str, **facts: object) -> Verdict:
    """The refusal of the statement's SQL intent (COPY TO also has a file intent)."""
    intents = [i.with_(**facts) for i in analyze_sql(sql, "duckdb").intents
               if i.action.startswith("sql.")]
    verdicts = [v for v in decide(tuple(intents), DEFAULT, Context()) if v.refuses]
    assert verdicts, intents
    return verdicts[0]


def judged(sql: str, **facts: object) -> dict:
    v = refused(sql, **facts)
    r = refusal(v, DEFAULT)
    jsonschema.validate(r, SCHEMA)
    return r


@pytest.mark.parametrize("sql, facts, rule, kind, rewritten", [
    pytest.param("COPY (SELECT id, email AS contact, city FROM customers) TO 'o.csv'", {},
                 "exfiltration", "drop-sensitive-columns",
                 "COPY (SELECT id, city FROM customers) TO 'o.csv'", id="export-alias"),
    pytest.param("COPY (SELECT id, lower(ssn) AS k FROM customers) TO 'o.csv'", {},
                 "exfiltration", "drop-sensitive-columns",
                 "COPY (SELECT id FROM customers) TO 'o.csv'", id="export-wrapped-column"),
    pytest.param("COPY customers TO 'o.parquet' (FORMAT parquet)",
                 {"columns": ("customers.id", "customers.email", "customers.city")},
                 "exfiltration", "drop-sensitive-columns",
                 "COPY (SELECT id, city FROM customers) TO 'o.parquet' WITH (FORMAT parquet)",
                 id="export-table-form"),
    pytest.param("ALTER TABLE sales DROP COLUMN note", {}, "destructive-ddl", "create-beside",
                 "CREATE TABLE sales_new AS SELECT * EXCLUDE (note) FROM sales", id="drop-column"),
    pytest.param("CREATE OR REPLACE TABLE sales AS SELECT 1 AS id", {}, "destructive-ddl",
                 "create-beside", "CREATE TABLE sales_new AS SELECT 1 AS id", id="replace"),
    pytest.param("DELETE FROM sales", {}, "bulk-change", "narrow-where", None, id="delete-all"),
    pytest.param("UPDATE sales SET x = 1 WHERE id > 3", {"estimated_rows": 5000},
                 "bulk-change", "narrow-where", None, id="update-counted"),
])
def test_rewrites(sql: str, facts: dict, rule: str, kind: str, rewritten: str | None) -> None:
    r = judged(sql, **facts)
    assert (r["rule_id"], r["rewrite"]["kind"]) == (rule, kind)
    if rewritten is None:
        assert r["rewrite"]["sql"] is None and r["rewrite"]["count_sql"].startswith("SELECT")
    else:
        assert rewritten in r["rewrite"]["sql"]


@pytest.mark.parametrize("sql, facts", [
    pytest.param("COPY (SELECT email FROM customers) TO 'o.csv'", {}, id="only-sensitive"),
    pytest.param("COPY (SELECT id FROM t) TO 's3://bucket/o.csv'", {}, id="remote"),
    pytest.param("DROP SCHEMA sales", {}, id="drop-schema"),
    # a rename is destructive DDL too: the policy would refuse these suggestions
    pytest.param("DROP TABLE sales", {}, id="drop-table"),
    pytest.param("DROP VIEW v_sales", {}, id="drop-view"),
    pytest.param("TRUNCATE sales", {}, id="truncate"),
    pytest.param("EXPORT DATABASE 'out'", {"columns": ("customers.email",)}, id="export-db"),
])
def test_no_rewrite_when_none_keeps_the_purpose(sql: str, facts: dict) -> None:
    v = refused(sql, **facts)
    r = refusal(v, DEFAULT)
    jsonschema.validate(r, SCHEMA)
    assert r["rewrite"] is None


def test_approval_follows_the_policy() -> None:
    v = Verdict("block", "destructive-ddl", "drops t", Intent("sql.drop", "table", "t"))
    assert not approvers_exist(DEFAULT)
    assert refusal(v, DEFAULT, request_id="abc")["approval"]["request_id"] is None
    with_approver = replace(DEFAULT, roles=DEFAULT.roles + (Role("gov", ("gina",), may_approve=True),))
    assert approvers_exist(with_approver)
    ok = refusal(v, with_approver, request_id="abc")
    assert ok["approval"] == {"possible": True, "request_id": "abc",
                              "command": "%guard request <why>", "why_not": None}
    never = refusal(Verdict("block", "self-protection", "no"), with_approver, request_id="abc")
    assert never["approval"]["possible"] is False
    assert never["approval"]["why_not"] == "rule self-protection cannot be approved"
