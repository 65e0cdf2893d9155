"""Rows changed per table per cell on SQLite (``max_affected_rows`` is a cell's budget).

The static decision judges each sqlite3 statement alone, so a loop of one-row deletes, or an
``executemany`` of one-row deletes, could change any number of rows in one cell. Each
``DELETE``/``UPDATE`` that reaches a table the session did not create is measured instead: the
connection's ``total_changes`` before and after it is the number of rows it changed. That count,
added to the rows the cell already changed in the same table of the same database file, must
stay within ``max_affected_rows``; otherwise the statement is undone and refused.

Rows a statement's triggers change (``AFTER INSERT ON log BEGIN DELETE FROM customers; END``,
fired by an ``INSERT``, or by a change to a table the session made) are the connection's
changes less the statement's own (``rowcount``): they count per database file, and over the
budget the statement is undone too. A script's changes all count so, when a database of the
connection has a trigger (it has no ``rowcount`` of its own). ``blobopen`` for writing counts
one row per blob. A ``DELETE``/``UPDATE … RETURNING`` is counted before it runs, by its static
count (SQLite counts its changes only once its rows have all been read).

Upserts (``INSERT OR REPLACE``, ``ON CONFLICT … DO UPDATE``) count the rows that were there
and were replaced or changed: the changes less the rows the table gained. Writes to SQLite's
schema table (``sqlite_master``, ``PRAGMA writable_schema``) drop or redefine tables without a
``DROP`` and are refused as ``destructive-ddl``.

Undoing needs a transaction around the statement that the guard controls without changing the
user's. In sqlite3's default mode, outside a transaction, the driver itself begins one before a
statement whose first word is ``INSERT``, ``UPDATE``, ``DELETE`` or ``REPLACE``: a rollback then
undoes this statement only. Any other statement (inside the user's transaction, in autocommit
mode, or one the driver would commit at once, like ``WITH … DELETE``) runs inside a
``SAVEPOINT``; an outermost one commits when released, as the statement would have.
``executescript`` commits what was pending and runs its script in autocommit mode: the script
is run behind a ``SAVEPOINT`` of its own, unless it controls transactions itself (``BEGIN``,
``COMMIT``, …): then its changes are counted, and refuse the cell's next statements, but are not
undone.

The count lives beside PostgreSQL's (``pg_cell``), in the session's effect state, and is read,
judged and added under its lock, so the statements of one cell's threads are kept one after the
other.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jupyter_guard.connections import pg_cell
from jupyter_guard.connections.sqlite_judge import RETURNING
from jupyter_guard.guard import owned
from jupyter_guard.model import Verdict

_CHANGES = ("sql.delete", "sql.update")
_DML = ("sql.insert", "sql.update", "sql.delete", "sql.merge")
_TXN_CONTROL = re.compile(r"(?is)(?:\A|;)(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*"
                          r"(?:begin|commit|end|rollback|release|savepoint)\b")
_SCHEMA_TABLES = ("sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema")
_WRITABLE_SCHEMA = re.compile(r"(?is)\bpragma\b[^;]*\bwritable_schema\b")
# the driver's own test for "begin a transaction first": the first word, after comments
_DML_FIRST = re.compile(r"(?is)\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*"
                        r"(?:insert|update|delete|replace)\b")


def targets(intents: tuple[Any, ...], upserts: bool = False) -> tuple[str, ...]:
    """The tables whose changed rows count: deletes and updates of tables not temporary
    (``upserts``: the targets of ``INSERT OR REPLACE``/``REPLACE``/``ON CONFLICT DO UPDATE``,
    which replace or change rows that were there).

    >>> from jupyter_guard.model import Intent
    >>> up = Intent("sql.insert", "table", "u", detail="upsert")
    >>> targets((Intent("sql.delete", "table", "main.t"), up,
    ...          Intent("sql.update", "table", "tmp", temporary=True)))
    ('main.t',)
    >>> targets((up, Intent("sql.insert", "table", "v")), upserts=True)
    ('u',)
    """
    return tuple(dict.fromkeys(
        i.target for i in intents if not i.temporary and i.target and (
            i.action == "sql.insert" and i.detail == "upsert" if upserts else
            i.action in _CHANGES)))


def _schema_write(text: str, j: Any) -> Verdict | None:
    """Writing SQLite's own schema table (or letting statements write it) drops or redefines
    tables without a ``DROP``: refused like one."""
    if _WRITABLE_SCHEMA.search(text) or any(
            i.action in ("sql.delete", "sql.update", "sql.insert") and
            i.target.rsplit(".", 1)[-1].strip('"').lower() in _SCHEMA_TABLES for i in j.intents):
        return Verdict("block", "destructive-ddl", "this writes SQLite's schema table, which can "
                       "drop or redefine any table; use DROP, ALTER or CREATE statements instead")
    return None


def run(check: Any, text: str, j: Any, call: Callable[..., Any], script: bool = False) -> Any:
    """Run ``call`` (one judged sqlite3 statement, or a script: then ``call(prefix)`` runs
    ``prefix`` before it) and keep it only within the cell's budget; ``check`` is the
    connection's ``dbapi.Checker``."""
    raw = check.raw
    if check.driver == "apsw":
        from jupyter_guard.connections.sqlite_apsw import Adapter  # late: only for apsw

        raw = Adapter(raw)
    elif not any(c.__module__ == "sqlite3" for c in type(raw).__mro__):   # another driver's
        return call()
    refused = _schema_write(text, j)
    if refused is not None:
        raise check._refused(text, j, refused)
    ours = check.guard.session_tables

    def counted(upserts: bool) -> list[tuple[str, str, str]]:
        places = [owned.sqlite_where(raw, t) for t in targets(j.intents, upserts)]
        return [w for w in places if w[1] != "temp" and owned.sqlite_key(w) not in ours]

    names, upserted = counted(False), counted(True)
    if (names or upserted) and RETURNING.search(text):
        return _counted_first(check, text, j, call, names, bool(upserted))
    fires = not names and not upserted and any(i.action in _DML for i in j.intents) and (
        not script or _has_triggers(raw))   # triggers may change other tables' rows
    if not names and not upserted and not fires:
        made = [owned.sqlite_where(raw, i.target, i.temporary) for i in j.intents
                if i.action == "sql.create" and i.target and i.target_kind == "table"]
        new = [w for w in made if not _exists(raw, w)]   # ``IF NOT EXISTS`` of one there
        result = call()
        ours.update(owned.sqlite_key(w) for w in new)
        return result
    # the driver begins a transaction itself only before a statement whose first word is
    # INSERT, UPDATE, DELETE or REPLACE (``WITH … DELETE`` commits at once), in its default mode
    mine = not script and not raw.in_transaction and raw.isolation_level is not None and \
        getattr(raw, "autocommit", -1) is not True and bool(_DML_FIRST.match(text))
    point = not script and not mine
    if point:
        raw.execute("SAVEPOINT jg_cell")
    # a script commits what was pending and runs in autocommit mode: it begins with the
    # savepoint itself, unless it controls transactions (then it is counted, not undone)
    point = point or (script and not _TXN_CONTROL.search(text))
    rows = {w: _rows(raw, w) for w in upserted}
    before = raw.total_changes
    try:
        result = call("SAVEPOINT jg_cell;\n") if script and point else call()
    except BaseException:
        if point:
            _undo(raw)
        raise
    n = raw.total_changes - before
    changed = {(f"sqlite:{w[0]}", w[1], w[2]): n for w in names}
    for w, had in rows.items():   # rows replaced or updated: the changes less the rows added
        key = (f"sqlite:{w[0]}", w[1], w[2])
        changed[key] = max(changed.get(key, 0), n - max(_rows(raw, w) - had, 0))
    if fires:   # rows changed beyond the statement's own (``rowcount``): by its triggers
        own = getattr(raw, "changes", 0) if script else getattr(result, "rowcount", 0)
        extra = n - max(own, 0)   # a script's: all of its changes
        if extra > 0:
            changed[_triggered(raw, j)] = extra
    verdict = _charge(check, changed)
    if verdict is None:
        if point:
            raw.execute("RELEASE SAVEPOINT jg_cell")
        return result
    if point:
        _undo(raw)
    elif mine:
        raw.rollback()
    raise check._refused(text, j, verdict)


