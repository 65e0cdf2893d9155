"""Fill in what only the database knows, before deciding: affected-row counts for DELETE/UPDATE,
the columns behind ``*``, whether a table exists or is temporary, and attached databases.

Every query here is the guard's own, read-only, against the same connection the user's SQL uses.
A count that fails leaves ``estimated_rows=None``, which the bulk-change rule refuses (fail closed).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_guard.analyze.sql import is_remote
from jupyter_guard.connections.conn import Conn
from jupyter_guard.guard import oracles, oracles_ddl, oracles_pg, owned, pg_functions
from jupyter_guard.guard.frames import FrameLookup as FrameLookup  # service.py imports it here
from jupyter_guard.guard.frames import frame_columns
from jupyter_guard.guard.infer_catalog import predicates
from jupyter_guard.hooks import db_exits, sql_exports, taint_ddl
from jupyter_guard.model import UNKNOWN, Intent
from jupyter_guard.policy.rules import bare_table


class Catalog:
    """Cached views of one connection's catalog for the duration of one decision."""

    def __init__(self, conn: Conn, policy: Any = None,
                 frames: FrameLookup | None = None) -> None:
        self.conn, self.policy = conn, policy
        self.frames = frames if conn.dialect == "duckdb" else None   # replacement scans
        self._cols: dict[str, tuple[str, ...]] | None = None
        self._temp: set[str] | None = None
        self._dbs: dict[str, str] | None = None
        self._targets: Any = None
        self._views: dict[str, list[str]] | None = None   # ``infer_catalog.views``
        self._any: dict[str, tuple[str, ...]] = {}

    def columns(self) -> dict[str, tuple[str, ...]]:
        if self._cols is None:
            self._cols = {}
            try:
                rows = self.conn.kind.column_rows(self.conn)
            except Exception:  # noqa: BLE001 - no catalog columns known: `*` expands by what the statement names
                rows = []
            here = self._current()
            mine = {(str(s).lower(), str(t).lower()) for d, s, t, _c in rows
                    if str(d).lower() in here}
            for db, schema, table, col in rows:
                d, s, t = str(db).lower(), str(schema).lower(), str(table).lower()
                keys = {f"{d}.{s}.{t}", bare_table(f"{d}.{s}.{t}")}
                if s == "main":   # DuckDB: ``p.customers`` is p's main one
                    keys.add(f"{d}.{t}")
                # a bare ``customers`` (``main.customers``) is the current database's when it
                # has one: not every database's columns together
                if d in here or not any(m[1] == t for m in mine):
                    keys.add(t)
                if d in here or (s, t) not in mine:
                    keys.add(f"{s}.{t}")
                for key in keys:
                    self._cols.setdefault(key, ())
                    self._cols[key] += (str(col).lower(),)
                self._any[t] = (*self._any.get(t, ()), str(col).lower())
        return self._cols

    def columns_anywhere(self, table: str) -> tuple[str, ...] | None:
        """The columns of ``table`` as named, or of every table of its bare name in any
        database when the name has no schema (a ``USE`` in the same text may change which)."""
        cols = self.columns()
        if "." in bare_table(table):
            return cols.get(table.lower()) or cols.get(bare_table(table))
        return self._any.get(bare_table(table)) or cols.get(bare_table(table))

    def _current(self) -> set[str]:
        """The databases a bare name is looked up in (DuckDB: the current one, as a ``USE``
        left it, and ``temp``); empty when unknown: then every database's table counts."""
        try:
            raw = owned.duck_raw(self.conn)
            if raw is None:
                return set()
            used = db_exits.current_database(raw)
            if not used:
                found = self.conn.rows("SELECT current_database()")
                used = str(found[0][0]).lower() if found else ""
        except Exception:  # noqa: BLE001 - unknown: bare names keep every database's columns
            return set()
        return {used, "temp"} if used else set()

    def temporary(self) -> set[str]:
        if self._temp is None:
            self._temp = set()
            sql = self.conn.kind.temporary_sql
            if sql is not None:
                try:
                    self._temp = {str(r[0]).lower() for r in self.conn.rows(sql)}
                except Exception:  # noqa: BLE001 - no temporary tables known: none is treated as temporary
                    pass
        return self._temp

    def databases(self) -> dict[str, str]:
        """Attached databases other than the current one: name -> path."""
        if self._dbs is None:
            self._dbs = {}
            try:
                self._dbs = self.conn.kind.databases(self.conn)
            except Exception:  # noqa: BLE001 - no attached databases known: writes are judged as local ones
                pass
        return self._dbs

    def key(self, i: Intent) -> str:
        """Where the target lives (``guard.owned``), or '' when the guard cannot place it."""
        try:
            if self._targets is None:
                raw = owned.duck_raw(self.conn)
                self._targets = owned.DuckTargets(raw) if raw is not None else False
            if self._targets:
                return str(self._targets.key(i))
            if self.conn.kind.dialect == "postgres":
                return owned.pg_target(self.conn, i)
            if self.conn.kind.dialect == "sqlite" and type(self.conn.raw).__module__ == "sqlite3":
                return owned.sqlite_target(self.conn, i)
        except Exception:  # noqa: BLE001 - a catalog query failed: no place, so nobody's own table
            pass
        return ""

    def new_schema(self, i: Intent) -> bool:
        """A ``CREATE SCHEMA`` of a schema not there yet (DuckDB; elsewhere: unknown, False)."""
        try:
            return bool(self._targets) and not self._targets.schema_exists(i)
        except Exception:  # noqa: BLE001 - the catalog could not be read: not known to be new, so not the cell's own
            return False

    def exists(self, table: str) -> bool:
        cols = self.columns()
        return table.lower() in cols or bare_table(table) in cols


