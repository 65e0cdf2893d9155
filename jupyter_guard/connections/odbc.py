"""pyodbc, when it is installed: guarded at ``connect()``.

A data source whose database names itself PostgreSQL (psqlODBC: ``SQL_DBMS_NAME``) is judged as
the psycopg route is: PostgreSQL's dialect and its own statement forms (``analyze.sql_postgres``:
``DO`` blocks, plpgsql ``EXECUTE`` of literal text, server files, settings that switch off the
database's protections), the effect check (``pg_effect``: rows, tables and settings measured in a
transaction the guard controls, undone when the policy forbids them), and results that keep the
taint of their columns (``pg_results``: each fetch remembers the values of sensitive columns and
refuses pieces too short to mask). The guard's own queries on a connection in manual-commit mode
run inside a savepoint, so a failed one never rolls back the user's pending work. pyodbc does not
report the transaction state, so a ``BEGIN`` the user runs on a connection in autocommit mode is
followed by its text (``BEGIN``/``START TRANSACTION`` open, ``COMMIT``/``END``/``ROLLBACK``/
``ABORT``, ``commit()``, ``rollback()``, a new ``autocommit`` and ``close()`` end): inside it
the effect check and the guard's reads run in a savepoint, as in manual-commit mode, never
ending the user's transaction.

Any other data source is judged statically in sqlglot's generic dialect (the database behind it
is not known); PostgreSQL's own ways to switch off protections or reach the server's files are
looked for too, since these forms mean the same, or nothing, elsewhere."""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, final

from jupyter_guard.connections import pg_results
from jupyter_guard.connections.base import ConnectionKind, for_dialect, register
from jupyter_guard.connections.dbapi import Checker, DbapiConn
from jupyter_guard.connections.dbapi_proxy import GuardedCursor, GuardedDbapi
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

