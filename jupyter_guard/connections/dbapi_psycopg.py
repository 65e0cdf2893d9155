"""psycopg 3's statement methods judge their own statements, whatever route reaches them.

The proxies of ``dbapi_proxy`` judge what goes through them, but the raw objects stay in reach:
``cur.connection`` / ``cur._conn`` (the raw connection), ``psycopg.Cursor(con)``,
``psycopg.ClientCursor(con)``, ``psycopg.Cursor.execute(cur, ...)``, a method saved before
``%load_ext``, cursors of connections the guard never saw. So the functions themselves are
routed (``driver_methods``, the mechanism asyncpg's class uses too): ``execute``,
``executemany``, ``stream`` and ``copy`` of ``Cursor`` (``ClientCursor``, ``RawCursor`` and user
subclasses inherit them), ``ServerCursor``'s ``execute``/``executemany``, ``Connection.execute``,
and their asyncio twins. No call is trusted by where it comes from. A call passes to psycopg's
own body when the guard runs its own query (``Busy``) or a statement it judged
(``dbapi.judged_on``, per task and thread, keyed on the libpq connection); a call applied to a
guarded proxy is the proxy's call; a real psycopg cursor is judged by its connection's
``Checker`` (one per raw connection); ``Connection.execute`` on a raw connection runs psycopg's
body, whose cursor ``execute`` is judged; anything else (an object forwarding to a cursor) is
refused. ``stream`` of a statement that can change something runs whole inside the effect check
(its rows are then yielded); a read streams as psycopg streams it.
"""
from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from jupyter_guard.connections import driver_methods, pg_fetch, pg_results
from jupyter_guard.connections.dbapi import Checker, is_judged, judged_on
from jupyter_guard.hooks.sealed_events import weak_table
from jupyter_guard.hooks.state import Busy, busy

# each raw connection's judge (sync, asyncio): sealed weak tables, given by the guard's routed
# methods only (a module-level table was filled from a cell with a judge judging nothing)
_SYNC = weak_table("a psycopg connection's judge", callers=2)
_ASYNC = weak_table("a psycopg connection's judge", callers=2)
Routed = driver_methods.Routed


def _raw(con: Any) -> Any:
    """The driver's connection (a cursor built on a guarded connection holds the proxy)."""
    from jupyter_guard.connections.dbapi_proxy import _Proxy  # late: it imports this module

    return object.__getattribute__(con, "_jg_con") if isinstance(con, _Proxy) else con


def checker(con: Any, guard: Any, _table: tuple[Any, Any] = _SYNC) -> Checker:
    con = _raw(con)
    check: Checker | None = _table[0](con)
    if check is None:
        check = _table[1](con, Checker(guard, con, "psycopg"))
    return check


def achecker(aconn: Any, guard: Any, _table: tuple[Any, Any] = _ASYNC) -> Any:
    from jupyter_guard.connections.dbapi_async import AsyncChecker  # late: it imports dbapi_proxy

    aconn = _raw(aconn)
    check = _table[0](aconn)
    if check is None:
        check = _table[1](aconn, AsyncChecker(guard, aconn))
    check.twin._autocommit = bool(aconn.autocommit)   # mirrors the user's setting
    return check


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


def _copy_in(cm: Any) -> Iterator[Any]:
    """The generator ``contextlib`` expects from ``copy``'s routed body, over ``cm``."""
    with cm as cp:
        yield cp


async def _acopy_in(cm: Any) -> AsyncIterator[Any]:
    async with cm as cp:
        yield cp


# A real psycopg cursor's call, judged by its connection's checker: (routed, cursor, guard, the
# call's arguments) -> what the method returns
def _execute(r: Routed, cur: Any, guard: Any, query: Any, params: Any = None, **kw: Any) -> Any:
    from jupyter_guard.connections.dbapi_proxy import _binds  # late: it imports this module

    return checker(cur._conn, guard)(query, params, lambda: r.body(cur, query, params, **kw),
                                     server_binds=_binds(cur, kw))


def _executemany(r: Routed, cur: Any, guard: Any, query: Any, seq: Any, **kw: Any) -> Any:
    rows = list(seq)
    return checker(cur._conn, guard)(query, rows[0] if rows else None,
                                     lambda: r.body(cur, query, rows, **kw), many=True)


def _stream_of(r: Routed, cur: Any, guard: Any, query: Any, params: Any = None,
               **kw: Any) -> Iterator[Any]:
    check = checker(cur._conn, guard)
    pg_results.note(cur, query, check.raw)   # its rows keep the statement's taint
    pg_results.warm(query, check.raw, guard)
    return pg_results.rows(cur, _stream(check, query, params,
                                        lambda: r.body(cur, query, params, **kw)), guard)


