"""Run-time SQL sinks: SQL built while a cell runs is decided when it reaches the database.

DuckDB's Python API raises no audit events and its connection type cannot be patched, so:
- ``duckdb.connect`` returns a ``GuardedConnection`` proxy (``isinstance`` still says
  ``DuckDBPyConnection``); ``cursor()`` and ``execute()`` results stay guarded;
- module-level ``duckdb.sql/execute/query/executemany/...`` go through the same check;
- connections already in the user namespace at load time are swapped for proxies;
- SQLAlchemy engines are covered by a ``before_cursor_execute`` listener on ``Engine``.
The check is the one ``%%guarded_sql`` uses (same analysis, same row-count estimate).
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any

from jupyter_guard.connections import Conn, is_duckdb, unwrap
from jupyter_guard.duck import as_caller
from jupyter_guard.guard.judge import judge_or_refuse, refuse_verdict
from jupyter_guard.guard.owned import same_database
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks import db_exits, error_values, result_taint, udf_taint
from jupyter_guard.hooks.dbcopy_sql import with_database_reads
from jupyter_guard.hooks.state import Busy, busy, verify

log = logging.getLogger("jupyter_guard")

_TX = ("sql.transaction", "sql.set", "sql.other", "sql.unknown", "sql.unparsed", "sql.attach")
_MODULE_FUNCS = ("sql", "query", "execute", "executemany", "query_df", "from_query")
JUDGED: dict[str, None] = {}
"""The statements ``check_sql`` passed lately (a relation's read of the same text is not judged
twice: ``relations``)."""


def check_sql(guard: Guard, conn: Conn, query: Any, params: Any = None) -> None:
    """Raise GuardBlocked if the policy refuses ``query`` on ``conn``.

    The guard's own queries pass."""
    if busy() or not isinstance(query, str):
        return
    with Busy():  # the guard's own queries (row counts, catalog) pass unchecked
        verify()
        analysis = guard.sql_analysis(query, conn.dialect, params=_first_params(params))
        if params is not None:   # a store path passed as a parameter: read_text(?)
            analysis = _with_param_paths(guard, analysis, params)
        analysis = with_database_reads(analysis, query)   # read_blob('wh.duckdb')
        if conn.native_duckdb and any(i.action in _TX for i in analysis.intents):
            from jupyter_guard.guard.effect_run import forget

            forget(guard, conn.raw)   # it may open or close a transaction, or change the schema
        judge_or_refuse(guard, analysis, kind="runtime", code=query, conn=conn, note=True)
        if len(JUDGED) > 256:
            JUDGED.clear()
        JUDGED[query] = None
        if conn.native_duckdb and udf_taint.SENSITIVE_ARGS:
            udf_taint.prepare(query, conn.raw, guard.policy)


def _with_param_paths(guard: Guard, analysis: Any, params: Any) -> Any:
    """String parameters that name the audit store, as file reads (refused as self-protection)."""
    from dataclasses import replace as _replace

    from jupyter_guard.guard.store_reads import store_paths, strings_of

    sets = params if isinstance(params, (list, tuple)) and params and \
        isinstance(params[0], (list, tuple, dict)) else [params]
    audit = guard.settings.get("audit") or ""
    paths = store_paths([s for p in sets for s in strings_of("", p)], audit) if audit else []
    if not paths:
        return analysis
    from jupyter_guard.model import Intent

    extra = tuple(Intent("file.read", "path", s, source=f"parameter {s!r}") for s in paths)
    return _replace(analysis, intents=analysis.intents + extra)


def _measured(guard: Guard, query: Any) -> bool:
    """Does ``query`` hold a statement the effect check runs? (Reads take the direct path.)"""
    if busy() or not isinstance(query, str):
        return False
    from jupyter_guard.connections import duckdb_classify
    from jupyter_guard.guard.effect_run import measured

    try:
        pieces = duckdb_classify(query)
    except Exception:  # noqa: BLE001 - DuckDB's parser refuses it: DuckDB itself will raise the same error
        return False
    return any(measured(t, q, guard.sql_analysis(q).intents) for t, q in pieces)


def _run_measured(guard: Guard, con: Any, query: str, params: Any, *, many: bool = False,
                  keep: bool = False) -> Any:
    """Run ``query`` through the effect check; the connection with the result put back (or the
    kept result itself with ``keep``). A refused effect was rolled back and is recorded."""
    from jupyter_guard.connections import duckdb_classify
    from jupyter_guard.guard import effect, effect_run

    with Busy():
        try:
            out = effect_run.run_all(guard, con, duckdb_classify(query),
                                     lambda q: guard.sql_analysis(q).intents, params, many=many,
                                     cell=effect.state(guard).cell, code=query)
        except effect_run.EffectRefused as e:
            raise refused(guard, query, e.verdict) from None
        return out if keep else effect_run.reexpose(con, out)


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


def refused(guard: Guard, code: str, verdict: Any) -> Exception:
    """Record a refusal of the measured effect and the error the user sees (the caller raises)."""
    return refuse_verdict(guard, verdict, kind="runtime", code=code)


