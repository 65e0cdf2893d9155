"""Writes checked by their effect before they are kept (DuckDB).

A statement that can change rows or the catalog (``sql_types.Kind.writes``) runs inside a
transaction the guard opened; around it the guard takes cheap snapshots (row counts of the tables
it may touch; the catalog from ``duckdb_tables()``/``duckdb_views()``/``duckdb_schemas()``/
``duckdb_databases()``/``duckdb_columns()`` when it can change the schema), measures an
``Effect`` and asks ``policy.effects.judge_effect``. A refused effect is rolled back and the cell
fails with the measured numbers. Tables, schemas and databases the session really created become
its own only after the commit (ownership is earned by effect, never by a CREATE's spelling).

Inside a transaction the user opened, each statement is measured on its own (DuckDB has no
SAVEPOINT); a refused statement rolls back the user's whole transaction, and the message says so.
"""
from __future__ import annotations

import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from jupyter_guard.policy.effects import Effect, Key, Owned

_TABLES = ("SELECT database_name, schema_name, table_name, temporary, table_oid, false "
           "FROM duckdb_tables() UNION ALL "
           "SELECT database_name, schema_name, view_name, temporary, view_oid, true "
           "FROM duckdb_views() WHERE NOT internal")
_SCHEMAS = ("SELECT database_name, schema_name FROM duckdb_schemas() WHERE NOT internal AND "
            "database_name NOT IN ('system', 'temp')")
_DBS = "SELECT database_name FROM duckdb_databases() WHERE NOT internal"
_COLUMNS = ("SELECT database_name, schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE NOT internal")


@dataclass
class State:
    """Per-session facts the effect check keeps (owned objects, rows changed over time)."""

    # what the session created, by place (``guard.owned``: the database as its file or its
    # connection, never as the name it is attached under)
    tables: set[Key] = field(default_factory=set)
    schemas: set[Key] = field(default_factory=set)
    databases: set[str] = field(default_factory=set)
    attached: set[str] = field(default_factory=set)
    log: deque[tuple[float, Key, int]] = field(default_factory=deque)  # (time, table, rows)
    sums: dict[Key, int] = field(default_factory=dict)                 # rows per table in log
    cell: dict[Key, int] = field(default_factory=dict)                # rows changed this cell
    autocommit: dict[int, Any] = field(default_factory=dict)  # id(raw) -> (db, schema): no open tx
    # held from judging an effect to counting it: threads of one cell each deleting a few rows
    # are judged one after the other against the rows the others already committed
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add(self, key: Key, n: int, now: float) -> None:
        self.log.append((now, key, n))
        self.sums[key] = self.sums.get(key, 0) + n

    def owned(self, cell: dict[Key, int], window_s: float, places: dict[str, str]) -> Owned:
        """What the session owns, as the catalog of the connection whose ``places`` these are
        (database name -> place, ``guard.owned.duck_places``) names it."""
        cutoff = time.time() - window_s
        while self.log and self.log[0][0] < cutoff:   # each entry leaves once: O(1) amortised
            _, k, n = self.log.popleft()
            self.sums[k] -= n
        names: dict[str, list[str]] = {}
        for db, where in places.items():
            names.setdefault(where, []).append(db)

        def local(keys: set[Key]) -> frozenset[Key]:
            return frozenset((db, s, t) for w, s, t in keys for db in names.get(w, ()))

        return Owned(local(self.tables), local(self.schemas),
                     frozenset(db for w in self.databases for db in names.get(w, ())), cell,
                     self.sums, frozenset(db for w in self.attached for db in names.get(w, ())))


def state(guard: Any) -> State:
    st: State | None = guard.effect_state
    if st is None:
        st = guard.effect_state = State()
    return st


@dataclass
class Snap:
    tables: dict[Key, tuple[bool, int, bool]]                # key -> (temporary, oid)
    schemas: set[Key]
    dbs: set[str]
    columns: set[tuple[Key, str]]
    rows: dict[Key, int]
    prints: dict[Key, Any]                              # value fingerprints (ALTER, wrappers)


