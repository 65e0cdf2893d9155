"""SQLite: through SQLAlchemy or the ``sqlite3`` driver (guarded at ``connect()``, judged by
the static decision; SQLite has no effect check). Its catalog comes from ``pragma_table_info``
(SQLite has no ``information_schema``)."""
from __future__ import annotations

from typing import Any, final

from jupyter_guard.connections.base import ConnectionKind


@final   # sealed: a subclass would register over it (the registry keys on the dialect)
class SQLite(ConnectionKind):
    dialect = "sqlite"
    sqlalchemy_names = ("sqlite",)
    sqlalchemy_drivers = ("pysqlite",)
    drivers = ("sqlite3",)
    columns_sql = ("SELECT 'main', 'main', m.name, p.name FROM sqlite_master AS m, "
                   "pragma_table_info(m.name) AS p WHERE m.type IN ('table', 'view') "
                   "ORDER BY m.name, p.cid")
    temporary_sql = "SELECT name FROM sqlite_temp_master WHERE type = 'table'"
    names_sql = ("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') UNION "
                 "SELECT p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                 "WHERE m.type IN ('table', 'view')")

    def catalog_names(self, conn: Any) -> set[str]:
        if hasattr(conn.raw, "dialect"):   # SQLAlchemy's inspector
            return super().catalog_names(conn)
        return {str(r[0]).lower() for r in conn.rows(self.names_sql)}
