"""A third-party database kind, as a package outside jupyter_guard would ship it: its own
DB-API-like driver (``toydb.connect``, SQLite underneath), its own sqlglot dialect ``toy`` and
its ``ConnectionKind``, found through the ``jupyter_guard.connections`` entry-point group."""
from __future__ import annotations

import sqlite3
from typing import Any

from sqlglot.dialects.sqlite import SQLite as _SQLiteDialect

from jupyter_guard.connections.base import ConnectionKind
from jupyter_guard.connections.sqlite import SQLite

LOADED: list[str] = []


class Toy(_SQLiteDialect):   # sqlglot registers dialects by class name: "toy"
    pass


class Cursor:
    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        self._cur.execute(sql, params)
        return self


class Connection:
    def __init__(self, path: str) -> None:
        self._con = sqlite3.connect(path)

    def cursor(self) -> Cursor:
        return Cursor(self._con.cursor())

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        return self.cursor().execute(sql, params)

    def commit(self) -> None:
        self._con.commit()

    def close(self) -> None:
        self._con.close()


def connect(path: str) -> Connection:
    return Connection(path)


class ToyKind(ConnectionKind):
    dialect = "toy"
    drivers = ("toydb",)
    columns_sql = SQLite.columns_sql
    temporary_sql = SQLite.temporary_sql

    def catalog_names(self, conn: Any) -> set[str]:
        return SQLite().catalog_names(conn)

    def analyse(self, text: str, params: Any = None) -> Any:
        LOADED.append(text)   # the test checks the decision went through this kind
        return super().analyse(text, params)
