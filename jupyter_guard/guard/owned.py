"""The session's own tables, keyed by where they live.

A table the session created is remembered by its place: the engine and database it lives in,
its schema and its name, as one readable string (``Intent.key``, ``Guard.session_tables``):

- DuckDB: ``duckdb(/abs/wh.duckdb):main.orders`` for a database file (whatever name it is
  attached under), ``duckdb(memory#3:memory):main.t`` for an in-memory database (``#3``: the
  connection object it lives in; two ``duckdb.connect()`` both call theirs ``memory``),
  ``duckdb(temp#3):main.t`` for a temporary table (each connection has its own).
- PostgreSQL: ``pg(127.0.0.1:5433/sales@<server start>):public.orders#16423``: the server, the
  database, the schema, the name and the table's object id (a table of that name made again
  by someone else is another table).

A statement's target is resolved on its own connection the way the database resolves it
(temporary tables first, ``USE``/``search_path``, quoting); a target that cannot be resolved
gets no key and is nobody's own (``policy.sql_rules.own_table``).
"""
from __future__ import annotations

import itertools
import os
import re
import weakref
from collections.abc import Iterable
from typing import Any

from jupyter_guard.guard.effect import list_tables, resolve
from jupyter_guard.model import UNKNOWN, Intent

Key = tuple[str, str, str]

# Statements whose exemption depends on whose table the target is, and creations whose place
# a later statement of the same cell may name.
OWN_USE = ("sql.drop", "sql.truncate", "sql.drop_column", "sql.replace", "sql.rename",
           "sql.delete", "sql.update")
PLACED = (*OWN_USE, "sql.create")

_serials: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_next = itertools.count(1)
# a DuckDB connection -> the serial of the connection that opened its database instance
_instances: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def names(ours: Iterable[str], intents: Iterable[Intent]) -> frozenset[str]:
    """The table names of the session's own places and of the tables a cell creates (or
    renames to).

    >>> sorted(names({"duckdb(/w/a.duckdb):main.t", "pg(h:1/d@2):public.u#5"},
    ...              [Intent("sql.create", "table", "s.v")]))
    ['t', 'u', 'v']
    """
    out = {k.rsplit(":", 1)[-1].split("#", 1)[0].rsplit(".", 1)[-1] for k in ours}
    for i in intents:
        if i.action in ("sql.create", "sql.replace") or (i.action == "sql.rename" and i.columns):
            new = i.columns[0] if i.action == "sql.rename" else i.target
            out.add(new.rsplit(".", 1)[-1].strip('"').lower())
    return frozenset(out)


def undecided(i: Intent, mine: frozenset[str]) -> bool:
    """A statement whose exemption depends on a place the guard has not got (no connection to
    ask): its table has the name of one of the session's own. Where the SQL is handed on to
    something that judges it again at run time (jupysql's ``%sql``, whose SQL reaches
    SQLAlchemy and the drivers), the decision is left there, which places the table on its
    connection.

    >>> undecided(Intent("sql.drop", "table", "main.t"), frozenset({"t"}))
    True
    >>> undecided(Intent("sql.drop", "table", "orders"), frozenset({"t"}))
    False
    """
    return i.action in OWN_USE and not i.key and i.target.rsplit(".", 1)[-1] in mine


def left_to_effect(intents: tuple[Intent, ...], ours: Iterable[str]) -> tuple[Intent, ...]:
    """For a statement that runs under PostgreSQL's effect check when the guard cannot ask the
    database while deciding (asyncpg): a change to a table named like one of the session's own
    is not refused by name; the effect check measures what it did to which table (by object
    id) and refuses it there unless that table is the session's own.

    >>> drops = (Intent("sql.drop", "table", "t"), Intent("sql.drop", "table", "u"))
    >>> [i.temporary for i in left_to_effect(drops, {"pg(h):public.t#5"})]
    [True, False]
    """
    mine = names(ours, intents)
    return tuple(i.with_(temporary=True) if i.action in OWN_USE and i.action != "sql.replace"
                 and not i.key and i.target.rsplit(".", 1)[-1] in mine else i for i in intents)


