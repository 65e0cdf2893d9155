"""Database connections as the guard sees them: native, SQLAlchemy or DB-API, one small interface.

``Conn.kind`` is the connection's database kind (``base``); ``Conn.classify`` splits a cell with
the database's own parser where it has one (DuckDB);
``Conn.scalar`` runs the guard's own counting queries; ``Conn.run`` runs user statements.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_guard.connections.base import ConnectionKind, for_dialect, for_object, kinds
from jupyter_guard.connections.duckdb import duckdb_classify, is_duckdb
from jupyter_guard.connections.sqlalchemy import is_sqlalchemy
from jupyter_guard.errors import GuardConfigError

__all__ = ["Conn", "duckdb_classify", "from_object", "from_url", "is_duckdb", "is_sqlalchemy",
           "memory", "unwrap"]


@dataclass
class Conn:
    raw: Any
    name: str = ""
    dialect: str = "duckdb"
    owned: bool = False
    _sa: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.raw = unwrap(self.raw)  # the guard's own queries never go through the guard

    @property
    def native_duckdb(self) -> bool:
        return is_duckdb(self.raw)

    @property
    def kind(self) -> ConnectionKind:
        """The database kind (``base.ConnectionKind``) registered for this dialect."""
        return for_dialect(self.dialect)

    @property
    def classify(self) -> Any:
        return self.kind.classifier

    def _sa_conn(self) -> Any:
        if self._sa is None:
            self._sa = self.raw.connect() if hasattr(self.raw, "connect") and not hasattr(
                self.raw, "exec_driver_sql") else self.raw
        return self._sa

    def scalar(self, sql: str) -> Any:
        if self.native_duckdb:   # fetchall: DuckDB 2 keeps a half-read result open
            rows = self.raw.execute(sql).fetchall()
            row = rows[0] if rows else None
        else:
            row = self._sa_conn().exec_driver_sql(sql).fetchone()
        return row[0] if row else None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.native_duckdb:
            return list(self.raw.execute(sql, list(params)).fetchall())
        return list(self._sa_conn().exec_driver_sql(sql, tuple(params)).fetchall())

    def run(self, sql: str, *, want_frame: bool) -> Any:
        """Run one user statement; a DataFrame when it returns rows and ``want_frame``."""
        if self.native_duckdb:
            from jupyter_guard.duck import as_caller  # late: duck is imported with duckdb

            cur = as_caller(self.raw.execute, sql)   # `FROM df`: the cell's variables
            if want_frame and cur.description is not None:
                if [d[0] for d in cur.description] == ["Success"]:
                    return None  # DDL: nothing to show
                return cur.df()
            return None
        import pandas as pd

        res = self._sa_conn().exec_driver_sql(sql)
        if want_frame and res.returns_rows:
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
        if (
            hasattr(self._sa, "commit")
            and not getattr(self._sa, "in_nested_transaction", lambda: False)()
        ):
            try:
                self._sa.commit()
            except Exception:  # noqa: BLE001 - the statement ran; a failed commit leaves it as the driver left it
                pass
        return None


def unwrap(obj: Any) -> Any:
    """The real connection behind a guarded proxy (``hooks.sinks.GuardedConnection``), for the
    guard's code only: a cell calling it got the raw connection and dropped a table unjudged."""
    try:
        raw = object.__getattribute__(obj, "_jg_con")
    except AttributeError:
        return obj
    if raw is not obj:
        from jupyter_guard.hooks.sealed_events import guard_callers_only

        guard_callers_only("jupyter_guard.connections.unwrap")
    return raw


def from_object(obj: Any, name: str) -> Conn:
    from jupyter_guard.hooks.sealed_events import guard_callers_only

    guard_callers_only("jupyter_guard.connections.from_object")   # its ``raw`` is the driver's
    obj = unwrap(obj)
    kind = for_object(obj)
    if kind is None:
        raise GuardConfigError(f"{name} is a {type(obj).__name__}, not a DuckDB connection or "
                               "SQLAlchemy engine: pass a connection variable or a URL like "
                               "duckdb:///file.duckdb")
    conn: Conn = kind.connect(obj, name)   # the kinds' methods return Any (base cannot import Conn)
    return conn


def from_url(url: str) -> Conn:
    """A ``Conn`` for ``url``, named without its password (the name reaches messages, the
    decision's context and the audit)."""
    from jupyter_guard.mask.text import strip_url_passwords  # late: only when a URL is opened

    for kind in kinds():
        conn: Conn | None = kind.open(url)
        if conn is not None:
            conn.name = strip_url_passwords(conn.name)
            return conn
    from jupyter_guard.connections.sqlalchemy import open_url  # late: only when a URL is opened

    opened: Conn = open_url(url)
    opened.name = strip_url_passwords(opened.name)
    return opened


def memory() -> Conn:
    from jupyter_guard.connections.duckdb import memory  # late: only for an in-memory DuckDB

    conn: Conn = memory()
    return conn
