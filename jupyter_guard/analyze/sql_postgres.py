"""PostgreSQL's own ways to act, as intents: the statements and functions that run SQL no
client-side parser sees, write files or run commands on the database server, or switch off the
database's own protections. Everything else goes to ``analyze.sql`` in the ``postgres`` dialect.

Pure. Statements are split on sqlglot's tokens (a dollar-quoted body is one token), so each piece
is a slice of the text as written. Data and schema changes inside ``DO`` blocks and functions are
measured by the effect check (``connections.pg_effect``); what this module must catch before
anything runs is what no measurement of tables sees: server files, programs, roles, triggers.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from jupyter_guard.analyze.sql import analyze_sql, intents_of, parsed, table_name
from jupyter_guard.analyze.sql_pg_functions import body_export, spelt
from jupyter_guard.analyze.sql_prepared import inline_prepared
from jupyter_guard.model import Action, Analysis, Intent

# Functions that read or write files on the database host, run SQL elsewhere, or stop sessions.
SERVER_FUNCTIONS = frozenset({
    "lo_export", "lo_import", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
    "pg_file_write", "pg_file_rename", "pg_file_unlink", "dblink", "dblink_exec",
    "dblink_send_query",
    "pg_terminate_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_promote",
})
# Functions that write into a large object: what their arguments read leaves the tables (and
# their columns' sensitivity) for a store that ``lo_get``/``loread`` read back as plain bytes.
LO_WRITERS = frozenset({"lo_from_bytea", "lo_put", "lowrite"})
# Settings that turn off triggers and foreign keys, or change who the session acts as.
GUARDED_SETTINGS = ("session_replication_role", "role", "session authorization",
                    "session_authorization")
_BODY_SQL = frozenset({"COPY", "SET", "RESET", "ALTER", "SELECT", "PERFORM", "CALL"})
_WRITES = (exp.Delete, exp.Update, exp.Insert, exp.Merge)


def split(text: str) -> list[str]:
    """Top-level statements, each exactly as written.

    >>> split("DO $$ BEGIN RAISE NOTICE 'a;b'; END $$; SELECT 1")
    ["DO $$ BEGIN RAISE NOTICE 'a;b'; END $$", 'SELECT 1']
    """
    return list(_split(text))


@lru_cache(maxsize=1024)
def _split(text: str) -> tuple[str, ...]:   # cached: the magic and the analysis split the same text
    out, start = [], 0
    for tok in sqlglot.tokenize(text, read="postgres"):
        if tok.token_type.name == "SEMICOLON":
            out.append(text[start:tok.start].strip())
            start = tok.end + 1
    out.append(text[start:].strip())
    return tuple(s for s in out if s)


def analyze_postgres(text: str, params: Any = None) -> Analysis:
    """Every statement of ``text`` as intents, PostgreSQL's own forms included.

    >>> [i.action for i in analyze_postgres("SET session_replication_role = replica").intents]
    ['guard.tamper']
    >>> [i.action for i in analyze_postgres("alter user bob with encrypted password 'x'").intents]
    ['guard.tamper']
    """
    if params is None:
        return _cached(text)
    return _analyze(text, params)


@lru_cache(maxsize=1024)
def _cached(text: str) -> Analysis:
    return _analyze(text, None)


def _analyze(text: str, params: Any) -> Analysis:
    try:
        pieces = split(text)
    except TokenError as e:
        return Analysis((Intent("sql.unparsed", source=text),), (f"SQL could not be parsed: {e}",))
    result = Analysis()
    for stmt, runs in zip(pieces, inline_prepared(pieces)):
        found = _statement(runs, params)
        result = result + (found if runs is stmt else Analysis(
            tuple(i.with_(source=stmt) for i in found.intents), found.errors))
    return result


def _words(stmt: str) -> list[tuple[str, str]]:
    return [(t.token_type.name, t.text) for t in sqlglot.tokenize(stmt, read="postgres")]


def _statement(stmt: str, params: Any) -> Analysis:
    words = _words(stmt)
    up = [w.upper() for _, w in words]
    head = up[0] if up else ""
    if head == "DO":
        return Analysis(_body(_dollar_body(stmt, words), stmt, "DO block"))
    if head in ("SET", "RESET") and _setting(up[1:]):
        return Analysis((_tamper(stmt, f"{head} {_setting(up[1:])}"),))
    if head == "ALTER" and "TRIGGER" in up and ("DISABLE" in up or "ENABLE" in up):
        return Analysis((_tamper(stmt, "ALTER ... DISABLE TRIGGER"),))
    if head == "ALTER" and up[1:2] in (["ROLE"], ["USER"]) and "PASSWORD" in up:
        return Analysis((_tamper(stmt, "ALTER ROLE ... PASSWORD"),))   # no catalog a role
        # without superuser reads shows a password: the effect check cannot see it change
    if head == "ALTER" and "RENAME" in up and len(up) > 2 and up[1] in ("TABLE", "VIEW", "SCHEMA",
                                                                         "MATERIALIZED"):
        return Analysis(_rename(stmt, up))
    if head == "CREATE" and ("FUNCTION" in up or "PROCEDURE" in up):
        return Analysis(_body(_dollar_body(stmt, words), stmt, "function body"))
    if head == "COPY":
        return Analysis(_copy(stmt, up, params))
    if head == "CLUSTER" and all(k in _NAME or k in ("DOT", "USING") for k, _ in words[1:]):
        return Analysis((Intent("sql.other", source=stmt, detail="CLUSTER"),))   # reorders
        # a table's rows (measured: the rewrite of the table named is no TRUNCATE)
    session = _session_only(words)
    if session:
        return Analysis((Intent(session[0], source=stmt, detail=session[1]),))
    found = analyze_sql(stmt, "postgres", params=params)
    return Analysis(found.intents + _inner(stmt, found.intents), found.errors)


_NAME = ("VAR", "IDENTIFIER")
_TWO_PHASE = re.compile(
    r"(PREPARE\s+TRANSACTION|COMMIT\s+PREPARED|ROLLBACK\s+PREPARED)\s+'?[^']*'?", re.IGNORECASE)
_MODE = (r"(ISOLATION\s+LEVEL\s+(SERIALIZABLE|REPEATABLE\s+READ|READ\s+COMMITTED|"
         r"READ\s+UNCOMMITTED)|READ\s+WRITE|READ\s+ONLY|(NOT\s+)?DEFERRABLE)")
# ``START TRANSACTION [modes]`` is ``BEGIN [modes]``; ``ABORT`` is ``ROLLBACK`` (sqlglot reads
# neither: an alias, a column, or a parse error)
_START = re.compile(rf"START\s+TRANSACTION(\s+{_MODE}(\s*,?\s*{_MODE})*)?", re.IGNORECASE)
_ABORT = re.compile(r"ABORT(\s+(WORK|TRANSACTION))?(\s+AND\s+(NO\s+)?CHAIN)?", re.IGNORECASE)


def _session_only(words: list[tuple[str, str]]) -> tuple[Action, str] | None:
    """Savepoints (transaction control: the statements inside are measured one by one), and
    ``LISTEN``/``UNLISTEN``/``NOTIFY`` (a channel, and a payload that PostgreSQL's grammar allows
    only as a string literal): statements that change no table, which sqlglot does not read.
    The action and detail, or None for any other shape.

    >>> _session_only(_words("RELEASE SAVEPOINT s1")), _session_only(_words("NOTIFY ch, 'x'"))
    (('sql.transaction', 'RELEASE SAVEPOINT'), ('sql.other', 'NOTIFY'))
    >>> _session_only(_words("NOTIFY ch, (SELECT ssn FROM c)")) is None
    True
    >>> _session_only(_words("PREPARE TRANSACTION 'x'"))
    ('sql.transaction', 'PREPARE TRANSACTION')
    >>> _session_only(_words("start transaction isolation level repeatable read, read only"))
    ('sql.transaction', 'START TRANSACTION')
    >>> _session_only(_words("ABORT WORK")), _session_only(_words("ABORT; DROP TABLE t"))
    (('sql.transaction', 'ABORT'), None)
    """
    kinds = [k for k, _ in words]
    up = [w.upper() for _, w in words]
    plain = " ".join(w for _, w in words)
    if _START.fullmatch(plain):
        return ("sql.transaction", "START TRANSACTION")
    if _ABORT.fullmatch(plain):
        return ("sql.transaction", "ABORT")
    if up[:1] == ["SAVEPOINT"] and len(up) == 2 and kinds[1] in _NAME:
        return ("sql.transaction", "SAVEPOINT")
    rest = up[2:] if up[:2] in (["ROLLBACK", "TO"], ["RELEASE", "SAVEPOINT"]) else \
        up[1:] if up[:1] == ["RELEASE"] else None
    if rest is not None and rest[:1] == ["SAVEPOINT"] and up[0] == "ROLLBACK":
        rest = rest[1:]
    if rest is not None and len(rest) == 1 and kinds[-1] in _NAME:
        return ("sql.transaction", " ".join(up[:len(up) - 1]))
    two_phase = _TWO_PHASE.fullmatch(plain)
    if two_phase:   # transaction control: alone, never in one call with a change (pg_judge)
        return ("sql.transaction", " ".join(two_phase.group(1).upper().split()))
    if up[:1] == ["LISTEN"] and len(up) == 2 and kinds[1] in _NAME:
        return ("sql.other", "LISTEN")
    if up[:1] == ["UNLISTEN"] and len(up) == 2 and (kinds[1] in _NAME or up[1] == "*"):
        return ("sql.other", "UNLISTEN")
    if up[:1] == ["NOTIFY"] and len(up) >= 2 and kinds[1] in _NAME and (
            len(up) == 2 or (len(up) == 4 and kinds[2] == "COMMA" and kinds[3] == "STRING")):
        return ("sql.other", "NOTIFY")
    return None


def _setting(rest: list[str]) -> str:
    rest = rest[1:] if rest and rest[0] in ("LOCAL", "SESSION") and rest[1:2] != ["AUTHORIZATION"] \
        else rest
    if rest[:1] == ["SESSION"]:
        name = " ".join(rest[:2]).lower()
    else:
        name = rest[0].lower() if rest else ""
    return name if name in GUARDED_SETTINGS else ""


def _tamper(stmt: str, what: str) -> Intent:
    return Intent("guard.tamper", "guard", f"{what} (turns off the database's own protections or "
                  "changes who the session acts as)", source=stmt)


def _rename(stmt: str, up: list[str]) -> tuple[Intent, ...]:
    try:
        tree = sqlglot.parse_one(stmt, read="postgres")
        name = table_name(tree.this) if isinstance(tree, exp.Alter) else "?"
    except (ParseError, TokenError):
        name = "?"
    if "COLUMN" in up or (up.count("RENAME") and up[up.index("RENAME") + 1:][:1] not in (["TO"],)):
        return (Intent("sql.drop_column", "table", name, ("?",), source=stmt,
                       detail="RENAME COLUMN"),)
    return (Intent("sql.drop", "table", name, source=stmt, detail="RENAME TO"),)


def _copy(stmt: str, up: list[str], params: Any) -> tuple[Intent, ...]:
    found = analyze_sql(stmt, "postgres", params=params).intents
    try:
        tree = sqlglot.parse_one(stmt, read="postgres")
    except (ParseError, TokenError):
        return found
    if isinstance(tree, exp.Copy) and isinstance(tree.this, exp.Schema):   # COPY t (a, b) ...
        table = table_name(tree.this.this)
        cols = tuple(f"{table}.{c.name.lower()}" for c in tree.this.expressions) or ("?",)
        found = tuple(i.with_(columns=cols) if i.action == "sql.export" else i for i in found)
    files = tree.args.get("files") or [] if isinstance(tree, exp.Copy) else []
    first = files[0] if files else None
    name = first.name if first is not None else "?"
    if not isinstance(first, exp.Literal) and name.upper() in ("STDOUT", "STDIN"):
        return found
    if not isinstance(first, exp.Literal) and name.upper() == "PROGRAM":
        where = "PROGRAM (runs a command on the database server)"
    else:
        where = f"{name} (a file on the database server)"
    return tuple(i.with_(action="sql.export", target_kind="file", target=where, remote=True,
                         columns=i.columns or ("?",)) for i in found) or (
        Intent("sql.export", "file", where, ("?",), source=stmt, remote=True),)


def _inner(stmt: str, found: tuple[Intent, ...] = ()) -> tuple[Intent, ...]:
    """Writes nested in a query (writable CTEs), server-side functions it calls, and columns it
    copies into large objects (``found``: the statement's own intents, with their columns)."""
    try:
        trees = parsed(stmt, "postgres")   # the tree analyze_sql read: one parse per statement
    except (ParseError, TokenError):
        return ()
    out: list[Intent] = []
    for tree in trees:
        if tree is None:
            continue
        out.extend(spelt(tree, stmt, tuple(dict.fromkeys(c for i in found for c in i.columns))))
        for node in tree.find_all(*_WRITES):
            if node is not tree and node.find_ancestor(exp.When) is None:   # not MERGE's own
                # WHEN ... THEN UPDATE/INSERT (the MERGE's intent has them)
                out.extend(i.with_(detail=i.detail or "data-modifying WITH") for i in intents_of(
                    node, "postgres"))
        for fn in tree.find_all(exp.Anonymous):
            if str(fn.name).lower() in LO_WRITERS and fn.find(exp.Column):
                out.append(_into_large_object(fn, found, stmt))
            elif str(fn.name).lower() == "setval":
                out.append(Intent("guard.tamper", "guard", "setval() (a rollback does not undo "
                                  "it, so the effect check cannot measure it first: use ALTER "
                                  "SEQUENCE ... RESTART WITH, which is measured)", source=stmt))
            elif str(fn.name).lower() in SERVER_FUNCTIONS:
                out.append(Intent("sql.export", "file", f"{fn.name}() on the database server",
                                  ("?",), source=stmt, remote=True))
            elif str(fn.name).lower() == "set_config" and len(fn.expressions) > 1 and \
                    fn.expressions[1].find(exp.Column, exp.Subquery, exp.Query) is not None:
                out.append(_into_setting(fn, found, stmt, tree))
            if str(fn.name).lower() == "set_config" and any(
                    isinstance(a, exp.Literal) and a.name.lower() in GUARDED_SETTINGS
                    for a in fn.expressions[:1]):
                out.append(_tamper(stmt, "set_config(session_replication_role)"))
    return tuple(out)


def _into_setting(fn: exp.Expression, found: tuple[Intent, ...], stmt: str,
                  tree: exp.Expr | None = None) -> Intent:
    """``set_config(name, value)`` of a value read from tables: an export of the columns the
    value reads into a setting, which ``current_setting``/``SHOW`` read back unmasked and other
    sessions see (``application_name`` in ``pg_stat_activity``). A literal is no export; a
    column compared in the statement's WHERE is not in the value.

    >>> i = _inner("SELECT set_config('application_name', (SELECT string_agg(ssn, ',') FROM c), "
    ...            "false)", analyze_sql("SELECT ssn FROM c", "postgres").intents)[0]
    >>> (i.action, i.columns)
    ('sql.export', ('ssn',))
    >>> s = "SELECT set_config('jg.city', city, false) FROM c WHERE ssn IS NOT NULL AND id = 2"
    >>> _inner(s, analyze_sql(s, "postgres").intents)[0].columns
    ('city',)
    """
    mine = _value_columns(fn, tree) or tuple(dict.fromkeys(
        c for i in found for c in i.columns)) or ("?",)   # aliases and CTEs rename columns on
    # the way: when the value cannot be read apart, every column the statement reads counts
    reads = tuple(r for i in found for r in i.reads)
    return Intent("sql.export", "variable", "a setting (set_config(), seen by SHOW, "
                  "current_setting() and, for application_name, every other session)", mine,
                  reads, source=stmt, detail="setting")


def _value_columns(fn: exp.Expression, tree: exp.Expr | None) -> tuple[str, ...]:
    """The columns ``fn``'s value reads, when ``fn`` is an output of the statement's top-level
    SELECT: that SELECT with only the value as its output and no WHERE/HAVING, read by the
    analysis (CTEs, derived tables and aliases resolved). Empty when it cannot be told."""
    if not isinstance(tree, exp.Select) or len(fn.expressions) < 2:
        return ()
    node: exp.Expr | None = fn
    while node is not None and node.parent is not tree:
        node = node.parent
    if node is None or node.arg_key != "expressions" or fn.find_ancestor(exp.Select) is not tree:
        return ()
    q = tree.copy()
    q.set("expressions", [fn.expressions[1].copy()])
    for key in ("where", "having", "qualify", "order"):
        q.set(key, None)
    try:
        cols = [c for i in analyze_sql(q.sql(dialect="postgres"), "postgres").intents
                for c in i.columns]
    except (ParseError, TokenError):
        return ()
    return tuple(dict.fromkeys(cols))


def _into_large_object(fn: exp.Expression, found: tuple[Intent, ...], stmt: str) -> Intent:
    """An export of the columns ``fn``'s arguments read into a large object (every column the
    statement reads when they cannot be told apart).

    >>> i = _inner("SELECT lo_from_bytea(0, convert_to(c.email, 'UTF8')) FROM customers c "
    ...            "WHERE c.id = 7", analyze_sql("SELECT c.email, c.id FROM customers c", "postgres"
    ...            ).intents)[0]
    >>> (i.action, i.columns)
    ('sql.export', ('customers.email',))
    """
    names = {c.name.lower() for c in fn.find_all(exp.Column)}
    cols = tuple(c for i in found for c in i.columns)
    mine = tuple(c for c in cols if c.lower().rsplit(".", 1)[-1] in names) or cols or ("?",)
    reads = tuple(r for i in found for r in i.reads)
    return Intent("sql.export", "file", f"a large object ({fn.name}())", mine, reads, source=stmt,
                  detail="large object")


def _dollar_body(stmt: str, words: list[tuple[str, str]]) -> str:
    """The body of a DO block or function: the first dollar-quoted string, else the first string."""
    m = re.search(r"(\$[A-Za-z_0-9]*\$)(.*?)\1", stmt, re.S)
    if m:
        return m.group(2)
    return next((w for k, w in words if k in ("STRING", "HEREDOC_STRING")), "")


def _literal(rest: str) -> str | None:
    """The SQL of ``EXECUTE <rest>`` when it is one string literal (``INTO``/``USING`` aside)."""
    try:
        toks = sqlglot.tokenize(rest, read="postgres")
    except TokenError:
        return None
    if toks and toks[0].token_type.name == "STRING" and (
            len(toks) == 1 or toks[1].text.upper() in ("INTO", "USING")):
        return str(toks[0].text)
    return None


def _body(body: str, stmt: str, what: str) -> tuple[Intent, ...]:
    """A plpgsql body: literal ``EXECUTE 'sql'`` analysed as SQL; ``EXECUTE`` of text built at run
    time is marked for the effect check; server-side actions written in the body are found."""
    out: list[Intent] = [Intent("sql.other", source=stmt, detail=what)]
    out.extend(i for i in [body_export(body, stmt, what, what != "DO block")] if i is not None)
    try:
        pieces = split(body)
    except TokenError:
        return (Intent("sql.unparsed", source=stmt),)
    for piece in pieces:
        toks = sqlglot.tokenize(piece, read="postgres")
        for t in toks:
            if t.text.upper() == "EXECUTE":
                sql = _literal(piece[t.end + 1:])
                if sql is None:
                    out.append(Intent("sql.other", source=stmt, detail=f"{what}: dynamic EXECUTE"))
                else:
                    out.extend(i.with_(source=stmt) for i in analyze_postgres(sql).intents)
                break
            if t.text.upper() in _BODY_SQL:
                text = piece[t.start:]
                text = "SELECT" + text[len("PERFORM"):] if t.text.upper() == "PERFORM" else text
                out.extend(i.with_(source=stmt, columns=("?",) if i.detail == "setting" else
                                   i.columns)   # a plpgsql variable hides what it holds
                           for i in analyze_postgres(text).intents
                           if i.action in ("guard.tamper", "sql.export") or i.remote)
                break
    if len(_SET_CONFIG.findall(body)) > len(_SET_CONFIG_LITERAL.findall(body)) and not any(
            i.detail == "setting" for i in out):   # RETURN, :=, IF ...: set_config anywhere
        out.append(Intent("sql.export", "variable", f"a setting (set_config() of a value "
                          f"computed in a {what})", ("?",), source=stmt, detail="setting"))
    return tuple(out)


_SET_CONFIG = re.compile(r"\bset_config\s*\(", re.IGNORECASE)
_SET_CONFIG_LITERAL = re.compile(r"\bset_config\s*\(\s*'(?:[^']|'')*'\s*,\s*'(?:[^']|'')*'\s*,",
                                 re.IGNORECASE)


def dynamic(intents: tuple[Intent, ...]) -> bool:
    """Whether a DO block or function runs SQL built at run time."""
    return any(i.detail.endswith("dynamic EXECUTE") for i in intents)
