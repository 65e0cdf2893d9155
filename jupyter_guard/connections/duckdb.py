"""DuckDB: native connections (``duckdb.connect``), ``duckdb:///`` URLs, DuckDB's own statement
splitter, its catalog functions, attached databases. Its run-time sink (the connection proxy and
the module functions) is the kernel part "SQL sinks"."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, final

from jupyter_guard.connections.base import ConnectionKind


def is_duckdb(obj: Any) -> bool:
    return type(obj).__module__.startswith(("duckdb", "_duckdb")) and hasattr(obj, "execute")


def duckdb_classify(text: str) -> list[tuple[str, str]]:
    """(statement type, query) of each statement, by DuckDB's own parser (cached by text)."""
    return list(_classify(text))


@lru_cache(maxsize=1024)
def _classify(text: str) -> tuple[tuple[str, str], ...]:
    from jupyter_guard.duck import PARSER

    with PARSER.connection() as con:   # not DuckDB's default connection (see ``duck``)
        return tuple((s.type.name, s.query) for s in con.extract_statements(text))


@final   # sealed: a subclass would register over it (the registry keys on the dialect)
class DuckDB(ConnectionKind):
    dialect = "duckdb"
    sqlalchemy_names = ("duckdb",)
    columns_sql = ("SELECT database_name, schema_name, table_name, column_name FROM "
                   "duckdb_columns() WHERE NOT internal "
                   "ORDER BY database_name, schema_name, table_name, column_index")
    temporary_sql = "SELECT table_name FROM duckdb_tables() WHERE temporary"
    views_sql = "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal"
    classifier = staticmethod(duckdb_classify)

    def recognises(self, obj: Any) -> bool:
        return is_duckdb(obj)

    def connect(self, obj: Any, name: str) -> Any:
        from jupyter_guard.connections.conn import Conn  # late: conn imports this module at load

        return Conn(obj, name, "duckdb")

    def open(self, url: str) -> Any:
        if not (url.startswith("duckdb:///") or url == "duckdb://"):
            return None
        import duckdb

        from jupyter_guard.connections.conn import Conn  # late: conn imports this module at load

        path = url[len("duckdb:///"):] or ":memory:"
        return Conn(duckdb.connect(path), url, "duckdb", owned=True)

    def module_connection(self, via: str) -> Any:
        if via != "duckdb":
            return None
        import duckdb

        from jupyter_guard.connections.conn import Conn  # late: conn imports this module at load

        return Conn(duckdb.default_connection(), "duckdb")

    def databases(self, conn: Any) -> dict[str, str]:
        cur = conn.scalar("SELECT current_database()")
        return {str(n).lower(): str(p or "") for n, p in conn.rows(
            "SELECT database_name, path FROM duckdb_databases() WHERE NOT internal")
            if str(n) != cur}


def memory() -> Any:
    """The in-memory DuckDB ``%%guarded_sql`` uses until a connection is named."""
    import duckdb

    from jupyter_guard.connections.conn import Conn  # late: conn imports this module at load

    return Conn(duckdb.connect(":memory:"), "duckdb:///:memory:", "duckdb", owned=True)
