"""SQL text -> intents, with sqlglot tree walks (never regex).

Pure: no IPython, no DuckDB. For DuckDB connections the caller passes ``classify`` (DuckDB's own
statement splitter, ``duckdb.extract_statements``), which is the ground truth for what each
statement *is*; sqlglot supplies targets, columns and WHERE analysis. A statement neither can read
becomes ``sql.unparsed``, which the policy never allows.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from jupyter_guard.analyze.sql_kinds import KINDS
from jupyter_guard.analyze.sql_parse import _first_string, _short, parsed
from jupyter_guard.analyze.sql_parse import _parse as _parse
from jupyter_guard.analyze.sql_remote import remote_calls
from jupyter_guard.analyze.sql_tree import is_remote, reads_of, table_name
from jupyter_guard.analyze.where import classify_where, count_sql_for
from jupyter_guard.model import SQL_WRITES, Action, Analysis, Intent

logging.getLogger("sqlglot").setLevel(logging.ERROR)
# re-exported: the analysers' callers import ``_parse``, ``parsed``, ``is_remote``, ``reads_of``,
# ``table_name``, ``classify_where`` and ``count_sql_for`` from here

# (statement type name as DuckDB reports it, query text)
Classifier = Callable[[str], Sequence[tuple[str, str]]]

# DuckDB statement types -> action, for statements sqlglot cannot read.
_DUCKDB_TYPES: dict[str, Action] = {
    "SELECT": "sql.select", "MULTI": "sql.select", "EXPLAIN": "sql.select",
    "INSERT": "sql.insert", "UPDATE": "sql.update", "DELETE": "sql.delete",
    "MERGE_INTO": "sql.merge", "CREATE": "sql.create", "CREATE_FUNC": "sql.other",
    "ALTER": "sql.alter", "DROP": "sql.drop", "COPY": "sql.export", "EXPORT": "sql.export",
    "IMPORT": "sql.load", "ATTACH": "sql.attach", "DETACH": "sql.other",
    "TRANSACTION": "sql.transaction", "SET": "sql.set", "VARIABLE_SET": "sql.set",
    "PRAGMA": "sql.set", "LOAD": "sql.other", "CALL": "sql.select", "PREPARE": "sql.other",
    "EXECUTE": "sql.unparsed", "RELATION": "sql.select", "EXTENSION": "sql.other",
    "LOGICAL_PLAN": "sql.other", "ANALYZE": "sql.other", "VACUUM": "sql.other",
    "COPY_DATABASE": "sql.export", "UPDATE_EXTENSIONS": "sql.other",
}


def analyze_sql(text: str, dialect: str = "duckdb", *, classify: Classifier | None = None,
                params: Sequence[Any] | Mapping[str, Any] | None = None) -> Analysis:
    """Every statement of ``text`` as intents; parse problems in ``errors``.

    >>> [i.action for i in analyze_sql("select 1; drop table t").intents]
    ['sql.select', 'sql.drop']

    The result depends on the text, dialect and classifier only (bound parameters aside), so
    it is cached by them: the cell hook and the run-time sink analyse the same statement once.
    """
    if params is None:
        try:
            return _analyze_cached(text, dialect, classify)
        except TypeError:  # an unhashable classifier: analyse without the cache
            pass
    return _analyze(text, dialect, classify, params)


@lru_cache(maxsize=1024)
def _analyze_cached(text: str, dialect: str, classify: Classifier | None) -> Analysis:
    return _analyze(text, dialect, classify, None)


def _analyze(text: str, dialect: str, classify: Classifier | None, params: Any) -> Analysis:
    found = _analyze_text(text, dialect, classify, params)
    remote = remote_calls(text) if dialect == "duckdb" else ()
    return Analysis(found.intents + remote, found.errors) if remote else found


def _analyze_text(text: str, dialect: str, classify: Classifier | None, params: Any) -> Analysis:
    if classify is not None:
        try:
            pieces = list(classify(text))
        except Exception as e:  # noqa: BLE001 - DuckDB's parser refused it: the database would too
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            return Analysis((Intent("sql.unparsed", source=text),), (msg,))
        result = Analysis()
        for kind, query in pieces:
            result = result + _typed(query, dialect, kind.upper(), params, classify)
        return result
    try:
        trees = _parse(text, dialect)
    except (ParseError, TokenError) as e:
        return Analysis((Intent("sql.unparsed", source=text),), (_short(e),))
    intents: list[Intent] = []
    for tree in trees:
        if isinstance(tree, exp.Command):
            intents.extend(_command(tree, dialect))
        elif tree is not None:
            intents.extend(intents_of(tree, dialect, params))
    return Analysis(tuple(intents))


def _command(tree: exp.Command, dialect: str = "") -> tuple[Intent, ...]:
    """A statement sqlglot only kept as text (other dialects than DuckDB): decided by its leading
    words (``sql_types.COMMANDS``); a word the table does not know is ``sql.unknown``, and a
    change is never allowed blind.

    >>> import sqlglot
    >>> [i.action for i in _command(sqlglot.parse_one("DROP TABL t", read="postgres"))]
    ['sql.drop']
    >>> [i.action for i in _command(sqlglot.parse_one("DO $$ BEGIN NULL; END $$", read="postgres"))]
    ['sql.outside']
    """
    from jupyter_guard.analyze import sql_types as st

    src = tree.sql()
    words = st.leading_words(src, 3)
    word = words.split()[0] if words else ""
    if word == "EXPLAIN":
        inner = st.explained(src)
        if inner is None:
            return (Intent("sql.select", source=src, detail="EXPLAIN"),)
        found = _analyze(inner, dialect, None, None).intents   # it runs what it explains
        return tuple(i.with_(source=src) for i in found) or (
            Intent("sql.unknown", source=src, detail="EXPLAIN ANALYZE"),)
    if words.startswith(("CREATE EXTENSION", "LOAD")):
        return (Intent("sql.extension", "none", st.extension_name(src), source=src,
                       detail="LOAD" if word == "LOAD" else "CREATE EXTENSION"),)
    into = _vacuum_into(src) if word == "VACUUM" else None
    if into is not None:   # SQLite's ``VACUUM [schema] INTO 'file'``: the whole database, copied
        return (Intent("sql.export", "file", into, ("?",), source=src,
                       detail="copies database file behind this connection"),)
    kind = st.COMMANDS.get(word)
    if kind is None:
        return (Intent("sql.unknown", source=src, detail=f"{word or 'empty'} statement"),)
    if kind.outside:
        return (Intent("sql.outside", source=src, detail=kind.name),)
    action = _DUCKDB_TYPES.get({"TRUNCATE": "DELETE", "GRANT": "ALTER", "REVOKE": "ALTER",
                                "UNLOAD": "COPY", "REPLACE": "INSERT"}.get(word, word))
    if action is None or action in ("sql.select", "sql.set", "sql.other", "sql.transaction"):
        return (Intent(action or "sql.other", source=src, detail=f"{word} statement"),)
    if word == "TRUNCATE":
        action = "sql.truncate"
    return (Intent(action, "table", "?", source=src, where="unknown",
                   detail=f"{word} statement sqlglot cannot read"),)


_WRITE_OUT_MAX = 4096
"""Statements longer than this keep their own text as the intents' source."""


