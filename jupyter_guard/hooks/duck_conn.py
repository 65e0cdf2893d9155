"""The DuckDB connection proxy: ``GuardedConnection`` passes every statement through the run-time
check (``hooks/sql_check.py``) and the data exits (``hooks/db_exits.py``) before DuckDB runs it,
and answers a measured DML's row count from Python until the connection is used otherwise.
``isinstance(con, duckdb.DuckDBPyConnection)`` keeps working through it.
"""
from __future__ import annotations

import logging
from typing import Any

from jupyter_guard.connections import Conn
from jupyter_guard.duck import as_caller
from jupyter_guard.guard.owned import same_database
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks import db_exits, error_values, result_taint, sealed_events
from jupyter_guard.hooks.sql_check import check_sql, measured_here, run_measured
from jupyter_guard.hooks.state import Busy, busy

log = logging.getLogger("jupyter_guard")

# id(raw connection) -> [affected-row count, read?]: the result of a measured DML, which the
# guard's own queries replaced on the connection. fetchone/fetchall answer from it; anything
# else (df, description, arrow, ...) first puts it back on the connection as a query result.
_PENDING: dict[int, list[Any]] = {}
_SA_HOOKED: set[int] = set()   # guards whose SQLAlchemy listener is on (it comes when imported)


def _kept(con: Any, kept: list[Any], name: str) -> Any:
    n, read = kept
    if name == "fetchall":
        def fetchall() -> list[tuple[int]]:
            kept[1] = True
            return [] if read else [(n,)]
        return fetchall
    if name == "fetchone":
        def fetchone() -> tuple[int] | None:
            was = kept[1]
            kept[1] = True
            return None if was else (n,)
        return fetchone
    _PENDING.pop(id(con), None)
    if not read:
        con.execute("SELECT ?::BIGINT AS \"Count\"", [n])
    return getattr(con, name)



# each proxy's DuckDB connection and guard: a sealed weak table (slots were set by
# ``object.__setattr__`` from a cell, with no audit event), given once, by the guard's code
# making the proxy; the connection is read by the guard's code only (a cell that held it ran a
# ``DROP`` of a protected table on it, unjudged)
_GET, _GIVE_GUARD = sealed_events.weak_table("a connection's guard", callers=2)
_CON_OF = sealed_events.guard_read(_GET, 0, "the DuckDB connection behind a guarded one")
_GUARD_OF = sealed_events.guard_read(_GET, 1, "the guard of a guarded DuckDB connection")


