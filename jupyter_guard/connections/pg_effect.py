"""The effect check for PostgreSQL: a statement that can change rows or schema runs inside a
transaction (or savepoint) the guard controls; before it is kept, the guard measures what it did
and rolls it back when the policy forbids the result.

What is measured, in one catalog query before and one after:
- ``pg_stat_xact_user_tables``: tuples inserted, updated and deleted per table in this transaction;
- ``pg_class``: tables and views that disappeared, were renamed, lost columns, or were emptied or
  rewritten (a new ``relfilenode``: ``TRUNCATE``); DDL is transactional, so all of it rolls back;
- disabled triggers, ``session_replication_role``, ``current_user`` and ``session_user``;
- large objects (``pg_stat_xact_sys_tables``, as one table ``pg_catalog.pg_largeobject`` with the
  oid -4): objects unlinked count as deleted rows, pages overwritten as updated ones, so a
  ``SELECT lo_unlink(oid) FROM pg_largeobject_metadata`` is held to ``max_affected_rows``.
Temporary tables (``pg_temp_*`` schemas) are the session's own and are not counted.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from jupyter_guard.connections.pg_snapshot_sql import AUTHORITY, HOOKS
from jupyter_guard.guard.owned import PG_WHERE, pg_keep, pg_key
from jupyter_guard.model import Action, Intent, TargetKind, Verdict, combine
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.rules import Context

SNAPSHOT = """SELECT c.oid::bigint, n.nspname::text, c.relname::text, c.relfilenode::bigint,
  (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
     AND NOT a.attisdropped),
  coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0),
  (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgenabled = 'D'),
  c.relkind::text, """ + HOOKS + """
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_xact_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (n.nspname NOT LIKE 'pg\\_%%' OR n.nspname LIKE 'pg\\_temp\\_%%')
UNION ALL SELECT -4, 'pg_catalog', 'pg_largeobject', 0, 0,
  coalesce((SELECT n_tup_upd FROM pg_stat_xact_sys_tables
            WHERE relid = 'pg_catalog.pg_largeobject'::regclass), 0),
  coalesce((SELECT n_tup_del FROM pg_stat_xact_sys_tables
            WHERE relid = 'pg_catalog.pg_largeobject_metadata'::regclass), 0), 0, 'l', ''
UNION ALL SELECT -1, current_setting('session_replication_role'), current_user::text,
  0, 0, 0, 0, 0, session_user::text, """ + AUTHORITY + """
UNION ALL SELECT -6, '', '', 0, 0, 0, 0, 0, 'appname', current_setting('application_name')
UNION ALL SELECT -2, """ + PG_WHERE + """, '', 0, 0, 0, 0, 0, '', ''
UNION ALL SELECT -3, nspname::text, '', 0, 0, 0, 0, 0, '', '' FROM pg_namespace
WHERE nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema'"""

# Statements PostgreSQL refuses inside a transaction block: they run without the check, and the
# static analysis alone decides them.
NO_TRANSACTION = ("VACUUM", "CREATE DATABASE", "DROP DATABASE", "CREATE INDEX CONCURRENTLY",
                  "DROP INDEX CONCURRENTLY", "REINDEX", "ALTER SYSTEM", "CREATE TABLESPACE",
                  "DROP TABLESPACE", "CLUSTER")


@dataclass(frozen=True)
class Rel:
    """One table or view as the catalog and this transaction's statistics show it."""

    schema: str
    name: str
    filenode: int
    ncols: int
    updated: int
    deleted: int
    disabled: int
    kind: str
    hooks: str = ""


# settings, then the database's place, then its schemas (the session's own are known by them)
Snapshot = tuple[dict[int, Rel], tuple[str, ...]]
AUTHORITY_KEY = -5   # the key of ``AUTHORITY`` among the relations: never a table's oid
APPNAME_KEY = -6     # the session's ``application_name`` (every session sees it)
_AUTHORITY_PARTS = ("roles or their memberships (CREATE/ALTER ROLE, GRANT role)",
                    "the settings a role or database starts its sessions with (ALTER ROLE/"
                    "DATABASE ... SET)",
                    "a function that switches the role or session_replication_role while it "
                    "runs (CREATE/ALTER FUNCTION ... SET)",
                    "event triggers, publications or foreign servers (they act on others' "
                    "statements, or send rows elsewhere)")


