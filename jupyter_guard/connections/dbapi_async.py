"""psycopg's asyncio connections and cursors, guarded like the synchronous ones.

``AsyncConnection.connect`` returns a proxy whose cursors judge every ``execute``,
``executemany`` and ``copy`` with the same ``dbapi.Checker`` decision, effect check included.
The guard's own queries (row counts, catalog, the effect check's snapshots, BEGIN/SAVEPOINT and
COMMIT/ROLLBACK) cannot be awaited from inside the decision, so they run on a synchronous
``psycopg.Connection`` over the same libpq connection (``twin``): the same server session and
the same transaction, used only while the user's connection is between statements.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from jupyter_guard.connections.dbapi import Checker, CopyRun, judged_on
from jupyter_guard.connections.dbapi_proxy import _Proxy
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy


def twin(aconn: Any) -> Any:
    """A synchronous psycopg connection on ``aconn``'s libpq connection. psycopg points the
    libpq notice and notify handlers at a new connection object: they are put back, so the
    user's connection keeps receiving its notices."""
    import psycopg

    pg = aconn.pgconn
    handlers = (pg.notice_handler, pg.notify_handler)
    sync = psycopg.Connection(pg)
    pg.notice_handler, pg.notify_handler = handlers
    sync._pool = None   # psycopg's mark of a connection someone else closes: no warning at exit
    sync.prepare_threshold = None   # never prepares: its names would clash with the user's
    return sync


class AsyncChecker:
    """``Checker`` for one asyncio connection: the decision and the guard's own queries run on
    the twin; only the user's statement is awaited."""

    def __init__(self, guard: Guard, aconn: Any) -> None:
        self.aconn = aconn
        self.twin = twin(aconn)
        self.sync = Checker(guard, self.twin, "psycopg")
        self.kind = self.sync.kind

    async def __call__(self, query: Any, params: Any, acall: Any, *, many: bool = False) -> Any:
        self.twin._autocommit = bool(self.aconn.autocommit)   # mirrors the user's setting
        if busy():
            return await acall()
        with Busy():   # never held across an await: other tasks' statements are still checked
            text, effect, j = self.sync.decide(query, params, many)
        with judged_on(self.aconn):   # this task's statement: the class-level patch lets it pass
            if effect:
                result = await self.kind.run_effect_async(
                    self.twin, acall, own=Busy, **self.sync.effect_args(text, j, cell=True))
            else:
                result = await acall()
        self.sync.guard.note_success(j.intents)
        return result

    @asynccontextmanager
    async def copy(self, query: Any, params: Any, open_copy: Any) -> AsyncIterator[Any]:
        """``cursor.copy()``: its rows stream inside the user's ``async with``; the effect check
        (on the twin) begins before the copy opens and measures once it has ended."""
        self.twin._autocommit = bool(self.aconn.autocommit)
        if busy():
            async with open_copy() as cp:
                yield cp
            return
        run = CopyRun(self.sync, self.twin, query, params)
        try:
            with judged_on(self.aconn):   # the class-level methods let this copy pass
                async with open_copy() as cp:
                    yield cp
        except BaseException:
            run.failed()
            raise
        run.ended()


class GuardedAsyncCursor(_Proxy):
    __slots__ = ()

    async def execute(self, query: Any, params: Any = None, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con
        result = await self._jg_check(query, params, lambda: raw.execute(query, params, *args,
                                                                          **kw))
        return self if result is raw else result

    async def executemany(self, query: Any, seq: Any, *args: Any, **kw: Any) -> Any:
        rows = list(seq)
        raw = self._jg_con
        return await self._jg_check(query, rows[0] if rows else None,
                                    lambda: raw.executemany(query, rows, *args, **kw), many=True)

    def copy(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        raw = self._jg_con
        return self._jg_check.copy(statement, params, lambda: raw.copy(statement, params, **kw))

    async def __aenter__(self) -> GuardedAsyncCursor:
        await self._jg_con.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._jg_con.__aexit__(*exc)

    def __aiter__(self) -> Any:
        return self._jg_con.__aiter__()


class GuardedAsyncDbapi(_Proxy):
    __slots__ = ()

    def cursor(self, *args: Any, **kw: Any) -> GuardedAsyncCursor:
        return GuardedAsyncCursor(self._jg_con.cursor(*args, **kw), self._jg_check)

    async def execute(self, query: Any, params: Any = None, *args: Any, **kw: Any) -> Any:
        return await self.cursor().execute(query, params, *args, **kw)

    async def __aenter__(self) -> GuardedAsyncDbapi:
        await self._jg_con.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._jg_con.__aexit__(*exc)


GuardedAsyncCursor._JG_CONNECTION = GuardedAsyncDbapi


def guard_async(raw: Any, guard: Guard) -> Any:
    if isinstance(raw, _Proxy):
        return raw
    return GuardedAsyncDbapi(raw, AsyncChecker(guard, raw))


def wrap_existing(value: Any, guard: Guard) -> Any:
    """An asyncio connection or cursor opened before the guard loaded, as a proxy."""
    if hasattr(value, "cursor") and not hasattr(value, "fetchone"):
        return guard_async(value, guard)
    owner = getattr(value, "connection", None)
    if owner is not None:
        return GuardedAsyncCursor(value, AsyncChecker(guard, owner))
    return value


def patch(module: Any, guard: Guard, patched: dict[tuple[Any, str], Any]) -> None:
    """``psycopg.AsyncConnection.connect`` returns guarded connections."""
    cls = module.AsyncConnection
    orig = cls.__dict__["connect"].__func__

    async def connect(klass: Any, *args: Any, **kw: Any) -> Any:
        return guard_async(await orig(klass, *args, **kw), guard)

    cls.connect = classmethod(sealed(connect, orig))   # its cells hold the guard: sealed
    patched[(cls, "connect")] = cls.__dict__["connect"]