class GuardedConnection:
    """A DuckDB connection whose statements pass the guard first."""

    __slots__ = ("__weakref__",)
    _jg_guard = property(_GUARD_OF)
    _jg_con = property(_CON_OF)

    def __init__(self, con: Any, guard: Guard, _give: Any = _GIVE_GUARD) -> None:
        _give(self, (con, guard))

    @property  # type: ignore[misc]  # a property named __class__ (isinstance keeps working)
    def __class__(self) -> type:  # isinstance(con, duckdb.DuckDBPyConnection) keeps working
        return type(self._jg_con)

    def _wrap(self, result: Any) -> Any:
        return self if result is self._jg_con else result

    def _check(self, query: Any, params: Any = None) -> None:
        check_sql(self._jg_guard, Conn(self._jg_con, "duckdb", "duckdb"), query, params)

    def execute(self, query: Any, parameters: Any = None, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con   # one read (the guard's code only)
        _PENDING.pop(id(raw), None)
        self._check(query, parameters)
        db_exits.check_write(self._jg_guard, raw, query,
                             [parameters] if parameters else None)
        if parameters:
            _bound(raw, query, [parameters])
        result_taint.note(raw, query)
        if not args and not kw and measured_here(self._jg_guard, query):
            out = run_measured(self._jg_guard, raw, query, parameters, keep=True)
            if isinstance(out, int):   # a DML count: answered from Python until used otherwise
                _PENDING[id(raw)] = [out, False]
                return self
            from jupyter_guard.guard.effect_run import reexpose

            return self._wrap(reexpose(raw, out))
        try:
            if parameters is None:
                return self._wrap(as_caller(raw.execute, query, *args, **kw))
            return self._wrap(as_caller(raw.execute, query, parameters, *args, **kw))
        except Exception as e:
            error_values.note(e, query, self._jg_guard)   # a value the error quotes
            raise

    def executemany(self, query: Any, parameters: Any = None, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con   # one read (the guard's code only)
        _PENDING.pop(id(raw), None)
        sets = list(parameters or [])
        result_taint.note(raw, None)
        for p in sets[:1] or [None]:   # the fast first check; the effect check sees every set
            self._check(query, p)
        db_exits.check_write(self._jg_guard, raw, query, sets)
        _bound(raw, query, sets)
        if not args and not kw and measured_here(self._jg_guard, query):
            run_measured(self._jg_guard, raw, query, sets, many=True)
            return self
        return self._wrap(as_caller(raw.executemany, query, parameters, *args, **kw))

    def sql(self, query: Any, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con   # one read (the guard's code only)
        _PENDING.pop(id(raw), None)
        self._check(query, kw.get("params"))
        params = kw.get("params")
        db_exits.check_write(self._jg_guard, raw, query, [params] if params else None)
        if not args and set(kw) <= {"params"} and measured_here(self._jg_guard, query):
            out = run_measured(self._jg_guard, raw, query, kw.get("params"), keep=True)
            if isinstance(out, int):
                return raw.sql(f'SELECT {out}::BIGINT AS "Count"')
            return None if out is None else raw.from_arrow(out)
        return as_caller(raw.sql, query, *args, **kw)

    query = sql

    def from_query(self, query: Any, *args: Any, **kw: Any) -> Any:
        self._check(query)
        return as_caller(self._jg_con.from_query, query, *args, **kw)

    def begin(self) -> Any:
        from jupyter_guard.guard.effect_run import forget

        forget(self._jg_guard, self._jg_con)
        return self._wrap(self._jg_con.begin())

    def commit(self) -> Any:
        from jupyter_guard.guard.effect_run import forget

        forget(self._jg_guard, self._jg_con)
        return self._wrap(self._jg_con.commit())

    def rollback(self) -> Any:
        from jupyter_guard.guard.effect_run import forget

        forget(self._jg_guard, self._jg_con)
        return self._wrap(self._jg_con.rollback())

    def cursor(self) -> GuardedConnection:
        return self._same_database(self._jg_con.cursor())

    def duplicate(self) -> GuardedConnection:
        return self._same_database(self._jg_con.duplicate())

    def _same_database(self, child: Any) -> GuardedConnection:
        """A cursor shares its parent's in-memory databases, so their tables stay the
        session's own through it (``guard.owned``)."""
        same_database(child, self._jg_con)
        return GuardedConnection(child, self._jg_guard)

    def __enter__(self) -> GuardedConnection:
        self._jg_con.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._jg_con.__exit__(*exc)

    def _jg_judge_append(self, table_name: str) -> None:
        """The appended rows meet ``table_name``'s keys like the rows of an ``INSERT``: decided
        as one that writes values nobody can read here (a key or foreign key over sensitive
        values then judges a guess: refused as ``inference``, whatever the frame holds)."""
        from sqlglot import exp

        try:
            target = exp.to_table(table_name, dialect="duckdb").sql("duckdb")
        except Exception:  # noqa: BLE001 - a name sqlglot cannot read: DuckDB's name, quoted whole
            target = exp.to_identifier(table_name, quoted=True).sql("duckdb")
        check_sql(self._jg_guard, Conn(self._jg_con, "duckdb", "duckdb"),
                  f"INSERT INTO {target} VALUES (NULL)")

    def __getattr__(self, name: str) -> Any:
        if name == "create_function":   # Python functions as SQL: their results are checked
            from jupyter_guard.hooks.udf_taint import wrap_create

            kept = _PENDING.get(id(self._jg_con))   # a pending DML count is put back first
            return wrap_create(_kept(self._jg_con, kept, name) if kept is not None
                               else self._jg_con.create_function)
        if name == "append":   # a frame's rows into a table: judged like an INSERT of them
            append = db_exits.guarded_append(self._jg_guard, self._jg_con, self,
                                             self._jg_judge_append)
            return sealed_events.hidden(append, append)   # its closure holds the connection
        if _PENDING and not name.startswith("_"):
            # IPython's display probes (``_repr_html_``, ``_ipython_display_``...) are not a use of
            # the count: answering them by a query would leave a result open on the connection
            # (DuckDB then refuses the next statement)
            kept = _PENDING.get(id(self._jg_con))
            if kept is not None:
                raw = self._jg_con
                return sealed_events.unbound(_kept(raw, kept, name), raw)
        if name in result_taint.FETCHES and result_taint.pending(self._jg_con):
            fetch = result_taint.wrap_fetch(getattr(self._jg_con, name), name, self._jg_con,
                                            self._jg_guard)
            return sealed_events.hidden(fetch, fetch)   # its closure holds the connection
        raw = self._jg_con   # a method bound to it would hand it out (``__self__``)
        return sealed_events.unbound(getattr(raw, name), raw)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._jg_con, name, value)

    def __repr__(self) -> str:
        return f"<guarded {self._jg_con!r}>"


def _bound(raw: Any, query: Any, sets: list[Any]) -> None:
    """Values bound to an INSERT or UPDATE that hold sensitive ones taint the columns they go
    into (``bound_taint``)."""
    from jupyter_guard.hooks import bound_taint, exit_files  # late: exit_files imports writers

    if not sets or exit_files.FX is None or busy():
        return

    def columns_of(table: str) -> list[str]:
        with Busy():
            rows = raw.execute("SELECT database_name, schema_name, column_name FROM "
                               "duckdb_columns() WHERE lower(table_name) = lower(?) ORDER BY "
                               "database_name, schema_name, column_index", [table]).fetchall()
        return [c for d, sch, c in rows if (d, sch) == rows[0][:2]] if rows else []

    try:
        bound_taint.note(query, sets, exit_files.FX.exports.settings(), columns_of)
    except Exception as e:  # noqa: BLE001 - a statement sqlglot or the catalog cannot read: the
        # bytes of every later file and network exit are still scanned, and the statement runs
        log.debug("jupyter_guard: bound values not followed for %r: %s", query, e)