def serial(raw: Any) -> int:
    """A number for one DuckDB connection object, never reused while it lives (``id`` is)."""
    n = _serials.get(raw)
    if n is None:
        n = _serials[raw] = next(_next)
    return n


def same_database(child: Any, parent: Any) -> None:
    """``child`` (``cursor()``/``duplicate()`` of ``parent``) opens the same DuckDB database
    instance: its in-memory databases are ``parent``'s (its temporary tables are its own)."""
    try:
        _instances[child] = instance(parent)
    except TypeError:   # not weakly referable: a foreign object, never placed as in-memory
        pass


def instance(raw: Any) -> int:
    """The number of the DuckDB database instance ``raw`` opened (in-memory places)."""
    n = _instances.get(raw)
    if n is None:
        n = _instances[raw] = serial(raw)
    return n


def duck_raw(conn: Any) -> Any:
    """The DuckDB connection of a ``Conn``: its own, or the one behind a SQLAlchemy connection
    (duckdb_engine wraps it); None for other databases."""
    if conn.native_duckdb:
        return conn.raw
    if conn.kind.dialect != "duckdb":
        return None
    from jupyter_guard.connections.conn import is_duckdb, unwrap

    dbapi = conn._sa_conn().connection.dbapi_connection
    inner = unwrap(getattr(dbapi, "_ConnectionWrapper__c", dbapi))
    return inner if is_duckdb(inner) else None


def duck_places(raw: Any) -> dict[str, str]:
    """Database name -> place, for one DuckDB connection."""
    out: dict[str, str] = {}
    for name, path in raw.execute("SELECT database_name, path FROM duckdb_databases()"
                                  ).fetchall():
        n = str(name).lower()
        if n == "temp":
            out[n] = f"duckdb(temp#{serial(raw)})"
        elif path and str(path) != ":memory:":
            out[n] = f"duckdb({os.path.realpath(str(path))})"
        else:
            out[n] = f"duckdb(memory#{instance(raw)}:{n})"
    return out


def place(places: dict[str, str], k: Key) -> Key | None:
    """A catalog key ``(database, schema, table)`` with its database as a place."""
    where = places.get(k[0])
    return None if where is None else (where, k[1], k[2])


def text(k: Key) -> str:
    """
    >>> text(("duckdb(/w/a.duckdb)", "main", "t")), text(("duckdb(/w/a.duckdb)", "s", ""))
    ('duckdb(/w/a.duckdb):main.t', 'duckdb(/w/a.duckdb):s')
    """
    return f"{k[0]}:{k[1]}.{k[2]}" if k[2] else f"{k[0]}:{k[1]}"


def keep(st: Any, eff: Any, before: dict[str, str], after: dict[str, str],
         names: set[str]) -> None:
    """After a kept DuckDB statement (``effect.State``, a measured ``Effect``, the places
    before and after it, the session's own places as text): what it really created is the
    session's own, until it is dropped (a table of that name made later by someone else is
    not). A detached database takes its ownership with it: another file may be attached under
    its name."""
    def gone(k: Key | None, into: set[Key]) -> None:
        if k is not None:
            into.discard(k)
            names.discard(text(k))

    def new(k: Key | None, into: set[Key]) -> None:
        if k is not None:
            into.add(k)
            names.add(text(k))

    for k in eff.dropped:
        gone(place(before, k), st.tables)
    for k in eff.schemas_dropped:
        gone(place(before, k), st.schemas)
    for k in eff.created:
        new(place(after, k), st.tables)
    for k in eff.schemas_created:
        new(place(after, k), st.schemas)
    for db in eff.databases_gone:
        where = before.get(db)
        if where is None:
            continue
        st.databases.discard(where)
        st.attached.discard(where)
        for into in (st.tables, st.schemas):
            for k in [k for k in into if k[0] == where]:
                gone(k, into)
    st.databases.update(after[db] for db in eff.databases_new if db in after)
    st.attached.update(after[db] for db in eff.databases_attached if db in after)


