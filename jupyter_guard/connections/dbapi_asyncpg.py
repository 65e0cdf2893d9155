"""asyncpg connections, guarded like psycopg's: every ``execute``, ``executemany``, ``fetch``,
``fetchrow``, ``fetchval``, ``fetchmany``, prepared statement and ``copy_*`` is judged with the
``dbapi.Checker`` decision in PostgreSQL's dialect, and whatever can change rows or schema runs
under the effect check.

asyncpg speaks PostgreSQL's protocol itself (no libpq, so no synchronous twin as for psycopg's
asyncio connections): the effect check's own statements (BEGIN or SAVEPOINT, the snapshots,
COMMIT or ROLLBACK) are awaited on the user's connection around the user's statement. The
queries the decision asks (the catalog, bounded row counts of DELETE/UPDATE, where a target is)
are awaited just before it (``dbapi_asyncpg_answers``), so it decides with psycopg's facts; whether
the role may write server files is read once, when the connection opens. ``$1`` parameters are
bound by the server: values never become SQL (a DELETE filtered by one is counted by its
measured effect).
"""
from __future__ import annotations

from typing import Any

from jupyter_guard.connections import pg_effect
from jupyter_guard.connections.asyncpg_results import Cursors, judged, prime, value
from jupyter_guard.connections.dbapi import Checker, render
from jupyter_guard.connections.dbapi_asyncpg_answers import AsyncpgConn, answer
from jupyter_guard.connections.dbapi_proxy import _Proxy
from jupyter_guard.connections.pg_judge import PRIVILEGED, pure_read
from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard import owned
from jupyter_guard.guard.owned import left_to_effect
from jupyter_guard.hooks import error_values
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy, verify
from jupyter_guard.model import Analysis


class _Judge(Checker):
    analysed: tuple[str, Analysis] | None = None   # (text, its analysis) made by the probe

    def _judge(self, query: Any, params: Any, many: bool,
               server_binds: bool = False) -> tuple[str, bool, Any]:
        verify()
        g, kind = self.guard, self.kind
        text = render(query, self.raw)          # $n parameters stay: the server binds them
        effect = kind.needs_effect(text)
        pending, self.analysed = self.analysed, None
        analysis = pending[1] if pending is not None and pending[0] == text else \
            g.sql_analysis(text, "postgres")
        if effect:
            analysis = kind.for_effect(analysis, self.conn, g.policy)
            analysis = Analysis(left_to_effect(analysis.intents, g.session_tables),
                                analysis.errors)
        return text, effect, g.judge(analysis, conn=self.conn, code=text)


class AsyncpgChecker:
    def __init__(self, guard: Any, raw: Any, privileged: bool) -> None:
        self.sync = _Judge(guard, raw, "asyncpg")
        self.conn = AsyncpgConn(raw, "asyncpg connection", "postgres", privileged=privileged)
        self.sync.conn = self.conn  # type: ignore[assignment] # the decision only reads it
        self.kind = self.sync.kind

    async def prime(self, query: Any) -> None:
        """The catalog of the tables ``query`` reads, asked before it runs (its results'
        lineage needs it)."""
        await prime(self.sync.raw, query)

    async def answer(self, query: Any) -> None:
        """The guard's own queries the decision of ``query`` asks (catalog, bounded counts),
        awaited first (``dbapi_asyncpg_answers``); a text the guard cannot read gets none."""
        self.sync.analysed = None
        try:
            text = render(query, self.sync.raw)
            analysis = await answer(self.sync.raw, self.sync.guard, self.kind, self.conn, text)
        except Exception:  # noqa: BLE001 - a text the guard cannot read or analyse: the decision refuses it with its own message
            return
        self.sync.analysed = (text, analysis)

    def results(self, query: Any, records: Any) -> Any:
        """Records of ``query`` keep its columns' taint (``asyncpg_results``)."""
        return judged(query, self.sync.raw, self.sync.guard, records)

    def cursors(self, query: Any, factory: Any) -> Cursors:
        return Cursors(factory, query, self.sync.raw, self.sync.guard)

    def check_now(self, query: Any, *, read_only: bool = False) -> None:
        """The static decision alone (copies, cursors); ``read_only``: refused unless the
        statement cannot change anything (a cursor's rows arrive after the call returns)."""
        if busy():
            return
        with Busy():
            text, _, _ = self.sync.decide(query, None, False)
        if read_only and not pure_read(text):
            raise GuardBlocked("sql-parse-error", "a cursor over a statement that can change "
                               "data cannot be measured: run it with execute() or fetch()",
                               approval_hint=False)

    async def __call__(self, query: Any, params: Any, acall: Any, *, many: bool = False) -> Any:
        if busy():
            return await acall()
        await self.answer(query)
        with Busy():   # never held across an await: other tasks' statements are still checked
            text, effect, j = self.sync.decide(query, params, many)
        try:
            if effect and not pg_effect.needs_transaction_free(text):
                result = await run_measured(self.sync.raw, acall,
                                            **self.sync.effect_args(text, j, cell=True))
            else:
                result = await acall()
        except Exception as e:
            error_values.note(e, text, self.sync.guard)   # a value the error quotes
            raise
        self.sync.guard.note_success(j.intents)
        return result


