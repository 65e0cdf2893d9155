"""``%%guarded_sql`` and ``%guard``: the guard's magics."""
from __future__ import annotations

import time
from dataclasses import replace
from functools import lru_cache
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from jupyter_guard import connections
from jupyter_guard.connections import Conn
from jupyter_guard.errors import GuardConfigError, SqlError
from jupyter_guard.guard import effect, effect_run
from jupyter_guard.guard.judge import refuse, refuse_verdict
from jupyter_guard.guard.refusal import note_if_audit
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks import error_values, pieces, sql_exports
from jupyter_guard.hooks.state import Busy, verify
from jupyter_guard.kernel import sql_params
from jupyter_guard.kernel.sql_params import dry_run_frame
from jupyter_guard.model import Verdict


@magics_class
class GuardMagics(Magics):
    def __init__(self, shell: Any, guard: Guard) -> None:
        super().__init__(shell)
        self._guard = guard   # not ``self.guard``: that name is the ``%guard`` magic
        self._shell: Any = shell   # Magics.shell is Optional; this one is always set

    # -- %%guarded_sql ----------------------------------------------------------------------
    @magic_arguments()
    @argument(
        "connection",
        nargs="?",
        default=None,
        help="a variable holding a DuckDB connection or SQLAlchemy engine/connection, or a URL",
    )
    @argument(
        "-o", "--output", dest="output", default=None, help="store the unmasked DataFrame here"
    )
    @argument("--dry-run", dest="dry_run", action="store_true",
              help="show the decision for each statement and run nothing")
    @argument("--limit", type=int, default=None, help="fetch at most N rows of the result")
    @argument("--alias", default=None, help="name this connection for later cells")
    @cell_magic
    def guarded_sql(self, line: str, cell: str) -> Any:
        """Run SQL through the guard: every statement is analysed before any runs.
        ``:name``/``$name`` bind Python variables as parameters; ``{{name}}`` is an identifier."""
        args = _arguments(line)
        conn = self._connection(args.connection)
        if args.alias:
            sql_params.ALIASES[args.alias] = conn
        p = sql_params.prepare(cell, self._shell.user_ns, conn.dialect,
                               catalog=lambda: sql_params.catalog(conn),
                               paramstyle=conn.kind.paramstyle)
        cell_info = self._cell()
        result = run_sql(self._guard, conn, p.text, output=args.output, dry_run=args.dry_run,
                         user_ns=self._shell.user_ns, actor=cell_info.get("actor") or None,
                         cell_id=cell_info.get("cell_id", ""),
                         execution_count=cell_info.get("count"), params=p.params, limit=args.limit)
        if args.dry_run:
            return result
        return sql_params.shown(result, self.sql_config.displaylimit, sql_params.STATE["more"],
                                args.limit)

    @property
    def sql_config(self) -> Any:
        if getattr(self, "_sql_config", None) is None:
            self._sql_config = sql_params.GuardedSql(parent=self.shell)
            self._shell.configurables.append(self._sql_config)
        return self._sql_config

    def _cell(self) -> dict[str, Any]:
        kg = getattr(self.shell, "_jupyter_guard_kernel", None)
        return dict(getattr(kg, "_cell", None) or {})

    def _connection(self, spec: str | None) -> Conn:
        cur = sql_params.CURRENT
        if spec:
            if "://" in spec:   # the Conn's name has no password: the URL typed is kept here
                if cur[0] is None or getattr(self, "_url", None) != (spec, cur[0]):
                    cur[0] = connections.from_url(spec)
                    self._url = (spec, cur[0])
            elif spec in sql_params.ALIASES and spec not in self._shell.user_ns:
                cur[0] = sql_params.ALIASES[spec]
            elif spec in self._shell.user_ns:
                obj = self._shell.user_ns[spec]
                if cur[0] is None or cur[0].raw is not obj:
                    cur[0] = connections.from_object(obj, spec)
            else:
                raise GuardConfigError(
                    f"no variable or URL named {spec!r}: pass a connection variable "
                    "or a URL like duckdb:///warehouse.duckdb"
                )
        conn = cur[0]
        if conn is None:
            conn = cur[0] = connections.memory()
        return conn

    # -- %guard -----------------------------------------------------------------------------
    @line_magic
    def guard(self, line: str) -> Any:
        """%guard status | request [reason] | panel | unmask on|off | explain CODE"""
        from jupyter_guard.kernel import commands

        return commands.run(self.shell, self._guard, line)


@lru_cache(maxsize=256)
def _arguments(line: str) -> Any:
    """``%%guarded_sql``'s options, parsed once per distinct line (argparse costs ~0.3 ms, paid
    by every cell otherwise); the namespace is only read."""
    return parse_argstring(GuardMagics.guarded_sql, line)


def run_sql(g: Guard, conn: Conn, text: str, **kw: Any) -> Any:
    """One ``%%guarded_sql`` cell; a value its database error quotes is remembered
    (``hooks.error_values``)."""
    try:
        return _run_sql(g, conn, text, **kw)
    except Exception as e:
        error_values.note(e, text, g)
        raise


