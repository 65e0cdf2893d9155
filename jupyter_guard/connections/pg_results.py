"""PostgreSQL results keep the SQL taint of their columns, as DuckDB's do (``hooks.result_taint``).

A guarded cursor (psycopg 3, psycopg2, pg8000) notes the statement it ran; each fetch
(``fetchone``, ``fetchmany``, ``fetchall``, iteration) then registers the values of the columns
whose lineage reaches a sensitive column (``analyze.sql_taint`` in PostgreSQL's dialect, table
columns read from the PostgreSQL catalog) as known values (``exits.remember``): they are masked
when printed, however they were reshaped (``reverse(email)``, ``replace(ssn, '-', '')``,
``encode(email::bytea, 'hex')``), and refused at the file and network exits. A fetch whose
tainted column holds pieces too short to be known values (``substr(ssn, 3, 1)``) is refused by
the ``inference`` rule, decided on the values actually fetched. ``%%guarded_sql`` results on
PostgreSQL are marked by column (``sql_exports.mark_result``) the same way.

The catalog is asked once per table and connection, the taint computed once per statement text
(``pg_lineage``), both as the guard's own work (``Busy``); DDL run through a guarded cursor
forgets both.
"""
from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Iterator
from itertools import islice
from operator import itemgetter
from typing import Any

from jupyter_guard.connections import pg_lineage
from jupyter_guard.connections.pg_lineage import Taint, text_of
from jupyter_guard.connections.pg_lineage import catalog_known as catalog_known
from jupyter_guard.connections.pg_lineage import catalog_sql as catalog_sql
from jupyter_guard.connections.pg_lineage import keep_catalog as keep_catalog
from jupyter_guard.connections.pg_lineage import label as label
from jupyter_guard.connections.pg_lineage import taint_of as taint_of
from jupyter_guard.connections.pg_values import Shorts as _Shorts
from jupyter_guard.connections.pg_values import column as _column
from jupyter_guard.connections.pg_values import fresh as _fresh
from jupyter_guard.connections.pg_values import maybe_short as _maybe_short
from jupyter_guard.connections.pg_values import remember as _remember
from jupyter_guard.hooks.pieces import FULL, refuse_full
from jupyter_guard.hooks.pieces import ROWS as PER_FETCH
from jupyter_guard.hooks.pieces import find as _short
from jupyter_guard.hooks.pieces import refuse as refuse_piece
from jupyter_guard.hooks.state import Busy, busy

# re-exported: the drivers' modules ask the catalog, the taint (``taint_of``) and a connection's
# name (``label``) through this module

log = logging.getLogger("jupyter_guard")
# id(cursor) -> [the statement it ran, its connection, the column taint once computed, a weak
# reference to the cursor]
_LAST: dict[int, list[Any]] = {}
_DDL = re.compile(r"^\s*(create|alter|drop|comment)\b", re.I)


def note(cur: Any, query: Any, raw: Any) -> None:
    """``cur`` ran ``query`` (already judged) on the driver connection ``raw``."""
    if busy():
        return
    if isinstance(query, str) and _DDL.match(query):
        pg_lineage.forget()   # a table's columns, or a view, may have changed
    old = _LAST.get(id(cur))
    if old is not None and old[0] is query and old[1] is raw and old[3] is not None and \
            old[3]() is cur:
        return   # noted already (a proxy's call, and the routed method it made)
    if len(_LAST) > 4096:
        _LAST.clear()
    try:
        ref: Any = weakref.ref(cur)
    except TypeError:   # not weakly referable: its id alone keys it
        ref = None
    # ..., the result index the taint is for, the libpq result judged whole (``held``)
    _LAST[id(cur)] = [query, raw, None, ref, 0, None]