def _q(k: Key) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in k)


def resolve(name: str, tables: dict[Key, tuple[bool, int, bool]], current: Any) -> Key | None:
    """The table a name as written denotes, as DuckDB resolves it: a temp twin first, then the
    search path (``USE``/``SET search_path``), then ``main`` of the current database."""
    parts = [p.strip('"').lower() for p in name.split(".") if p]
    db, schema = str(current[0]).lower(), str(current[1]).lower()
    dbs = {k[0] for k in tables}
    path = [(db, schema)]
    for entry in (str(current[3]) if len(current) > 3 and current[3] else "").split(","):
        bits = [b.strip().strip('"').lower() for b in entry.split(".") if b.strip()]
        if len(bits) == 2:
            path.append((bits[0], bits[1]))
        elif len(bits) == 1:
            path.append((bits[0], "main") if bits[0] in dbs else (db, bits[0]))
    path.append((db, "main"))
    cands: list[Key] = []
    if len(parts) == 1:
        cands = [("temp", "main", parts[0])] + [(d, s, parts[0]) for d, s in path]
    elif len(parts) == 2:
        cands = [(d, parts[0], parts[1]) for d, _ in path] + [(parts[0], "main", parts[1])]
    elif len(parts) == 3:
        cands = [(parts[0], parts[1], parts[2])]
    return next((c for c in cands if c in tables), None)


def list_tables(raw: Any) -> dict[Key, tuple[bool, int, bool]]:
    """Tables and views: lower-case key -> (temporary, oid, is a view). DuckDB's names are
    case-insensitive."""
    return {(str(a).lower(), str(b).lower(), str(c).lower()): (bool(t), int(o), bool(v))
            for a, b, c, t, o, v in raw.execute(_TABLES).fetchall()}


def snapshot(raw: Any, watch: list[Key], *, catalog: bool, prints: list[Key],
             tables: dict[Key, tuple[bool, int, bool]] | None = None) -> Snap:
    """``tables``: a table listing already taken in this transaction (saves a query)."""
    if tables is None:
        tables = list_tables(raw)
    schemas: set[Key] = set()
    dbs: set[str] = set()
    cols: set[tuple[Key, str]] = set()
    if catalog:
        schemas = {(str(a).lower(), str(b).lower(), "")
                   for a, b in raw.execute(_SCHEMAS).fetchall()}
        dbs = {str(r[0]).lower() for r in raw.execute(_DBS).fetchall()}
        cols = {((str(a).lower(), str(b).lower(), str(c).lower()), str(d))
                for a, b, c, d in raw.execute(_COLUMNS).fetchall()}
    present = [k for k in watch if k in tables and not tables[k][2]]   # views hold no rows
    rows: dict[Key, int] = {}
    if present:
        sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {_q(k)})" for k in present)
        rows = dict(zip(present, raw.execute(sql).fetchall()[0]))
    fp: dict[Key, Any] = {}
    for k in prints:
        if k in tables:
            names = [c for (t, c) in (cols or _cols_of(raw, k)) if t == k]
            if not names:
                continue
            quoted = ['"' + c.replace('"', '""') + '"' for c in names]
            parts = ", ".join(f"sum(hash({c}::VARCHAR)), count({c})" for c in quoted)
            row = raw.execute(f"SELECT {parts} FROM {_q(k)}").fetchall()[0]
            fp[k] = dict(zip(names, _pairs(row)))
    return Snap(tables, schemas, dbs, cols, rows, fp)


def _pairs(row: Any) -> list[tuple[Any, Any]]:
    row = list(row or ())
    return [(row[i], row[i + 1]) for i in range(0, len(row), 2)]


def _cols_of(raw: Any, k: Key) -> set[tuple[Key, str]]:
    return {(k, str(r[0])) for r in raw.execute(  # lower-case key: DuckDB matches any case
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND "
        "table_name = ? ORDER BY column_index", list(k)).fetchall()}