def take(cursor: Any) -> Snapshot:
    cursor.execute(SNAPSHOT)
    return parse(cursor.fetchall())


def parse(rows: Any) -> Snapshot:
    """The rows of ``SNAPSHOT`` (a DB-API cursor's tuples or asyncpg's records)."""
    rels: dict[int, Rel] = {}
    settings = ("", "", "")
    authority = ""
    where = ""   # the database's place (``guard.owned``): the keys of the session's own tables
    schemas: list[str] = []
    for oid, schema, name, node, ncols, upd, dele, dis, kind, hooks in rows:
        if oid == -3:
            schemas.append(str(schema))
        elif oid == -2:
            where = str(schema)
        elif oid == -1:
            settings = (str(schema), str(name), str(kind))
            authority = str(hooks)
        elif oid == APPNAME_KEY:
            rels[APPNAME_KEY] = Rel("", "", 0, 0, 0, 0, 0, "appname", str(hooks or ""))
        else:
            rels[int(oid)] = Rel(schema, name, int(node), int(ncols), int(upd), int(dele),
                                 int(dis), kind, str(hooks or ""))
    if authority:   # kept apart from the settings and schemas (``guard.owned`` reads those)
        rels[AUTHORITY_KEY] = Rel("", "", 0, 0, 0, 0, 0, "authority", authority)
    return rels, (*settings, where, *sorted(schemas))


def measured(before: Snapshot, after: Snapshot, source: str) -> tuple[Intent, ...]:
    """What the statement did, as intents the policy's rules judge like any other.

    >>> r = Rel("public", "orders", 1, 3, 0, 0, 0, "r")
    >>> s = ("origin", "u", "u", "pg(h)")   # settings, then the database's place
    >>> [(i.action, i.estimated_rows, i.key) for i in measured(({7: r}, s),
    ...     ({7: Rel("public", "orders", 1, 3, 0, 30000, 0, "r")}, s), "x")]
    [('sql.delete', 30000, 'pg(h):public.orders#7')]
    """
    out: list[Intent] = []
    (old, s0), (new, s1) = before, after
    out.extend(_authority(old.get(AUTHORITY_KEY), new.get(AUTHORITY_KEY), source))
    out.extend(_appname(old.get(APPNAME_KEY), new.get(APPNAME_KEY), source))
    for oid, r in old.items():
        if r.schema.startswith("pg_temp") or oid in (AUTHORITY_KEY, APPNAME_KEY):   # temporary
            continue
        name = f"{r.schema}.{r.name}"
        at = len(out)
        kind: TargetKind = "view" if r.kind == "v" else "table"
        n = new.get(oid)
        if n is None:
            out.append(Intent("sql.drop", kind, name, source=source, detail="measured",
                              key=pg_key(s0[3], r.schema, r.name, oid) if s0[3:] else ""))
            continue
        if (n.schema, n.name) != (r.schema, r.name):
            out.append(Intent("sql.drop", kind, name, source=source,
                              detail=f"RENAME TO {n.schema}.{n.name} (measured)"))
        if n.filenode != r.filenode and r.kind in ("r", "p", "m"):
            out.append(Intent("sql.truncate", "table", name, source=source, detail="measured"))
        if n.ncols < r.ncols:
            out.append(Intent("sql.drop_column", "table", name, ("?",), source=source,
                              detail="measured"))
        if n.disabled > r.disabled:
            out.append(Intent("guard.tamper", "guard", f"disables triggers of {name}",
                              source=source))
        if n.hooks != r.hooks and r.hooks and n.hooks:
            out.append(Intent("guard.tamper", "guard", f"changes the triggers, rules, policies, "
                              f"constraints or grants of {name}, which act on its rows outside "
                              "the statements the guard judges", source=source,
                              detail="measured hooks",
                              key=pg_key(s0[3], r.schema, r.name, oid) if s0[3:] else ""))
        for action, d in (("sql.delete", n.deleted - r.deleted),
                          ("sql.update", n.updated - r.updated)):
            if d > 0:
                out.append(Intent(action, "table", name, source=source,  # type: ignore[arg-type]  # the action name comes from a table of valid names
                                  where="filtered", estimated_rows=d, detail="measured"))
        if s0[3:]:   # where the table lives: the session's own tables are known by it
            out[at:] = [i.with_(key=pg_key(s0[3], r.schema, r.name, oid)) if i.target == name
                        else i for i in out[at:]]
    changed = [i for i in out if i.action in ("sql.delete", "sql.update")]
    if len(changed) > 1:   # one statement's rows across tables (cascades, partitions, triggers)
        names = ", ".join(sorted({i.target for i in changed}))
        updates = all(i.action == "sql.update" for i in changed)
        verb: Action = "sql.update" if updates else "sql.delete"
        out.append(
            Intent(
                verb,
                "table",
                names,
                source=source,
                where="filtered",
                estimated_rows=sum(i.estimated_rows or 0 for i in changed),
                detail="measured, all tables",
            )
        )
    if s1[0] != s0[0] and s1[0] != "origin":
        out.append(Intent("guard.tamper", "guard", f"session_replication_role = {s1[0]} (turns off "
                          "triggers and foreign keys)", source=source))
    if s1[1:3] != s0[1:3]:
        out.append(Intent("guard.tamper", "guard", f"changes the session's role to {s1[1]}",
                          source=source))
    return tuple(out)