def held(cur: Any, guard: Any) -> bool:
    """psycopg 3: the rows of the result ``cur`` holds now, judged whole at once (its libpq result
    can be read without a fetch: ``cur.pgresult.get_value``). Its fetches then cost nothing.
    Whether the result is covered whole (judged, or nothing sensitive in it)."""
    got = _LAST.get(id(cur))
    res, tx = getattr(cur, "pgresult", None), getattr(cur, "_tx", None)
    if got is not None and got[5] is res and res is not None:
        return True
    if busy() or guard is None or got is None or res is None or tx is None or \
            res.status != _TUPLES_OK or res.ntuples > PER_FETCH:
        return False   # no rows yet (pipeline), or too many to read twice: each fetch is judged
    at = getattr(cur, "_iresult", 0)
    changes = pg_lineage.CHANGES[0]
    try:
        with Busy():
            taint = got[2] if got[2] is not None and got[4] == at else \
                _pending_taint(cur, got, guard.policy, at)
            rows = tx.load_rows(0, res.ntuples, tuple) if any(taint) else None
    except Exception as e:  # noqa: BLE001 - psycopg's private reader changed: each fetch is judged instead
        log.debug("jupyter_guard: a PostgreSQL result not judged whole: %s", e)
        return False
    if pg_lineage.CHANGES[0] != changes:
        decide_again(guard, got)
    if rows:
        fetched(cur, "fetchmany", rows, guard)   # raises when it holds pieces
    got[5] = res
    return True


_TUPLES_OK = 2   # libpq's PGRES_TUPLES_OK: a result that holds rows


def warm(query: Any, raw: Any, guard: Any) -> None:
    """Read the catalog ``query``'s taint needs now, while ``raw`` is idle: a stream's rows are
    judged while the connection is still busy sending them (no query of the guard's can run)."""
    if busy() or guard is None:
        return
    try:
        with Busy():
            pg_lineage.warm_taint(text_of(query, raw), raw, guard.policy)
    except Exception as e:  # noqa: BLE001 - no lineage now: the stream's column names decide, and a piece check that cannot ask refuses
        log.debug("jupyter_guard: no taint before a PostgreSQL stream: %s", e)


def fetched(cur: Any, how: str, result: Any, guard: Any) -> Any:
    """A fetch of ``cur`` (``how``: ``fetchone`` gives one row, the others a list of rows)."""
    if busy() or result is None or guard is None:
        return result
    got = _LAST.get(id(cur))
    if got is None or (got[3] is not None and got[3]() is not cur):
        return result   # nothing noted, or noted for a cursor since freed (its id reused)
    at = getattr(cur, "_iresult", 0)   # psycopg: which result of a multi-statement text
    if (got[5] is not None and got[5] is getattr(cur, "pgresult", None)) or (
            got[2] is not None and got[4] == at and not any(got[2])):
        return result   # judged whole, or nothing sensitive in this result: no work per fetch
    rows = [result] if how == "fetchone" else result
    changes = pg_lineage.CHANGES[0]
    try:
        with Busy():
            taint = got[2] if got[2] is not None and got[4] == at else \
                _pending_taint(cur, got, guard.policy, at)
            desc = getattr(cur, "description", None) or ()   # built anew on each read
            names = [str(desc[i][0]) if i < len(desc) else f"#{i}" for i in range(len(taint))]
            piece = _judge(rows, taint, names, got[1])
    except Exception as e:  # noqa: BLE001 - an unusual result shape: names, lineage and detectors still decide
        log.debug("jupyter_guard: no taint for a PostgreSQL %s: %s", how, e)
        piece = None
    if pg_lineage.CHANGES[0] != changes:
        decide_again(guard, got)
    if piece is not None:
        _refuse(guard, text_of(got[0], got[1]), piece)
    return result


def executed(ctx: Any, raw: Any, guard: Any) -> Any:
    """pg8000's result of one statement (its driver holds every row once it has run): judged
    whole, whichever API reads it (cursor, ``native.Connection.run``)."""
    rows, cols = getattr(ctx, "rows", None), getattr(ctx, "columns", None)
    if busy() or not rows or not cols or guard is None:
        return ctx
    try:
        with Busy():
            names = [str(c.get("name", "")) for c in cols]
            text = str(getattr(ctx, "statement", "") or "")
            piece = _judge(rows, taint_of(text, raw, names, guard.policy), names, raw)
    except Exception as e:  # noqa: BLE001 - an unusual result shape: names, lineage and detectors still decide
        log.debug("jupyter_guard: no taint for a pg8000 result: %s", e)
        return ctx
    if piece is not None:
        _refuse(guard, text, piece)
    return ctx