def touches(st: Any, eff: Any) -> bool:
    """Whether judging a measured DuckDB effect needs to know where the session's own tables
    are: it drops, changes or rewrites a table that has the name of one of them, or drops a
    schema or database (the places are read only then)."""
    if not (st.tables or st.schemas or st.databases or st.attached):
        return False
    if eff.schemas_dropped or eff.databases_gone:
        return True
    mine = {t for _, _, t in st.tables}
    keys = (*eff.touched(), *eff.unmeasured, *eff.dropped, *(k for k, _ in eff.columns_dropped),
            *(k for k, _, _ in eff.columns_rewritten))
    return any(k[2] in mine for k in keys)


class DuckTargets:
    """Resolves targets on one DuckDB connection (the catalog read once per decision)."""

    def __init__(self, raw: Any) -> None:
        self.current = tuple(raw.execute("SELECT current_database(), current_schema(), 0, "
                                         "current_setting('search_path')").fetchall()[0])
        self.tables = list_tables(raw)
        self.places = duck_places(raw)
        self.raw = raw

    def schema_exists(self, i: Intent) -> bool:
        """Whether the schema a ``CREATE SCHEMA`` names is there already (True when unsure)."""
        k = self.key(i)
        if not k:
            return True
        return any(text(p) == k for p in (place(self.places, (str(d).lower(), str(s).lower(), ""))
                   for d, s in self.raw.execute("SELECT database_name, schema_name FROM "
                                                "duckdb_schemas()").fetchall()) if p)

    def key(self, i: Intent) -> str:
        parts = [p.strip('"').lower() for p in i.target.split(".") if p]
        if not parts or len(parts) > 3 or UNKNOWN in i.target or "?" in parts:
            return ""
        db, schema = str(self.current[0]).lower(), str(self.current[1]).lower()
        if i.target_kind == "schema":
            k = place(self.places, (parts[0], parts[1], "") if len(parts) == 2 else
                      (db, parts[0], ""))
            return text(k) if k else ""
        found = None if i.action == "sql.create" else resolve(i.target, self.tables,
                                                              self.current)
        if found is None:   # where a CREATE puts it (or where a name not there yet would be)
            if len(parts) == 1:
                found = ("temp", "main", parts[0]) if i.temporary else (db, schema, parts[0])
            elif len(parts) == 2:
                found = (parts[0], "main", parts[1]) if parts[0] in self.places else \
                    (db, parts[0], parts[1])
            else:
                found = (parts[0], parts[1], parts[2])
        k = place(self.places, found)
        return text(k) if k else ""

    def temporary(self, i: Intent) -> bool:
        return self.key(i).startswith("duckdb(temp#")


# The place of a PostgreSQL session's database: server address, port and start time (two
# servers never share them), and the database name.
PG_WHERE = ("'pg(' || coalesce(host(inet_server_addr()), 'local') || ':' || "
            "coalesce(inet_server_port(), 0)::text || '/' || current_database() || '@' || "
            "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text || ')'")
_PG_KEY = ("SELECT " + PG_WHERE + ", current_schema()::text, n.nspname::text, c.relname::text, "
           "c.oid::bigint FROM (SELECT to_regclass({lit}) AS r) q LEFT JOIN pg_class c ON "
           "c.oid = q.r LEFT JOIN pg_namespace n ON n.oid = c.relnamespace")
_MIXED_CASE = re.compile(r'"[^"]*[A-Z][^"]*"')


def pg_key(where: str, schema: str, name: str, oid: int | None = None) -> str:
    """
    >>> pg_key("pg(h:1/db@2)", "public", "orders", 16423)
    'pg(h:1/db@2):public.orders#16423'
    """
    return f"{where}:{schema}.{name}" + (f"#{oid}" if oid is not None else "")


