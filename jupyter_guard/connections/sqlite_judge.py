"""How a ``sqlite3`` statement is analysed: once per text, its rows left to the measurement.

Every ``DELETE``/``UPDATE`` a sqlite3 connection runs on a table the session did not create is
measured (``sqlite_cell``: ``total_changes`` before and after, undone over the cell's budget),
so counting its rows first adds a query and decides nothing the measurement does not: its
``WHERE`` is left ``filtered`` with no count. What the measurement cannot see stays static: no
``WHERE``, or one that is always true (``bulk-change`` refuses it before it runs).

Bound values (``?``, ``:name``) are read only where one could make a ``WHERE`` always true
(``WHERE ?``, ``WHERE id = ? OR ? = 1``): a placeholder compared with a column cannot, so a
statement whose placeholders all are is analysed once, by its text, and an ``executemany`` of it
is judged once. Scripts (``executescript``) keep the count: one that controls transactions
itself is counted after it ran, but not undone. So does a change with ``RETURNING``: SQLite
counts its changes only once its rows have been read, after the guard has let it run.

``VACUUM [schema] INTO 'file'`` copies one database of the connection into a new file. It is
judged as the export of every column of that database's tables (by name, and by the lineage
the session remembers of tables it filled from sensitive columns), not refused as an opaque copy:
a copy of a database with no sensitive column runs. Its rows are scanned before it runs
(``hooks.sqlite_exits``), as a ``backup()`` is.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from jupyter_guard.model import Analysis

_COMPARE = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.Glob,
            exp.NullSafeEQ, exp.NullSafeNEQ)
_FILTERS = ("sql.delete", "sql.update")
_COPIES = "copies database file behind this connection"
# a change whose rows are returned: SQLite counts its changes only once they have all been read
RETURNING = re.compile(r"(?i)\breturning\b")
# ``CREATE [TEMP] TRIGGER``: its body (``BEGIN ... END``) is read statement by statement
TRIGGER = re.compile(r"(?is)\A\s*CREATE\s+(?:TEMP(?:ORARY)?\s+)?TRIGGER\b")
# ``VACUUM [schema] INTO``: the schema's name, bare or quoted
VACUUM_INTO = re.compile(r'(?is)\A\s*VACUUM\s+(?:("(?:[^"]|"")*"|\[[^\]]*\]|`[^`]*`|\w+)\s+)?'
                         r'INTO\b')


@lru_cache(maxsize=512)
def values_inert(text: str) -> bool:
    """No bound value can make a ``WHERE`` of ``text`` always true: each placeholder in one is
    compared with a column (``id = ?``, ``name LIKE :p``, ``id IN (?, ?)``,
    ``d BETWEEN ? AND ?``). False when the text does not parse.

    >>> values_inert("UPDATE t SET v = ? WHERE id = ?"), values_inert("DELETE FROM t WHERE ?")
    (True, False)
    >>> values_inert("DELETE FROM t WHERE id = ? OR ? = 1")
    False
    >>> values_inert("DELETE FROM t WHERE id IN (?, ?) AND name LIKE :n")
    True
    """
    try:
        trees = sqlglot.parse(text, read="sqlite")
    except (ParseError, TokenError):
        return False
    for tree in trees:
        for where in tree.find_all(exp.Where) if tree is not None else ():
            for p in where.find_all(exp.Placeholder, exp.Parameter):
                if not _beside_column(p):
                    return False
    return True


def _beside_column(p: exp.Expr) -> bool:
    parent = p.parent
    if isinstance(parent, exp.Paren):
        return _beside_column(parent)
    if isinstance(parent, _COMPARE):
        other = parent.expression if parent.this is p else parent.this
        return isinstance(other, exp.Column)
    if isinstance(parent, (exp.In, exp.Between)):
        return isinstance(parent.this, exp.Column) and parent.this is not p
    return False


# text -> (the analysis with its rows left to the measurement, whether values can change it)
_SEEN: dict[str, tuple[Analysis, bool]] = {}


def analyse(guard: Any, text: str, params: Any, raw: Any = None) -> Analysis:
    """The analysis of one sqlite3 statement (not a script) whose changed rows are measured:
    the same object for the same text while the values cannot change it (its read-only
    decision is then kept too, ``guard.decisions``). ``raw``: the ``sqlite3.Connection``
    (``VACUUM INTO`` is judged by the columns of what it copies)."""
    hit = _SEEN.get(text)
    if hit is None and TRIGGER.match(text):
        return trigger(guard, text)
    if hit is None and RETURNING.search(text):   # counted before it runs (``sqlite_cell``)
        return guard.sql_analysis(text, "sqlite", params=params)   # type: ignore[no-any-return]  # an Analysis
    if hit is None and raw is not None and VACUUM_INTO.match(text):
        return vacuum_into(guard.sql_analysis(text, "sqlite"), text, raw)
    if hit is None:
        base: Analysis = guard.sql_analysis(text, "sqlite")
        filters = [i for i in base.intents if i.action in _FILTERS]
        hit = (_measured(base) if filters else base,
               any(i.where == "param" for i in filters) and not values_inert(text))
        if len(_SEEN) >= 512:
            _SEEN.clear()
        _SEEN[text] = hit
    if params is not None and hit[1]:   # a value could make the WHERE always true: bound
        return _measured(guard.sql_analysis(text, "sqlite", params=params))
    return hit[0]


def trigger(guard: Any, text: str) -> Analysis:
    """``CREATE TRIGGER ... BEGIN <statements>; END`` as what its body does: each statement
    analysed as SQLite's, its deletes and updates left to the measurement when the trigger fires
    (``sqlite_cell`` counts the rows triggers change, against ``max_affected_rows``); what no
    measurement sees, a copy of sensitive columns into another table say, is judged now. A body
    the guard cannot split is refused as unreadable.

    >>> [q for q in _body("CREATE TRIGGER a AFTER INSERT ON t BEGIN DELETE FROM u; "
    ...                   "INSERT INTO l VALUES ('x;y'); END")]
    ['DELETE FROM u', "INSERT INTO l VALUES ('x;y')"]
    """
    from jupyter_guard.model import Intent

    try:
        body = _body(text)
    except (TokenError, ValueError):
        return Analysis((Intent("sql.unparsed", source=text),),
                        ("SQL could not be parsed: a trigger without BEGIN ... END",))
    out = Analysis((Intent("sql.other", source=text, detail="CREATE TRIGGER"),))
    for stmt in body:
        a = guard.sql_analysis(stmt, "sqlite")
        out = out + Analysis(tuple(
            i.with_(where="filtered", estimated_rows=0, source=text,
                    detail="measured when the trigger fires")
            if i.action in _FILTERS else i.with_(source=text) for i in a.intents), a.errors)
    return out


def _body(text: str) -> list[str]:
    """The statements between a trigger's ``BEGIN`` and its last ``END`` (``ValueError``: none)."""
    toks = sqlglot.tokenize(text, read="sqlite")
    begin = next((i for i, t in enumerate(toks) if t.text.upper() == "BEGIN"), None)
    if begin is None:
        raise ValueError("no BEGIN")
    if toks[-1].text.upper() != "END" and not (toks[-1].text == ";" and
                                               toks[-2].text.upper() == "END"):
        raise ValueError("no END")
    end = len(toks) - (1 if toks[-1].text.upper() == "END" else 2)
    out, start = [], toks[begin].end + 1
    for t in toks[begin + 1:end]:
        if t.token_type.name == "SEMICOLON":
            out.append(text[start:t.start].strip())
            start = t.end + 1
    out.append(text[start:toks[end].start].strip())
    return [q for q in out if q]


