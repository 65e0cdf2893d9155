"""``%%guarded_sql`` on PostgreSQL (a SQLAlchemy URL or engine, or a DB-API connection).

The cell runs as the user wrote it, statement by statement (split on sqlglot's tokens, never
regenerated), in ONE transaction the guard opens and ends: committed when the static decision
and the measured effect both allow it, rolled back otherwise. No transaction stays open after
the cell, so nothing judged in one cell is committed by another.

Parameters (``:name``/``$name`` in the cell, ``%(name)s`` by the time they get here) are sent to
the driver with each statement, never pasted into the SQL; the guard judges the statement as the
driver binds it (``dbapi.render``). ``--limit N`` fetches at most N rows of the last result.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from jupyter_guard.analyze.sql_postgres import split
from jupyter_guard.analyze.sql_prepared import inline_prepared
from jupyter_guard.connections import pg_effect, pg_results
from jupyter_guard.connections.conn import Conn, unwrap
from jupyter_guard.connections.dbapi import DbapiConn, render
from jupyter_guard.connections.pg_judge import for_effect, pure_read, runtime_sql_on_server
from jupyter_guard.connections.pg_results import label
from jupyter_guard.guard.judge import refuse
from jupyter_guard.hooks.state import Busy, verify

if TYPE_CHECKING:
    from jupyter_guard.guard.service import Guard


@contextmanager
def dbapi_of(conn: Conn) -> Iterator[Any]:
    """The driver connection behind an engine (a pool checkout, returned after the cell), a
    SQLAlchemy connection, or a DB-API connection."""
    raw = conn.raw
    if hasattr(raw, "raw_connection"):                 # an Engine
        try:
            pooled = raw.raw_connection()
        except Exception as e:  # noqa: BLE001 - no connection, nothing ran: one line naming it
            from jupyter_guard.errors import SqlError
            from jupyter_guard.mask.text import strip_url_passwords

            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            first = first.split(") ", 1)[-1] if first.startswith("(") else first
            raise SqlError(f"cannot connect to {strip_url_passwords(conn.name)}: "
                           f"{strip_url_passwords(first)[:300]}. Nothing ran: check the "
                           "URL, the server and the credentials") from None
        try:
            yield unwrap(pooled.dbapi_connection)
        finally:
            pooled.close()
        return
    if hasattr(raw, "exec_driver_sql"):                # a SQLAlchemy Connection
        yield unwrap(raw.connection.dbapi_connection)
        return
    yield unwrap(raw)


def run_sql(g: Guard, conn: Conn, text: str, *, output: str | None = None, dry_run: bool = False,
            user_ns: dict[str, Any] | None = None, actor: str | None = None, cell_id: str = "",
            execution_count: int | None = None, params: dict[str, Any] | None = None,
            limit: int | None = None) -> Any:
    verify()
    with dbapi_of(conn) as raw:
        own = raw.info.transaction_status == 0   # else: the user's transaction (a SA Connection)
        was = raw.autocommit
        if own:
            raw.autocommit = True   # the guard's counts and the cell's one transaction end here
        try:
            return _cell(g, DbapiConn(raw, conn.name, "postgres"), raw, text, own, output=output,
                         dry_run=dry_run, user_ns=user_ns, actor=actor,
                         where={"cell_id": cell_id, "execution_count": execution_count},
                         run=Run(raw, text, params, limit))
        finally:
            if own:
                raw.autocommit = was


_PLACEHOLDER = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s")


class Run:
    """The cell's statements as they run (with their parameters) and as the guard judges them."""

    def __init__(self, raw: Any, text: str, params: dict[str, Any] | None,
                 limit: int | None) -> None:
        self.limit = limit
        params = params or None   # no parameter in the cell: every statement runs as typed
        self.statements: list[tuple[str, dict[str, Any] | None]] = []
        judged = []
        for stmt in split(text):
            used = None if params is None else {
                k: params[k] for k in _PLACEHOLDER.findall(stmt) if k in params}
            self.statements.append((stmt, used))
            judged.append(stmt if used is None else render(stmt, raw, used))
        self.judged = judged if params is not None else [text]

    @property
    def text(self) -> str:
        return ";\n".join(self.judged)


