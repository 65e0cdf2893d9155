"""DB-API drivers guarded at ``connect()``: psycopg (3), psycopg2, sqlite3, and pyodbc if present.

Each driver's ``connect`` returns a proxy (``isinstance`` still names the driver's class) whose
cursors judge every ``execute``/``executemany``/``copy``/``callproc`` with the decision
``%%guarded_sql`` uses, in the connection's dialect. The text judged is the text the server
gets: ``psycopg.sql`` compositions are rendered with the connection, ``%s``/``%(name)s``
parameters are bound by the driver's own ``mogrify``. On PostgreSQL, statements that can change
rows or schema also pass the effect check (``connections.pg_effect``). Connections and cursors
already in the namespace when the guard loads are swapped for proxies.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jupyter_guard.connections import sqlite_cell
from jupyter_guard.connections.base import GenericKind, drivers, for_driver
from jupyter_guard.connections.conn import Conn
from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard import oracles_pg
from jupyter_guard.guard.judge import refuse
from jupyter_guard.hooks import error_values
from jupyter_guard.hooks.state import Busy, busy, call_user, held, verify

if TYPE_CHECKING:
    from jupyter_guard.guard.service import Guard


def driver_of(obj: Any) -> str:
    """The DB-API module of a connection or cursor whose driver a database kind wraps
    (``psycopg``, ``psycopg2``, ``sqlite3``, ``pyodbc``, ...), or ``""``."""
    mod = type(obj).__module__.split(".")[0].lstrip("_")
    if not (hasattr(obj, "execute") or hasattr(obj, "cursor")):
        return ""
    if mod in drivers():
        return mod
    # a subclass of sqlite3's (``connect(factory=...)``) runs sqlite3's statements all the same
    return "sqlite3" if "sqlite3" in drivers() and sqlite_native(obj) else ""


def sqlite_native(obj: Any) -> bool:
    """A ``sqlite3`` connection or cursor, or one of a subclass of sqlite3's."""
    return any(c.__module__ == "sqlite3" for c in type(obj).__mro__)


# (key, frame) for each libpq connection (psycopg's ``pgconn``: its id; psycopg2's ``PGconn*``:
# negated) whose statement this task or thread runs after the guard judged it: the class-level
# patches (``dbapi_psycopg``) and the libpq checks let it pass instead of judging it twice or
# refusing it. A token like ``Busy``: it holds only while the guard's own frame that entered
# ``judged_on`` is live above the check with no user code in between (``state.held``).
_JUDGED: ContextVar[tuple[tuple[int, Any], ...]] = ContextVar("jupyter_guard_judged", default=())


@contextmanager
def judged_on(raw: Any) -> Iterator[None]:
    """The statement run inside was judged for ``raw`` (a driver connection)."""
    keys = {id(getattr(raw, "pgconn", raw))}
    ptr = getattr(raw, "pgconn_ptr", None)   # psycopg2: libpq's connection, seen by pg2_libpq
    if isinstance(ptr, int):
        keys.add(-ptr)   # negative: never the id of a Python object
    frame = sys._getframe(2)   # the ``with`` (past contextlib's ``__enter__``)
    token = _JUDGED.set(_marks() + tuple((k, frame) for k in keys))
    try:
        yield
    finally:
        _JUDGED.reset(token)


def _marks() -> tuple[tuple[int, Any], ...]:
    v = _JUDGED.get()
    return v if type(v) is tuple else ()   # set from user code: no mark of the guard's


def _judged(key: int, caller: Any) -> bool:
    return any(type(m) is tuple and len(m) == 2 and type(m[0]) is int and m[0] == key
               and held(m[1], caller)
               for m in _marks())


def is_judged(pgconn: Any) -> bool:
    return _judged(id(pgconn), sys._getframe(1))


def is_judged_ptr(ptr: int) -> bool:
    """A statement judged for the psycopg2 connection whose libpq ``PGconn*`` is ``ptr``."""
    return _judged(-ptr, sys._getframe(1))


