"""psycopg 3's fetches keep their result's taint, however they are reached.

Each fetch method of psycopg's cursor classes (``fetchone``, ``fetchmany``, ``fetchall``,
``__next__``, and their asyncio twins with ``__anext__``; ``ServerCursor`` and
``AsyncServerCursor`` have their own) is routed by ``driver_methods``, the mechanism that judges
``execute``: the function object itself hands its call to the guard, so a cursor built from the
class (``psycopg.Cursor(con)``, ``ClientCursor``, ``RawCursor``, a named cursor), a method saved
before ``%load_ext`` (``f = psycopg.Cursor.fetchall``) and the guarded proxy's forwarded calls all
meet the same check. The routed ``execute`` notes each statement it lets run
(``pg_results.note``) and judges the rows a client-side cursor then holds whole
(``pg_results.held``: its libpq result can be read without a fetch, ``cur.pgresult``), and so do
``nextset``/``set_result`` for the result they move to; every fetch hands its rows to
``pg_results.fetched``, which remembers the values of tainted columns and refuses pieces too
short to mask (nothing left to do for a result already judged whole). ``iter(cur)`` and
``async for`` run psycopg's own ``__next__``/``__anext__`` body with no check per row while the
result is one judged whole (a per-row route would cost ~2 µs a row). ``stream`` yields its rows
through ``rows``/``arows`` (judged 1000 at a time). A fetch applied to an object that only
forwards to a cursor is refused: its rows could not be told apart from another cursor's.
"""
from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

from jupyter_guard.connections import driver_methods, pg_results

SYNC = ("fetchone", "fetchmany", "fetchall", "__next__")
ASYNC = ("fetchone", "fetchmany", "fetchall", "__anext__")
ONE = frozenset({"fetchone", "__next__", "__anext__"})   # methods that give one row


def _cursor(r: driver_methods.Routed, obj: Any, base: type) -> Any:
    """The driver cursor whose rows a call of ``r`` on ``obj`` reads (a proxy's own cursor)."""
    if issubclass(type(obj), base):   # not ``isinstance``: a proxy or forwarding object may lie
        return obj
    from jupyter_guard.connections.dbapi_proxy import _Proxy  # late: it imports dbapi_psycopg

    if isinstance(obj, _Proxy):
        return object.__getattribute__(obj, "_jg_con")
    raise driver_methods.unknown(r, obj)


def runner(guard: Any, base: type) -> driver_methods.Runner:
    """A synchronous fetch: psycopg's body, then its rows judged."""
    def run(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        cur = _cursor(r, obj, base)
        out = r.body(obj, *args, **kw)
        return pg_results.fetched(cur, "fetchone" if r.name in ONE else "fetchmany", out, guard)

    return run


def iterate(guard: Any, base: type) -> driver_methods.Runner:
    """``iter(cur)``: psycopg's ``__next__`` body row by row, with no check per row while the
    result is one judged whole (``pg_results.held``); the routed ``__next__`` judges ``next(cur)``
    called by hand."""
    def run(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        cur = _cursor(r, obj, base)
        nxt = driver_methods.body_of(type(cur), "__next__")
        return obj if nxt is None else _rows(cur, nxt, guard)

    return run


def _rows(cur: Any, nxt: Any, guard: Any) -> Iterator[Any]:
    whole = None   # the libpq result judged whole
    while True:
        try:
            row = nxt(cur)
        except StopIteration:
            return
        if cur.pgresult is not whole:   # a new result, or a new page of a named cursor
            whole = cur.pgresult if pg_results.held(cur, guard) else None
            if whole is None:
                row = pg_results.fetched(cur, "fetchone", row, guard)
        yield row


def aiterate(guard: Any, base: type) -> driver_methods.Runner:
    """``async for row in cur``: as ``iterate``, over ``__anext__``."""
    def run(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        cur = _cursor(r, obj, base)
        nxt = driver_methods.body_of(type(cur), "__anext__")
        return obj if nxt is None else _arows_of(cur, nxt, guard)

    return run


async def _arows_of(cur: Any, nxt: Any, guard: Any) -> AsyncIterator[Any]:
    whole = None
    while True:
        try:
            row = await nxt(cur)
        except StopAsyncIteration:
            return
        if cur.pgresult is not whole:
            whole = cur.pgresult if pg_results.held(cur, guard) else None
            if whole is None:
                row = pg_results.fetched(cur, "fetchone", row, guard)
        yield row


def mover(guard: Any, base: type) -> driver_methods.Runner:
    """``nextset``/``set_result``: the result moved to is judged whole (``pg_results.held``)."""
    def run(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        cur = _cursor(r, obj, base)
        out = r.body(obj, *args, **kw)
        if inspect.isawaitable(out):
            return _held(out, cur, guard)
        pg_results.held(cur, guard)
        return out

    return run


async def _held(pending: Any, cur: Any, guard: Any) -> Any:
    out = await pending
    pg_results.held(cur, guard)
    return out


def arunner(guard: Any, base: type) -> driver_methods.Runner:
    """An asyncio fetch: awaited, then its rows judged."""
    def run(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        cur = _cursor(r, obj, base)
        return _judged(r.body(obj, *args, **kw), cur, r.name in ONE, guard)

    return run


async def _judged(pending: Any, cur: Any, one: bool, guard: Any) -> Any:
    return pg_results.fetched(cur, "fetchone" if one else "fetchmany", await pending, guard)


async def arows(cur: Any, it: AsyncIterator[Any], guard: Any) -> AsyncIterator[Any]:
    """An asyncio stream of ``cur``'s rows, judged 1000 rows at a time."""
    chunk: list[Any] = []
    async for row in it:
        chunk.append(row)
        if len(chunk) == 1000:
            for r in pg_results.fetched(cur, "fetchmany", chunk, guard):
                yield r
            chunk = []
    for r in pg_results.fetched(cur, "fetchmany", chunk, guard):
        yield r


def patch(module: Any, guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """psycopg's fetch methods routed through the guard (see the module's docstring)."""
    for cls, names, make in ((module.Cursor, SYNC, runner),
                             (module.ServerCursor, SYNC, runner),
                             (module.AsyncCursor, ASYNC, arunner),
                             (module.AsyncServerCursor, ASYNC, arunner)):
        base = module.Cursor if names is SYNC else module.AsyncCursor
        driver_methods.reroute(cls, names, make(guard, base), (), patched)
    for cls, name, make in ((module.Cursor, "__iter__", iterate),   # after ``__next__``: its
                            (module.ServerCursor, "__iter__", iterate),   # body is read
                            (module.AsyncCursor, "__aiter__", aiterate),
                            (module.AsyncServerCursor, "__aiter__", aiterate)):
        base = module.AsyncCursor if name == "__aiter__" else module.Cursor
        driver_methods.reroute(cls, (name,), make(guard, base), (), patched)
    common = next(c for c in module.Cursor.__mro__ if c.__name__ == "BaseCursor")
    for cls in (common, module.Cursor, module.AsyncCursor):
        driver_methods.reroute(cls, ("nextset", "set_result"), mover(guard, common), (), patched)
