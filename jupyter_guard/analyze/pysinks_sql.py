"""Python calls that run SQL (``con.execute(sql)``, ``pandas.read_sql``): the SQL is handed to the
SQL analyser when it reads as SQL (``looks_like_sql``) in the dialect of its database.
"""
from __future__ import annotations

import ast

from jupyter_guard.analyze.pysinks_args import Ctx, Handler, arg
from jupyter_guard.analyze.pyvalues import Scope, dotted, receiver, string_of
from jupyter_guard.model import UNKNOWN, Analysis


def sql_call(pos: int = 0, *names: str, dialect: str = "duckdb") -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        node = arg(call, pos, *names)
        text = string_of(node, scope) if node is not None else None
        if text is None or not looks_like_sql(text):
            return Analysis()
        found = ctx.sql(text, dialect)
        unparsed = found.errors or any(i.action == "sql.unparsed" for i in found.intents)
        if unparsed and (UNKNOWN in text or _other_dialect(text, dialect)):
            # only its run-time value, or its connection's own dialect (SQLite's untyped
            # columns), can judge it: the SQL sinks do that, and refuse what they cannot read
            return Analysis()
        via = receiver(call.func.value, scope) if isinstance(call.func, ast.Attribute) else ""
        via = "duckdb" if dotted(call.func, scope).startswith("duckdb.") else via
        return Analysis(tuple(i.with_(via=via) for i in found.intents), found.errors)
    return h


def _other_dialect(text: str, dialect: str) -> bool:
    """``text`` reads as SQL in the dialect of another database the guard wraps at run time.

    >>> _other_dialect("create table t(e, s)", "duckdb"), _other_dialect("DROP TABLE (", "duckdb")
    (True, False)
    """
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    for other in ("sqlite", "postgres"):
        if other != dialect:
            try:
                if all(t is not None for t in sqlglot.parse(text, read=other)):
                    return True
            except (ParseError, TokenError):
                continue
    return False


SQL_KEYWORDS = frozenset({"select", "with", "insert", "update", "delete", "drop", "create", "alter",
                          "truncate", "copy", "export", "attach", "detach", "merge", "replace",
                          "pivot", "unpivot", "summarize", "describe", "show", "install", "load",
                          "pragma", "set", "call", "begin", "commit", "rollback", "from", "import",
                          "vacuum", "checkpoint", "use", "grant", "revoke", "upsert", "values",
                          "explain", "table", "analyze", "reset", "force", "prepare", "execute"})


def looks_like_sql(text: str) -> bool:
    """A string whose first word is an SQL keyword (after comments and parentheses).

    >>> looks_like_sql("  -- note\\n DROP TABLE t"), looks_like_sql("a > 1")
    (True, False)
    """
    body = text
    while True:
        body = body.lstrip().lstrip("(")
        if body.startswith("--"):
            body = body.partition("\n")[2]
        elif body.startswith("/*"):
            body = body.partition("*/")[2]
        else:
            break
    word = body.split(None, 1)[0].lower() if body.split() else ""
    return word.rstrip(";") in SQL_KEYWORDS or word.startswith(UNKNOWN)
