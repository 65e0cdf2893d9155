"""The SQL taint of a PostgreSQL statement's output columns (``pg_results`` remembers the values of
the tainted ones): per column, the sensitive source columns it reveals, from the statement's
lineage (``analyze.sql_taint`` in PostgreSQL's dialect) and the tables' columns and views'
definitions read from the PostgreSQL catalog; by the column's name when the lineage cannot be told.

The catalog is asked once per table and connection (keyed by ``label``), the taint computed once
per statement text; ``forget`` drops both (DDL may have changed them).
"""
from __future__ import annotations

import weakref
from typing import Any

Taint = list[frozenset[str]]
_COLUMNS: dict[tuple[Any, str], tuple[tuple[str, ...], str | None] | None] = {}
_TAINT: dict[tuple[Any, str], Taint | None] = {}
CHANGES = [0]   # views found changed by another session (``fresh``): a statement decided
# before may have been decided on what they were (``pg_results`` decides it again)
_CATALOG = ("SELECT c.relkind::text, a.attname::text, CASE WHEN c.relkind IN ('v', 'm') THEN "
            "pg_catalog.pg_get_viewdef(c.oid) END FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.oid = pg_catalog.to_regclass('{name}') AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum")


def forget() -> None:
    """A table's columns, or a view, may have changed: both caches are dropped."""
    _COLUMNS.clear()
    _TAINT.clear()


def fresh(raw: Any) -> None:
    """Drop the caches when ``raw``'s database may have changed its views since they were
    filled (``pg_fresh``: read on a connection of the guard's own, a change when it cannot be
    told). psycopg, psycopg2 and asyncpg connections (asyncpg's own connection is opened with
    the parameters its ``connect`` resolved; when it cannot be, its caches are kept as
    ``prime`` filled them: the catalog cannot be asked again synchronously)."""
    from jupyter_guard.connections import pg_fresh

    libpq = getattr(raw, "info", None) is not None
    if not libpq and pg_fresh.params(raw) is None:
        return
    key = _db(raw)
    if pg_fresh.changed(key, raw, unknown=libpq) and \
            any(k[0] == key for k in (*_COLUMNS, *_TAINT)):
        forget()
        CHANGES[0] += 1


def stamp(conn: Any) -> str | None:
    """The views' fingerprint of ``conn``'s database now (a ``Conn``: ``guard.decisions`` keeps
    a decision on a comparison with a constant under it), None when it cannot be read. psycopg,
    psycopg2 read it on the guard's own connection (``pg_fresh``); other drivers on their own
    connection, as their catalog is read (asyncpg: among the answers awaited before deciding)."""
    from jupyter_guard.connections import pg_fresh

    raw = conn.raw
    if hasattr(getattr(raw, "info", None), "dbname"):
        return pg_fresh._fingerprint(_db(raw), raw)
    try:
        rows = conn.rows(pg_fresh.FINGERPRINT)
        return str(rows[0][0]) if rows else None
    except LookupError:
        if hasattr(conn, "asked"):   # asyncpg's probe: awaited first, the decision kept then
            raise   # reads no catalog (a failed answer is the server's error, below)
        return None
    except Exception:  # noqa: BLE001 - no catalog, the server's error: unknown, so not kept
        return None


def warm_taint(sql: str, raw: Any, policy: Any) -> None:
    """The taint of ``sql`` on ``raw`` from its lineage, kept for ``taint_of`` (when it can be
    told)."""
    fresh(raw)
    taint = _lineage(sql, raw, policy)
    if taint is not None:
        _TAINT[(_db(raw), sql)] = taint


def taint_of(sql: str, raw: Any, names: list[str], policy: Any) -> Taint:
    """Per output column of ``sql``: the sensitive source columns it reveals; by name when the
    lineage cannot be told (a table function, a statement sqlglot cannot read)."""
    fresh(raw)
    key = (_db(raw), sql)
    taint = _TAINT.get(key)
    if taint is None or len(taint) != len(names):
        taint = _lineage(sql, raw, policy)
        if taint is None or len(taint) != len(names):
            taint = [frozenset({n.lower()}) if policy.is_sensitive_column(n) else frozenset()
                     for n in names]
            taint = _calls(sql, raw, policy, taint, aligned=False)
        if len(_TAINT) > 1024:
            _TAINT.clear()
        _TAINT[key] = taint
    return taint