def expand(columns: tuple[str, ...], cat: Catalog) -> tuple[str, ...]:
    out: list[str] = []
    for c in columns:
        if c.endswith(".*") or c == "*":
            table = c[:-2] if c.endswith(".*") else ""
            cols = cat.columns().get(table.lower()) or cat.columns().get(bare_table(table))
            if cols is None and cat.frames is not None and table.isidentifier():
                cols = frame_columns(cat.frames.get(table))   # a frame DuckDB reads by name
            if cols is None:
                out.append(c)  # unknown table: keep the star; the rule treats it as unknown
            else:
                out.extend(f"{bare_table(table)}.{x}" for x in cols)
        else:
            out.append(c)
    return tuple(dict.fromkeys(out))


def enrich(intents: tuple[Intent, ...], conn: Conn | None,
           resolve: Callable[[str], Conn | None] | None = None, policy: Any = None,
           mine: frozenset[str] | None = None,
           frames: FrameLookup | None = None) -> tuple[Intent, ...]:
    """Intents with database facts; ``resolve`` finds the connection an intent's ``via`` names.
    ``mine``: the names of the session's own tables and of those the cell makes
    (``owned.names``); only a target of such a name is placed (None: every target).
    ``frames``: the namespace DuckDB's replacement scans read a table name from."""
    cats: dict[int, Catalog] = {}
    out = []
    used = {i.target.rsplit(".", 1)[-1] for i in intents if i.action in owned.OWN_USE}
    for i in intents:
        c = resolve(i.via) if (i.via and resolve is not None) else conn
        if c is None or not i.action.startswith("sql."):
            out.append(i)
            continue
        cat = cats.setdefault(id(c.raw), Catalog(c, policy, frames))
        if i.action == "sql.predicate":   # a whole row, a view's column: what it compares
            out.extend(predicates(i, cat))
            continue
        tail = i.target.rsplit(".", 1)[-1]
        if i.action in owned.PLACED and not i.key and (mine is None or tail in mine) and (
                i.action != "sql.create" or tail in used):   # a create: when the cell uses it
            i = i.with_(key=cat.key(i))
        oracles.note_created(i)
        out.append(_one(i, cat))
        if i.action == "sql.select" and cat.policy is not None and c.kind.dialect == "postgres":
            out.extend(pg_functions.pieces(i.source, _catalog(c), cat.policy))
        out.extend(oracles.judged(i, cat))   # a constraint of the written table meets the values
        out.extend(oracles_ddl.judged(i, cat, oracles.engine_catalog))   # DDL judging stored values
    return tuple(out)