def _one(query: str, dialect: str, duck_kind: str, params: Any) -> Analysis:
    try:
        trees = _parse(query, dialect)
    except (ParseError, TokenError):
        trees = ()
    tree = trees[0] if len(trees) == 1 else None
    if tree is not None and not isinstance(tree, exp.Command):
        # a long statement keeps its own text: writing the tree out again copies all of it
        # first (seconds for a WHERE of thousands of terms); a short one is shown normalised
        own = query.strip().rstrip(";").strip() if len(query) > _WRITE_OUT_MAX else None
        found = intents_of(tree, dialect, params, own)
        if found and (_consistent(found[0].action, duck_kind) or (   # a writable CTE
                duck_kind == "SELECT" and found[0].action in SQL_WRITES)):
            return Analysis(found)
    action = _DUCKDB_TYPES.get(duck_kind, "sql.unparsed")
    if duck_kind == "DELETE" and query.lstrip()[:8].upper() == "TRUNCATE":
        action = "sql.truncate"
    if action == "sql.export" and duck_kind == "EXPORT":
        # EXPORT DATABASE writes every table; the enricher fills in all columns.
        folder = _first_string(query)
        found = (Intent("sql.export", "database", "*", ("?",), source=query,
                        detail="export database", remote=is_remote(folder)),)
        if folder and not is_remote(folder):   # the files it writes go through the file rules
            found += (Intent("file.truncate", "file", folder, source=query,
                             detail="EXPORT DATABASE"),)
        return Analysis(found)
    if action in ("sql.select", "sql.set", "sql.other", "sql.transaction"):
        return Analysis((Intent(action, source=query),))
    # A statement that changes something but whose target we cannot read: never "allow".
    return Analysis((Intent(action, "table", "?", source=query, where="unknown",
                            detail="statement sqlglot cannot read"),))