def _judge(rows: Any, taint: Taint, names: list[str], raw: Any) -> tuple[str, str, str] | None:
    """Remember the values of the tainted columns, every row of the fetch (no bound: a value
    not remembered would print raw); a short piece of one, if any, looked for in every slice
    of ``PER_FETCH`` rows (``FULL`` when the known values are full)."""
    piece = None
    hot = [i for i, t in enumerate(taint) if t]
    if not hot:
        return None
    rows = rows if isinstance(rows, list) else list(rows)
    tuples = bool(rows) and isinstance(rows[0], (tuple, list))
    for i in hot:   # one column at a time, in C (``zip(*rows)`` grows worse than linearly)
        values = list(map(itemgetter(i), rows)) if tuples and i < len(rows[0]) else \
            list(_column(rows, i, names[i]))
        piece = piece or _values(values, taint[i], names[i], raw)
        if piece is FULL:
            return FULL
    return piece


def _values(values: list[Any], taint: frozenset[str], name: str, raw: Any
            ) -> tuple[str, str, str] | None:
    if not _remember(_fresh(values)):
        return FULL
    for at in range(0, len(values), PER_FETCH) if _maybe_short(values) else ():
        piece = _short(values[at:at + PER_FETCH], taint, name, [_Shorts(raw)])
        if piece:
            return piece
    return None


def decide_again(guard: Any, got: list[Any]) -> None:
    """Views changed since ``got``'s statement was decided (another session redefined one):
    the decisions kept are dropped and the statement is decided again, on what the views read
    now; raised when it is refused now (its rows are then handed out to nobody)."""
    from jupyter_guard.connections.dbapi import DbapiConn
    from jupyter_guard.guard.judge import refuse

    text, err = text_of(got[0], got[1]), None
    with Busy():
        guard.decisions.entries.clear()
        j = guard.judge(guard.sql_analysis(text, "postgres"),
                        conn=DbapiConn(got[1], label(got[1]), "postgres"), code=text)
        if j.verdict.refuses:
            err = refuse(guard, j, kind="runtime", code=text, dialect="postgres")
    if err is not None:
        raise err


def _refuse(guard: Any, sql: str, piece: tuple[str, str, str]) -> None:
    """Raise the refusal ``_judge`` found: a short piece (``inference``), or ``FULL``."""
    if piece is not FULL:
        refuse_piece(guard, sql, *piece)
        return
    refuse_full(guard, sql)


def rows(cur: Any, it: Iterator[Any], guard: Any) -> Iterator[Any]:
    """Iteration over ``cur``: judged 1000 rows at a time (the result is never read up front)."""
    while True:
        chunk = list(islice(it, 1000))
        if not chunk:
            return
        yield from fetched(cur, "fetchmany", chunk, guard)


def frame(guard: Any, raw: Any, sql: str, result: Any, data: Any = None,
          names: list[str] | None = None) -> None:
    """A ``%%guarded_sql`` result on PostgreSQL: columns marked by lineage, their values known,
    pieces too short to mask refused (rule ``inference``). ``data``: the rows ``result`` was
    built from (a column read out of them costs ~1 µs a row less than out of pandas);
    ``names``: its columns' names, as the cursor gave them (pandas' ``columns.tolist()`` of
    string columns costs ~20 µs)."""
    if result is None or not hasattr(result, "iloc") or busy():
        return
    from jupyter_guard.hooks import sql_exports

    with Busy():
        if names is None or len(names) != result.shape[1]:
            names = [str(c) for c in result.columns.tolist()]
        marks = taint_of(sql, raw, names, guard.policy)
        sql_exports.mark_result(result, sql, None, guard.policy, marks=marks)
        piece = None
        for i, t in enumerate(marks):
            if t:
                values = list(map(itemgetter(i), data)) if data is not None and \
                    len(data) == len(result) and (not data or (isinstance(data[0], tuple) and
                                                               len(data[0]) == len(names))) \
                    else result.iloc[:, i].tolist()
                piece = piece or _values(values, t, names[i], raw)
    if piece is not None:
        _refuse(guard, sql, piece)


def _pending_taint(cur: Any, got: list[Any], policy: Any, at: int = 0) -> Taint:
    names = [str(d[0]) for d in (getattr(cur, "description", None) or ())]
    taint = taint_of(pg_lineage.statement_of(text_of(got[0], got[1]), at), got[1], names, policy)
    got[2], got[4] = taint, at
    return taint
