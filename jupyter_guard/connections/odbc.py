"""pyodbc, when it is installed: guarded at ``connect()``.

A data source whose database names itself PostgreSQL (psqlODBC: ``SQL_DBMS_NAME``) is judged as
the psycopg route is: PostgreSQL's dialect and its own statement forms (``analyze.sql_postgres``:
``DO`` blocks, plpgsql ``EXECUTE`` of literal text, server files, settings that switch off the
database's protections), the effect check (``pg_effect``: rows, tables and settings measured in a
transaction the guard controls, undone when the policy forbids them), and results that keep the
taint of their columns (``pg_results``: each fetch remembers the values of sensitive columns and
refuses pieces too short to mask). The guard's own queries on a connection in manual-commit mode
run inside a savepoint, so a failed one never rolls back the user's pending work.

Any other data source is judged statically in sqlglot's generic dialect (the database behind it
is not known); PostgreSQL's own ways to switch off protections or reach the server's files are
looked for too, since these forms mean the same, or nothing, elsewhere."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, final

from jupyter_guard.connections import pg_results
from jupyter_guard.connections.base import ConnectionKind, for_dialect, register
from jupyter_guard.connections.dbapi import Checker, DbapiConn
from jupyter_guard.connections.dbapi_proxy import GuardedCursor, GuardedDbapi


@final   # sealed: a subclass would register over it (the registry keys on the dialect)
class ODBC(ConnectionKind):
    drivers = ("pyodbc",)

    def analyse(self, text: str, params: Any = None) -> Any:
        from jupyter_guard.analyze.sql_postgres import analyze_postgres
        from jupyter_guard.connections.pg_judge import server_config, unread_reads
        from jupyter_guard.model import Analysis

        generic = super().analyse(text, params)
        try:
            own = tuple(i for i in analyze_postgres(text).intents
                        if i.action == "guard.tamper" or (i.action == "sql.export" and i.remote))
            own += unread_reads(text) + server_config(text)   # PostgreSQL's, as ``postgres``'
        except Exception:  # noqa: BLE001 - the generic analysis above still decides the statement
            own = ()
        return generic + Analysis(own) if own else generic


register(ODBC)   # the generic dialect "": what an ODBC connection's SQL is read as


def is_postgres(raw: Any) -> bool:
    """Whether the pyodbc connection ``raw`` reaches PostgreSQL (its driver says so)."""
    import pyodbc

    try:
        return "postgres" in str(raw.getinfo(pyodbc.SQL_DBMS_NAME)).lower()
    except Exception:  # noqa: BLE001 - a driver that cannot say: the generic reading, which measures nothing
        return False


@dataclass
class OdbcConn(DbapiConn):
    """The guard's own reads on a pyodbc connection to PostgreSQL. In manual-commit mode they
    run in a savepoint (pyodbc does not tell whether a transaction is open, and a failed read
    must not roll back the user's pending statements)."""

    def _query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        raw = self.raw
        if raw.autocommit:
            cur = raw.cursor()
            try:
                cur.execute(sql, *params) if params else cur.execute(sql)
                return [tuple(r) for r in cur.fetchall()]
            finally:
                cur.close()
        cur = raw.cursor()
        try:
            cur.execute("SAVEPOINT jg_read")
            try:
                cur.execute(sql, *params) if params else cur.execute(sql)
                rows = [tuple(r) for r in cur.fetchall()]
            except Exception:  # undo the guard's own read, then re-raised below
                cur.execute("ROLLBACK TO SAVEPOINT jg_read")
                cur.execute("RELEASE SAVEPOINT jg_read")
                raise
            cur.execute("RELEASE SAVEPOINT jg_read")
            return rows
        finally:
            cur.close()


class OdbcCursor(GuardedCursor):
    """A guarded pyodbc cursor: its fetches keep the taint of the statement it ran."""

    __slots__ = ()

    def _got(self, how: str, result: Any) -> Any:
        return pg_results.fetched(self._jg_con, how, result, self._jg_check.guard)

    def fetchone(self) -> Any:
        return self._got("fetchone", self._jg_con.fetchone())

    def fetchval(self) -> Any:   # pyodbc: the first column of the next row
        row = self.fetchone()
        return None if row is None else row[0]

    def fetchmany(self, *args: Any) -> Any:
        return self._got("fetchmany", self._jg_con.fetchmany(*args))

    def fetchall(self) -> Any:
        return self._got("fetchall", self._jg_con.fetchall())

    def __iter__(self) -> Any:
        return pg_results.rows(self._jg_con, iter(self._jg_con), self._jg_check.guard)

    def __next__(self) -> Any:
        row = next(self._jg_con)
        return self._got("fetchone", row)

    def __enter__(self) -> OdbcCursor:
        self._jg_con.__enter__()
        return self


class OdbcConnection(GuardedDbapi):
    __slots__ = ()

    def cursor(self, *args: Any, **kw: Any) -> OdbcCursor:
        return OdbcCursor(self._jg_con.cursor(*args, **kw), self._jg_check)

    def __enter__(self) -> OdbcConnection:
        self._jg_con.__enter__()
        return self


def checker(guard: Any, raw: Any) -> Checker:
    """The judge of the pyodbc connection ``raw``: PostgreSQL's when it reaches PostgreSQL."""
    check = Checker(guard, raw, "pyodbc")
    if is_postgres(raw):
        check.kind = for_dialect("postgres")
        check.dialect = "postgres"
        check.conn = OdbcConn(raw, "pyodbc connection", "postgres")
    return check


def guard_connection(raw: Any, guard: Any) -> Any:
    """A guarded pyodbc connection (``dbapi_proxy.guard_connection``)."""
    check = checker(guard, raw)
    return OdbcConnection(raw, check) if check.dialect == "postgres" else \
        GuardedDbapi(raw, check)


def guard_cursor(cur: Any, guard: Any) -> Any:
    """A pyodbc cursor opened before the guard loaded."""
    check = checker(guard, cur.connection)
    return OdbcCursor(cur, check) if check.dialect == "postgres" else GuardedCursor(cur, check)