def _authority(r: Rel | None, n: Rel | None, source: str) -> list[Intent]:
    """What changed in the cluster's roles, session defaults and role-switching functions."""
    if r is None or n is None or r.hooks == n.hooks:
        return []
    was, now = r.hooks.split(":"), n.hooks.split(":")
    changed = [what for what, a, b in zip(_AUTHORITY_PARTS, was, now) if a != b]
    return [Intent("guard.tamper", "guard", f"changes {what}", source=source)
            for what in changed or _AUTHORITY_PARTS[:1]]


def _appname(r: Rel | None, n: Rel | None, source: str) -> list[Intent]:
    """``application_name`` set to a value the statement does not spell (``set_config`` in
    plpgsql ``EXECUTE`` of text built at run time, a function): every session reads it in
    ``pg_stat_activity``, so it is an export of data the guard cannot tell.

    >>> a, b = Rel("", "", 0, 0, 0, 0, 0, "appname", ""), Rel("", "", 0, 0, 0, 0, 0, "appname", "x")
    >>> _appname(a, b, "SET application_name = 'x'"), len(_appname(a, b, "SELECT f()"))
    ([], 1)
    """
    if r is None or n is None or r.hooks == n.hooks or not n.hooks or n.hooks in source:
        return []
    return [Intent("sql.export", "variable", "application_name (every session sees it in "
                   "pg_stat_activity), set to a value the statement does not spell", ("?",),
                   source=source, detail="setting")]


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
    r"RELEASE(\s+SAVEPOINT)?\s+\w+|ROLLBACK\s+TO(\s+SAVEPOINT)?\s+\w+)"
    r"(\s+(TRANSACTION|WORK))?(\s+ISOLATION\s+LEVEL(\s+[A-Z]+){1,2}|\s+READ\s+(ONLY|WRITE))*"
    r"\s*;?\s*", re.IGNORECASE)


def transaction_control(text: str) -> bool:
    """One statement that only opens, ends or marks a transaction: it changes nothing itself
    (each statement inside was measured), so it runs without the effect check, which would
    otherwise end or nest the user's transaction.

    >>> transaction_control("begin transaction"), transaction_control("COMMIT; DROP TABLE t")
    (True, False)
    """
    return _CONTROL.fullmatch(text) is not None


def needs_transaction_free(text: str) -> bool:
    head = " ".join(text.split()[:4]).upper()
    return any(head.startswith(w) for w in NO_TRANSACTION)
