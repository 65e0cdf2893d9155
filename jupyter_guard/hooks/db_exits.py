"""Database files as exits: sensitive values written through a connection into a DuckDB file
that holds no sensitive column.

``duckdb.connect('mine.duckdb')`` and then ``CREATE TABLE t AS SELECT * FROM df`` (a frame read
from a guarded result, by replacement scan or ``register``), ``INSERT … VALUES (?, ?)`` or
``executemany`` with fetched values, or ``append('t', df)``, copy the values into a file
DuckDB writes from native code: no byte of it passes the file exits. So a statement that puts
rows into a table is checked first when its connection's database is *foreign*: a file
(not ``:memory:``) in which, when this process first opened it, no column sensitive by the
policy's names held a value, or any file attached to the connection (``ATTACH``, then ``USE``
or ``search_path``). A connection's own database whose sensitive columns held values (the
warehouse itself, through a second connection) may receive them back: the same policy governs
it. A decoy made elsewhere with an empty ``ssn`` column is foreign.

What is checked is the data, by effect: the values bound to the statement, its literal text,
and the rows its source query yields (run once more by the guard: ``SAMPLE_ROWS`` of them
drawn at random), with
the same check as a file write (known values read from sensitive columns, then the detectors);
and the frames it reads by name, whose columns lineage marks sensitive (``df_lineage``). A hit
is refused as ``exfiltration`` before the statement runs. Aggregates and plain columns pass.

``con.append('t', df)`` is also decided, on any database, as ``INSERT INTO t VALUES (NULL)``:
values nobody can read here meet ``t``'s keys, so a key or foreign key over sensitive values
refuses it as ``inference`` (a guess appended would collide or fail by membership).
"""
from __future__ import annotations

import os
import re
import weakref
from collections.abc import Callable
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.db_rows import (
    _check_copy,
    _check_frame,
    _check_source,
    _refuse_if,
    _scan_frame,
)
from jupyter_guard.hooks.db_rows import _settings as _settings  # sqlite_exits reads it here
from jupyter_guard.hooks.state import Busy, busy

_WRITES = re.compile(r"\b(?:insert|create|update|merge|replace|copy)\b", re.I)
_ROW_TYPES = ("INSERT", "CREATE", "UPDATE", "MERGE_INTO")
# raw connection -> the path of its database if foreign, else ''
_DEST: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
# real path -> foreign? (decided when this process first opened the file)
_FIRST: dict[str, bool] = {}
# raw connection -> the database a ``USE`` made current on it
_CURRENT: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_USE = re.compile(r'\s*use\s+(?:"([^"]+)"|([A-Za-z_][\w$]*))', re.I)
# ``SET search_path = 'x.main'`` / ``SET schema = 'x'`` make ``x`` where bare names are created
_SET_PATH = re.compile(r"""\s*set\s+(?:(?:session|local|global)\s+)?(?:search_path|schema)
                       \s*(?:=|to)\s*'?\s*"?([^'",.\s;]+)""", re.I | re.X)
_RESET_PATH = re.compile(r"\s*reset\s+(?:(?:session|local|global)\s+)?(?:search_path|schema)\b",
                         re.I)
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)   # blanks and comments
_SETS_DB = re.compile(r"\b(?:use|search_path|schema)\b", re.I)


def destination(guard: Any, raw: Any, db: str = "") -> str | None:
    """The file a statement of ``raw`` writes into when it is foreign ('' when it is not; None
    when ``raw`` has no database named ``db``). ``db``: the attached database the statement
    names, else the one a ``USE`` on ``raw`` made current, else ``raw``'s own."""
    if db:
        return _foreign(guard, raw, db)
    used = _CURRENT.get(raw, "") if _weak(raw) else ""
    found = _foreign(guard, raw, used) if used else None
    if found is not None:
        return found   # (a USE that failed named no database: ``raw``'s own is current)
    try:
        return _DEST[raw]
    except (KeyError, TypeError):
        pass
    dest = _foreign(guard, raw, "") or ""
    try:
        _DEST[raw] = dest
    except TypeError:   # not weak-referenceable: looked up again next time
        pass
    return dest


def _foreign(guard: Any, raw: Any, db: str) -> str | None:
    """The real path of database ``db`` of ``raw`` ('' for its default) if it is a foreign
    file, '' if not, None if there is no such database."""
    with Busy():
        cur = raw.cursor()   # the user's pending result on ``raw`` stays as it was
        try:
            # a cursor does not see ``USE`` on ``raw``: the database is named when one was used
            found = cur.execute("SELECT path, database_name, lower(database_name) = "
                                "lower(current_database()) FROM duckdb_databases() WHERE "
                                "lower(database_name) = coalesce(?, lower(current_database()))",
                                [db or None]).fetchone()
            if found is None:
                return None
            path, name, own = found[0] or "", found[1], bool(found[2])
            real = os.path.realpath(path) if path and path != ":memory:" else ""
            if real and real not in _FIRST:
                _FIRST[real] = not _holds_sensitive(guard, cur, name)
        finally:
            cur.close()
    # an attached file is foreign whatever it holds (a decoy may hold made-up values): the SQL
    # rules refuse sensitive columns into an attached database named in a statement, and a
    # ``USE`` of it is the same write
    return real if real and (_FIRST[real] or not own) else ""


def _holds_sensitive(guard: Any, cur: Any, db: str) -> bool:
    """Whether a sensitive column of database ``db`` holds a value: a decoy file whose ``ssn``
    column is empty is no warehouse, whatever its column names."""
    cols = cur.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                       "WHERE database_name = ? AND NOT internal", [db]).fetchall()
    for s, t, c in cols:
        if guard.policy.is_sensitive_column(f"{t}.{c}"):
            q = ".".join('"' + str(x).replace('"', '""') + '"' for x in (db, s, t))
            col = '"' + str(c).replace('"', '""') + '"'
            if cur.execute(f"SELECT EXISTS (SELECT 1 FROM {q} WHERE {col} IS NOT NULL)"
                           ).fetchone()[0]:
                return True
    return False