def _counted_first(check: Any, text: str, j: Any, call: Callable[..., Any],
                   names: list[tuple[str, str, str]], upsert: bool) -> Any:
    """A ``DELETE``/``UPDATE … RETURNING``: SQLite counts its changes only when its rows have
    all been read, after the call returns, so its rows are counted before it runs (the static
    count) and added to the cell's; an upsert's cannot be, and is refused."""
    counts = [i.estimated_rows for i in j.intents if i.action in _CHANGES and not i.temporary]
    if upsert or not counts or any(n is None or n < 0 for n in counts):
        raise check._refused(text, j, Verdict(
            "block", "bulk-change", "a change with RETURNING is counted only once its rows are "
            "read, after the guard has let it run: run it without RETURNING"))
    verdict = _charge(check, {(f"sqlite:{w[0]}", w[1], w[2]): max(counts) for w in names})
    if verdict is not None:
        raise check._refused(text, j, verdict)
    return call()


def _charge(check: Any, changed: dict[tuple[str, str, str], int]) -> Verdict | None:
    """``changed`` added to the cell's count per table, unless it passes the budget (then the
    refusal, and nothing added); read and added under the cell's lock."""
    from jupyter_guard.guard.effect import state  # late: only for counted statements

    cell = state(check.guard)
    with cell.lock:
        verdict: Verdict | None = pg_cell.over(changed, cell.cell,
                                               check.guard.policy.max_affected_rows)
        if verdict is None:
            pg_cell.add(changed, cell.cell)
    return verdict


