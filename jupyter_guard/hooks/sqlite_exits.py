"""Values written through Python's ``sqlite3`` into a database file, checked like a file write.

A SQLite file is a file: ``sqlite3.connect('x.db').executemany('INSERT INTO t VALUES (?)',
emails)`` put every e-mail in it, below the file writes the exits scan (SQLite writes its pages
in C). A statement that writes rows (``INSERT``, ``REPLACE``, ``UPDATE``, ``CREATE … AS``) on a
connection whose databases include a file is judged before it runs:

- its bound values, by the detectors and known values (``exits.scan``);
- values typed into its text, by known values only (a literal typed by hand is no guarded data);
- the rows its ``SELECT`` reads (``INSERT … SELECT`` out of an in-memory database attached
  beside the file, ``UPDATE … SET v = s.x FROM src s`` or ``SET v = (SELECT …)``), every one of
  them up to ``LIMIT`` (more: refused as unchecked), by the detectors and known values.

``Connection.backup(target)`` into a file, and ``VACUUM [schema] INTO 'file'``, are judged by
the rows of every table they copy.
A connection held only in memory writes nothing out and is not checked.
"""
from __future__ import annotations

import re
from itertools import chain
from typing import Any

from jupyter_guard.hooks import exits, file_pieces
from jupyter_guard.hooks.state import Busy, busy

_WRITES = re.compile(r"\b(?:insert|replace|update|create)\b", re.I)
_SELECT = re.compile(r"\bselect\b", re.I)
_UPDATE_FROM = re.compile(r"\bupdate\b.*\bfrom\b", re.I | re.S)
_REPRS = ("b'", 'b"', "bytearray(", " at 0x")   # how str() shows bytes and objects
PIECE = 1 << 20
OVERLAP = 4096
BATCH = 5000
LIMIT = 200_000
"""Rows read to judge a write: every row up to this; a source with more is refused as unchecked
(fail closed: a sample would let values past it through)."""


def files(con: Any) -> list[str]:
    """The files of a connection's databases (``''`` for memory and temp databases: left out)."""
    with Busy():
        rows = con.execute("PRAGMA database_list").fetchall()
    return [str(r[2]) for r in rows if r[2]]


def check(guard: Any, raw: Any, query: Any, param_sets: list[Any] | None) -> None:
    """Refuse (``exfiltration``) a statement of a ``sqlite3`` cursor or connection ``raw`` that
    writes sensitive values into a database file."""
    if busy() or not isinstance(query, str):
        return
    con = getattr(raw, "connection", raw)
    from jupyter_guard.connections.sqlite_judge import VACUUM_INTO, unquoted

    vacuum = VACUUM_INTO.match(query)
    if vacuum is not None:   # one database of the connection copied into a new file
        _check_tables(guard, con, unquoted(vacuum.group(1) or "main"), _vacuum_file(query))
        return
    if not _WRITES.search(query):
        return
    dest = files(con)
    if not dest:
        return
    from jupyter_guard.hooks.db_exits import _settings

    settings = _settings()
    if param_sets:
        text = _values_text(param_sets)
        for piece in _pieces(text):
            _refuse_if(guard, exits.scan(piece, settings), dest[0], "bound values")
        # known SSNs bound cut into pieces, a row's in turn (``(s[:5], s[5:])``)
        _refuse_if(guard, file_pieces.carries(text, "\x00sqlite:" + dest[0]), dest[0],
                   "bound values")
    _refuse_if(guard, exits._known(query), dest[0], "the statement's values")
    if _SELECT.search(query) or _UPDATE_FROM.search(query):
        _refuse_if(guard, _scan_rows(con, _source(query), settings), dest[0], "the rows it reads")


def _values_text(param_sets: list[Any]) -> str:
    """Every bound value, one a line (bytes read as latin-1). Rows of tuples or lists of
    numbers and text are formatted in C; anything else value by value."""
    if set(map(type, param_sets)) <= {tuple, list}:
        values = tuple(chain.from_iterable(param_sets))
        text = ("%s\n" * len(values)) % values   # str() of each, in C
        if not any(r in text for r in _REPRS):   # no bytes, buffers or objects by their repr
            return text
    out: list[str] = []
    for p in param_sets:
        for v in (p.values() if isinstance(p, dict) else
                  p if isinstance(p, (list, tuple)) else [p]):
            out.append(bytes(v).decode("latin-1") if isinstance(v, (bytes, bytearray, memoryview))
                       else str(v))
    return "\n".join(out)


