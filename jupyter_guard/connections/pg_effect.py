"""The effect check for PostgreSQL: a statement that can change rows or schema runs inside a
transaction (or savepoint) the guard controls; before it is kept, the guard measures what it did
and rolls it back when the policy forbids the result.

What is measured, in one catalog query before and one after (``pg_snapshot_sql.SNAPSHOT``), and
what it means (``pg_measure``): rows deleted and updated per table, tables dropped, renamed,
emptied, detached, their triggers, rules and grants, functions replaced, roles and settings.
DDL is transactional, so all of it rolls back. Large objects count as the table
``pg_catalog.pg_largeobject``: a ``SELECT lo_unlink(oid) FROM pg_largeobject_metadata`` is held
to ``max_affected_rows``.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

from jupyter_guard.connections.pg_measure import Rel, Snapshot, measured, parse
from jupyter_guard.connections.pg_snapshot_sql import SNAPSHOT
from jupyter_guard.guard.owned import pg_keep
from jupyter_guard.model import Intent, Verdict, combine
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.rules import Context

__all__ = ["SNAPSHOT", "Check", "Rel", "Snapshot", "arun", "judge", "measured", "parse", "run",
           "take"]

# Statements PostgreSQL refuses inside a transaction block: they run without the check, and the
# static analysis alone decides them. ``REINDEX TABLE t`` and ``CLUSTER t`` run inside one, so
# they are measured like any other (``REINDEX TABLE t; SELECT purge()`` would otherwise run the
# function unmeasured).
NO_TRANSACTION = re.compile(
    r"\s*(VACUUM|(CREATE|DROP)\s+DATABASE|(CREATE|DROP)\s+TABLESPACE|ALTER\s+SYSTEM|"
    r"(CREATE\s+(UNIQUE\s+)?|DROP\s+)INDEX\s+CONCURRENTLY|"
    r"REINDEX\s+(\([^)]*\)\s*)?(SYSTEM|DATABASE|SCHEMA|(TABLE|INDEX)\s+CONCURRENTLY)|"
    r"CLUSTER(\s+VERBOSE)?\s*;?\s*$)", re.IGNORECASE)


def take(cursor: Any) -> Snapshot:
    cursor.execute(SNAPSHOT)
    return parse(cursor.fetchall())


def judge(intents: tuple[Intent, ...], policy: Any, ctx: Context) -> Verdict | None:
    """The refusing verdict for measured intents, or None when the policy allows all of them."""
    if not intents:
        return None
    verdicts = decide(intents, policy, ctx)
    v = combine(verdicts)
    return v if v.refuses else None


class Check:
    """One statement's effect check on ``raw``, in steps: ``begin`` (BEGIN or SAVEPOINT, and the
    snapshot), the user's statement, then ``end`` (measure, keep or undo) or ``abort``."""

    def __init__(self, raw: Any, *, source: str, policy: Any, ctx: Context,
                 on_refuse: Callable[[Verdict], BaseException],
                 ours: set[str] | None = None, cell: Any = None) -> None:
        """``cell``: the session's effect state (``guard.effect.State``), whose per-cell row
        counts the statement's rows are added to (``pg_cell``); None: judged alone."""
        self.raw, self.source, self.policy, self.ctx = raw, source, policy, ctx
        self.on_refuse, self.ours, self.cell = on_refuse, ours, cell
        status = int(getattr(getattr(raw, "info", None), "transaction_status", 0) or 0)
        # a transaction the user opened in autocommit mode (BEGIN) is nested, never ended
        self.autocommit = bool(getattr(raw, "autocommit", False)) and status != 2
        self.cur: Any = None
        self.before: Snapshot | None = None

    def begin(self) -> bool:
        """False when the transaction already failed (the statement will fail the same way)."""
        status = int(getattr(getattr(self.raw, "info", None), "transaction_status", 0) or 0)
        if status == 3:
            return False
        self.cur = self.raw.cursor()
        self.cur.execute("BEGIN" if self.autocommit else "SAVEPOINT jg_effect")
        self.before = take(self.cur)
        return True

    def abort(self) -> None:
        _undo(self.cur, self.autocommit)

    def end(self) -> None:
        """Measure; keep the statement's effect, or undo it and raise the refusal."""
        assert self.before is not None
        try:
            after = take(self.cur)
            intents = session_tables_ok(measured(self.before, after, self.source),
                                        self.ours or set())
            verdict = judge(intents, self.policy, self.ctx)
            if verdict is None:
                verdict = self._keep(intents)
        except BaseException:  # the measurement failed: nothing of the statement is kept
            self.abort()
            raise
        if verdict is not None:
            self.abort()
            raise self.on_refuse(verdict)
        if self.ours is not None:   # tables this statement created belong to the session
            pg_keep(self.ours, self.before, after)

    def _keep(self, intents: tuple[Intent, ...]) -> Verdict | None:
        """Keep the statement unless the rows it changed, added to those the cell already
        changed per table, pass ``max_affected_rows`` (then the refusal, nothing kept)."""
        end = "COMMIT" if self.autocommit else "RELEASE SAVEPOINT jg_effect"
        if self.cell is None:
            self.cur.execute(end)
            return None
        from jupyter_guard.connections import pg_cell  # late: only with a session's state

        changed = pg_cell.rows(intents, pg_cell.database(self.raw))
        with self.cell.lock:   # judged, kept and counted before another thread's statement
            verdict = pg_cell.over(changed, self.cell.cell, self.policy.max_affected_rows)
            if verdict is None:
                self.cur.execute(end)
                pg_cell.add(changed, self.cell.cell)
        return verdict

    def close(self) -> None:
        try:
            if self.cur is not None:
                self.cur.close()
        except Exception:  # noqa: BLE001 - closing our own cursor cannot change what was kept or undone
            pass