@dataclass
class DbapiConn(Conn):
    """The guard's own read-only queries on a DB-API connection (row counts, catalog)."""

    def _query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        raw = self.raw
        status = int(getattr(getattr(raw, "info", None), "transaction_status", 0) or 0)
        if status == 1:   # a command in progress (a psycopg stream being read): asking now would
            # wait on the connection's lock for ever; the callers fall back to the guard's own
            raise RuntimeError("the connection is busy with a command in progress")
        own = not getattr(raw, "autocommit", True) and status == 2   # inside the user's transaction
        cur = raw.cursor()
        try:
            if own:
                cur.execute("SAVEPOINT jg_read")
            try:
                cur.execute(sql, tuple(params)) if params else cur.execute(sql)
                rows = list(cur.fetchall())
            except Exception:  # undo the guard's own read, then re-raised below
                if own:
                    cur.execute("ROLLBACK TO SAVEPOINT jg_read")
                    cur.execute("RELEASE SAVEPOINT jg_read")
                elif status == 0 and hasattr(raw, "rollback") and driver_of(raw) != "sqlite3":
                    raw.rollback()     # the failed transaction was ours alone
                raise
            if own:
                cur.execute("RELEASE SAVEPOINT jg_read")
            return rows
        finally:
            cur.close()

    def scalar(self, sql: str) -> Any:
        rows = self._query(sql)
        return rows[0][0] if rows else None

    def rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self._query(sql, params)

    def run(self, sql: str, *, want_frame: bool, limit: int | None = None) -> Any:
        """One user statement of ``%%guarded_sql`` (already judged), committed unless the user
        opened a transaction; a DataFrame when it returns rows and ``want_frame``."""
        cur = self.raw.cursor()
        try:
            cur.execute(sql)
            if cur.description is None or not want_frame:
                if not getattr(self.raw, "in_transaction", False) or cur.description is None:
                    _commit(self.raw)
                return None
            import pandas as pd

            # late: sql_params imports connections at load
            from jupyter_guard.kernel.sql_params import STATE

            rows = cur.fetchall() if limit is None else cur.fetchmany(limit + 1)
            STATE["more"] = limit is not None and len(rows) > limit
            cols = [d[0] for d in cur.description]
            return pd.DataFrame(rows[:limit] if limit is not None else rows, columns=cols)
        finally:
            cur.close()


def _commit(raw: Any) -> None:
    if hasattr(raw, "commit") and not getattr(raw, "autocommit", False):
        raw.commit()


def render(query: Any, raw: Any, params: Any = None, driver: str = "") -> str:
    """The SQL text the server will receive."""
    driver = driver or driver_of(raw)
    if hasattr(query, "as_string"):            # psycopg.sql / psycopg2.sql compositions
        query = query.as_string(raw)
    if isinstance(query, (bytes, bytearray, memoryview)):
        query = bytes(query).decode("utf-8", "replace")
    if not isinstance(query, str):
        raise GuardBlocked("sql-parse-error", f"the guard cannot read a query of type "
                           f"{type(query).__name__}: pass the SQL as a string", approval_hint=False)
    if params is None or driver not in ("psycopg", "psycopg2"):
        return query
    try:
        if driver == "psycopg":
            import psycopg

            return str(psycopg.ClientCursor(raw).mogrify(query, params))
        out = raw.cursor().mogrify(query, params)
        return out.decode("utf-8", "replace") if isinstance(out, bytes) else str(out)
    except Exception:  # noqa: BLE001 - bad parameters: the driver raises the same error when the statement runs
        return query