def _cell(g: Guard, conn: Conn, raw: Any, text: str, own: bool, *, output: str | None,
          dry_run: bool, user_ns: dict[str, Any] | None, actor: str | None, where: dict[str, Any],
          run: Run) -> Any:
    from jupyter_guard.errors import SqlError
    from jupyter_guard.kernel.sql_params import dry_run_frame

    analysis = runtime_sql_on_server(
        for_effect(g.sql_analysis(run.text, "postgres"), g.policy.max_affected_rows), conn)
    with Busy():
        judgement = g.judge(analysis, conn=conn, code=text, actor=actor)
    if dry_run:
        return dry_run_frame(judgement.intents, judgement.verdicts)
    if judgement.verdict.refuses:
        raise refuse(g, judgement, kind="sql", code=text, **where)
    event_id = g.begin(kind="sql", code=text, judgement=judgement, **where)
    start = time.perf_counter()
    refused: list[Any] = []

    def on_refuse(v: Any) -> BaseException:   # a measured effect refused: the one refuse path
        refused.append(v)
        return refuse(g, judgement, kind="sql", code=text, verdict=v, event_id=event_id,
                      dialect="postgres", **where)

    source = label(raw)
    with Busy():
        try:
            frame, rows, data, names = _run(g, conn, raw, run, text, on_refuse, own)
        except BaseException as e:
            g.finish(event_id, status="blocked" if refused else "error",
                     duration_ms=(time.perf_counter() - start) * 1000,
                     lineage=[("read", "url", source, False)])
            if refused:
                raise
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SqlError(f"{type(e).__name__}: {first} (nothing of this cell was kept)") from None
    g.note_success(judgement.intents)
    # the statement whose result it is (``EXECUTE p``: the statement the cell prepared as p)
    last = inline_prepared(run.judged if len(run.judged) == len(run.statements)
                           else [s for s, _ in run.statements])[-1]
    pg_results.frame(g, raw, last, frame, data, names)   # marked, known, pieces refused
    lineage = [("read", "url", source, False)] + (
        [("write", "variable", output, False)] if output else [])
    g.finish(event_id, status="ok", duration_ms=(time.perf_counter() - start) * 1000, rows=rows,
             lineage=lineage)
    if output and user_ns is not None:
        user_ns[output] = frame
    return frame


def _run(g: Guard, conn: Conn, raw: Any, run: Run, text: str, on_refuse: Any,
         own: bool) -> tuple[Any, int | None, Any, list[str] | None]:
    """All statements in one transaction of the guard's; (last result as a DataFrame, rows
    changed, the fetched rows the frame was built from, its columns' names)."""
    from jupyter_guard.kernel.sql_params import STATE

    out: dict[str, Any] = {"frame": None, "rows": None, "data": None, "names": None}
    statements = [s for s, _ in run.statements]
    STATE["more"] = False

    def call() -> None:
        cur = raw.cursor()
        try:
            for n, (stmt, params) in enumerate(run.statements):
                cur.execute(stmt) if params is None else cur.execute(stmt, params)
                if n == len(statements) - 1:
                    out["frame"], out["rows"], out["data"], out["names"] = \
                        _frame(cur, run.limit)
        finally:
            cur.close()

    judged = run.judged if len(run.judged) == len(statements) else statements
    if all(pg_effect.transaction_control(s) and "PREPARED" not in s.upper() for s in statements):
        call()   # BEGIN, START TRANSACTION, ABORT...: they change nothing (what ran inside the
        # user's transaction was measured), and under the check's own BEGIN they would fail;
        # COMMIT PREPARED of a transaction another session prepared stays under the check
        if own and raw.info.transaction_status != 0:
            _end_empty(raw)   # a transaction this cell opened holds nothing: no cell leaves one
        return out["frame"], out["rows"], out["data"], out["names"]
    if own and all(pure_read(s) for s in judged):
        call()   # autocommit: a read leaves no transaction open
    else:
        _effect(g, conn, raw, call, text, on_refuse, statements)
    return out["frame"], out["rows"], out["data"], out["names"]


def _end_empty(raw: Any) -> None:
    cur = raw.cursor()
    try:
        cur.execute("ROLLBACK")
    finally:
        cur.close()


def _effect(g: Guard, conn: Conn, raw: Any, call: Any, text: str, on_refuse: Any,
            statements: list[str]) -> None:
    if all(pg_effect.needs_transaction_free(s) for s in statements):   # a mix is measured
        call()     # VACUUM and the like: judged by the static decision alone
        return
    from jupyter_guard.guard.effect import state  # late: only for measured cells

    # the rows it changes count toward the cell's budget per table, with every other route's
    pg_effect.run(raw, call, source=text, policy=g.policy, on_refuse=on_refuse, cell=state(g),
                  ctx=g.context(conn, files=False), ours=g.session_tables)


def _frame(cur: Any, limit: int | None = None) -> tuple[Any, int | None, Any, Any]:
    """(the result as a DataFrame, rows changed, the fetched rows: ``pg_results.frame`` reads
    the tainted columns' values from them, not back out of pandas; the columns' names)."""
    if cur.description is None:
        return None, (cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0
                      else None), None, None
    import pandas as pd

    cols = [d[0] for d in cur.description]
    if limit is None:
        rows = cur.fetchall()
        return pd.DataFrame(rows, columns=cols), None, rows, cols
    from jupyter_guard.kernel.sql_params import STATE

    rows = cur.fetchmany(limit + 1)
    STATE["more"] = len(rows) > limit
    return pd.DataFrame(rows[:limit], columns=cols), None, rows[:limit], cols