def run(raw: Any, call: Callable[[], Any], **kw: Any) -> Any:
    """Run ``call`` (the user's statement on ``raw``) under the check; keep it only if allowed."""
    check = Check(raw, **kw)
    try:
        if not check.begin():
            return call()
        try:
            result = call()
        except BaseException:
            check.abort()
            raise
        check.end()
        return result
    finally:
        check.close()


async def arun(raw: Any, acall: Callable[[], Awaitable[Any]],
               own: Callable[[], AbstractContextManager[Any]], **kw: Any) -> Any:
    """``run`` for an asyncio connection: ``raw`` is a synchronous connection on the same
    session (``dbapi_async.twin``); ``own()`` marks the guard's own steps, never held across
    the ``await`` (other tasks keep being checked meanwhile)."""
    check = Check(raw, **kw)
    try:
        with own():
            began = check.begin()
        if not began:
            return await acall()
        try:
            result = await acall()
        except BaseException:
            with own():
                check.abort()
            raise
        with own():
            check.end()
        return result
    finally:
        check.close()


def _undo(cur: Any, autocommit: bool) -> None:
    if autocommit:
        cur.execute("ROLLBACK")
    else:
        cur.execute("ROLLBACK TO SAVEPOINT jg_effect")
        cur.execute("RELEASE SAVEPOINT jg_effect")


def session_tables_ok(intents: tuple[Intent, ...], ours: set[str]) -> tuple[Intent, ...]:
    """Measured changes of tables this session created (by place, ``guard.owned``) are the
    session's own business (its triggers, rules and grants too)."""
    return tuple(i.with_(temporary=True) if i.key and i.key in ours else i for i in intents
                 if not (i.action == "guard.tamper" and i.key and i.key in ours))


_CONTROL = re.compile(
    r"\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT\s+\w+|"
    r"RELEASE(\s+SAVEPOINT)?\s+\w+|ROLLBACK\s+TO(\s+SAVEPOINT)?\s+\w+|"
    r"(PREPARE\s+TRANSACTION|COMMIT\s+PREPARED|ROLLBACK\s+PREPARED)\s+'[^']*')"
    r"(\s+(TRANSACTION|WORK))?(\s*,?\s*(ISOLATION\s+LEVEL(\s+[A-Z]+){1,2}|READ\s+(ONLY|WRITE)|"
    r"(NOT\s+)?DEFERRABLE))*(\s+AND\s+(NO\s+)?CHAIN)?\s*;?\s*", re.IGNORECASE)


def transaction_control(text: str) -> bool:
    """One statement that only opens, ends or marks a transaction: it changes nothing itself
    (each statement inside was measured), so it runs without the effect check, which would
    otherwise end or nest the user's transaction.

    >>> transaction_control("begin transaction"), transaction_control("COMMIT; DROP TABLE t")
    (True, False)
    >>> transaction_control("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    True
    """
    return _CONTROL.fullmatch(text) is not None


def needs_transaction_free(text: str) -> bool:
    """One statement that PostgreSQL runs only outside a transaction block. A text of several
    statements never is: PostgreSQL runs them in one implicit block, where such a statement
    fails, and the others must be measured.

    >>> needs_transaction_free("vacuum full orders"), needs_transaction_free("REINDEX TABLE t")
    (True, False)
    >>> needs_transaction_free("CLUSTER"), needs_transaction_free("VACUUM t; SELECT purge()")
    (True, False)
    """
    if NO_TRANSACTION.match(text) is None:
        return False
    from jupyter_guard.analyze.sql_postgres import split  # late: only for these few statements

    try:
        return len(split(text)) == 1
    except Exception:  # noqa: BLE001 - a text the splitter cannot read is measured (or refused)
        return False