async def run_measured(raw: Any, acall: Any, *, source: str, policy: Any, ctx: Any,
                       on_refuse: Any, ours: set[str] | None = None, cell: Any = None) -> Any:
    """``pg_effect.run`` awaited on an asyncpg connection. ``cell``: the session's effect state,
    whose per-cell row counts the statement's rows are added to (``pg_cell``)."""
    own = not raw.is_in_transaction()
    await raw.execute("BEGIN" if own else "SAVEPOINT jg_effect")
    try:
        before = pg_effect.parse(await raw.fetch(pg_effect.SNAPSHOT))
        result = await acall()
        after = pg_effect.parse(await raw.fetch(pg_effect.SNAPSHOT))
        found = pg_effect.measured(before, after, source)
        verdict = pg_effect.judge(pg_effect.session_tables_ok(found, ours or set()), policy, ctx)
        if verdict is None:   # rows of the session's own tables count too (never fewer)
            verdict, changed = _count(found, raw, cell, policy)
    except BaseException:   # the statement or the measurement failed: nothing of it is kept
        await _undo(raw, own)
        raise
    if verdict is not None:
        await _undo(raw, own)
        raise on_refuse(verdict)
    try:
        await raw.execute("COMMIT" if own else "RELEASE SAVEPOINT jg_effect")
    except BaseException:   # not kept after all: its rows leave the cell's count
        _uncount(changed, cell)
        raise
    if ours is not None:   # tables this statement created belong to the session
        owned.pg_keep(ours, before, after)
    return result


def _count(found: Any, raw: Any, cell: Any, policy: Any) -> tuple[Any, dict[Any, int]]:
    """(the refusal when a table would pass ``max_affected_rows`` in the cell, or None; the
    rows this statement changed per table, then added to the cell's count: ``pg_cell``).
    Added before the ``COMMIT`` is awaited, under the lock with no await inside it, so another
    task or thread sees them at once."""
    if cell is None:
        return None, {}
    from jupyter_guard.connections import pg_cell  # late: only with a session's state

    changed = pg_cell.rows(found, pg_cell.database(raw))
    with cell.lock:
        verdict = pg_cell.over(changed, cell.cell, policy.max_affected_rows)
        if verdict is None:
            pg_cell.add(changed, cell.cell)
    return verdict, ({} if verdict is not None else changed)


def _uncount(changed: dict[Any, int], cell: Any) -> None:
    if changed:
        from jupyter_guard.connections import pg_cell  # late: only with a session's state

        with cell.lock:
            pg_cell.add({k: -n for k, n in changed.items()}, cell.cell)