class Checker:
    """One connection's judge: static decision, then the effect check where it applies."""

    def __init__(self, guard: Guard, raw: Any, driver: str) -> None:
        self.guard, self.raw, self.driver = guard, raw, driver
        self.kind = for_driver(driver) or GenericKind()
        self.dialect = self.kind.dialect
        self.conn = DbapiConn(raw, f"{driver} connection", self.dialect)
        # a read-only query's text, and its tokens with literals left out (``kind.read_shape``)
        # -> its analysis
        self._reads: dict[tuple[Any, ...], Any] = {}

    def __call__(self, query: Any, params: Any, call: Any, *, many: bool = False,
                 server_binds: bool = False, script: bool = False) -> Any:
        """``server_binds``: the cursor sends ``params`` apart from the SQL (psycopg 3's
        ``Cursor``), so no value can become SQL. ``script``: sqlite3's ``executescript``."""
        if busy():
            return call()
        if hasattr(query, "as_string"):   # a composition renders itself: user code, not busy
            query = call_user(query.as_string, self.raw)
        with Busy():   # the guard's own queries (counts, catalog, measurement) pass unchecked
            text, effect, j = self.decide(query, params, many, server_binds, script)
        try:
            if effect:
                with Busy():
                    result = self.kind.run_effect(self.raw, call,
                                                 **self.effect_args(text, j, cell=True))
            else:
                with judged_on(self.raw):
                    result = sqlite_cell.run(self, text, j, call, script) \
                        if self.driver in ("sqlite3", "apsw") else call()
        except Exception as e:
            error_values.note(e, text, self.guard)   # a value the error quotes
            raise
        self.guard.note_success(j.intents)
        return result

    @contextmanager
    def copy(self, query: Any, params: Any, open_copy: Any) -> Iterator[Any]:
        """psycopg 3's ``cursor.copy()``: the rows are sent inside the user's ``with``, so the
        effect check begins before the copy opens and measures once it has ended."""
        if busy():
            with open_copy() as cp:
                yield cp
            return
        run = CopyRun(self, self.raw, query, params)
        try:
            with judged_on(self.raw), open_copy() as cp:
                yield cp
        except BaseException:
            run.failed()
            raise
        run.ended()

    def decide(self, query: Any, params: Any, many: bool,
               server_binds: bool = False, script: bool = False) -> tuple[str, bool, Any]:
        """(the text judged, whether the effect check applies, the judgement); raises
        ``GuardBlocked`` when the policy refuses or the guard itself fails (fail closed)."""
        try:
            j = self._bound_read(query, params, many) if server_binds else None
            if j is not None:
                text, effect = query, False
            elif self.driver == "sqlite3" and not script and sqlite_native(self.raw):
                text, effect, j = self._sqlite(query, params, many)
            else:
                text, effect, j = self._judge(query, params, many, server_binds)
        except GuardBlocked:
            raise
        except Exception as e:
            if oracles_pg.aborted(e):
                raise   # the driver's own error: the user's transaction is aborted, nothing ran
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise GuardBlocked("guard-error", f"the guard failed while checking this statement "
                               f"({type(e).__name__}: {first}); nothing ran",
                               approval_hint=False) from None
        if j.verdict.refuses:
            self._refuse(text, j, j.verdict)
        return text, effect, j

    def effect_args(self, text: str, j: Any, cell: bool = False) -> dict[str, Any]:
        """``cell``: the rows are added to the cell's count per table (``pg_cell``)."""
        g = self.guard
        args = {"source": text, "policy": g.policy, "ctx": g.context(self.conn, files=False),
                "ours": g.session_tables, "on_refuse": lambda v: self._refused(text, j, v)}
        if cell:
            from jupyter_guard.guard.effect import state  # late: only for measured statements

            args["cell"] = state(g)
        return args

    def _bound_read(self, query: Any, params: Any, many: bool) -> Any:
        """The allowed judgement of a read-only query already judged with other values, when
        the server binds them (a value cannot change what the statement does); else None."""
        if many or params is None or type(query) is not str:
            return None
        read = self._reads.get((query, "server-bound"))
        if read is None:
            return None
        verify()
        j = self.guard.judge(read, conn=self.conn, code=query)
        return None if j.verdict.refuses else j   # a refusal names the statement as bound

    def _sqlite(self, query: Any, params: Any, many: bool) -> tuple[str, bool, Any]:
        """A sqlite3 statement (not a script): its changed rows are measured (``sqlite_cell``),
        so it is analysed once per text (``sqlite_judge``)."""
        from jupyter_guard.connections import sqlite_judge  # late: only for sqlite3

        verify()
        text = render(query, self.raw, None, self.driver)
        analysis = sqlite_judge.analyse(self.guard, text, None if many else params, self.raw)
        return text, False, self.guard.judge(analysis, conn=self.conn, code=text)

    def _judge(self, query: Any, params: Any, many: bool,
               server_binds: bool = False) -> tuple[str, bool, Any]:
        """(the text the server gets, whether the effect check applies, the judgement)."""
        verify()
        g = self.guard
        text = render(query, self.raw, None if many else params, self.driver)
        kind = self.kind   # measured kinds get the text the driver bound (``render``)
        key: tuple[Any, ...] | None = None
        read = self._reads.get((text,)) if kind.measures_effect and not many else None
        if read is None and kind.measures_effect and not many:
            key = kind.read_shape(text)
            read = self._reads.get(key) if key is not None else None
            if read is not None and len(self._reads) < 512:
                self._reads[(text,)] = read
        if read is not None:   # the same read-only query with other values: analysed once
            return text, False, g.judge(read, conn=self.conn, code=text)
        bound = params if not kind.measures_effect and not many else None
        effect = kind.measures_effect and kind.needs_effect(text)
        analysis = g.sql_analysis(text, self.dialect, params=bound)
        if effect:
            analysis = kind.for_effect(analysis, self.conn, g.policy)
        elif key is not None and kind.pure_read(text):
            if len(self._reads) >= 512:
                self._reads.clear()
            self._reads[key] = self._reads[(text,)] = analysis
            if server_binds and params is not None and type(query) is str:
                self._reads[(query, "server-bound")] = analysis
        return text, effect, g.judge(analysis, conn=self.conn, code=text)

    def _refused(self, text: str, j: Any, verdict: Any) -> BaseException:
        return refuse(self.guard, j, kind="runtime", code=text, verdict=verdict)

    def _refuse(self, text: str, j: Any, verdict: Any) -> None:
        raise self._refused(text, j, verdict)