def _typed(query: str, dialect: str, duck_kind: str, params: Any, classify: Classifier,
           depth: int = 0) -> Analysis:
    """One statement by its entry in the statement-type table (``sql_types``): wrappers are
    classed by what they run, kinds that reach outside the database get their own intents, a
    type the table does not know is ``sql.unknown`` (refused)."""
    from jupyter_guard.analyze import sql_types as st

    kind = st.kind_of(duck_kind, query)
    if kind is None or duck_kind in st.REFUSED_TYPES:
        return Analysis((Intent("sql.unknown", source=query, detail=f"{duck_kind} statement"),))
    inner = st.explained(query) if kind.name == "EXPLAIN ANALYZE" else _prepared(query) \
        if kind.name == "PREPARE" else None
    if inner is not None and depth < 4:   # EXPLAIN ANALYZE runs it; PREPARE is classed by it
        try:
            pieces = list(classify(inner))
        except Exception:  # noqa: BLE001 - DuckDB's parser refused the inner statement: not allowed blind
            pieces = []
        if len(pieces) != 1:
            return Analysis((Intent("sql.unknown", source=query, detail=kind.name),))
        found = _typed(pieces[0][1], dialect, pieces[0][0].upper(), params, classify, depth + 1)
        return Analysis(tuple(i.with_(source=query) for i in found.intents), found.errors)
    if kind.name in ("EXPLAIN", "PREPARE"):
        return Analysis((Intent("sql.select", source=query, detail=kind.name),))
    if kind.name in ("INSTALL", "FORCE INSTALL", "LOAD"):
        return Analysis((Intent("sql.extension", "none", st.extension_name(query), source=query,
                                detail=kind.name),))
    if kind.outside and kind.name not in ("COPY", "EXPORT", "ATTACH", "CHECKPOINT",
                                          "COPY FROM DATABASE"):
        return Analysis((Intent("sql.outside", source=query, detail=kind.name),))
    if kind.name == "COPY FROM DATABASE":
        return Analysis((Intent("sql.export", "database", "*", ("?",), source=query,
                                detail="copies a whole database"),))
    into = _vacuum_into(query) if kind.name == "VACUUM" else None
    if into is not None:   # SQLite's ``VACUUM [schema] INTO 'file'``: the whole database, copied
        return Analysis((Intent("sql.export", "file", into, ("?",), source=query,
                                detail="copies database file behind this connection"),))
    if kind.name in ("CHECKPOINT", "CREATE MACRO", "CREATE TEMP MACRO", "CREATE TEMPORARY MACRO",
                     "CREATE FUNCTION", "DETACH", "VACUUM", "ANALYZE", "EXECUTE"):
        return Analysis((Intent("sql.other", source=query, detail=kind.name),))
    return _one(query, dialect, duck_kind, params)


def _vacuum_into(query: str) -> str | None:
    """The file ``VACUUM [schema] INTO 'file'`` writes (``?`` when it is a parameter).

    >>> _vacuum_into("VACUUM main INTO 'b.db'"), _vacuum_into("vacuum into ?")
    ('b.db', '?')
    >>> _vacuum_into("VACUUM") is None
    True
    """
    import re

    m = re.match(r"(?is)\s*VACUUM\b[^;]*?\bINTO\s+(?:'((?:[^']|'')*)'|\"([^\"]*)\"|(\S+))", query)
    if m is None:
        return None
    return (m.group(1) or "").replace("''", "'") or m.group(2) or m.group(3) or "?"


def _prepared(query: str) -> str | None:
    import re

    m = re.match(r"\s*PREPARE\s+\S+\s+AS\s+(.*)$", query, flags=re.S | re.I)
    return m.group(1) if m else None


def _consistent(action: str, duck_kind: str) -> bool:
    expected = _DUCKDB_TYPES.get(duck_kind)
    if expected is None or action == expected:
        return True
    groups = ({"sql.create", "sql.replace"}, {"sql.delete", "sql.truncate"},
              {"sql.alter", "sql.drop_column", "sql.rename"}, {"sql.export", "sql.load"},
              {"sql.select", "sql.other", "sql.set"}, {"sql.insert", "sql.replace"})
    return any(action in g and expected in g for g in groups)



def intents_of(tree: exp.Expr, dialect: str = "duckdb",
               params: Any = None, src: str | None = None) -> tuple[Intent, ...]:
    """``src``: the statement's own text when the caller has it (written out from the tree
    otherwise, which copies the whole tree first)."""
    if src is None:
        src = tree.sql(dialect=dialect) if dialect else tree.sql()
    for kind, handler in KINDS:
        if isinstance(tree, kind):
            return handler(tree, src, dialect, params)
    if isinstance(tree, exp.Query):
        root: exp.Expr = tree
        dml = [n for n in tree.find_all(exp.Delete, exp.Update, exp.Insert, exp.Merge)
               if n is not root]
        if dml:  # a writable CTE: classed by the changes inside it
            return tuple(i.with_(source=src) for n in dml
                         for i in intents_of(n, dialect, params, src))
        tables, columns = reads_of(tree)
        return (Intent("sql.select", "table", ",".join(tables), columns, tables, src),)
    name = type(tree).__name__
    if name in _OTHER_TREES:
        action: Any = _OTHER_TREES[name]
        return (Intent(action, source=src, detail=name.upper()),)
    if name == "Install":
        return (Intent("sql.extension", "none", str(tree.this.name if tree.this else "?").lower(),
                       source=src, detail="INSTALL"),)
    # Not a statement kind the guard knows (sqlglot read it as a bare expression, e.g.
    # Postgres' CLUSTER t, or a statement class added later): refused, never allowed blind.
    return (Intent("sql.unknown", source=src, detail=f"{name} statement"),)


_OTHER_TREES: dict[str, str] = {
    "Analyze": "sql.other", "Comment": "sql.other", "Show": "sql.select", "Detach": "sql.other",
    "Grant": "sql.alter", "Revoke": "sql.alter", "Kill": "sql.outside"}


__all__ = [
    "analyze_sql",
    "classify_where",
    "count_sql_for",
    "intents_of",
    "is_remote",
    "parsed",
    "reads_of",
    "table_name",
]