_OPENS = re.compile(r"\s*(BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)
_ENDS = re.compile(r"\s*(COMMIT|END|ABORT|ROLLBACK(?!\s+(WORK\s+|TRANSACTION\s+)?TO\b))\b"
                   r"(?![^;]*\bAND\s+CHAIN\b)", re.IGNORECASE)


def _blocks() -> tuple[Any, Any, Any]:
    """``(in_block, follow, ended)`` over the ids of pyodbc connections in autocommit mode
    inside a transaction the user opened (``BEGIN``; keyed by id, pyodbc connections take no
    weak reference, reset when one is made or closed), held in sealed closures: a module-level
    set was changed in place from a cell with no audit event.

    ``in_block(raw)``: whether the user opened a transaction on ``raw`` and has not ended it.
    ``follow(raw, text)``: note what a transaction-control statement the user ran did to it.
    ``ended(raw)``: ``raw``'s block ended: ``commit()``, ``rollback()`` (psqlODBC ends it in
    autocommit mode too), a new ``autocommit`` setting, ``close()``, or a new connection.

    >>> class C: autocommit = True
    >>> c = C(); follow(c, "begin isolation level serializable"); in_block(c)
    True
    >>> follow(c, "ROLLBACK TO SAVEPOINT a"); in_block(c), follow(c, "end;"), in_block(c)
    (True, None, False)
    """
    opened: set[int] = set()

    def in_block(raw: Any) -> bool:
        return id(raw) in opened and bool(raw.autocommit)

    def follow(raw: Any, text: str) -> None:
        if _OPENS.match(text):
            opened.add(id(raw))
        elif _ENDS.match(text):
            opened.discard(id(raw))

    def ended(raw: Any) -> None:
        opened.discard(id(raw))
    return sealed(in_block), sealed(follow), sealed(ended)


in_block, follow, ended = _blocks()


class _InBlock:
    """``raw`` as the effect check (``pg_effect.Check``) reads a connection: psycopg's ``info``
    saying "in a transaction" (status 2), so that it runs in a savepoint and never ends the
    user's transaction with its own ``COMMIT`` or ``ROLLBACK``."""

    __slots__ = ("_raw", "info")

    def __init__(self, raw: Any) -> None:
        import pyodbc

        self._raw = raw
        self.info = SimpleNamespace(transaction_status=2,
                                    dbname=str(raw.getinfo(pyodbc.SQL_DATABASE_NAME)))

    @property
    def autocommit(self) -> bool:
        return bool(self._raw.autocommit)

    def cursor(self) -> Any:
        return self._raw.cursor()


class _Kind:
    """PostgreSQL's kind for one pyodbc connection: its effect check told of the user's
    transaction (``_InBlock``); everything else is PostgreSQL's own."""

    def __init__(self, base: ConnectionKind) -> None:
        self._base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def run_effect(self, raw: Any, call: Any, **kw: Any) -> Any:
        return self._base.run_effect(_InBlock(raw) if in_block(raw) else raw, call, **kw)


class OdbcChecker(Checker):
    """PostgreSQL's judge for a pyodbc connection; it follows the transactions the user opens
    and ends in autocommit mode (``follow``)."""

    def __call__(self, query: Any, params: Any, call: Any, **kw: Any) -> Any:
        from jupyter_guard.connections.pg_effect import transaction_control

        if busy() or not isinstance(query, str) or not transaction_control(query):
            return super().__call__(query, params, call, **kw)
        raw = self.raw

        def ran() -> Any:   # noted once it ran (a refused one never reaches the server)
            try:
                return call()
            finally:
                follow(raw, query)
        return super().__call__(query, params, ran, **kw)


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
        if raw.autocommit and not in_block(raw):
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

    def commit(self) -> None:
        try:
            self._jg_con.commit()
        finally:
            ended(self._jg_check.raw)

    def rollback(self) -> None:
        try:
            self._jg_con.rollback()
        finally:
            ended(self._jg_check.raw)

    def __enter__(self) -> OdbcCursor:
        self._jg_con.__enter__()
        return self


class OdbcConnection(GuardedDbapi):
    __slots__ = ()

    def cursor(self, *args: Any, **kw: Any) -> OdbcCursor:
        return OdbcCursor(self._jg_con.cursor(*args, **kw), self._jg_check)

    def commit(self) -> None:
        try:
            self._jg_con.commit()
        finally:
            ended(self._jg_con)

    def rollback(self) -> None:
        try:
            self._jg_con.rollback()
        finally:
            ended(self._jg_con)

    def close(self) -> None:
        try:
            self._jg_con.close()
        finally:
            ended(self._jg_con)

    def __setattr__(self, name: str, value: Any) -> None:
        was = self._jg_con.autocommit
        setattr(self._jg_con, name, value)
        if self._jg_con.autocommit != was:   # psqlODBC commits an open block on a new mode
            ended(self._jg_con)

    def __enter__(self) -> OdbcConnection:
        self._jg_con.__enter__()
        return self


OdbcCursor._JG_CONNECTION = OdbcConnection


def checker(guard: Any, raw: Any) -> Checker:
    """The judge of the pyodbc connection ``raw``: PostgreSQL's when it reaches PostgreSQL."""
    if not is_postgres(raw):
        return Checker(guard, raw, "pyodbc")
    check = OdbcChecker(guard, raw, "pyodbc")
    check.kind = _Kind(for_dialect("postgres"))  # type: ignore[assignment]
    check.dialect = "postgres"
    check.conn = OdbcConn(raw, "pyodbc connection", "postgres")
    return check


def guard_connection(raw: Any, guard: Any) -> Any:
    """A guarded pyodbc connection (``dbapi_proxy.guard_connection``)."""
    ended(raw)   # a new connection (an id can be reused)
    check = checker(guard, raw)
    return OdbcConnection(raw, check) if check.dialect == "postgres" else \
        GuardedDbapi(raw, check)


def guard_cursor(cur: Any, guard: Any) -> Any:
    """A pyodbc cursor opened before the guard loaded."""
    check = checker(guard, cur.connection)
    return OdbcCursor(cur, check) if check.dialect == "postgres" else GuardedCursor(cur, check)