def _copy(r: Routed, cur: Any, guard: Any, statement: Any, params: Any = None,
          **kw: Any) -> Iterator[Any]:
    return _copy_in(checker(cur._conn, guard).copy(
        statement, params, lambda: contextmanager(r.body)(cur, statement, params, **kw)))


async def _aexecute(r: Routed, cur: Any, guard: Any, query: Any, params: Any = None,
                    **kw: Any) -> Any:
    return await achecker(cur._conn, guard)(query, params,
                                            lambda: r.body(cur, query, params, **kw))


async def _aexecutemany(r: Routed, cur: Any, guard: Any, query: Any, seq: Any, **kw: Any) -> Any:
    rows = list(seq)
    return await achecker(cur._conn, guard)(query, rows[0] if rows else None,
                                            lambda: r.body(cur, query, rows, **kw), many=True)


def _astream_of(r: Routed, cur: Any, guard: Any, query: Any, params: Any = None,
                **kw: Any) -> AsyncIterator[Any]:
    check = achecker(cur._conn, guard)
    pg_results.note(cur, query, check.twin)   # its rows keep the statement's taint
    pg_results.warm(query, check.twin, guard)   # (the guard's queries run on the twin)
    return pg_fetch.arows(cur, _astream(check, query, params,
                                        lambda: r.body(cur, query, params, **kw)), guard)


def _acopy(r: Routed, cur: Any, guard: Any, statement: Any, params: Any = None,
           **kw: Any) -> AsyncIterator[Any]:
    return _acopy_in(achecker(cur._conn, guard).copy(
        statement, params, lambda: asynccontextmanager(r.body)(cur, statement, params, **kw)))


SYNC = {"execute": _execute, "executemany": _executemany, "stream": _stream_of, "copy": _copy}
ASYNC = {"execute": _aexecute, "executemany": _aexecutemany, "stream": _astream_of,
         "copy": _acopy}


def runner(guard: Any, base: type, judges: dict[str, Any], copy_in: Any) -> driver_methods.Runner:
    """How a call of a routed method of ``base`` (a psycopg cursor class; a connection class
    when ``judges`` is empty) runs (see the module's docstring)."""
    from jupyter_guard.connections.dbapi_proxy import _Proxy  # late: it imports this module

    def run(r: Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        real = issubclass(type(obj), base)   # not ``isinstance``: a proxy reports the class
        if busy():
            return r.body(obj, *args, **kw)
        if real and is_judged(obj._pgconn if judges else obj.pgconn):
            out = r.body(obj, *args, **kw)
        elif isinstance(obj, _Proxy):   # the proxy judges; its call comes back here as judged
            method = getattr(obj, r.name)
            return copy_in(method(*args, **kw)) if r.name == "copy" else method(*args, **kw)
        elif not real:
            raise driver_methods.unknown(r, obj)
        elif not judges:   # a connection: the ``execute`` of the cursor it opens judges
            return r.body(obj, *args, **kw)
        else:
            out = judges[r.name](r, obj, guard, *args, **kw)
        if judges and r.name in _NOTED:   # its fetches keep the statement's taint
            query = args[0] if args else kw.get("query")
            if inspect.isawaitable(out):   # the guard's queries run on the twin
                return _noted(out, obj, query, achecker(obj._conn, guard).twin, guard)
            pg_results.note(obj, query, _raw(obj._conn))
            pg_results.held(obj, guard)
        return out

    return run


_NOTED = frozenset({"execute", "executemany"})


async def _noted(pending: Any, cur: Any, query: Any, raw: Any, guard: Any) -> Any:
    out = await pending
    pg_results.note(cur, query, raw)
    pg_results.held(cur, guard)
    return out


def patch(module: Any, guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """psycopg's statement methods routed through the guard (see the module's docstring)."""
    statements = ("execute", "executemany", "stream", "copy")
    for cls, names, judges, copy_in in (
            (module.Cursor, statements, SYNC, _copy_in),
            (module.ServerCursor, ("execute", "executemany"), SYNC, _copy_in),
            (module.Connection, ("execute",), {}, _copy_in),
            (module.AsyncCursor, statements, ASYNC, _acopy_in),
            (module.AsyncServerCursor, ("execute", "executemany"), ASYNC, _acopy_in),
            (module.AsyncConnection, ("execute",), {}, _acopy_in)):
        driver_methods.reroute(cls, names, runner(guard, cls, judges, copy_in), (), patched)
    pg_fetch.patch(module, guard, patched)   # and their fetches keep the statement's taint
