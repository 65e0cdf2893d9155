"""The guard's own queries for an asyncpg decision, awaited before it is made.

The decision (``guard.enrich``: the catalog behind whole-row predicates and ``CREATE ... AS``
lineage, bounded row counts of DELETE/UPDATE, the place of a target) asks its connection
synchronously, and an asyncpg connection can only be awaited. So before deciding, the same
enrichment runs once as a probe on an ``AsyncpgConn`` that records what it is asked
(``asked``); those queries are awaited on the user's connection (read-only, inside a savepoint
when the user's transaction is open), and the probe runs again until nothing new is asked. The
real decision then reads the answers, as psycopg's reads its ``DbapiConn``: the same
``enrich``/``infer_catalog``/``taint_ddl`` code decides, with the same facts. The answers are
kept for one decision only (a new table, a changed row count, is read again next time).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jupyter_guard.connections.conn import Conn
from jupyter_guard.connections.pg_judge import PRIVILEGED

_ROUNDS = 4   # the catalog, then what it names (views, counts): each round asks only new queries


@dataclass
class AsyncpgConn(Conn):
    """The decision's view of an asyncpg connection: the answers awaited before deciding."""

    privileged: bool = True
    answers: dict[tuple[Any, ...], Any] = field(default_factory=dict)   # rows or the error
    asked: list[tuple[Any, ...]] = field(default_factory=list)

    def scalar(self, sql: str) -> Any:
        if sql == PRIVILEGED:
            return self.privileged
        rows = self.rows(sql)
        return rows[0][0] if rows else None

    def rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        key = (sql, tuple(params))
        if key not in self.answers:
            self.asked.append(key)
            raise LookupError("asyncpg: a query of the guard's not awaited before deciding")
        got = self.answers[key]
        if isinstance(got, BaseException):
            raise got   # the server's own error (a missing table counts 0, as on psycopg)
        return list(got)


def probe(guard: Any, kind: Any, conn: AsyncpgConn, text: str, analysis: Any) -> None:
    """The decision's enrichment of ``analysis`` (of ``text``), recording in ``conn.asked``
    what it asks (its effects on remembered lineage only ever add taint: ``taint_ddl``)."""
    from jupyter_guard.guard import owned  # late: the guard's modules import connections
    from jupyter_guard.guard.enrich import enrich

    if kind.needs_effect(text):
        analysis = kind.for_effect(analysis, conn, guard.policy)
    key = guard.decisions.key(guard, analysis, conn, None)
    if key is not None and key in guard.decisions.entries:
        return   # a read decided before: the decision reads no catalog for it
    enrich(analysis.intents, conn, None, guard.policy,
           owned.names(guard.session_tables, analysis.intents), None)


async def answer(raw: Any, guard: Any, kind: Any, conn: AsyncpgConn, text: str) -> Any:
    """Await on ``raw`` every query the decision of ``text`` will ask ``conn``; the analysis
    of ``text`` (the decision reuses it: the static analysis is the costly part)."""
    from jupyter_guard.hooks.state import Busy  # late: state imports the guard's hooks

    with Busy():
        analysis = guard.sql_analysis(text, "postgres")   # raises: the decision refuses
    conn.answers.clear()   # one decision's facts, as psycopg's ``Catalog``
    for _ in range(_ROUNDS):
        conn.asked.clear()
        with Busy():   # never held across an await
            try:
                probe(guard, kind, conn, text, analysis)
            except Exception:  # noqa: BLE001 - the probe only gathers queries: the decision itself fails closed on the same error
                pass
        missing = [k for k in dict.fromkeys(conn.asked) if k not in conn.answers]
        if not missing:
            break
        for sql, params in missing:
            conn.answers[(sql, params)] = await ask(raw, sql, params)
    return analysis


async def ask(raw: Any, sql: str, params: tuple[Any, ...]) -> Any:
    """The rows of the guard's read-only ``sql`` on ``raw``, or the error it raised; inside the
    user's open transaction, in a savepoint, so a failed read leaves that transaction usable."""
    inside = raw.is_in_transaction()
    try:
        if inside:
            await raw.execute("SAVEPOINT jg_read")
        try:
            rows = [tuple(r) for r in await raw.fetch(_numbered(sql, params), *params)]
        except Exception as e:  # noqa: BLE001 - kept as the answer: the decision treats it as psycopg's does
            if inside:
                await raw.execute("ROLLBACK TO SAVEPOINT jg_read; RELEASE SAVEPOINT jg_read")
            return e
        if inside:
            await raw.execute("RELEASE SAVEPOINT jg_read")
        return rows
    except Exception as e:  # noqa: BLE001 - the savepoint itself failed (an aborted transaction): no answer, the decision fails closed
        return e


def _numbered(sql: str, params: tuple[Any, ...]) -> str:
    """A guard query written for the DB-API's ``%s`` placeholders (the catalog reads every
    driver shares) in asyncpg's ``$n`` ones.

    >>> _numbered("SELECT to_regclass(%s), to_regclass(%s)", ("a", "b"))
    'SELECT to_regclass($1), to_regclass($2)'
    >>> _numbered("SELECT $1", (1,))
    'SELECT $1'
    """
    if not params or "%s" not in sql:
        return sql
    parts = sql.split("%s")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
