"""Database connections as the guard sees them: DuckDB native or SQLAlchemy, one small interface.

``Conn.classify`` splits a cell with the database's own parser where it has one (DuckDB);
``Conn.scalar`` runs the guard's own counting queries; ``Conn.run`` runs user statements.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jupyter_guard.errors import GuardConfigError


def is_duckdb(obj: Any) -> bool:
    return type(obj).__module__.startswith(("duckdb", "_duckdb")) and hasattr(obj, "execute")


def is_sqlalchemy(obj: Any) -> bool:
    return type(obj).__module__.startswith("sqlalchemy") and hasattr(obj, "dialect")


def duckdb_classify(text: str) -> list[tuple[str, str]]:
    """(statement type, query) of each statement, by DuckDB's own parser (cached by text)."""
    return list(_classify(text))


@lru_cache(maxsize=1024)
def _classify(text: str) -> tuple[tuple[str, str], ...]:
    from jupyter_guard.duck import PARSER

    with PARSER.connection() as con:   # not DuckDB's default connection (see ``duck``)
        return tuple((s.type.name, s.query) for s in con.extract_statements(text))


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
    def classify(self) -> Any:
        return duckdb_classify if self.dialect == "duckdb" else None

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
            cur = self.raw.execute(sql)
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
            except Exception:  # noqa: BLE001 - the driver could not commit: the statement ran and was judged; its outcome is the database's
                pass
        return None


def unwrap(obj: Any) -> Any:
    """The real connection behind a guarded proxy (``enforce.sinks.GuardedConnection``)."""
    try:
        return object.__getattribute__(obj, "_jg_con")
    except AttributeError:
        return obj


def from_object(obj: Any, name: str) -> Conn:
    obj = unwrap(obj)
    if is_duckdb(obj):
        return Conn(obj, name, "duckdb")
    if is_sqlalchemy(obj):
        d = obj.dialect.name
        return Conn(obj, name, {"postgresql": "postgres", "mssql": "tsql"}.get(d, d))
    from jupyter_guard.enforce.dbapi import DRIVERS, DbapiConn, driver_of

    if driver_of(obj) in ("psycopg", "psycopg2"):   # DB-API drivers (enforce.dbapi)
        return DbapiConn(obj, name, DRIVERS[driver_of(obj)])
    raise GuardConfigError(
        f"{name} is a {type(obj).__name__}, not a DuckDB connection or SQLAlchemy "
        "engine: pass a connection variable or a URL like duckdb:///file.duckdb"
    )


def from_url(url: str) -> Conn:
    if url.startswith("duckdb:///") or url == "duckdb://":
        import duckdb

        path = url[len("duckdb:///"):] or ":memory:"
        return Conn(duckdb.connect(path), url, "duckdb", owned=True)
    try:
        import sqlalchemy
    except ImportError:
        raise GuardConfigError(f"{url} needs SQLAlchemy: pip install sqlalchemy") from None
    try:
        engine = sqlalchemy.create_engine(url)
    except Exception as e:  # noqa: BLE001 - any driver error becomes a one-line GuardConfigError: nothing is opened
        raise GuardConfigError(f"cannot open {url}: {str(e).splitlines()[0]}") from None
    return from_object(engine, url)


def memory() -> Conn:
    import duckdb

    return Conn(duckdb.connect(":memory:"), "duckdb:///:memory:", "duckdb", owned=True)
