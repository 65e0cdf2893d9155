"""psycopg 3's cursor classes judge their own statements, whatever route reaches them.

The proxies of ``dbapi_proxy`` judge what goes through them, but the raw objects stay in reach:
``cur.connection`` / ``cur._conn`` (the raw connection), ``psycopg.Cursor(con)``,
``psycopg.ClientCursor(con)``, ``psycopg.Cursor.execute(cur, ...)``, cursors of connections
the guard never saw. So the statement methods are patched on the classes themselves, as
pg8000's core class is (``dbapi_pg8000``): ``execute``, ``executemany``, ``stream`` and ``copy``
of ``Cursor`` (``ClientCursor``, ``RawCursor`` and user subclasses inherit them) and
``ServerCursor.execute``, and their asyncio twins. ``Connection.execute`` opens a cursor and
calls its ``execute``. Each call is judged by the connection's ``Checker`` (one per raw
connection); a statement a proxy already judged (``dbapi.judged_on``) and the guard's own
queries (``Busy``) pass. ``stream`` of a statement that can change something runs whole inside
the effect check (its rows are then yielded); a read streams as psycopg streams it.
"""
from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from jupyter_guard.connections.dbapi import Checker, is_judged, judged_on
from jupyter_guard.hooks.state import Busy, busy

_SYNC: weakref.WeakKeyDictionary[Any, Checker] = weakref.WeakKeyDictionary()
_ASYNC: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _raw(con: Any) -> Any:
    """The driver's connection (a cursor built on a guarded connection holds the proxy)."""
    from jupyter_guard.connections.dbapi_proxy import _Proxy  # late: it imports this module

    return object.__getattribute__(con, "_jg_con") if isinstance(con, _Proxy) else con


def checker(con: Any, guard: Any) -> Checker:
    con = _raw(con)
    check = _SYNC.get(con)
    if check is None:
        check = _SYNC[con] = Checker(guard, con, "psycopg")
    return check


def achecker(aconn: Any, guard: Any) -> Any:
    from jupyter_guard.connections.dbapi_async import AsyncChecker  # late: it imports dbapi_proxy

    aconn = _raw(aconn)
    check = _ASYNC.get(aconn)
    if check is None:
        check = _ASYNC[aconn] = AsyncChecker(guard, aconn)
    check.twin._autocommit = bool(aconn.autocommit)   # mirrors the user's setting
    return check


def _passes(cur: Any) -> bool:
    return busy() or is_judged(cur._pgconn)


def _stream(check: Checker, query: Any, params: Any, open_stream: Any) -> Iterator[Any]:
    with Busy():
        text, effect, j = check.decide(query, params, False)
        if effect:   # the rows it changes are measured once the stream has ended
            rows = check.kind.run_effect(check.raw, lambda: list(open_stream()),
                                         **check.effect_args(text, j, cell=True))
    if effect:
        check.guard.note_success(j.intents)
        yield from rows
        return
    gen = open_stream()
    try:
        while True:
            with judged_on(check.raw):
                try:
                    row = next(gen)
                except StopIteration:
                    break
            yield row
    finally:
        with judged_on(check.raw):
            gen.close()
    check.guard.note_success(j.intents)


async def _astream(check: Any, query: Any, params: Any, open_stream: Any) -> AsyncIterator[Any]:
    with Busy():
        text, effect, j = check.sync.decide(query, params, False)
    if effect:
        async def collect() -> list[Any]:
            return [r async for r in open_stream()]

        with judged_on(check.aconn):
            rows = await check.kind.run_effect_async(
                check.twin, collect, own=Busy, **check.sync.effect_args(text, j, cell=True))
        check.sync.guard.note_success(j.intents)
        for r in rows:
            yield r
        return
    gen = open_stream()
    try:
        while True:
            with judged_on(check.aconn):
                try:
                    row = await gen.__anext__()
                except StopAsyncIteration:
                    break
            yield row
    finally:
        with judged_on(check.aconn):
            await gen.aclose()
    check.sync.guard.note_success(j.intents)


