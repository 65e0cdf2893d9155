"""The registry of database kinds: built-in kinds, the one SQLAlchemy name map, recognition of
connection objects and URLs, and a kind added by a subclass."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_guard.connections import base
from jupyter_guard.connections.base import ConnectionKind, for_dialect, for_object
from jupyter_guard.connections.sqlalchemy import dialect_of


@pytest.fixture()
def restore_registry() -> Iterator[None]:
    before = base._KINDS
    yield
    base._KINDS = before


def test_builtin_kinds_are_registered_by_dialect() -> None:
    names = {k.dialect for k in base.kinds()}
    assert {"duckdb", "postgres", "sqlite", ""} <= names
    assert for_dialect("postgres").measures_effect and for_dialect("postgres").runs_cells
    assert not for_dialect("duckdb").measures_effect
    assert for_dialect("duckdb").classifier is not None
    assert for_dialect("sqlite").drivers == ("sqlite3", "apsw")
    assert set(base.drivers()) >= {"psycopg", "psycopg2", "sqlite3", "pyodbc"}


@pytest.mark.parametrize(("sa", "dialect"), [
    pytest.param("postgresql", "postgres", id="postgresql"),
    pytest.param("sqlite", "sqlite", id="sqlite"),
    pytest.param("duckdb", "duckdb", id="duckdb"),
    pytest.param("mssql", "tsql", id="mssql"),
    pytest.param("mysql", "mysql", id="mysql-generic"),
])
def test_one_map_of_sqlalchemy_names(sa: str, dialect: str) -> None:
    assert dialect_of(sa) == dialect


def test_generic_kind_for_an_unknown_dialect() -> None:
    kind = for_dialect("mysql")
    assert kind.dialect == "mysql" and not kind.runs_cells and kind.classifier is None
    assert for_dialect("mysql") is kind
    a = kind.analyse("DELETE FROM t")
    assert [i.action for i in a.intents] == ["sql.delete"]


def test_objects_are_recognised(tmp_path: Path) -> None:
    import sqlite3

    import duckdb
    import sqlalchemy

    from jupyter_guard.connections import from_object, from_url

    assert for_object(duckdb.connect()) is for_dialect("duckdb")
    assert for_object(sqlalchemy.create_engine("sqlite://")) is for_dialect("sqlite")
    assert for_object(sqlite3.connect(":memory:")) is for_dialect("sqlite")
    assert for_object(object()) is None
    assert from_url("duckdb://").kind is for_dialect("duckdb")
    c = from_object(sqlite3.connect(str(tmp_path / "x.db")), "con")
    assert c.kind is for_dialect("sqlite") and type(c).__name__ == "DbapiConn"
    with pytest.raises(Exception, match="not a DuckDB connection"):
        from_object(object(), "thing")


def test_a_subclass_registers_itself(restore_registry: None) -> None:
    class Snowish(ConnectionKind):
        dialect = "snowflake"
        sqlalchemy_names = ("snowflake",)

    assert isinstance(for_dialect("snowflake"), Snowish)
    assert dialect_of("snowflake") == "snowflake"
    assert Snowish.dialect in {k.dialect for k in base.kinds()}


def test_registering_rebinds_the_registry(restore_registry: None) -> None:
    """Self-protection snapshots module globals: a later registration must rebind, not mutate."""
    before = base._KINDS

    class Other(ConnectionKind):
        dialect = "oracle"

    assert base._KINDS is not before and "oracle" not in before
    with pytest.raises(TypeError):
        before["x"] = Other()  # type: ignore[index]


def test_catalog_of_sqlite(tmp_path: Path) -> None:
    import sqlite3

    from jupyter_guard.connections import from_object
    from jupyter_guard.guard.enrich import Catalog

    raw = sqlite3.connect(str(tmp_path / "c.db"))
    raw.execute("CREATE TABLE people (id INT, email TEXT)")
    raw.execute("CREATE TEMP TABLE scratch (x INT)")
    cat = Catalog(from_object(raw, "con"))
    assert cat.columns()["people"] == ("id", "email")
    assert cat.temporary() == {"scratch"}
    assert cat.exists("main.people")
    assert for_dialect("sqlite").catalog_names(from_object(raw, "con")) >= {"people", "email"}




@pytest.mark.parametrize("module", ["sqlalchemy", "pg_effect", "pg_judge", "dbapi_proxy"])
def test_doctests(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"jupyter_guard.connections.{module}"))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("sql, rule", [
    ("SELECT query_to_xml('SELECT ssn FROM customers', true, true, '')", "sql-outside"),
    ("SELECT most_common_vals FROM pg_stats WHERE attname = 'ssn'", "sql-outside"),
    ("ALTER SYSTEM SET session_replication_role = replica", "self-protection"),
])
def test_a_generic_odbc_source_refuses_postgres_reads_and_server_settings(
        sql: str, rule: str) -> None:
    """An ODBC data source that does not say it is PostgreSQL is read in the generic dialect,
    plus PostgreSQL's own forms: reads no lineage sees and ``ALTER SYSTEM`` among them."""
    from jupyter_guard.connections.odbc import ODBC
    from jupyter_guard.policy.decide import decide
    from jupyter_guard.policy.load import default_path, load
    from jupyter_guard.policy.rules import Context

    a = ODBC().analyse(sql)
    verdicts = decide(list(a.intents), load(default_path()), Context())
    assert rule in {v.rule_id for v in verdicts if v.refuses}