class CopyRun:
    """A copy whose rows the user sends (``Checker.copy`` and its asyncio twin): decided, and
    the effect check begun on ``raw``, before the copy opens; ``ended``/``failed`` after."""

    def __init__(self, checker: Checker, raw: Any, query: Any, params: Any) -> None:
        self.guard = checker.guard
        with Busy():
            text, effect, self.j = checker.decide(query, params, False)
            self.check = checker.kind.effect_check(raw, **checker.effect_args(text, self.j)) \
                if effect else None
            self.began = self.check is not None and self.check.begin()

    def failed(self) -> None:
        """The copy raised: the check is undone."""
        try:
            if self.began:
                with Busy():
                    self.check.abort()   # type: ignore[union-attr]  # began: a check
        finally:
            self._close()

    def ended(self) -> None:
        """The copy ended: measured (refused and rolled back when the policy forbids it)."""
        try:
            if self.began:
                with Busy():
                    self.check.end()   # type: ignore[union-attr]  # began: a check
        finally:
            self._close()
        self.guard.note_success(self.j.intents)

    def _close(self) -> None:
        if self.check is not None:
            self.check.close()


def install(shell: Any, guard: Guard) -> None:
    """Every registered kind's drivers guarded at ``connect()``; connections and cursors already
    in the namespace swapped for guarded ones."""
    # late: dbapi_proxy imports this module at load
    from jupyter_guard.connections import dbapi_proxy
    from jupyter_guard.hooks import lazy

    for name in drivers():
        def patch(mod: Any, n: str = name) -> None:
            dbapi_proxy.patch(mod, n, guard)

        lazy.when_imported(name, patch)
    for name, value in list(shell.user_ns.items()):
        if not name.startswith("_"):
            wrapped = dbapi_proxy.wrap_existing(value, guard)
            if wrapped is not value:
                shell.user_ns[name] = wrapped


__all__ = ["Checker", "CopyRun", "DbapiConn", "driver_of", "install", "is_judged", "is_judged_ptr",
           "judged_on",
           "render", "sqlite_native"]