def _catalog(conn: Conn) -> Any:
    """PostgreSQL's catalog rows on ``conn`` (asyncpg's: on the guard's own connection)."""
    from jupyter_guard.connections.pg_lineage import catalog_rows

    return catalog_rows(conn)


def _temporary(i: Intent, cat: Catalog) -> bool:
    """The target is a temporary table: by its place when the guard has one, else a bare name
    that a temporary table of the connection holds (a bare name finds it first)."""
    if i.key:
        return i.key.startswith(("duckdb(temp#", "sqlite(temp#")) or ":pg_temp" in i.key
    return "." not in i.target and bare_table(i.target) in cat.temporary()


def _one(i: Intent, cat: Catalog) -> Intent:
    a = i.action
    if a in ("sql.rename", "sql.insert", "sql.update", "sql.other") and cat.policy is not None:
        taint_ddl.follow(i, cat, cat.policy)   # later reads see where the values went
    if a in ("sql.delete", "sql.update") and i.where in ("filtered", "none", "always") and \
            i.detail.startswith("SELECT"):   # none/always: the refusal says how many rows
        return i.with_(estimated_rows=_count(cat.conn, i.detail))
    if a in ("sql.drop", "sql.truncate", "sql.drop_column") and _temporary(i, cat):
        return i.with_(temporary=True)
    if a == "sql.replace":
        if _temporary(i, cat):
            return i.with_(temporary=True)
        if not cat.exists(i.target):
            return i.with_(estimated_rows=-1, columns=expand(i.columns, cat))
    if a == "sql.export":
        if i.target_kind == "database":
            every = tuple(
                f"{t}.{c}" for t, cols in cat.columns().items() if "." not in t for c in cols
            )
            return i.with_(columns=every or ("?",))
        tainted = sql_exports.export_columns(i, cat, cat.policy) if cat.policy else None
        cols = tainted if tainted is not None else expand(i.columns, cat)
        if cat.conn.kind.dialect == "postgres" and cat.policy is not None:
            cols = pg_functions.export_columns(i.source, _catalog(cat.conn), cat.policy, cols)
        return i.with_(columns=cols)
    if a == "sql.create" and i.target_kind == "schema" and i.key and cat.new_schema(i):
        return i.with_(estimated_rows=-1)   # does not exist now: the cell's own when made
    if a == "sql.create" and i.target_kind in ("table", "view") and \
            not cat.exists(i.target) and bare_table(i.target) not in cat.temporary():
        i = i.with_(estimated_rows=-1)   # does not exist now (a temp twin counts as existing)
    if a in ("sql.insert", "sql.create", "sql.replace"):
        if cat.policy is not None:
            sql_exports.remember(i, cat, cat.policy)
        parts = i.target.split(".")
        dbs = cat.databases()
        if len(parts) >= 2 and parts[0] in dbs:
            path = dbs[parts[0]]
            tainted = sql_exports.export_columns(i, cat, cat.policy) if cat.policy else None
            cols = tainted if tainted is not None else expand(i.columns, cat)
            return i.with_(columns=cols, detail=f"attached database {parts[0]}",
                           remote=i.remote or is_remote(path))
        if len(parts) >= 2 and cat.policy is not None and UNKNOWN not in i.target:
            # maybe a database an ATTACH earlier in the cell makes (the cell's decision reads
            # it so): what the rows reveal, by taint, as for one attached already
            tainted = sql_exports.export_columns(i, cat, cat.policy)
            if tainted is not None:
                return i.with_(columns=tainted)
        return i.with_(columns=expand(i.columns, cat))
    return i


def _count(conn: Conn, sql: str) -> int | None:
    if UNKNOWN in sql:
        return None
    try:
        value: Any = conn.scalar(sql)
        return int(value)
    except Exception as e:
        if conn.kind.dialect == "postgres" and oracles_pg.aborted(e):
            raise   # the driver's own "transaction is aborted": the statement is not run
        name = type(e).__name__
        if "Catalog" in name or "does not exist" in str(e) or "no such table" in str(e):
            return 0
        return None