def _run_sql(g: Guard, conn: Conn, text: str, *, output: str | None = None,
             dry_run: bool = False, user_ns: dict[str, Any] | None = None,
             actor: str | None = None, cell_id: str = "", execution_count: int | None = None,
             params: dict[str, Any] | None = None, limit: int | None = None) -> Any:
    db = conn.kind
    if db.runs_cells:   # a kind with its own way to run a cell (PostgreSQL: one transaction)
        return db.run_cell(g, conn, text, output=output, dry_run=dry_run, user_ns=user_ns,
                             actor=actor, cell_id=cell_id, execution_count=execution_count,
                             params=params, limit=limit)
    verify()
    analysis = g.sql_analysis(text, conn.dialect, params=params or None)
    judgement = g.judge(analysis, conn=conn, code=text, actor=actor)
    note_if_audit(g, judgement.verdicts)
    if dry_run:
        return dry_run_frame(judgement.intents, judgement.verdicts)
    if analysis.errors and any(i.action == "sql.unparsed" for i in analysis.intents):
        # a typo: nothing could run, so it is an error of the cell, not a refusal by the policy
        typo = Verdict("allow", "sql-parse-error", f"the SQL does not parse: {analysis.errors[0]}",
                       None, g.policy.revision)
        g.begin(kind="sql", code=text, judgement=replace(judgement, verdict=typo, verdicts=(typo,)),
                status="error", cell_id=cell_id, execution_count=execution_count)
        raise SqlError(f"{analysis.errors[0]}. Nothing ran: fix the SQL and run the cell again.")
    v = judgement.verdict
    if v.refuses:
        raise refuse(g, judgement, kind="sql", code=text, cell_id=cell_id,
                     execution_count=execution_count)
    if conn.native_duckdb:   # rows written into another database file or by COPY: their data
        from jupyter_guard.hooks import db_exits

        db_exits.check_write(g, conn.raw, text, [params] if params else None)
    event_id = g.begin(kind="sql", code=text, judgement=judgement, cell_id=cell_id,
                       execution_count=execution_count)
    start = time.perf_counter()
    statements = db.split(text)
    result = None
    wrap = conn.native_duckdb and len(statements) > 1 and not any(
        i.action == "sql.transaction" for i in judgement.intents)
    types = [t for t, _ in conn.classify(text)] if conn.classify else ["?"] * len(statements)
    if conn.native_duckdb:   # the cell's own BEGIN, or a statement that may open or close one
        effect_run.forget(g, conn.raw)
    st = effect.state(g)
    cell = st.cell   # rows per table this cell (cleared when the next cell starts)
    owned = (set(st.tables), set(st.schemas), set(st.databases), set(g.session_tables))
    try:
        if wrap:
            conn.raw.execute("BEGIN TRANSACTION")
        sql_params.STATE["more"] = False
        for n, (kind, stmt) in enumerate(zip(types, statements)):
            last = n == len(statements) - 1
            bound = sql_params.used(stmt, params or {}, conn.dialect)
            found = g.sql_analysis(stmt, conn.dialect, params=bound or None).intents
            if conn.native_duckdb and effect_run.measured(kind, stmt, found):
                with Busy():  # the guard's own snapshot queries
                    out = effect_run.run_one(g, conn.raw, kind, stmt, found, bound or None,
                                             cell=cell, code=text)
                result = _frame(out) if last else None
            elif params or limit is not None:   # bound values and row limits: see sql_params
                result, sql_params.STATE["more"] = sql_params.run(
                    conn, stmt, bound, want_frame=last, limit=limit)
            else:
                result = conn.run(stmt, want_frame=last)
        if wrap:
            conn.raw.execute("COMMIT")
    except effect_run.EffectRefused as e:
        _restore(g, st, owned)
        g.finish(event_id, status="blocked", duration_ms=(time.perf_counter() - start) * 1000)
        raise refuse_verdict(g, e.verdict, kind="sql", code=e.statement, shown=text,
                             event_id=event_id, cell_id=cell_id,
                             execution_count=execution_count) from None
    except Exception as e:  # noqa: BLE001 - the database's error: rolled back, recorded, re-raised as SqlError
        if wrap:
            _restore(g, st, owned)   # what the rolled-back statements created is gone again
            try:
                conn.raw.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the failed statement already ended the transaction
                pass
        g.finish(event_id, status="error", duration_ms=(time.perf_counter() - start) * 1000)
        # the whole message: DuckDB's "Did you mean", candidate bindings and the position
        # marker are the help; the traceback is masked on the way out like any other
        full = str(e).strip() or type(e).__name__
        undone = "\n(all statements of this cell were rolled back)" if wrap else ""
        raise SqlError(f"{type(e).__name__}: {full}{undone}") from None
    g.note_success(judgement.intents)
    est = [i.estimated_rows for i in judgement.intents if i.estimated_rows and i.estimated_rows > 0]
    rows = sum(est) if est else None
    g.finish(event_id, status="ok", duration_ms=(time.perf_counter() - start) * 1000, rows=rows,
             lineage=[("write", "variable", output, False)] if output else ())
    if statements:   # its columns keep the lineage of what they reveal (display, writers)
        marks = sql_exports.mark_result(result, statements[-1], conn, g.policy)
        piece = pieces.in_frame(result, marks, conn.raw) if marks else None
        if piece is not None:   # pieces too short to mask (``substr(ssn, 3, 1)``)
            pieces.refuse(g, statements[-1], *piece, probe=conn)
    if output and user_ns is not None:
        user_ns[output] = result
    return result


def _restore(g: Guard, st: Any, owned: tuple[set[Any], ...]) -> None:
    """Ownership earned inside a cell transaction that was rolled back is taken back."""
    st.tables, st.schemas, st.databases = owned[0], owned[1], owned[2]
    g.session_tables.intersection_update(owned[3])


def _frame(out: Any) -> Any:
    """A measured statement's kept result as the cell's DataFrame (None for DDL)."""
    if isinstance(out, int):
        import pandas as pd

        return pd.DataFrame({"Count": [out]})
    if out is None or out.column_names in (["Success"], []):
        return None
    return out.to_pandas()