def pg_target(conn: Any, i: Intent) -> str:
    """The place of a PostgreSQL target as the server resolves it now (``to_regclass``: the
    search path, temporary tables first), or where a table not there yet would be made. A
    quoted mixed-case name is not placed: the analysis folds names to lower case."""
    if _MIXED_CASE.search(i.source) or UNKNOWN in i.target or not i.target or "?" in i.target:
        return ""
    parts = [p.strip('"') for p in i.target.split(".") if p]
    if len(parts) > 2:
        return ""
    lit = "'" + ".".join(f'"{p}"' for p in parts).replace("'", "''") + "'"
    where, current, nsp, rel, oid = conn.rows(_PG_KEY.format(lit=lit))[0]
    if i.target_kind == "schema":
        return f"{where}:{parts[0]}"
    if oid is not None and i.action != "sql.create":
        return pg_key(str(where), str(nsp), str(rel), int(oid))
    schema = parts[0] if len(parts) == 2 else ("pg_temp" if i.temporary else str(current))
    return pg_key(str(where), schema, parts[-1])


def pg_keep(ours: set[str], before: Any, after: Any) -> None:
    """After a kept PostgreSQL statement (snapshots of ``connections.pg_effect``): the tables
    and schemas it created are the session's own, and its own tables it renamed stay its own;
    those it dropped are not any more."""
    where = after[1][3] if len(after[1]) > 3 else ""
    if not where:
        return
    old, new = before[0], after[0]
    for oid, r in old.items():
        n = new.get(oid)
        if n is None or (n.schema, n.name) != (r.schema, r.name):
            was = pg_key(where, r.schema, r.name, oid)
            if was in ours and n is not None:   # renamed: the same table, still the session's
                ours.add(pg_key(where, n.schema, n.name, oid))
            ours.discard(was)
    ours.update(pg_key(where, r.schema, r.name, oid) for oid, r in new.items() if oid not in old)
    if len(before[1]) > 4 or len(after[1]) > 4:   # schemas made, and dropped (``pg_target``)
        made, gone = set(after[1][4:]) - set(before[1][4:]), set(before[1][4:]) - set(after[1][4:])
        ours.update(f"{where}:{n}" for n in made)
        ours.difference_update(f"{where}:{n}" for n in gone)


def sqlite_where(raw: Any, target: str, temporary: bool = False) -> tuple[str, str, str]:
    """(database, schema, table) of a SQLite target as SQLite resolves it: a ``temp.`` name,
    or a bare name a temporary table holds (``temporary``: one being made), lives in
    ``temp#N`` (the connection's own); others in their file's absolute path, or ``memory#N``
    for an in-memory database. ``raw`` is a ``sqlite3.Connection``; it cannot be weakly
    referenced, so ``N`` is its ``id``: only the session can have made the tables of an
    in-memory or temporary database, so a reused id names the session's own too."""
    schema, _, name = target.lower().rpartition(".")
    schema, name = schema.strip('"') or "main", name.strip('"')
    if schema == "temp" or ("." not in target and (temporary or raw.execute(
            "SELECT 1 FROM temp.sqlite_master WHERE lower(name) = ?", (name,)).fetchone())):
        return f"temp#{id(raw)}", "temp", name
    files = {str(r[1]).lower(): str(r[2]) for r in raw.execute("PRAGMA database_list")}
    file = files.get(schema, "")
    return (os.path.abspath(file), "main", name) if file else \
        (f"memory#{id(raw)}:{schema}", "main", name)


def sqlite_key(where: tuple[str, str, str]) -> str:
    """The place string of a SQLite table.

    >>> sqlite_key(("/w/a.db", "main", "t"))
    'sqlite(/w/a.db):main.t'
    """
    return f"sqlite({where[0]}):{where[1]}.{where[2]}"


def sqlite_target(conn: Any, i: Intent) -> str:
    """The place of a SQLite statement's target (``Catalog.key``)."""
    if UNKNOWN in i.target or not i.target or "?" in i.target:
        return ""
    return sqlite_key(sqlite_where(conn.raw, i.target, i.temporary and i.action == "sql.create"))