def statement_of(sql: str, at: int) -> str:
    """The statement of a multi-statement text whose result is the ``at``-th (the whole text when
    it holds one statement: ``executemany(returning=True)`` gives one result per row); for
    ``EXECUTE p``, the statement the text prepared as p."""
    if ";" not in sql:
        return sql
    from jupyter_guard.analyze.sql_postgres import split
    from jupyter_guard.analyze.sql_prepared import inline_prepared

    try:
        pieces = inline_prepared(split(sql))
    except Exception:  # noqa: BLE001 - sqlglot cannot read it: the whole text, whose lineage falls back to names
        return sql
    return pieces[at] if len(pieces) > 1 and at < len(pieces) else sql


def _lineage(sql: str, raw: Any, policy: Any) -> Taint | None:
    from jupyter_guard.connections.dbapi import DbapiConn
    from jupyter_guard.hooks import sql_exports

    tree = sql_exports._tree(sql, "postgres")
    if tree is None:
        return None
    conn = DbapiConn(raw, "postgresql", "postgres")
    got = sql_exports.outputs(tree, lambda t: _table(conn, t, 0), policy,
                              lambda t: _table(conn, t, 1))
    if got is None:   # names decide; a whole row still reveals its table's sensitive columns
        names = [e.alias_or_name for e in getattr(tree, "selects", None) or []]
        base = [frozenset({n.lower()}) if policy.is_sensitive_column(n) else frozenset()
                for n in names]
        rows = _calls(tree, raw, policy, _whole_rows(tree, base, conn, policy))
        return rows if rows != base else None
    taint = sql_exports.revealed(got[0], got[1], conn, policy)
    return _calls(tree, raw, policy, _whole_rows(tree, taint, conn, policy))


def _calls(tree: Any, raw: Any, policy: Any, taint: Taint, aligned: bool = True) -> Taint:
    """``taint`` with what the user functions each output calls read (``guard.pg_functions``,
    from the catalog now); every output when the outputs cannot be told apart."""
    from sqlglot import exp

    from jupyter_guard.analyze.sql_pg_functions import read_tables
    from jupyter_guard.connections.dbapi import DbapiConn
    from jupyter_guard.guard import pg_functions

    conn = DbapiConn(raw, "postgresql", "postgres")
    text = tree if isinstance(tree, str) else tree.sql(dialect="postgres")
    parsed = None if isinstance(tree, str) else tree
    funcs = pg_functions.Functions(catalog_rows(conn), lambda t: _table(conn, t, 0),
                                   policy.is_sensitive_column)
    views = [v for t in read_tables(text) for v in [_table(conn, t, 1)] if v]
    selects = list(getattr(parsed, "selects", None) or [])
    if not aligned or len(selects) != len(taint) or any(
            isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
            for e in selects):
        every = funcs.reads(text) | frozenset().union(*(funcs.reads(v) for v in views))
        return [t | every for t in taint] if every else taint
    extra = pg_functions.taint_outputs([e.sql(dialect="postgres") for e in selects], text, funcs,
                                       views)
    return [t | x for t, x in zip(taint, extra)]


def _whole_rows(tree: Any, taint: Taint, conn: Any, policy: Any) -> Taint:
    """An output that names a table's whole row (``SELECT c FROM customers c``,
    ``row_to_json(c)``, ``c::text``) reveals the table's sensitive columns."""
    from sqlglot import exp

    selects = getattr(tree, "selects", None) or []
    if not isinstance(tree, exp.Select) or len(selects) != len(taint) or \
            any(isinstance(e, exp.Star) for e in selects):
        return taint
    tables = {t.alias_or_name: ".".join(p for p in (t.db, t.name) if p)
              for t in tree.find_all(exp.Table)}
    out = list(taint)
    for i, e in enumerate(selects):
        for col in e.find_all(exp.Column):
            table = tables.get(col.name) if not col.table else None
            cols = _table(conn, table, 0) if table else None
            if cols and col.name.lower() not in cols:
                out[i] = out[i] | {f"{table}.{c}" for c in cols if policy.is_sensitive_column(c)}
    return out


def _table(conn: Any, name: str, part: int) -> Any:
    """A table's columns (``part`` 0) or a view's definition (1), from the catalog, cached."""
    key = (_db(conn.raw), name)
    if key not in _COLUMNS:
        try:
            found = conn.rows(catalog_sql(name))
        except Exception:  # noqa: BLE001 - no such relation, or no catalog: the taint is unknown, names decide
            found = _on_own(conn.raw, name)
        else:
            found = _latest(conn.raw, name, found)
        keep_catalog(conn.raw, name, found)
    got = _COLUMNS[key]
    return None if got is None else got[part]


