"""DuckDB's postgres (and mysql) extension: the guard cannot measure what DuckDB changes in an
attached server database, nor read SQL text sent to it in that server's dialect. Loading the
extension is loading native code (``sql.allow_extensions``); a writable ATTACH of a server and
the functions that run SQL there are refused before DuckDB loads anything."""
from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks.sinks import GuardedConnection

ATTACKS = [
    "ATTACH 'host=127.0.0.1 port=1 dbname=shop' AS pg (TYPE postgres)",
    "ATTACH 'host=127.0.0.1 port=1 dbname=shop' AS pg (TYPE POSTGRES)",
    "ATTACH 'postgres:host=127.0.0.1 port=1 dbname=shop' AS pg",
    "ATTACH 'postgresql://u@127.0.0.1:1/shop' AS pg (TYPE postgres_scanner)",
    "ATTACH 'host=127.0.0.1 port=1 database=shop' AS my (TYPE mysql)",
    "CALL postgres_execute('pg', 'DROP TABLE orders')",
    "call  postgres_execute('pg', 'DROP TABLE orders')",
    "SELECT * FROM postgres_query('pg', 'DELETE FROM orders RETURNING 1')",
    "SELECT * FROM postgres_scan('host=127.0.0.1 port=1 dbname=shop', 'public', 'orders')",
    "CALL mysql_execute('my', 'DROP TABLE orders')",
]


def _guarded(allow: tuple[str, ...] = ()) -> tuple[GuardedConnection, duckdb.DuckDBPyConnection]:
    raw = duckdb.connect()
    guard = Guard.create(env={})
    guard.runtime_sql = True
    guard.policy = replace(guard.policy, allow_extensions=allow)
    return GuardedConnection(raw, guard), raw


def _untouched(raw: duckdb.DuckDBPyConnection) -> None:
    dbs = {r[0] for r in raw.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    assert not dbs & {"pg", "my"}, dbs
    loaded = raw.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded AND "
                         "(extension_name LIKE 'postgres%' OR extension_name LIKE 'mysql%')")
    assert loaded.fetchall() == []


@pytest.mark.parametrize("stmt", ATTACKS)
@pytest.mark.parametrize("allow", [(), ("postgres", "mysql")], ids=["default", "allowed"])
def test_refused_before_duckdb_loads_anything(stmt: str, allow: tuple[str, ...]) -> None:
    con, raw = _guarded(allow)
    if allow and "postgres_scan" in stmt:
        return   # a read through an allowed extension: see the READ_ONLY test
    with pytest.raises(GuardBlocked) as e:
        con.execute(stmt)
    assert e.value.rule_id == "sql-outside", e.value
    msg = str(e.value)
    assert any(w in msg for w in ("allow_extensions", "does not measure", "neither reads nor"))
    if allow:   # the extension may load: refused for what the guard cannot measure
        assert "allow_extensions" not in msg, msg
    _untouched(raw)


def test_read_only_attach_is_an_extension_load_only() -> None:
    """READ_ONLY: refused as an extension load by default; with the extension allowed, the
    guard lets DuckDB try (offline here, DuckDB's own error ends it, nothing attached)."""
    stmt = "ATTACH 'host=127.0.0.1 port=1 dbname=shop' AS pg (TYPE postgres, READ_ONLY)"
    con, raw = _guarded()
    with pytest.raises(GuardBlocked) as e:
        con.execute(stmt)
    assert e.value.rule_id == "sql-outside" and "allow_extensions" in str(e.value)
    con, raw = _guarded(("postgres",))
    with pytest.raises(duckdb.Error) as err:
        con.execute(stmt)
    assert not isinstance(err.value, GuardBlocked), err.value
    _untouched(raw)


def test_benign_twins_run() -> None:
    con, _raw = _guarded()
    con.execute("ATTACH ':memory:' AS m2")
    assert con.execute("SELECT 'postgres_execute(' AS x").fetchall() == [("postgres_execute(",)]
    con.execute("CREATE TABLE postgres_query_log (postgres_execute INT)")
    con.execute("INSERT INTO postgres_query_log VALUES (1)")
    assert con.execute("SELECT postgres_execute FROM postgres_query_log").fetchall() == [(1,)]