def _first_params(params: Any) -> Any:
    return params if params is None or isinstance(params, dict) else list(params) if not (
        params and isinstance(params, (list, tuple)) and isinstance(params[0], (list, tuple, dict))
    ) else params[0]


class GuardedConnection:
    """A DuckDB connection whose statements pass the guard first."""

    __slots__ = ("_jg_con", "_jg_guard")

    def __init__(self, con: Any, guard: Guard) -> None:
        object.__setattr__(self, "_jg_con", con)
        object.__setattr__(self, "_jg_guard", guard)

    @property  # type: ignore[misc]  # a property named __class__ (isinstance keeps working)
    def __class__(self) -> type:  # isinstance(con, duckdb.DuckDBPyConnection) keeps working
        return type(object.__getattribute__(self, "_jg_con"))

    def _wrap(self, result: Any) -> Any:
        return self if result is self._jg_con else result

    def _check(self, query: Any, params: Any = None) -> None:
        check_sql(self._jg_guard, Conn(self._jg_con, "duckdb", "duckdb"), query, params)

    def execute(self, query: Any, parameters: Any = None, *args: Any, **kw: Any) -> Any:
        _PENDING.pop(id(self._jg_con), None)
        self._check(query, parameters)
        db_exits.check_write(self._jg_guard, self._jg_con, query,
                             [parameters] if parameters else None)
        if parameters:
            _bound(self._jg_con, query, [parameters])
        result_taint.note(self._jg_con, query)
        if not args and not kw and _measured(self._jg_guard, query):
            out = _run_measured(self._jg_guard, self._jg_con, query, parameters, keep=True)
            if isinstance(out, int):   # a DML count: answered from Python until used otherwise
                _PENDING[id(self._jg_con)] = [out, False]
                return self
            from jupyter_guard.guard.effect_run import reexpose

            return self._wrap(reexpose(self._jg_con, out))
        try:
            if parameters is None:
                return self._wrap(as_caller(self._jg_con.execute, query, *args, **kw))
            return self._wrap(as_caller(self._jg_con.execute, query, parameters, *args, **kw))
        except Exception as e:
            error_values.note(e, query, self._jg_guard)   # a value the error quotes
            raise

    def executemany(self, query: Any, parameters: Any = None, *args: Any, **kw: Any) -> Any:
        _PENDING.pop(id(self._jg_con), None)
        sets = list(parameters or [])
        result_taint.note(self._jg_con, None)
        for p in sets[:1] or [None]:   # the fast first check; the effect check sees every set
            self._check(query, p)
        db_exits.check_write(self._jg_guard, self._jg_con, query, sets)
        _bound(self._jg_con, query, sets)
        if not args and not kw and _measured(self._jg_guard, query):
            _run_measured(self._jg_guard, self._jg_con, query, sets, many=True)
            return self
        return self._wrap(as_caller(self._jg_con.executemany, query, parameters, *args, **kw))

    def sql(self, query: Any, *args: Any, **kw: Any) -> Any:
        _PENDING.pop(id(self._jg_con), None)
        self._check(query, kw.get("params"))
        params = kw.get("params")
        db_exits.check_write(self._jg_guard, self._jg_con, query, [params] if params else None)
        if not args and set(kw) <= {"params"} and _measured(self._jg_guard, query):
            out = _run_measured(self._jg_guard, self._jg_con, query, kw.get("params"), keep=True)
            if isinstance(out, int):
                return self._jg_con.sql(f'SELECT {out}::BIGINT AS "Count"')
            return None if out is None else self._jg_con.from_arrow(out)
        return as_caller(self._jg_con.sql, query, *args, **kw)

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

    def __getattr__(self, name: str) -> Any:
        if name == "create_function":   # Python functions as SQL: their results are checked
            from jupyter_guard.hooks.udf_taint import wrap_create

            kept = _PENDING.get(id(self._jg_con))   # a pending DML count is put back first
            return wrap_create(_kept(self._jg_con, kept, name) if kept is not None
                               else self._jg_con.create_function)
        if name == "append":   # a frame's rows into a table: judged like an INSERT of them
            return db_exits.guarded_append(self._jg_guard, self._jg_con, self)
        if _PENDING and not name.startswith("_"):
            # IPython's display probes (``_repr_html_``, ``_ipython_display_``...) are not a use of
            # the count: answering them by a query would leave a result open on the connection
            # (DuckDB then refuses the next statement)
            kept = _PENDING.get(id(self._jg_con))
            if kept is not None:
                return _kept(self._jg_con, kept, name)
        if name in result_taint.FETCHES and result_taint.pending(self._jg_con):
            return result_taint.wrap_fetch(getattr(self._jg_con, name), name, self._jg_con,
                                           self._jg_guard)
        return getattr(self._jg_con, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._jg_con, name, value)

    def __repr__(self) -> str:
        return f"<guarded {self._jg_con!r}>"