def _on_own(raw: Any, name: str) -> list[Any]:
    """``catalog_sql(name)`` on the guard's own connection (``pg_fresh``) for a driver that
    cannot be asked synchronously (asyncpg: a view's tables, a catalog dropped as stale)."""
    from jupyter_guard.connections import pg_fresh

    own = pg_fresh.own(_db(raw)) if getattr(raw, "info", None) is None else None
    if own is None:
        return []
    try:
        return list(own.execute(catalog_sql(name)).fetchall())
    except Exception:  # noqa: BLE001 - no such relation there (a temporary table of the user's session): names decide
        return []


def _latest(raw: Any, name: str, found: list[Any]) -> list[Any]:
    """A view's definition as the user's connection read it and, when they differ, as the
    guard's own connection reads it now (committed: a snapshot the user's transaction took
    before another session redefined the view shows the old definition, while the view runs
    as redefined); both are kept, one's rows after the other's (``UNION ALL``: a column reveals
    what either reveals). A view the user's own transaction changed is read as it sees it."""
    from jupyter_guard.connections import pg_fresh

    if not found or not found[0][2]:
        return found
    own = pg_fresh.own(_db(raw))
    if own is None:
        return found
    try:
        now = list(own.execute(catalog_sql(name)).fetchall())
    except Exception:  # noqa: BLE001 - not there (the user's temporary view): the user's reading decides
        return found
    if not now or not now[0][2] or now[0][2] == found[0][2]:
        return found
    was, is_ = (str(d).rstrip().rstrip(";") for d in (found[0][2], now[0][2]))
    return [(r[0], r[1], f"{was} UNION ALL {is_}") for r in found]


def catalog_rows(conn: Any) -> Any:
    """``conn.rows``, or for a driver that cannot be asked while deciding (asyncpg) the guard's
    own connection to its database (committed catalog); raises when neither can be asked."""
    def rows(sql: str, params: Any = ()) -> list[Any]:
        try:
            return list(conn.rows(sql, params))
        except Exception:   # asyncpg's, not asked first: the guard's own connection, else none
            from jupyter_guard.connections import pg_fresh

            own = pg_fresh.own(_db(conn.raw))
            if own is None:
                raise
            return list(own.execute(sql).fetchall())
    return rows


def catalog_sql(name: str) -> str:
    """The catalog query for the table or view ``name`` (``schema.table``, lower case)."""
    ident = ".".join('"' + p.replace('"', '""') + '"' for p in name.split("."))
    return _CATALOG.format(name=ident.replace("'", "''"))


def catalog_known(raw: Any, name: str) -> bool:
    return (_db(raw), name) in _COLUMNS


def keep_catalog(raw: Any, name: str, found: list[Any]) -> None:
    """What ``catalog_sql(name)`` returned on ``raw`` (a driver that cannot be asked while
    deciding, asyncpg, asks before and keeps it here)."""
    _COLUMNS[(_db(raw), name)] = (tuple(str(r[1]).lower() for r in found),
                                  str(found[0][2]) if found and found[0][2] else None) \
        if found else None


_LABELS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def label(raw: Any) -> str:
    """``postgresql://user@host:port/dbname`` of a DB-API connection: kind and database, never a
    password (the audit records it as the URL the cell read from). Read once per connection
    (libpq is asked for each part)."""
    try:
        return _LABELS[raw]
    except (KeyError, TypeError):
        pass
    info = getattr(raw, "info", None)
    if info is None and type(raw).__module__ == "pyodbc":   # psqlODBC: the driver names them
        import pyodbc

        text = (f"postgresql://{raw.getinfo(pyodbc.SQL_USER_NAME)}@"
                f"{raw.getinfo(pyodbc.SQL_SERVER_NAME)}/{raw.getinfo(pyodbc.SQL_DATABASE_NAME)}")
    elif info is None:
        return "postgresql"
    else:
        try:
            text = f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"
        except AttributeError:   # pg8000's, its database not asked yet (an aborted transaction)
            return "postgresql"
    try:
        _LABELS[raw] = text
    except TypeError:   # a connection that cannot be weakly referenced: read every time
        pass
    return text


def _db(raw: Any) -> Any:
    try:
        text = label(raw)
        if text == "postgresql":   # asyncpg: its database, as its ``connect`` resolved it
            from jupyter_guard.connections.pg_fresh import params

            got = params(raw)
            return id(raw) if got is None else \
                "postgresql://{user}@{host}:{port}/{dbname}".format(**got)
        return text
    except Exception:  # noqa: BLE001 - a connection without libpq's details: keyed by the object
        return id(raw)


def text_of(query: Any, raw: Any) -> str:
    if hasattr(query, "as_string"):   # psycopg.sql compositions
        query = query.as_string(raw)
    if isinstance(query, (bytes, bytearray, memoryview)):
        query = bytes(query).decode("utf-8", "replace")
    return str(query)