async def _undo(raw: Any, own: bool) -> None:
    if own:
        await raw.execute("ROLLBACK")
    else:
        await raw.execute("ROLLBACK TO SAVEPOINT jg_effect; RELEASE SAVEPOINT jg_effect")


def _copy_text(table: str, columns: Any, schema: str | None, direction: str) -> str:
    cols = f" ({', '.join(columns)})" if columns else ""
    return f"COPY {schema + '.' if schema else ''}{table}{cols} {direction}"


class GuardedPrepared(_Proxy):
    """A prepared statement: each execution is judged with the statement's text."""

    __slots__ = ()

    def _run(self, method: str, args: Any, kw: Any) -> Any:
        raw = self._jg_con
        return self._jg_check(raw.get_query(), args or None,
                              lambda: getattr(raw, method)(*args, **kw))

    async def fetch(self, *args: Any, **kw: Any) -> Any:
        await self._jg_check.prime(self._jg_con.get_query())
        return self._jg_check.results(self._jg_con.get_query(), await self._run("fetch", args, kw))

    async def fetchrow(self, *args: Any, **kw: Any) -> Any:
        await self._jg_check.prime(self._jg_con.get_query())
        return self._jg_check.results(self._jg_con.get_query(),
                                      await self._run("fetchrow", args, kw))

    async def fetchval(self, *args: Any, column: Any = 0, **kw: Any) -> Any:
        return value(await self.fetchrow(*args, **kw), column)   # the value keeps its column

    async def fetchmany(self, args: Any, **kw: Any) -> Any:
        rows = list(args)
        raw = self._jg_con
        await self._jg_check.prime(raw.get_query())
        return self._jg_check.results(raw.get_query(), await self._jg_check(
            raw.get_query(), rows[0] if rows else None, lambda: raw.fetchmany(rows, **kw),
            many=True))

    async def executemany(self, args: Any, **kw: Any) -> Any:
        rows = list(args)
        raw = self._jg_con
        return await self._jg_check(raw.get_query(), rows[0] if rows else None,
                                    lambda: raw.executemany(rows, **kw), many=True)

    async def explain(self, *args: Any, analyze: bool = False) -> Any:
        return await self._run("explain", args, {"analyze": analyze})

    def cursor(self, *args: Any, **kw: Any) -> Any:
        self._jg_check.check_now(self._jg_con.get_query(), read_only=True)
        return self._jg_check.cursors(self._jg_con.get_query(), self._jg_con.cursor(*args, **kw))