def current_database(raw: Any) -> str:
    """The database a ``USE`` (or ``search_path``) made current on ``raw`` ('' if none)."""
    return _CURRENT.get(raw, "") if _weak(raw) else ""


def _weak(raw: Any) -> bool:
    try:
        weakref.ref(raw)
    except TypeError:
        return False
    return True


def _track_use(raw: Any, q: str) -> None:
    """Remember the database a ``USE`` (or ``SET search_path``/``schema``) makes current on
    ``raw`` (its cursors do not see it); blanks and comments before it do not hide it."""
    if not _weak(raw):
        return
    q = q[_LEADING.match(q).end():]   # type: ignore[union-attr] # it matches the empty string
    m = _USE.match(q)
    if m is not None:
        _CURRENT[raw] = (m.group(1) or m.group(2)).lower()
    elif (p := _SET_PATH.match(q)) is not None:
        _CURRENT[raw] = p.group(1).strip().lower()
    elif _RESET_PATH.match(q):
        _CURRENT.pop(raw, None)


_ATTACH = re.compile(r"""^\s*attach\s+(?:database\s+)?(?:if\s+not\s+exists\s+)?(?:\w+:)?
                       '([^']*)'(?:\s+as\s+"?([\w$]+))?""", re.I | re.X)


def _attach_name(q: str) -> str:
    """The name ``ATTACH 'path' [AS name]`` gives its database (DuckDB: the file's stem)."""
    m = _ATTACH.match(q)
    if m is None:
        return "\0"
    return (m.group(2) or os.path.splitext(os.path.basename(m.group(1)))[0]).lower()


def _target_db(q: str) -> str:
    """The database part of the table a row-writing statement names (``b1.t``: maybe the
    attached database ``b1``, or a schema, which ``destination`` tells apart); '' if none."""
    from sqlglot import exp

    from jupyter_guard.hooks import sql_exports

    tree = sql_exports._tree(q)
    t = tree.this if isinstance(tree, (exp.Insert, exp.Create, exp.Update, exp.Merge)) else None
    t = t.this if isinstance(t, exp.Schema) else t
    if not isinstance(t, exp.Table):
        return ""
    return (t.catalog or t.db or "").lower()


def check_write(guard: Any, raw: Any, query: Any, param_sets: list[Any] | None = None) -> None:
    """Refuse (``exfiltration``) a statement that writes sensitive values into a foreign file:
    the database its target table is in (attached, or made current by ``USE``)."""
    if busy() or not isinstance(query, str):
        return
    from jupyter_guard.connections import duckdb_classify

    if not _WRITES.search(query):
        if _SETS_DB.search(query):
            try:
                for _t, q in duckdb_classify(query):
                    _track_use(raw, q)
            except Exception:  # noqa: BLE001 - DuckDB's parser refuses it: it changes nothing
                pass
        return

    try:
        typed = duckdb_classify(query)
    except Exception:  # noqa: BLE001 - DuckDB's parser refuses it: DuckDB raises the same error when it runs
        return
    for t, q in typed:
        if t == "COPY":
            _check_copy(guard, raw, q)
    settings = _settings()
    attached: set[str] = set()   # databases an ATTACH earlier in this same text makes
    for t, q in typed:
        _track_use(raw, q)   # a USE earlier in the same text changes where the next ones write
        if t == "ATTACH":
            attached.add(_attach_name(q))
        if t not in _ROW_TYPES:
            continue
        named = _target_db(q)
        target = named or _CURRENT.get(raw, "")
        if attached and target in attached:   # a new file, maybe: checked as a foreign one
            _refuse_if(guard, exits._known(q), target, "the statement's values")
            if not _check_source(guard, raw, q, target):
                _refuse_if(guard, "rows it cannot check before the database exists (run the "
                           "ATTACH as a statement of its own)", target,
                           "a write of rows into a database attached in the same text")
            continue
        dest = destination(guard, raw, named) if named else None
        if dest is None:   # no database of that name: a schema of the current one
            dest = destination(guard, raw)
        if not dest:
            continue
        if param_sets:
            from jupyter_guard.hooks.bound_taint import _text

            flat = (v for p in param_sets for v in (p.values() if isinstance(p, dict) else
                                                    p if isinstance(p, (list, tuple)) else [p]))
            _refuse_if(guard, exits.scan(_text(flat), settings), dest, "bound values")
        # literals typed into the SQL are no guarded data: known values only
        _refuse_if(guard, exits._known(q), dest, "the statement's values")
        _check_source(guard, raw, q, dest)


def guarded_append(guard: Any, raw: Any, proxy: Any,
                   judge: Callable[[str], None] | None = None) -> Any:
    """``con.append('t', df)``: the frame's rows go into ``t`` of ``raw``'s database (the
    guarded ``proxy`` is returned where DuckDB returns the connection); ``judge(t)`` first
    decides the write against ``t``'s keys (``hooks.duck_conn``)."""
    orig = raw.append

    def append(table_name: Any, df: Any, *args: Any, **kw: Any) -> Any:
        dest = "" if busy() else destination(guard, raw)
        if judge is not None and not busy() and isinstance(table_name, str):
            judge(table_name)
        if dest:
            _check_frame(guard, df, None, dest)
            _refuse_if(guard, _scan_frame(df), dest, "the appended frame")
        out = orig(table_name, df, *args, **kw)
        return proxy if out is raw else out
    append.__doc__ = orig.__doc__
    return append