def _sync_methods(cls: Any, server: Any, guard: Any) -> dict[tuple[Any, str], Any]:
    from jupyter_guard.connections.dbapi_proxy import _binds  # late: it imports this module

    o = {n: cls.__dict__[n] for n in ("execute", "executemany", "stream", "copy")}
    o_server = server.__dict__["execute"]

    def execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if _passes(self):
            return o["execute"](self, query, params, **kw)
        return checker(self._conn, guard)(query, params,
                                          lambda: o["execute"](self, query, params, **kw),
                                          server_binds=_binds(self, kw))

    def server_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if _passes(self):
            return o_server(self, query, params, **kw)
        return checker(self._conn, guard)(query, params,
                                          lambda: o_server(self, query, params, **kw))

    def executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
        if _passes(self):
            return o["executemany"](self, query, params_seq, **kw)
        rows = list(params_seq)
        return checker(self._conn, guard)(
            query, rows[0] if rows else None,
            lambda: o["executemany"](self, query, rows, **kw), many=True)

    def stream(self: Any, query: Any, params: Any = None, **kw: Any) -> Iterator[Any]:
        if _passes(self):
            return o["stream"](self, query, params, **kw)   # type: ignore[no-any-return]  # psycopg's generator
        return _stream(checker(self._conn, guard), query, params,
                       lambda: o["stream"](self, query, params, **kw))

    def copy(self: Any, statement: Any, params: Any = None, **kw: Any) -> Any:
        if _passes(self):
            return o["copy"](self, statement, params, **kw)
        return checker(self._conn, guard).copy(statement, params,
                                               lambda: o["copy"](self, statement, params, **kw))

    out = {(cls, f.__name__): f for f in (execute, executemany, stream, copy)}
    server_execute.__name__ = "execute"
    out[(server, "execute")] = server_execute
    return out


def _async_methods(cls: Any, server: Any, guard: Any) -> dict[tuple[Any, str], Any]:
    o = {n: cls.__dict__[n] for n in ("execute", "executemany", "stream", "copy")}
    o_server = server.__dict__["execute"]

    async def execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if _passes(self):
            return await o["execute"](self, query, params, **kw)
        return await achecker(self._conn, guard)(
            query, params, lambda: o["execute"](self, query, params, **kw))

    async def server_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if _passes(self):
            return await o_server(self, query, params, **kw)
        return await achecker(self._conn, guard)(
            query, params, lambda: o_server(self, query, params, **kw))

    async def executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
        if _passes(self):
            return await o["executemany"](self, query, params_seq, **kw)
        rows = list(params_seq)
        return await achecker(self._conn, guard)(
            query, rows[0] if rows else None,
            lambda: o["executemany"](self, query, rows, **kw), many=True)

    def stream(self: Any, query: Any, params: Any = None, **kw: Any) -> AsyncIterator[Any]:
        if _passes(self):
            return o["stream"](self, query, params, **kw)   # type: ignore[no-any-return]  # psycopg's async generator
        return _astream(achecker(self._conn, guard), query, params,
                        lambda: o["stream"](self, query, params, **kw))

    def copy(self: Any, statement: Any, params: Any = None, **kw: Any) -> Any:
        if _passes(self):
            return o["copy"](self, statement, params, **kw)
        return achecker(self._conn, guard).copy(
            statement, params, lambda: o["copy"](self, statement, params, **kw))

    out = {(cls, f.__name__): f for f in (execute, executemany, stream, copy)}
    server_execute.__name__ = "execute"
    out[(server, "execute")] = server_execute
    return out


def patch(module: Any, guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """The statement methods of psycopg's cursor classes judge what they send."""
    if getattr(module.Cursor, "_jupyter_guard_psycopg", False):
        return
    found = {**_sync_methods(module.Cursor, module.ServerCursor, guard),
             **_async_methods(module.AsyncCursor, module.AsyncServerCursor, guard)}
    for (cls, name), fn in found.items():
        fn.__doc__ = getattr(cls.__dict__[name], "__doc__", None)
        setattr(cls, name, fn)
        patched[(cls, name)] = fn
    module.Cursor._jupyter_guard_psycopg = True