def _pieces(text: str) -> list[str]:
    """``text`` in pieces of at most ``PIECE`` characters, overlapping by ``OVERLAP`` (a value
    across a boundary is whole in one of them): every value is scanned, however many."""
    if len(text) <= PIECE:
        return [text]
    step = PIECE - OVERLAP
    return [text[i:i + PIECE] for i in range(0, len(text) - OVERLAP, step)]


def check_backup(guard: Any, raw: Any, target: Any) -> None:
    """``src.backup(target)``: every table of ``src`` is copied into ``target``'s file."""
    if busy():
        return
    dest = files(target)
    if dest:
        _check_tables(guard, raw, "main", dest[0])


def _check_tables(guard: Any, con: Any, schema: str, dest: str) -> None:
    """Every row of every table of ``schema`` (copied into the file ``dest``)."""
    from jupyter_guard.hooks.db_exits import _settings

    settings = _settings()
    quoted = '"' + schema.replace('"', '""') + '"'
    with Busy():
        tables = [r[0] for r in con.execute(
            f"SELECT name FROM {quoted}.sqlite_master WHERE type = 'table'").fetchall()]
    for t in tables:
        q = f'SELECT * FROM {quoted}."' + t.replace('"', '""') + '"'
        _refuse_if(guard, _scan_rows(con, q, settings), dest, f"table {t}")


def _vacuum_file(query: str) -> str:
    from jupyter_guard.analyze.sql import _vacuum_into

    return _vacuum_into(query) or "?"


def _source(query: str) -> str | None:
    """The ``SELECT`` an ``INSERT``/``CREATE … AS`` reads its rows from (None: none found)."""
    try:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(query, read="sqlite")
    except Exception:  # noqa: BLE001 - SQLite's parser decides: it raises the same error when it runs
        return None
    if isinstance(tree, (exp.Insert, exp.Create)) and isinstance(tree.expression, exp.Query):
        return str(tree.expression.sql(dialect="sqlite"))
    if isinstance(tree, exp.Update) and tree.expressions:
        return _update_source(tree)
    return None


def _update_source(tree: Any) -> str:
    """``UPDATE t SET v = s.email FROM src s WHERE …`` (or ``SET v = (SELECT …)``) -> the
    ``SELECT`` of the values it sets, over the same rows."""
    cols = ", ".join(e.expression.sql(dialect="sqlite") for e in tree.expressions)
    src = tree.this.sql(dialect="sqlite")
    frm = tree.args.get("from_") or tree.args.get("from")
    if frm is not None:
        src += ", " + frm.this.sql(dialect="sqlite")
        src += "".join(" " + j.sql(dialect="sqlite") for j in frm.args.get("joins") or ())
    src += "".join(" " + j.sql(dialect="sqlite") for j in tree.args.get("joins") or ())
    where = tree.args.get("where")
    return f"SELECT {cols} FROM {src}" + (f" {where.sql(dialect='sqlite')}" if where else "")


def _scan_rows(con: Any, select: str | None, settings: Any) -> str:
    """The kind of sensitive value among the rows ``select`` reads (every one of them, in
    batches; ``unchecked`` past ``LIMIT``)."""
    if not select:
        return ""
    try:
        with Busy():
            cur = con.execute(f"SELECT * FROM ({select}) LIMIT {LIMIT + 1}")
            seen = 0
            while rows := cur.fetchmany(BATCH):
                seen += len(rows)
                if seen > LIMIT:
                    return f"more than {LIMIT} rows (unchecked)"
                kind = exits.scan("\n".join("\t".join(map(str, r)) for r in rows), settings)
                if kind:
                    return kind
    except Exception:  # noqa: BLE001 - a source the guard cannot read alone (it names the target); the statement's own values were scanned
        return ""
    return ""


def _refuse_if(guard: Any, kind: str, dest: str, what: str) -> None:
    if kind:
        from jupyter_guard.hooks.exit_files import FX

        exits.refuse(guard, FX.rt if FX is not None else None, kind,
                     f"database file {dest}", f"a write of {what} into")