def measure(verb: str, before: Snap, after: Snap, result_rows: int | None, dml: Key | None,
            dml_kind: str) -> Effect:
    """The effect of one statement from two snapshots and its affected-row count."""
    deleted: dict[Key, int] = {}
    changed: dict[Key, int] = {}
    inserted: dict[Key, int] = {}
    unmeasured: list[Key] = []
    for k, n0 in before.rows.items():
        n1 = after.rows.get(k)
        if n1 is None:
            continue
        diff = n1 - n0
        if diff < 0:
            deleted[k] = -diff
        elif diff > 0:
            inserted[k] = diff
        if k == dml and result_rows is not None and dml_kind in ("UPDATE", "MERGE_INTO", "INSERT"):
            rest = result_rows - max(diff, 0) - deleted.get(k, 0)
            if rest > 0:
                changed[k] = rest
    for k, cols in before.prints.items():
        now = after.prints.get(k)
        if now is None:
            continue
        diffcols = [c for c, v in cols.items() if c in now and now[c] != v]
        if diffcols and verb.startswith("ALTER"):
            continue  # reported as rewritten columns below
        if diffcols and before.rows.get(k) == after.rows.get(k) and k not in changed:
            unmeasured.append(k)
    rewritten = tuple((k, c, after.rows.get(k, before.rows.get(k, 0)))
                      for k, cols in before.prints.items() if verb.startswith("ALTER")
                      for c, v in cols.items() if c in after.prints.get(k, {})
                      and after.prints[k][c] != v)
    left = before.dbs - after.dbs if before.dbs else set()   # detached: its tables are intact
    gone = tuple(k for k, (temp, oid, _) in before.tables.items() if k[0] != "temp" and
                 k[0] not in left and (k not in after.tables or after.tables[k][1] != oid))
    # Tables and schemas that came with an ATTACH were not created: the file held them. A
    # database attached empty (a new file, ``:memory:``) is the session's own.
    came = after.dbs - before.dbs if before.dbs else set()
    new = tuple(k for k, (temp, oid, _) in after.tables.items()
                if (k not in before.tables or before.tables[k][1] != oid) and k[0] not in came)
    held = {k[0] for k in after.tables} | {k[0] for k in after.schemas if k[1] != "main"}
    cols_gone = tuple((k, c) for k, c in before.columns - after.columns
                      if k in after.tables and k[0] != "temp")
    return Effect(verb, deleted, changed, inserted, tuple(unmeasured), new, gone,
                  tuple(k for k in after.schemas - before.schemas if k[0] not in came),
                  tuple(k for k in before.schemas - after.schemas if k[0] not in left), cols_gone,
                  rewritten, tuple(left), tuple(came - held), tuple(came))


def fetch(res: Any) -> Any:
    """The statement's result, kept before the guard's own queries replace it on the connection:
    a DML's affected-row count as an int (converting it to Arrow costs ~0.3 ms), else Arrow."""
    desc = getattr(res, "description", None) if res is not None else None
    if desc is None:
        return None
    if len(desc) == 1 and desc[0][0] == "Count":
        rows = res.fetchall()
        return int(rows[0][0]) if len(rows) == 1 else _arrow_of(rows)
    with warnings.catch_warnings():  # DuckDB warns that Arrow from a DB-API result copies rows
        warnings.simplefilter("ignore")
        for name in ("to_arrow_table", "arrow_table", "arrow"):   # connection, result, relation
            if hasattr(res, name):
                return getattr(res, name)()
        return None


def _arrow_of(rows: list[Any]) -> Any:
    import pyarrow as pa

    return pa.table({"Count": [r[0] for r in rows]})


def affected(kind: str, out: Any) -> int | None:
    """A DML result is its affected-row count (one ``Count`` column, kept as an int)."""
    if kind not in ("UPDATE", "DELETE", "MERGE_INTO", "INSERT"):
        return None
    return out if isinstance(out, int) else None
