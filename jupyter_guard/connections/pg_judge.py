"""What the static decision leaves to PostgreSQL's effect check, and what it may not.

- ``pure_read``: statements that cannot change anything (queries calling only functions sqlglot
  knows, with no data-modifying ``WITH``) run without the check; anything else runs under it.
- ``for_effect``: a DELETE/UPDATE whose rows the guard cannot count before it runs (parameters
  bound inside a ``DO`` block, forms sqlglot cannot read) is judged by its measured effect instead
  of being refused; row counts that run are bounded (``LIMIT max+1``) so they stay cheap on big
  tables. Transaction control in the same call as a change is refused: a ``COMMIT`` inside it
  would keep the change before the guard measured it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from jupyter_guard.analyze.sql import parsed
from jupyter_guard.analyze.sql_postgres import split
from jupyter_guard.analyze.sql_prepared import inline_prepared
from jupyter_guard.model import Analysis, Intent

_READS = (exp.Query, exp.Show, exp.Describe)
_WRITES = (exp.Delete, exp.Update, exp.Insert, exp.Merge, exp.Create, exp.Drop, exp.Alter,
           exp.Copy, exp.Command)


@lru_cache(maxsize=2048)
def pure_read(text: str) -> bool:
    """
    >>> pure_read("SELECT id, upper(name) FROM customers WHERE id = 1"), pure_read("SELECT f()")
    (True, False)
    """
    try:
        trees = parsed(text, "postgres")   # shared with the analysis: the text is parsed once
    except (ParseError, TokenError):
        return False
    for tree in trees:
        if tree is None:
            continue
        if not isinstance(tree, _READS) or tree.find(exp.Anonymous, *_WRITES) is not None:
            return False
        if isinstance(tree, exp.Select) and tree.args.get("into") is not None:
            return False  # SELECT ... INTO new_table
    return True


_LITERALS = frozenset({"STRING", "NUMBER", "NATIONAL_STRING", "BIT_STRING", "HEX_STRING",
                       "BYTE_STRING", "RAW_STRING"})


def shape(text: str) -> tuple[tuple[str, str], ...] | None:
    """The statement's tokens with the values of its literals left out: two texts of one shape
    are the same statement with other values (a bound parameter, a number pasted into an
    f-string). Anything a value could turn into SQL (a driver's adapter rendering text) gives
    another shape. None when the text cannot be tokenized.

    >>> shape("SELECT * FROM t WHERE id = 1") == shape("SELECT * FROM t WHERE id = 42")
    True
    >>> shape("SELECT * FROM t WHERE id = 1") == shape("SELECT * FROM t WHERE id = 1; DROP TABLE t")
    False
    """
    try:
        tokens = sqlglot.tokenize(text, read="postgres")
    except TokenError:
        return None
    return tuple((t.token_type.name, "" if t.token_type.name in _LITERALS else t.text)
                 for t in tokens)


def bounded(count_sql: str, limit: int) -> str:
    """``SELECT COUNT(*) FROM t WHERE p`` -> ``SELECT count(*) FROM (SELECT 1 FROM t WHERE p
    LIMIT limit+1) AS s``: the count stops one past what the policy allows.

    >>> bounded("SELECT COUNT(*) FROM t WHERE x > 1", 1000)
    'SELECT COUNT(*) FROM (SELECT 1 FROM t WHERE x > 1 LIMIT 1001) AS jg_bounded'
    """
    try:
        tree = sqlglot.parse_one(count_sql, read="postgres")
    except (ParseError, TokenError):
        return count_sql
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1 or not isinstance(
            tree.expressions[0], exp.Count):
        return count_sql
    inner = tree.copy()
    inner.set("expressions", [exp.Literal.number(1)])
    inner.set("limit", exp.Limit(expression=exp.Literal.number(limit + 1)))
    return str(exp.select(exp.Count(this=exp.Star())).from_(inner.subquery("jg_bounded")).sql(
        dialect="postgres"))


def for_effect(analysis: Analysis, max_rows: int) -> Analysis:
    """The analysis as the effect check leaves it to be decided (the same object when nothing
    changes: a read keeps the analysis its decision is kept under, ``guard.decisions``).

    >>> from jupyter_guard.analyze.sql_postgres import analyze_postgres
    >>> for_effect(analyze_postgres("SELECT purge(); COMMIT"), 1000).errors[0][:40]
    'COMMIT/ROLLBACK/BEGIN in the same call a'
    >>> for_effect(analyze_postgres("SELECT 1; COMMIT"), 1000).errors
    ()
    """
    if all(i.action in ("sql.select", "sql.set") for i in analysis.intents):
        return analysis
    out: list[Intent] = []
    for i in analysis.intents:
        if i.action in ("sql.delete", "sql.update"):
            if i.where in ("param", "unknown") or i.target == "?":
                i = i.with_(where="filtered", estimated_rows=0, detail="")
            elif i.where == "filtered" and i.detail:
                i = i.with_(detail=bounded(i.detail, max_rows))
        out.append(i)
    if any(i.action == "sql.transaction" for i in out) and any(   # a query that calls a
            i.action not in ("sql.select", "sql.set", "sql.transaction") or   # function can
            (i.action == "sql.select" and not pure_read(i.source)) for i in out):   # change too
        out.append(Intent("sql.unparsed", source=analysis.intents[0].source,
                          detail="transaction control in the same call as a change"))
        return Analysis(tuple(out), analysis.errors + (
            "COMMIT/ROLLBACK/BEGIN in the same call as a change: run transaction control in "
            "its own execute()",))
    return Analysis(tuple(out), analysis.errors)


PRIVILEGED = ("SELECT rolsuper OR pg_has_role(current_user, 'pg_write_server_files', 'MEMBER') "
              "OR pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') "
              "FROM pg_roles WHERE rolname = current_user")


def runtime_sql_on_server(analysis: Analysis, conn: Any) -> Analysis:
    """plpgsql ``EXECUTE`` of text built at run time is left to the effect check, which measures
    tables, not files: for a role that may write server files or run server programs (superuser,
    ``pg_write_server_files``, ``pg_execute_server_program``) it is refused as an export to the
    database server. A role the guard cannot check counts as such a role."""
    if not any(i.detail.endswith("dynamic EXECUTE") for i in analysis.intents):
        return analysis
    try:
        privileged = bool(conn.scalar(PRIVILEGED))
    except Exception:  # noqa: BLE001 - the check failed: treat the role as privileged, so the guard refuses
        privileged = True
    if not privileged:
        return analysis
    i = Intent("sql.export", "file", "files or programs on the database server (plpgsql EXECUTE "
               "of SQL built at run time, by a role that may write them)", ("?",), remote=True,
               source=analysis.intents[0].source)
    return Analysis(analysis.intents + (i,), analysis.errors)


# Functions that run SQL (or read a table) named by a text argument: what they read is no column
# any lineage sees, so their values would print unmasked (``query_to_xml('SELECT ssn ...')``,
# ``table_to_xml``, ``ts_stat``, tablefunc's ``crosstab``/``connectby``).
_SQL_TEXT = re.compile(r"\b(\w+_to_xml(?:schema|_and_xmlschema)?|ts_stat|ts_rewrite|crosstab\d?|"
                       r"connectby)\s*\(", re.IGNORECASE)
# The planner's copies of column values (sensitive ones included): ``pg_stats.histogram_bounds``,
# ``most_common_vals``, ``pg_statistic.stavalues1``, extended statistics
_STATS = re.compile(r"\bpg_stat(?:s|istic)(?:_ext(?:_exprs|_data)?)?\b", re.IGNORECASE)
_STATS_VALUES = re.compile(r"\b(?:most_common_vals|most_common_elems|histogram_bounds|"
                           r"stavalues\d|stxdexpr|stxdmcv)\b|\*", re.IGNORECASE)
# ``pg_notify`` hands its payload to every session listening, outside the kernel
_NOTIFY = re.compile(r"\bpg_notify\s*\(", re.IGNORECASE)
_NOTIFY_LITERAL = re.compile(r"\bpg_notify\s*\(\s*'[^']*'\s*,\s*'[^']*'\s*\)", re.IGNORECASE)


def unread_reads(text: str) -> tuple[Intent, ...]:
    """What ``text`` reads or sends that no lineage sees, as ``sql.outside`` intents (refused:
    SQL the guard has not read). Looked for in the whole text, ``DO`` and function bodies too.

    >>> [i.detail for i in unread_reads("SELECT query_to_xml('SELECT ssn FROM c', true, '')")]
    ['query_to_xml() (SQL text run inside the statement)']
    >>> unread_reads("SELECT attname, n_distinct FROM pg_stats"), unread_reads("SELECT 1")
    ((), ())
    >>> [i.target for i in unread_reads("SELECT s FROM pg_stats s WHERE attname = 'ssn'")]
    ['pg_stats']
    >>> unread_reads("SELECT pg_notify('jobs', 'done')")
    ()
    """
    if "(" not in text and "pg_stat" not in text.lower():
        return ()
    out: list[Intent] = []
    for m in dict.fromkeys(f.lower() for f in _SQL_TEXT.findall(text)):
        out.append(Intent("sql.outside", "none", m, source=text,
                          detail=f"{m}() (SQL text run inside the statement)"))
    stats = _STATS.search(text)
    if stats and (_STATS_VALUES.search(text) or _whole_row(text)):
        out.append(Intent("sql.outside", "none", stats.group(0).lower(), source=text,
                          detail=f"{stats.group(0).lower()} (the planner's copies of column "
                                 "values)"))
    if len(_NOTIFY.findall(text)) > len(_NOTIFY_LITERAL.findall(text)):
        out.append(Intent("sql.outside", "none", "pg_notify", source=text,
                          detail="pg_notify() (sends what it reads to other sessions)"))
    return tuple(out)


def _whole_row(text: str) -> bool:
    """Whether a statement naming a statistics view reads one of its rows whole (``SELECT s
    FROM pg_stats s``): a column named like a table or alias of the statement. True when the
    text cannot be read (refused rather than guessed)."""
    try:
        trees = parsed(text, "postgres")
    except (ParseError, TokenError):
        return True
    for tree in trees:
        if tree is None:
            continue
        names = {t.alias_or_name.lower() for t in tree.find_all(exp.Table)}
        if any(c.name.lower() in names and not c.table for c in tree.find_all(exp.Column)):
            return True
    return False


_ALTER_SYSTEM = re.compile(r"\bALTER\s+SYSTEM\b", re.IGNORECASE)


def server_config(text: str) -> tuple[Intent, ...]:
    """``ALTER SYSTEM`` rewrites the server's configuration for every session after the next
    reload (``session_replication_role``, ``archive_command`` runs programs): it cannot run in a
    transaction, so no effect check sees it, and it is refused (``self-protection``).

    >>> [i.action for i in server_config("alter  system set session_replication_role = replica")]
    ['guard.tamper']
    """
    if not _ALTER_SYSTEM.search(text):
        return ()
    return (Intent("guard.tamper", "guard", "ALTER SYSTEM (changes the database server's "
                   "configuration for every session)", source=text),)


_RUNS_CODE = frozenset({"DO", "CALL", "EXECUTE"})


def opaque(text: str, functions: frozenset[str]) -> bool:
    """Whether ``text`` runs code whose statements the guard does not see: a ``DO`` block,
    ``CALL``, ``EXECUTE`` of a prepared statement, or one of the database's own ``functions``
    (made after initdb, extensions' too; lower-case names). A text it cannot read counts.

    >>> fns = frozenset({"purge"})
    >>> opaque("SELECT purge()", fns), opaque("CALL p()", fns), opaque("SELECT version()", fns)
    (True, True, False)
    >>> opaque("CREATE FUNCTION purge() RETURNS int LANGUAGE sql AS 'SELECT 1'", fns)
    False
    >>> opaque("PREPARE p AS SELECT 1; EXECUTE p", fns), opaque("EXECUTE p", fns)
    (False, True)
    >>> opaque("PREPARE p AS SELECT purge(); EXECUTE p", fns)
    True
    """
    try:   # ``EXECUTE p`` of a ``PREPARE p AS ...`` in the same text: what it runs is read
        trees = [t for s in inline_prepared(split(text)) for t in parsed(s, "postgres")]
    except (ParseError, TokenError):
        return True
    for tree in trees:
        if tree is None:
            return True
        if isinstance(tree, exp.Command):
            if str(tree.this).upper() in _RUNS_CODE:
                return True
            continue   # DDL sqlglot keeps as text runs no function
        if isinstance(tree, exp.Create) and isinstance(tree.this, exp.UserDefinedFunction):
            continue   # made, not run
        if any(str(f.name).lower() in functions for f in tree.find_all(exp.Anonymous)):
            return True
    return False


_SET = re.compile(r"\s*(SET|RESET)\b", re.IGNORECASE)


def spelled_setting(text: str, name: str) -> bool:
    """Whether every value ``text`` can give the setting ``name`` is computed by the statement
    itself from no column, subquery or unknown function: ``SET``/``RESET`` (literals only), or
    ``set_config('name', <expression of literals and builtins>, ...)`` with no other unknown
    function in the statement (one could set it too).

    >>> spelled_setting("SELECT set_config('application_name', 'a' || now()::text, false)",
    ...                 "application_name")
    True
    >>> spelled_setting("SELECT set_config('application_name', email, false) FROM c",
    ...                 "application_name")
    False
    >>> spelled_setting("SELECT f()", "application_name"), spelled_setting("RESET ALL", "x")
    (False, True)
    """
    if _SET.match(text):
        return True
    try:
        trees = parsed(text, "postgres")
    except (ParseError, TokenError):
        return False
    calls = []
    for tree in trees:
        if tree is None or isinstance(tree, exp.Command):
            return False
        for fn in tree.find_all(exp.Anonymous):
            if str(fn.name).lower() != "set_config":
                return False
            calls.append(fn)
    return bool(calls) and all(
        len(fn.expressions) > 1 and isinstance(fn.expressions[0], exp.Literal) and
        fn.expressions[1].find(exp.Column, exp.Subquery, exp.Query, exp.Anonymous) is None
        for fn in calls if fn.expressions[:1] and fn.expressions[0].name.lower() == name)