def judged_once(text: Any) -> bool:
    """An ``executemany`` of ``text`` is judged once, not once per row of values."""
    return isinstance(text, str) and values_inert(text)


def _measured(a: Analysis) -> Analysis:
    out = tuple(i.with_(where="filtered", estimated_rows=0, detail="")
                if i.action in _FILTERS and i.where in ("param", "filtered") else i
                for i in a.intents)
    return Analysis(out, a.errors)


def vacuum_into(a: Analysis, text: str, raw: Any) -> Analysis:
    """``VACUUM [schema] INTO 'file'`` as the export of every column of the schema's tables
    (``("?",)``, refused as unknown, when they cannot be read)."""
    # late: only for VACUUM INTO (the hooks import the connections at load)
    from jupyter_guard.hooks.sql_exports import REMEMBERED
    from jupyter_guard.policy.rules import bare_table

    m = VACUUM_INTO.match(text)
    schema = unquoted(m.group(1) if m and m.group(1) else "main")
    try:
        rows = raw.execute("SELECT m.name, p.name FROM pragma_table_list AS m, "
                           "pragma_table_info(m.name, m.schema) AS p WHERE m.schema = ? "
                           "AND m.type IN ('table', 'virtual')", (schema,)).fetchall()
        tables = {str(r[0]) for r in raw.execute(
            "SELECT name FROM pragma_table_list WHERE schema = ? AND type IN "
            "('table', 'virtual')", (schema,)).fetchall()}
    except Exception:  # noqa: BLE001 - a catalog the guard cannot read: the copy is refused as unknown columns
        rows, tables = [], {"?"}
    if tables and {r[0] for r in rows} != tables:
        rows.append(("?", "?"))   # a table whose columns could not be listed
    cols: list[str] = []
    for t, c in rows:
        cols.append(f"{t}.{c}" if t != "?" else "?")
        for o in REMEMBERED.get(bare_table(str(t)), ()):   # filled from sensitive columns
            if o.name.lower() == str(c).lower():
                cols.extend(sorted(o.origins | o.grouped))
    out = tuple(i.with_(columns=tuple(dict.fromkeys(cols)), detail=f"VACUUM {schema} INTO")
                if i.action == "sql.export" and i.detail == _COPIES else i for i in a.intents)
    return Analysis(out, a.errors)


def unquoted(name: str) -> str:
    """
    >>> unquoted('"a""b"'), unquoted("[x]"), unquoted("main")
    ('a"b', 'x', 'main')
    """
    if name[:1] == '"':
        return name[1:-1].replace('""', '"')
    return name[1:-1] if name[:1] in "[`" else name


def backup_into(guard: Any, dest: Any, driver: str, schema: str = "main") -> None:
    """A backup into ``dest``'s database ``schema`` replaces every table there: judged as the
    ``DROP TABLE`` of each (refused, ``destructive-ddl``, unless the session made it)."""
    from jupyter_guard.connections.dbapi import Checker  # late: dbapi imports this module
    from jupyter_guard.hooks.state import Busy

    check = Checker(guard, dest, driver)
    name = '"' + schema.replace('"', '""') + '"'
    with Busy():   # the guard's own catalog read
        tables = [str(r[0]) for r in dest.execute(
            f"SELECT name FROM {name}.sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite%'").fetchall()]
        for t in tables:
            check.decide(f'DROP TABLE {name}."' + t.replace('"', '""') + '"', None, False)
