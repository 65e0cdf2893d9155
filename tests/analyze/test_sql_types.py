"""The statement-type table covers every type DuckDB's parser can return; unknown is refused."""
from __future__ import annotations

import duckdb
import pytest

from jupyter_guard.analyze.sql import analyze_sql
from jupyter_guard.analyze.sql_types import REFUSED_TYPES, STATEMENT_TYPES, SUBKINDS, kind_of
from jupyter_guard.connections import duckdb_classify
from jupyter_guard.model import Intent
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import Context

ALL = sorted(duckdb.StatementType.__members__)


@pytest.mark.parametrize("name", ALL)
def test_every_duckdb_statement_type_has_an_entry(name):
    kind = STATEMENT_TYPES[name]
    assert kind.name == name
    assert kind.caps <= {"read", "rows", "schema", "files", "network", "code"}


@pytest.mark.parametrize("key", sorted(SUBKINDS))
def test_every_subkind_refines_a_known_type(key):
    assert key[0] in STATEMENT_TYPES
    assert kind_of(key[0], key[1] + " x").name == SUBKINDS[key].name


def test_a_type_without_an_entry_is_refused():
    assert kind_of("SOMETHING_NEW", "SOMETHING NEW") is None
    (v,) = decide((Intent("sql.unknown", detail="SOMETHING_NEW statement"),), Policy(), Context())
    assert v.refuses and v.rule_id == "sql-unknown"
    assert set(STATEMENT_TYPES) >= REFUSED_TYPES


def actions(sql):
    return [(i.action, i.target) for i in analyze_sql(sql, classify=duckdb_classify).intents]


@pytest.mark.parametrize("sql,expected", [
    ("EXPLAIN ANALYZE DELETE FROM orders", [("sql.delete", "orders")]),
    ("EXPLAIN ANALYZE DROP TABLE customers", [("sql.drop", "customers")]),
    ("EXPLAIN DELETE FROM orders", [("sql.select", "")]),
    ("WITH d AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM d",
     [("sql.delete", "orders")]),
    ("PREPARE p AS DELETE FROM orders", [("sql.delete", "orders")]),
    ("ALTER TABLE orders RENAME TO o2", [("sql.rename", "orders")]),
    ("INSTALL httpfs", [("sql.extension", "httpfs")]),
    ("LOAD 'spatial'", [("sql.extension", "spatial")]),
    ("CREATE SECRET s (TYPE s3)", [("sql.outside", "")]),
    ("IMPORT DATABASE 'dir'", [("sql.outside", "")]),
    ("COPY orders TO 'data/o.parquet'", [("sql.export", "data/o.parquet"),
                                          ("file.truncate", "data/o.parquet")]),
])
def test_wrappers_and_unmodelled_kinds(sql, expected):
    assert actions(sql) == expected


@pytest.mark.parametrize("ext,allowed", [("json", True), ("httpfs", False), ("/tmp/x.so", False)])
def test_extensions_only_when_the_policy_allows_them(ext, allowed):
    pol = Policy(allow_extensions=("json",))
    for verb in ("INSTALL", "LOAD"):
        (i,) = analyze_sql(f"{verb} '{ext}'", classify=duckdb_classify).intents
        (v,) = decide((i,), pol, Context())
        assert (not v.refuses) is allowed, v
        if not allowed:
            assert v.rule_id == "sql-outside"


@pytest.mark.parametrize("sql,action", [
    ("DO $$ BEGIN DELETE FROM t; END $$", "sql.outside"),
    ("CALL purge_everything()", "sql.outside"),
    ("EXPLAIN ANALYZE DELETE FROM orders", "sql.delete"),
    ("EXPLAIN SELECT 1", "sql.select"),
    ("CREATE EXTENSION plpython3u", "sql.extension"),
    ("LOAD 'evil.so'", "sql.extension"),
    ("KILL 5", "sql.outside"),
    ("CLUSTER orders", "sql.unknown"),
    ("FROBNICATE orders", "sql.unknown"),
    ("SHOW search_path", "sql.other"),
    ("GRANT SELECT ON orders TO bob", "sql.alter"),
])
def test_other_dialects_are_decided_by_the_command_table(sql, action):
    intents = analyze_sql(sql, "postgres").intents
    assert intents and intents[0].action == action
    (v,) = decide(intents[:1], Policy(), Context())
    assert v.refuses is (action in ("sql.outside", "sql.extension", "sql.unknown")) or \
        action == "sql.delete"
