"""``sqlite3`` results keep the SQL taint of their columns, as PostgreSQL's and DuckDB's do.

A guarded sqlite3 cursor notes the statement it ran; each fetch (``fetchone``, ``fetchmany``,
``fetchall``, iteration, ``next``) then remembers the values of the columns whose lineage reaches
a sensitive column (``sqlite_lineage``) as known values (``exits.remember``): however they were
reshaped (``'a@b.c' || ssn``, ``replace(ssn, '-', '') * 3``, ``enc(ssn)`` of a Python function)
they are masked whole when printed and refused at the file and network exits. A fetch whose
tainted column holds pieces too short to be known values (``substr(ssn, 1, 1)``,
``unicode(substr(ssn, 1, 1))``, ``instr(ssn, '5')``) is refused by the ``inference`` rule, decided
on the values fetched (rows already read by the driver are not handed out). ``pandas.read_sql``
reads through the same cursor. The connection's ``create_function`` & co. register the guarded
functions of ``sqlite_udf``.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import weakref
from itertools import islice
from operator import itemgetter
from typing import Any

from jupyter_guard.connections import sqlite_lineage, sqlite_udf
from jupyter_guard.connections.dbapi_proxy import GuardedCursor, GuardedDbapi
from jupyter_guard.connections.pg_values import column, fresh, maybe_short, remember
from jupyter_guard.hooks import exits, pieces
from jupyter_guard.hooks.state import Busy, busy

log = logging.getLogger("jupyter_guard")
_ROWS = (tuple, list, dict, sqlite3.Row)   # rows whose values are read by column
# id(raw cursor) -> [statement, raw connection, taint once computed, weak ref to the cursor,
# which outputs are derived]
_LAST: dict[int, list[Any]] = {}


def note(cur: Any, text: Any, raw: Any, guard: Any) -> None:
    """``cur`` (the driver's cursor) ran ``text`` on ``raw`` for user code."""
    if busy() or not isinstance(text, str):
        _LAST.pop(id(cur), None)
        return
    if len(_LAST) > 4096:
        _LAST.clear()
    try:
        ref: Any = weakref.ref(cur)
    except TypeError:   # not weakly referable: its id alone keys it
        ref = lambda: cur  # noqa: E731 - the cursor itself, held while noted
    _LAST[id(cur)] = [text, raw, None, ref, []]


def fetched(cur: Any, how: str, result: Any, guard: Any) -> Any:
    """A fetch of the driver's cursor ``cur`` (``fetchone``: one row, else a list of rows)."""
    got = _LAST.get(id(cur))
    if busy() or result is None or guard is None or got is None or got[3]() is not cur:
        return result
    if got[2] is not None and not any(got[2]):
        return result   # nothing sensitive in this result: no work per fetch
    rows = [result] if how == "fetchone" else result
    try:
        with Busy():
            if got[2] is None:
                names = [str(d[0]) for d in cur.description or ()]
                got[2] = sqlite_lineage.taint_of(got[0], got[1], names, guard.policy,
                                                 sqlite_udf.names(got[1]))
                got[4] = sqlite_lineage.derived(got[0], len(names))
            piece = _judge(rows, got[2], got[1], got[4])
    except Exception as e:  # noqa: BLE001 - refused: values of a tainted column not remembered
        log.debug("jupyter_guard: a sqlite3 %s not checked: %s", how, e)
        if got[2] is not None and not any(got[2]):
            return result
        from jupyter_guard.hooks.result_taint import _refuse_unchecked

        _refuse_unchecked(guard, got[0], how, e)
    if piece is pieces.FULL:
        pieces.refuse_full(guard, got[0])
    if piece is not None:
        pieces.refuse(guard, got[0], *piece, probe=sqlite_lineage._Probe(got[1]))
    return result


def frame(result: Any, sql: str, taint: list[frozenset[str]]) -> None:
    """A ``%%guarded_sql`` result on sqlite3 (marked by ``sql_exports.mark_result``): its tainted
    columns' values known, a derived one's masked whole, as a fetch's are."""
    if len(taint) != result.shape[1] or not any(taint):
        return
    spelt = sqlite_lineage.derived(sql, len(taint))
    with Busy():
        for i, t in enumerate(taint):
            if t:
                _spell(result.iloc[:pieces.ROWS, i].tolist(), spelt[i])


def _spell(values: list[Any], derived: bool) -> bool:
    new = fresh(values)
    if not remember(new):
        return False
    if derived:
        exits.spelt.update(str(v) for v in new if v is not None and not isinstance(v, bool)
                           and len(str(v)) >= pieces.SHORT)
    return True


def _judge(rows: list[Any], taint: list[frozenset[str]], raw: Any, spelt: list[bool]
           ) -> tuple[str, str, str] | None:
    """Remember the tainted columns' values (a derived one's masked whole: ``exits.spelt``);
    a short piece of one, if any (``FULL`` when the known values are full)."""
    hot = [i for i, t in enumerate(taint) if t]
    piece = None
    if hot and any(not isinstance(r, _ROWS) for r in rows):
        raise TypeError("rows made by a row_factory the guard cannot read by column: use "
                        "sqlite3.Row, tuples or dicts")
    tuples = bool(rows) and isinstance(rows[0], tuple)
    for i in hot:
        values = list(map(itemgetter(i), rows)) if tuples and i < len(rows[0]) else \
            list(column(rows, i))
        if not _spell(values, i < len(spelt) and spelt[i]):
            return pieces.FULL
        for at in range(0, len(values), pieces.ROWS) if maybe_short(values) else ():
            piece = piece or pieces.find(values[at:at + pieces.ROWS], taint[i], f"#{i}",
                                         [_Shorts(raw)])
    return piece


class _Shorts:
    """The connection ``pieces.find`` asks whether a column holds a piece: its DuckDB spelling
    of the question in SQLite's (a JSON array for the pieces, ``instr`` for ``contains``)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.rows_: list[Any] = []

    def cursor(self) -> _Shorts:
        return self

    def execute(self, q: str, params: Any = ()) -> _Shorts:
        q = q.replace("contains(", "0 < instr(").replace(
            "unnest(?::VARCHAR[]) AS u(s)", "(SELECT value AS s FROM json_each(?)) AS u")
        (values,) = params
        self.rows_ = list(self.raw.execute(q, (json.dumps([str(v) for v in values]),)).fetchall())
        return self

    def fetchall(self) -> list[Any]:
        return self.rows_


class GuardedSqliteCursor(GuardedCursor):
    """A sqlite3 cursor whose fetches keep their result's taint."""

    __slots__ = ()

    def execute(self, query: Any, params: Any = None, *args: Any, **kw: Any) -> Any:
        check, raw = self._jg_check, self._jg_con
        _prepare(raw, query, check)
        out = super().execute(query, params, *args, **kw)
        note(raw, query, check.raw, check.guard)
        return out

    def executemany(self, query: Any, seq: Any, *args: Any, **kw: Any) -> Any:
        _prepare(self._jg_con, query, self._jg_check)
        _LAST.pop(id(self._jg_con), None)
        return super().executemany(query, seq, *args, **kw)

    def executescript(self, script: Any) -> Any:
        _prepare(self._jg_con, script, self._jg_check)
        _LAST.pop(id(self._jg_con), None)
        return super().executescript(script)

    def fetchone(self) -> Any:
        raw = self._jg_con
        return fetched(raw, "fetchone", raw.fetchone(), self._jg_check.guard)

    def fetchmany(self, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con
        return fetched(raw, "fetchmany", raw.fetchmany(*args, **kw), self._jg_check.guard)

    def fetchall(self) -> Any:
        raw = self._jg_con
        return fetched(raw, "fetchall", raw.fetchall(), self._jg_check.guard)

    def __iter__(self) -> Any:
        raw, guard = self._jg_con, self._jg_check.guard

        def rows() -> Any:
            while chunk := list(islice(raw, 1000)):
                yield from fetched(raw, "fetchmany", chunk, guard)
        return rows()

    def __next__(self) -> Any:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


def _prepare(raw_cursor: Any, query: Any, check: Any) -> None:
    if isinstance(query, str) and not busy():
        sqlite_udf.prepare(check.raw, query, check.guard.policy)


class GuardedSqlite(GuardedDbapi):
    """A sqlite3 connection: its cursors keep their results' taint, the Python functions it
    registers are guarded (``sqlite_udf``)."""

    __slots__ = ()

    def cursor(self, *args: Any, **kw: Any) -> GuardedSqliteCursor:
        return GuardedSqliteCursor(self._jg_con.cursor(*args, **kw), self._jg_check)

    def create_function(self, name: str, narg: int, func: Any, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con
        return raw.create_function(name, narg, sqlite_udf.function(raw, name, func), *args, **kw)

    def create_aggregate(self, name: str, narg: int, cls: Any) -> Any:
        raw = self._jg_con
        return raw.create_aggregate(name, narg, sqlite_udf.aggregate(raw, name, cls))

    def create_window_function(self, name: str, narg: int, cls: Any) -> Any:
        raw = self._jg_con
        return raw.create_window_function(name, narg,
                                          sqlite_udf.aggregate(raw, name, cls, window=True))

    def create_collation(self, name: str, func: Any) -> Any:
        raw = self._jg_con
        return raw.create_collation(name, sqlite_udf.collation(raw, name, func))


GuardedSqliteCursor._JG_CONNECTION = GuardedSqlite