def _has_triggers(raw: Any) -> bool:
    """Whether any database of the connection has a trigger (asked for scripts only)."""
    for r in raw.execute("PRAGMA database_list").fetchall():
        schema = str(r[1]).replace('"', '""')
        if raw.execute(f'SELECT 1 FROM "{schema}".sqlite_master WHERE type = \'trigger\' '
                       "LIMIT 1").fetchone() is not None:
            return True
    return False


def _triggered(raw: Any, j: Any) -> tuple[str, str, str]:
    """The count of rows triggers changed, per database file of the statement's target (a
    trigger may change any table of it, and a temporary one any table at all)."""
    target = next((i.target for i in j.intents if i.action in _DML and i.target), "main.?")
    where = owned.sqlite_where(raw, target)
    if where[1] == "temp":   # a temporary trigger: counted with the main database's file
        where = owned.sqlite_where(raw, "main.?")
    return (f"sqlite:{where[0]}", "main", "(rows changed by triggers)")


def _rows(raw: Any, where: tuple[str, str, str]) -> int:
    schema = "temp" if where[1] == "temp" else _schema(raw, where)
    q = f'SELECT count(*) FROM "{schema}"."{where[2].replace(chr(34), chr(34) * 2)}"'
    return int(raw.execute(q).fetchone()[0])


def _undo(raw: Any) -> None:
    raw.execute("ROLLBACK TO SAVEPOINT jg_cell")
    raw.execute("RELEASE SAVEPOINT jg_cell")


def _schema(raw: Any, where: tuple[str, str, str]) -> str:
    """The name ``raw`` attached the database of ``where`` under (quoted for SQL)."""
    files = {str(r[2]): str(r[1]) for r in raw.execute("PRAGMA database_list")}
    return files.get(where[0], where[0].rpartition(":")[2] or "main").replace('"', '""')


def _exists(raw: Any, where: tuple[str, str, str]) -> bool:
    schema = "temp" if where[1] == "temp" else _schema(raw, where)
    sql = f'SELECT 1 FROM "{schema}".sqlite_master WHERE lower(name) = ?'
    return raw.execute(sql, (where[2],)).fetchone() is not None


def blob(check: Any, table: str, column: str, row: int, schema: str) -> None:
    """``con.blobopen(table, column, row)`` for writing: one row of ``table`` counted (and the
    write judged as the ``UPDATE`` of one row it is); refused over the cell's budget."""
    def quoted(s: str) -> str:
        return '"' + s.replace('"', '""') + '"'

    name = f"{schema}.{table}"
    text = f"UPDATE {quoted(schema)}.{quoted(table)} SET {quoted(column)} = ? " \
           f"WHERE rowid = {int(row)}"
    _, _, j = check.decide(text, None, False)
    where = owned.sqlite_where(check.raw, name)
    if where[1] == "temp" or owned.sqlite_key(where) in check.guard.session_tables:
        return
    verdict = _charge(check, {(f"sqlite:{where[0]}", where[1], where[2]): 1})
    if verdict is not None:
        raise check._refused(text, j, verdict)
