"""Run DuckDB statements with the effect check (see ``enforce.effect``): begin, snapshot, run,
snapshot, measure, judge, then commit or roll back and refuse with the measured numbers.

Used by ``%%guarded_sql`` and the guarded DuckDB connection (``execute``, ``sql``, cursors,
``executemany``). Reads take none of this: only statements whose kind can change rows or the
catalog (and SELECTs that hold a writable CTE) are measured.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from jupyter_guard.analyze.sql_types import kind_of
from jupyter_guard.duck import as_caller
from jupyter_guard.guard import owned
from jupyter_guard.guard.effect import affected, fetch, measure, resolve, snapshot, state
from jupyter_guard.model import SQL_WRITES, Intent, Verdict
from jupyter_guard.policy.effects import Effect, Key, judge_effect

_DML = ("sql.delete", "sql.update", "sql.insert", "sql.merge", "sql.truncate")
# Kinds whose changed rows cannot be told from a DML count: every table is counted and
# fingerprinted. (CALL runs table functions, which read: only its catalog effect is measured.)
_WRAPPERS = ("EXPLAIN ANALYZE", "EXECUTE", "SELECT")
_CATALOG = ("CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "CALL", "EXECUTE", "EXPLAIN ANALYZE",
            "CREATE_FUNC", "COPY_DATABASE", "COPY FROM DATABASE", "CREATE MACRO")


# Statements after which the guard asks DuckDB again whether a transaction is open.
_FORGET = ("TRANSACTION", "SET", "VARIABLE_SET", "PRAGMA", "EXECUTE", "CALL")


class EffectRefused(Exception):
    def __init__(self, verdict: Verdict, statement: str) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict
        self.statement = statement


def measured(duck_type: str, query: str, intents: Sequence[Intent]) -> bool:
    """Does this statement run under the effect check? (A plain SELECT does not.)"""
    k = kind_of(duck_type, query)
    if k is None or not k.writes:
        return False
    if duck_type == "SELECT":
        return any(i.action in SQL_WRITES for i in intents)
    return True


def _begin(raw: Any, st: Any) -> tuple[bool, Any]:
    """Open the guard's transaction unless the user has one open (then False); also the current
    database and schema. A failed BEGIN would abort the user's transaction, so the guard asks
    first (two queries in autocommit mode get two transaction ids, in an open transaction the
    same one) unless it already knows: ``State.autocommit`` holds connections whose state the
    guard saw last and that no transaction or SET statement has touched since (see ``forget``)."""
    known = st.autocommit.get(id(raw))
    if known is None:
        current = raw.execute("SELECT current_database(), current_schema(), txid_current(), "
                              "current_setting('search_path')"
                              ).fetchall()[0]   # fetchall: DuckDB 2 keeps a half-read result open
        if current[2] == raw.execute("SELECT txid_current()").fetchall()[0][0]:
            return False, current
        known = current
    raw.execute("BEGIN TRANSACTION")
    st.autocommit[id(raw)] = known
    return True, known


def forget(guard: Any, raw: Any) -> None:
    """A statement may have opened or closed a transaction or changed the current schema."""
    state(guard).autocommit.pop(id(raw), None)


def run_one(guard: Any, raw: Any, duck_type: str, query: str, intents: Sequence[Intent],
            params: Any = None, *, many: bool = False, cell: dict[Key, int] | None = None,
            code: str = "", submit: Callable[[str, Any], Any] | None = None) -> Any:
    """Run one measured statement; its result (Arrow table or None). ``code`` is the text the
    user ran (for approvals). Raises EffectRefused after rolling back when the policy forbids
    the measured effect."""
    k = kind_of(duck_type, query)
    verb = {"MERGE_INTO": "MERGE"}.get(k.name, k.name) if k is not None else duck_type
    names = [i.target for i in intents if i.action in _DML + ("sql.alter", "sql.rename",
                                                               "sql.drop_column")]
    wrapper = verb in _WRAPPERS or any(not i.target or "?" in i.target for i in intents
                                       if i.action in _DML)
    fast = not wrapper and verb in ("UPDATE", "DELETE") and len(names) == 1
    own_tx, current = _begin(raw, state(guard))
    places: dict[str, str] | None = None   # database name -> place (``guard.owned``)
    try:
        st = state(guard)
        if verb in _CATALOG or duck_type in _CATALOG:   # it may make, drop or detach databases
            places = owned.duck_places(raw)
        if fast and (not _plain(names[0], current) or _temp_twin(state(guard), names[0])):
            fast = False   # USE / search_path / a two-part name / a temporary table of that name
            # (DuckDB reads a bare name as the temporary table first): resolve it in the catalog
        if fast:
            # The affected-row count is the whole effect of a plain UPDATE/DELETE (DuckDB has
            # no triggers or cascades): no snapshots, three round trips besides it.
            out, count = _execute(raw, query, params, many, duck_type, submit)
            key = _key_of(names[0], current)
            if count is None:
                eff = Effect(verb, unmeasured=(key,))
            else:
                eff = Effect(verb, deleted={key: count} if verb == "DELETE" else {},
                             changed={key: count} if verb == "UPDATE" else {})
            before = after = None
        else:
            tables = _tables(raw)
            watch = [x for x in (resolve(n, tables, current) for n in names) if x is not None]
            if len(watch) < len(names) and verb in ("UPDATE", "DELETE"):
                wrapper = True   # a name the guard cannot place: count every table instead
            if wrapper:
                watch = [t for t, (_, _, view) in tables.items() if t[0] != "temp" and not view]
            prints = watch if wrapper or verb.startswith("ALTER") else []
            catalog = verb in _CATALOG or duck_type in _CATALOG
            before = _snap(raw, watch, catalog, prints, tables, query)
            out, count = _execute(raw, query, params, many, duck_type, submit)
            after = _snap(raw, watch, catalog, prints,
                          None if catalog or wrapper else tables, query)
            dml = watch[0] if len(watch) == 1 and not wrapper else None
            eff = measure(verb, before, after, count, dml, duck_type)
        pol = guard.policy
        if places is None:   # a change of rows: where the tables are matters on a name collision
            places = owned.duck_places(raw) if owned.touches(st, eff) else {}
        after = owned.duck_places(raw) if eff.databases_new or eff.databases_attached else places
        with st.lock:
            v = judge_effect(eff, pol, st.owned(cell or {}, pol.session_window_minutes * 60,
                                                places))
            if v is not None and (_audit_only(guard, code or query, v) or
                                  _approved(guard, code or query, v)):
                v = None
            if v is not None:
                raw.execute("ROLLBACK")
                own_tx = False
                raise EffectRefused(v.__class__(v.decision, v.rule_id, v.reason, None,
                                                pol.revision), query)
            if own_tx:
                raw.execute("COMMIT")
                own_tx = False
            _keep(st, eff, cell)
            owned.keep(st, eff, places, after, guard.session_tables)
        return out
    except BaseException:  # the transaction is rolled back and forgotten, then re-raised
        forget(guard, raw)
        if own_tx:
            try:
                raw.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the transaction is already gone (a failed statement): nothing
                pass           # of it was kept, which is what the rollback wanted
        raise


def _snap(raw: Any, watch: list[Key], catalog: bool, prints: list[Key], tables: Any,
          query: str) -> Any:
    """A snapshot, or a refusal naming why the guard could not take one (the caller rolls back)."""
    try:
        return snapshot(raw, watch, catalog=catalog, prints=prints, tables=tables)
    except Exception as e:  # noqa: BLE001 - a catalog or count query failed: the effect cannot be measured,
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EffectRefused(Verdict("block", "guard-error",   # so it is not kept
                                    f"the guard could not measure what this statement does "
                                    f"({first[:120]}); nothing was changed"), query) from None


def _plain(name: str, current: Any) -> bool:
    """A name whose table the key says without the catalog: fully qualified, or bare in the
    default search path (``main`` of the current database). Else the limits would count one
    table under several keys (``USE db.s1`` between two deletes of ``customers``)."""
    n = len([p for p in name.split(".") if p])
    if n >= 3:
        return True
    return n == 1 and str(current[1]).lower() == "main" and not (len(current) > 3 and current[3])


def _temp_twin(st: Any, name: str) -> bool:
    """The session made a temporary table of this bare name (it hides the one in ``main``)."""
    name = name.strip('"').lower()
    return any(w.startswith("duckdb(temp#") and (sc, t) == ("main", name) for w, sc, t in st.tables)


def _key_of(name: str, current: Any) -> Key:
    """The key of a table named as written, in the current database and schema."""
    parts = [p.strip('"').lower() for p in name.split(".") if p]
    if len(parts) >= 3:
        return (parts[-3], parts[-2], parts[-1])
    if len(parts) == 2:
        return (str(current[0]).lower(), parts[0], parts[1])
    return (str(current[0]).lower(), str(current[1]).lower(), parts[-1] if parts else "?")


def _audit_only(guard: Any, code: str, v: Verdict) -> bool:
    """``mode: audit``: the effect is kept and logged as a would-be block (once: not again when
    the static check of the same cell already logged that rule)."""
    if guard.policy.mode != "audit":
        return False
    if not any(e.get("rule_id") == v.rule_id and e.get("decision") == "warn"
               for e in guard.recent[-5:]):
        guard.note("sql", code, "warn", v.rule_id, f"would block: {v.reason}")
    return True


def _approved(guard: Any, code: str, v: Verdict) -> bool:
    """A person approved this code (``%guard request``): the effect is kept, and said so."""
    if getattr(guard, "approvals", None) is None:
        return False
    from jupyter_guard.guard.judge import sha256

    try:
        approver = guard.approvals.consume(guard.who()[0], sha256(code))
    except Exception:  # noqa: BLE001 - an approval that cannot be read is no approval: the effect is refused
        return False
    if approver:
        guard.note("sql", code, "allow", v.rule_id, f"approved by {approver}: {v.reason}")
    return bool(approver)


def _tables(raw: Any) -> dict[Key, tuple[bool, int, bool]]:
    from jupyter_guard.guard.effect import list_tables

    return list_tables(raw)


def _execute(raw: Any, query: str, params: Any, many: bool, duck_type: str,
             submit: Callable[[str, Any], Any] | None = None) -> tuple[Any, int | None]:
    if submit is not None:   # DuckDB's relation API sends its statement itself
        res = submit(query, params)
        out = fetch(res)
        if out is None and hasattr(res, "drain"):   # DuckDB 2: finish it before other work
            res.drain()
        return out, affected(duck_type, out)
    if many:   # every parameter set, one by one, so each one's rows are counted
        total = 0
        for p in params or []:
            n = affected(duck_type, fetch(as_caller(raw.execute, query, p)))
            total += n or 0
        return None, total
    res = as_caller(raw.execute, query) if params is None else \
        as_caller(raw.execute, query, params)
    out = fetch(res)
    return out, affected(duck_type, out)


def _keep(st: Any, eff: Effect, cell: dict[Key, int] | None) -> None:
    """After the commit: rows count over time (what the session owns: ``owned.keep``)."""
    now = time.time()
    for key, n in eff.touched().items():
        st.add(key, n, now)
        if cell is not None:
            cell[key] = cell.get(key, 0) + n


def reexpose(raw: Any, out: Any) -> Any:
    """Put a kept result back as the connection's pending result (the guard's queries
    replaced it)."""
    if out is None:
        return raw
    if isinstance(out, int):
        return raw.execute("SELECT ?::BIGINT AS \"Count\"", [out])
    _jg_result = out
    return raw.execute("SELECT * FROM _jg_result")


def run_all(guard: Any, raw: Any, pieces: Sequence[tuple[str, str]],
            analyse: Callable[[str], Sequence[Intent]], params: Any = None, *, many: bool = False,
            cell: dict[Key, int] | None = None, code: str = "") -> Any:
    """Run statements in order, the measured ones through ``run_one``; the last one's result."""
    out: Any = None
    for n, (duck_type, query) in enumerate(pieces):
        is_last = n == len(pieces) - 1
        p = params if is_last else None
        intents = analyse(query)
        if duck_type in _FORGET:
            forget(guard, raw)
        if measured(duck_type, query, intents):
            out = run_one(guard, raw, duck_type, query, intents, p, many=many and is_last,
                          cell=cell, code=code)
        elif many and is_last:
            as_caller(raw.executemany, query, p)
            out = None
        else:
            out = fetch(as_caller(raw.execute, query) if p is None else
                        as_caller(raw.execute, query, p))
    return out
