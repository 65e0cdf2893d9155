"""Results fetched from DuckDB in Python keep the SQL taint of their columns.

``con.execute(q).df()``/``fetchdf()``/``fetch_df()``, ``duckdb.execute(q).df()`` and relation
results (``con.sql(q).df()``, ``duckdb.sql(q).df()``) are marked like ``%%guarded_sql`` results
(``df_lineage`` marks by position: ``replace(ssn, '-', '') AS k`` is masked when shown and refused
by the writers, and renames or copies keep the mark). Every fetch (``fetchall``, ``fetchone``,
``fetchmany``, ``fetchnumpy``, ``arrow``/``fetch_arrow_table``, ``pl``, frames) also registers the
values of its sensitive columns as known values (``exits.remember``), so plain Python objects
built from them are recognised at the file and network exits and masked when printed. A fetch
whose sensitive column holds pieces too short to be known values (``substr(ssn, 3, 1)``,
``ascii(ssn[1])``, ``ssn::BIGINT % 100``: fewer than ``SHORT`` characters) is refused by the
``inference`` rule instead (``pieces``): printed, they could not be told from any other text.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jupyter_guard.hooks import exits, pieces
from jupyter_guard.hooks.state import Busy, busy

log = logging.getLogger("jupyter_guard")
FRAMES = frozenset({"df", "fetchdf", "fetch_df", "to_df"})
FETCHES = FRAMES | frozenset({"fetchall", "fetchone", "fetchmany", "fetchnumpy", "arrow",
                              "fetch_arrow_table", "to_arrow_table", "pl", "fetch_df_chunk",
                              "to_arrow_reader", "fetch_arrow_reader", "fetch_record_batch"})
PER_FETCH = pieces.ROWS   # values one piece check looks at (a cost bound)
SHORT = pieces.SHORT
# id(raw connection) -> [the last query user code ran on it, its column taint once computed]
_LAST: dict[int, list[Any]] = {}


def note(con: Any, query: Any) -> None:
    """``con`` ran ``query`` for user code: its fetches are judged on that query, whatever
    kind of statement it is (``FROM t WHERE …`` has no SELECT; ``… RETURNING ssn``, ``PIVOT``,
    ``EXECUTE`` return rows too)."""
    if isinstance(query, str):
        _LAST[id(con)] = [query, None]
    else:
        _LAST.pop(id(con), None)


def pending(con: Any) -> bool:
    return id(con) in _LAST


class _Probe:
    """The small connection interface ``sql_exports`` needs, over raw DuckDB connections."""

    native_duckdb = True

    def __init__(self, cons: list[Any]) -> None:
        self.cons, self.raw = cons, self

    def table(self, name: str) -> Any:
        for c in self.cons:
            try:
                return c.table(name)
            except Exception:  # noqa: BLE001 - not this connection's table: another may know it
                continue
        raise LookupError(name)

    def scalar(self, q: str) -> Any:
        for c in self.cons:
            try:
                return c.execute(q).fetchall()[0][0]
            except Exception:  # noqa: BLE001 - another connection may know the tables
                continue
        raise LookupError("no connection knows these tables")


def column_taint(sql: str, cons: list[Any], policy: Any) -> list[frozenset[str]] | None:
    """Per output column of ``sql``: the sensitive source columns it reveals (None: unknown)."""
    from jupyter_guard.hooks import sql_exports

    probe = _Probe(cons)

    def columns(name: str) -> tuple[str, ...] | None:
        try:
            return tuple(str(c).lower() for c in probe.table(name).columns)
        except Exception:  # noqa: BLE001 - not a table these connections know: the taint cannot be told
            return None

    got = sql_exports.outputs(sql, columns, policy)
    if got is None:
        return None
    return sql_exports.revealed(got[0], got[1], probe, policy)


def fetched(result: Any, how: str, sql: str | None, cons: list[Any], names: list[str],
            guard: Any, cache: list[Any] | None = None) -> Any:
    """Mark a fetched result (``how`` names the fetch) and remember its sensitive values;
    ``cache`` (``[sql, taint]``) keeps the taint for repeated fetches of one query. Returns the
    result, or for an Arrow stream (DuckDB's ``arrow()``) one that remembers as it is read."""
    if busy() or sql is None or guard is None:
        return result
    taint: list[frozenset[str]] | None = None
    try:
        with Busy():
            from jupyter_guard.hooks.warehouse_values import preload

            preload(cons, guard.policy)   # once per file: copies under other names are known
            if cache is None or cache[1] is None:
                taint = _taint(sql, cons, names, guard.policy)
                if cache is not None:
                    cache[1] = taint
            else:
                taint = cache[1]
            if _is_stream(result):
                hot = [i for i, t in enumerate(taint) if t]
                return _remembering(result, hot, guard, sql) if hot else result
            piece = _fetched(result, how, taint, names, cons)
    except Exception as e:  # noqa: BLE001 - refused below unless no column can be sensitive
        if taint is not None and not any(taint):
            log.debug("jupyter_guard: a %s result of plain columns not checked: %s", how, e)
            return result
        _refuse_unchecked(guard, sql, how, e)
    if piece is pieces.FULL:
        pieces.refuse_full(guard, sql)
    if piece is not None:
        pieces.refuse(guard, sql, *piece, probe=_Probe(cons))
    return result


WHY_UNCHECKED = ("the guard could not check this {how} result for sensitive values ({err}); it "
                 "is refused rather than handed out unchecked. Fetch it another way (fetchall, "
                 ".df()) or report this error")


def _refuse_unchecked(guard: Any, sql: str, how: str, err: Exception) -> None:
    """Raise the refusal of a fetch whose sensitive values could not be remembered: handed
    out, they would be left to the detectors alone (fail closed, never open)."""
    pieces.refuse_fetch(guard, sql, WHY_UNCHECKED.format(
        how=how, err=f"{type(err).__name__}: {str(err)[:120]}"))


def _is_stream(result: Any) -> bool:
    return hasattr(result, "read_next_batch") and hasattr(result, "schema")


def _remembering(reader: Any, hot: list[int], guard: Any, sql: str) -> Any:
    """The same Arrow stream, whose tainted columns' values become known as each batch is read
    (reading it up front would hold the whole result in memory), every batch of it; a batch
    whose new values the known values cannot take (``pieces.new_when_full``) is refused
    (``refuse_full``, raised by the reader's next read), not handed out unremembered."""
    import pyarrow as pa

    def batches() -> Any:
        for batch in reader:
            full = False
            with Busy():
                for i in hot:
                    values = batch.column(i).to_pylist()
                    full = pieces.new_when_full(values)
                    if full:
                        break
                    exits.remember(values)
            if full:
                pieces.refuse_full(guard, sql)
            yield batch
    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _taint(sql: str, cons: list[Any], names: list[str], policy: Any) -> list[frozenset[str]]:
    taint = column_taint(sql, cons, policy)
    if taint is None or len(taint) != len(names):
        taint = [frozenset({n}) if policy.is_sensitive_column(n) else frozenset() for n in names]
    return taint


def _fetched(result: Any, how: str, taint: list[frozenset[str]], names: list[str],
             cons: list[Any]) -> tuple[str, str, str] | None:
    """Mark and remember; (source column, output column, a short value) when a sensitive
    column holds pieces too short to remember, else None."""
    hot = [i for i, t in enumerate(taint) if t]
    if not hot:
        return None
    if how in FRAMES and hasattr(result, "iloc"):
        from jupyter_guard.hooks.df_lineage import _mark

        cols = result.columns.tolist()
        if len(cols) == len(taint):
            _mark(result, {str(cols[i]): taint[i] for i in hot})
    piece = None
    for i in hot:   # every value remembered (one not known would print raw)
        values = list(_column(result, i, names[i]))
        if pieces.new_when_full(values):
            return pieces.FULL
        exits.remember(values)
        for at in range(0, len(values), PER_FETCH):   # pieces looked for in every slice
            piece = piece or pieces.find(values[at:at + PER_FETCH], taint[i],
                                         names[i] if i < len(names) else f"#{i}", cons)
    return piece


def _column(result: Any, i: int, name: str) -> Any:
    """The values of column ``i`` of any fetch result."""
    if result is None:
        return ()
    if hasattr(result, "iloc"):                        # pandas
        return result.iloc[:, i].tolist()
    if hasattr(result, "column") and hasattr(result, "num_columns"):   # pyarrow Table
        return result.column(i).to_pylist()
    if hasattr(result, "to_series"):                   # polars
        return result.to_series(i).to_list()
    if isinstance(result, dict):                       # fetchnumpy
        return list(result.get(name, ()))
    if isinstance(result, tuple):                      # fetchone
        return (result[i],) if i < len(result) else ()
    if isinstance(result, list):                       # fetchall / fetchmany
        return (row[i] for row in result if isinstance(row, tuple) and i < len(row))
    return ()


def namespace_connections(guard: Any) -> list[Any]:
    """The raw DuckDB connections in the user's namespace (they resolve a relation's tables)."""
    from jupyter_guard.connections import is_duckdb, unwrap

    with Busy():
        return [c for c in (unwrap(v) for v in list(guard.namespace().values())) if is_duckdb(c)]


def wrap_fetch(fetch: Callable[..., Any], how: str, con: Any, guard: Any) -> Callable[..., Any]:
    """A connection's fetch method that judges its result on the query the connection ran."""
    def call(*args: Any, **kw: Any) -> Any:
        out = fetch(*args, **kw)
        cache = _LAST.get(id(con))
        if cache is not None and not busy():
            try:
                names = [d[0] for d in con.description or ()]
            except Exception:  # noqa: BLE001 - no description (nothing pending): names stay unknown
                names = []
            out = fetched(out, how, cache[0], [con], names, guard, cache)
        return out
    call.__name__, call.__doc__ = how, getattr(fetch, "__doc__", None)
    return call
