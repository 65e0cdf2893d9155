"""SQLite: through SQLAlchemy or the ``sqlite3`` driver (guarded at ``connect()``, judged by
the static decision; SQLite has no effect check). Its catalog comes from ``pragma_table_info``
(SQLite has no ``information_schema``)."""
from __future__ import annotations

import sqlite3
from typing import Any, final

from jupyter_guard.connections.base import ConnectionKind

# temporary tables' columns too (an UPDATE's lineage needs them), read through
# ``pragma_table_list`` (SQLite 3.37+), which does not open the temp database as naming
# ``sqlite_temp_master`` would (its schema version would then count as a change)
_TEMP = (" UNION ALL SELECT 'temp', l.name, p.name, p.cid FROM pragma_table_list AS l, "
         "pragma_table_info(l.name, 'temp') AS p WHERE l.schema = 'temp' "
         "AND l.type IN ('table', 'view') AND l.name NOT LIKE 'sqlite_%'"
         ) if sqlite3.sqlite_version_info >= (3, 37) else ""
# id(connection) -> (the connection, its databases' schema versions, the catalog's rows)
_COLUMNS: dict[int, tuple[Any, tuple[Any, ...], list[tuple[Any, ...]]]] = {}


@final   # sealed: a subclass would register over it (the registry keys on the dialect)
class SQLite(ConnectionKind):
    dialect = "sqlite"
    sqlalchemy_names = ("sqlite",)
    sqlalchemy_drivers = ("pysqlite",)
    drivers = ("sqlite3", "apsw")
    columns_sql = ("SELECT d, d, t, c FROM (SELECT 'main' AS d, m.name AS t, p.name AS c, "
                   "p.cid AS k FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                   "WHERE m.type IN ('table', 'view')" + _TEMP + ") ORDER BY d, t, k")
    temporary_sql = "SELECT name FROM sqlite_temp_master WHERE type = 'table'"
    names_sql = ("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') UNION "
                 "SELECT p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                 "WHERE m.type IN ('table', 'view')")

    def column_rows(self, conn: Any) -> list[tuple[Any, ...]]:
        """The catalog's columns, read again only when a database's schema changed (SQLite
        counts every schema change in ``schema_version``): a loop of bound statements asks
        the catalog once, not once per statement."""
        raw = conn.raw
        if not any(c.__module__ == "sqlite3" for c in type(raw).__mro__):
            return super().column_rows(conn)
        dbs = [(str(r[1]), str(r[2])) for r in raw.execute("PRAGMA database_list")]
        key = tuple((name, file, raw.execute(
            f'PRAGMA "{name.replace(chr(34), chr(34) * 2)}".schema_version').fetchone()[0])
            for name, file in dbs)
        hit = _COLUMNS.get(id(raw))
        if hit is not None and hit[0] is raw and hit[1] == key:
            return hit[2]
        rows = super().column_rows(conn)
        if len(_COLUMNS) >= 32:   # the connections are held while cached (an id is not reused)
            _COLUMNS.pop(next(iter(_COLUMNS)))
        _COLUMNS[id(raw)] = (raw, key, rows)
        return rows

    def catalog_names(self, conn: Any) -> set[str]:
        if hasattr(conn.raw, "dialect"):   # SQLAlchemy's inspector
            return super().catalog_names(conn)
        return {str(r[0]).lower() for r in conn.rows(self.names_sql)}