def install(shell: Any, guard: Guard) -> None:
    import _duckdb
    import duckdb

    originals: dict[int, Any] = {}  # id(original) -> guarded replacement, for names bound earlier
    if getattr(duckdb, "_jupyter_guard_sinks", None) is None:
        orig_connect, orig_default = duckdb.connect, duckdb.default_connection

        def connect(*args: Any, **kw: Any) -> Any:
            _opens_store(guard, args[0] if args else kw.get("database"))
            return GuardedConnection(orig_connect(*args, **kw), guard)

        def default_connection() -> Any:
            return GuardedConnection(orig_default(), guard)

        connect.__doc__ = orig_connect.__doc__
        replaced = {"connect": connect, "default_connection": default_connection}
        if hasattr(duckdb, "set_default_connection"):
            replaced["set_default_connection"] = _set_default(duckdb.set_default_connection)
        if hasattr(duckdb, "create_function"):   # module-level: the same guarded function
            replaced["create_function"] = _module_create(duckdb.create_function)
        for name in _MODULE_FUNCS:
            orig = getattr(duckdb, name, None)
            if orig is not None:
                replaced[name] = _module_func(orig, guard)
        for module in (duckdb, _duckdb):  # the C module too: `import _duckdb` is a way around
            for name, fn in replaced.items():
                orig = getattr(module, name, None)
                if orig is not None:
                    originals[id(orig)] = fn
                    setattr(module, name, fn)
        duckdb._jupyter_guard_sinks = originals  # type: ignore[attr-defined]  # an attribute the guard sets on a module
    originals = duckdb._jupyter_guard_sinks  # type: ignore[attr-defined]  # set by the guard on the module above
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_"):
            continue
        if is_duckdb(value) and not isinstance(value, GuardedConnection):
            shell.user_ns[name] = GuardedConnection(value, guard)
        elif id(value) in originals:  # `from duckdb import connect` before %load_ext
            shell.user_ns[name] = originals[id(value)]
    guard.plug(runtime_sql=True, sqlalchemy=lambda: id(guard) in _SA_HOOKED)
    from jupyter_guard.hooks import relations  # late: relations calls check_sql from here

    relations.install(guard)
    _sqlalchemy(guard)
    shell.events.register("pre_run_cell", lambda info: _sqlalchemy(guard))
    shell.events.register("pre_run_cell", lambda info: _new_cell(guard))


def _new_cell(guard: Guard) -> None:
    """Rows changed per table count per cell (``max_affected_rows`` over a loop of deletes)."""
    from jupyter_guard.guard.effect import state

    state(guard).cell.clear()


def _opens_store(guard: Guard, database: Any) -> None:
    """User code may not open the audit store, read-only or not (it is the guard's own)."""
    from jupyter_guard.hooks import state
    from jupyter_guard.model import Intent

    rt = state.current()
    if not isinstance(database, (str, os.PathLike)) or rt is None or state.busy():
        return
    path = os.fspath(database)
    if guard.opens_store((Intent("file.read", "path", path),)) and rt.user_stack(sys._getframe(2)):
        rt.decide([Intent("file.read", "path", path)], f"duckdb.connect({path!r})")


def _module_func(orig: Any, guard: Guard) -> Any:
    name = getattr(orig, "__name__", "sql")
    method = name in ("execute", "executemany", "sql", "query", "from_query")

    def f(*args: Any, **kw: Any) -> Any:
        con = unwrap(kw.pop("connection", None)) or _default()
        if method:   # the connection's own method: the measured effect of every parameter
            # set, bound values, result taint, on the connection named or the default one
            return getattr(GuardedConnection(con, guard), name)(*args, **kw)
        # query_df: DuckDB runs it as ``from_df(df).query(name, sql)``, a guarded relation
        return as_caller(orig, *args, connection=con, **kw)
    f.__name__ = name
    f.__doc__ = getattr(orig, "__doc__", None)
    return f


def _module_create(orig: Any) -> Any:
    from jupyter_guard.hooks.udf_taint import wrap_create

    def create(*args: Any, **kw: Any) -> Any:
        if "connection" in kw:
            kw["connection"] = unwrap(kw["connection"])
        return orig(*args, **kw)
    return wrap_create(create)


def _set_default(orig: Any) -> Any:
    def set_default_connection(connection: Any) -> None:
        """DuckDB's own, given the raw connection behind a guarded one (module-level calls on
        the default connection are guarded by the module's functions)."""
        orig(unwrap(connection))
    set_default_connection.__doc__ = getattr(orig, "__doc__", None)
    return set_default_connection


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


def _default() -> Any:
    """The raw default connection (``duckdb.default_connection`` returns a guarded proxy, which
    DuckDB's C functions refuse as their ``connection``)."""
    import duckdb

    return unwrap(duckdb.default_connection())


def _sqlalchemy(guard: Guard) -> None:
    """Hook SQLAlchemy once it is imported (importing it ourselves would cost ~100 ms)."""
    if "sqlalchemy" not in sys.modules or id(guard) in _SA_HOOKED:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from jupyter_guard.connections.sqlalchemy import dialect_of

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        dialect = dialect_of(conn.dialect.name)
        check_sql(guard, Conn(conn, "sqlalchemy", dialect), statement, parameters)

    event.listen(Engine, "before_cursor_execute", before)
    _SA_HOOKED.add(id(guard))