class GuardedAsyncpg(_Proxy):
    __slots__ = ()

    def _run(self, method: str, query: Any, args: Any, kw: Any) -> Any:
        raw = self._jg_con
        return self._jg_check(query, args or None,
                              lambda: getattr(raw, method)(query, *args, **kw))

    async def execute(self, query: Any, *args: Any, **kw: Any) -> Any:
        return await self._run("execute", query, args, kw)

    async def fetch(self, query: Any, *args: Any, **kw: Any) -> Any:
        await self._jg_check.prime(query)
        return self._jg_check.results(query, await self._run("fetch", query, args, kw))

    async def fetchrow(self, query: Any, *args: Any, **kw: Any) -> Any:
        await self._jg_check.prime(query)
        return self._jg_check.results(query, await self._run("fetchrow", query, args, kw))

    async def fetchval(self, query: Any, *args: Any, column: Any = 0, **kw: Any) -> Any:
        return value(await self.fetchrow(query, *args, **kw), column)   # keeps its column

    async def executemany(self, command: Any, args: Any, **kw: Any) -> Any:
        rows = list(args)
        raw = self._jg_con
        return await self._jg_check(command, rows[0] if rows else None,
                                    lambda: raw.executemany(command, rows, **kw), many=True)

    async def fetchmany(self, query: Any, args: Any, **kw: Any) -> Any:
        rows = list(args)
        raw = self._jg_con
        await self._jg_check.prime(query)
        return self._jg_check.results(query, await self._jg_check(
            query, rows[0] if rows else None, lambda: raw.fetchmany(query, rows, **kw),
            many=True))

    async def prepare(self, query: Any, **kw: Any) -> Any:
        return GuardedPrepared(await self._jg_con.prepare(query, **kw), self._jg_check)

    def cursor(self, query: Any, *args: Any, **kw: Any) -> Any:
        self._jg_check.check_now(query, read_only=True)
        return self._jg_check.cursors(query, self._jg_con.cursor(query, *args, **kw))

    async def copy_from_query(self, query: Any, *args: Any, **kw: Any) -> Any:
        await self._jg_check.answer(f"COPY ({query}) TO STDOUT")   # the columns it exports
        self._jg_check.check_now(f"COPY ({query}) TO STDOUT")
        return await self._jg_con.copy_from_query(query, *args, **kw)

    async def copy_from_table(self, table_name: str, **kw: Any) -> Any:
        text = _copy_text(table_name, kw.get("columns"), kw.get("schema_name"), "TO STDOUT")
        await self._jg_check.answer(text)   # the columns behind the table's name
        self._jg_check.check_now(text)
        return await self._jg_con.copy_from_table(table_name, **kw)

    async def copy_to_table(self, table_name: str, **kw: Any) -> Any:
        raw = self._jg_con   # rows copied in run inside the effect check (triggers included)
        return await self._jg_check(_copy_text(table_name, kw.get("columns"),
                                               kw.get("schema_name"), "FROM STDIN"), None,
                                    lambda: raw.copy_to_table(table_name, **kw))

    async def copy_records_to_table(self, table_name: str, **kw: Any) -> Any:
        raw = self._jg_con
        return await self._jg_check(_copy_text(table_name, kw.get("columns"),
                                               kw.get("schema_name"), "FROM STDIN"), None,
                                    lambda: raw.copy_records_to_table(table_name, **kw))

    async def __aenter__(self) -> GuardedAsyncpg:
        await self._jg_con.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._jg_con.__aexit__(*exc)


async def guard_connection(raw: Any, guard: Any) -> Any:
    if isinstance(raw, _Proxy):
        return raw
    try:
        privileged = bool(await raw.fetchval(PRIVILEGED))
    except Exception:  # noqa: BLE001 - the role cannot be checked: treated as privileged (refuses more)
        privileged = True
    return GuardedAsyncpg(raw, AsyncpgChecker(guard, raw, privileged))


def wrap_existing(value: Any, guard: Any) -> Any:
    """A connection opened before the guard loaded: the role's server-file rights cannot be
    awaited here, so it is treated as privileged (plpgsql EXECUTE of run-time text refused)."""
    if isinstance(value, _Proxy) or not hasattr(value, "is_in_transaction"):
        return value
    return GuardedAsyncpg(value, AsyncpgChecker(guard, value, True))


def patch(module: Any, guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """``asyncpg.connect`` and ``asyncpg.connection.connect`` (what pools open with) return
    guarded connections; pooled ones are used through them (``dbapi_asyncpg_pool``)."""
    # late: only with asyncpg
    from jupyter_guard.connections import dbapi_asyncpg_pool, dbapi_asyncpg_stray, dbapi_loaders

    connect = guarded_connect(module.connect, guard)
    module.connect = connect
    patched[(module, "connect")] = connect
    dbapi_asyncpg_pool.patch(guard, patched)
    dbapi_asyncpg_stray.patch(guard, patched)
    dbapi_loaders.patch_asyncpg(module, patched)   # no user decoder sees raw values


def guarded_connect(orig: Any, guard: Any) -> Any:
    if getattr(orig, "_jg_connect", False):
        return orig

    async def connect(*args: Any, **kw: Any) -> Any:
        return await guard_connection(await orig(*args, **kw), guard)

    # sealed (its cells hold the guard); still awaitable, and asyncio's coroutine mark is set
    out = sealed(connect, orig)
    out._jg_connect = True   # marks the guard's own connect
    out.__wrapped__ = orig   # as functools.wraps: asyncpg's own (the pool opens through it)
    return out
