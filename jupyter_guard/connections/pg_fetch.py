"""psycopg 3's fetches keep their result's taint, however they are reached.

Each fetch method of psycopg's cursor classes (``fetchone``, ``fetchmany``, ``fetchall``,
``__next__``, and their asyncio twins with ``__anext__``; ``ServerCursor`` and
``AsyncServerCursor`` have their own) is routed by ``driver_methods``, the mechanism that judges
``execute``: the function object itself hands its call to the guard, so a cursor built from the
class (``psycopg.Cursor(con)``, ``ClientCursor``, ``RawCursor``, a named cursor), a method saved
before ``%load_ext`` (``f = psycopg.Cursor.fetchall``) and the guarded proxy's forwarded calls all
meet the same check. The routed ``execute`` notes each statement it lets run
(``pg_results.note``); every fetch then hands its rows to ``pg_results.fetched``, which remembers
the values of tainted columns and refuses pieces too short to mask. ``stream`` yields its rows
through ``rows``/``arows`` (judged 1000 at a time). A fetch applied to an object that only
forwards to a cursor is refused: its rows could not be told apart from another cursor's.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from jupyter_guard.connections import driver_methods, pg_results

SYNC = ("fetchone", "fetchmany", "fetchall", "__next__")
ASYNC = ("fetchone", "fetchmany", "fetchall", "__anext__")
ONE = frozenset({"fetchone", "__next__", "__anext__"})   # methods that give one row


def _cursor(r: driver_methods.Routed, obj: Any, base: type) -> Any:
    """The driver cursor whose rows a call of ``r`` on ``obj`` reads (a proxy's own cursor)."""
    from jupyter_guard.connections.dbapi_proxy import _Proxy  # late: it imports dbapi_psycopg

    if isinstance(obj, _Proxy):
        return object.__getattribute__(obj, "_jg_con")
    if not issubclass(type(obj), base):   # not ``isinstance``: a forwarding object may lie
        raise driver_methods.unknown(r, obj)
    return obj


def runner(guard: Any, base: type) -> driver_methods.Runner:
    """A synchronous fetch: psycopg's body, then its rows judged."""
    def run(r: driver_methods.Routed, obj: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        cur = _cursor(r, obj, base)
        out = r.body(obj, *args, **kw)
        return pg_results.fetched(cur, "fetchone" if r.name in ONE else "fetchmany", out, guard)

    return run


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
