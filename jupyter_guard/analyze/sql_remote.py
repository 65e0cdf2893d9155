"""DuckDB's postgres and mysql extensions: calls of their functions in any statement, which run
SQL text in another database (never read by the guard in that database's dialect, never
measured) or read its tables through the extension (``sql.py`` adds their intents to DuckDB's).
"""
from __future__ import annotations

from itertools import pairwise

import sqlglot
from sqlglot.errors import TokenError

from jupyter_guard.model import Intent

REMOTE_SQL = frozenset({"postgres_execute", "postgres_query", "mysql_execute", "mysql_query"})
REMOTE_READS = {"postgres_scan": "postgres", "postgres_scan_pushdown": "postgres",
                "postgres_attach": "postgres", "mysql_scan": "mysql", "mysql_attach": "mysql"}


def remote_calls(text: str) -> tuple[Intent, ...]:
    """Calls of the extensions' functions, found on the tokens (any statement form, ``CALL``
    included).

    >>> [(i.action, i.target) for i in remote_calls("CALL postgres_execute('pg', 'DROP TABLE t')")]
    [('sql.outside', 'postgres_execute'), ('sql.extension', 'postgres')]
    """
    if "_" not in text:
        return ()
    low = text.lower()
    if not any(name in low for name in (*REMOTE_SQL, *REMOTE_READS)):
        return ()
    out: list[Intent] = []
    for name in _called(text):
        if name in REMOTE_SQL:
            out.append(Intent("sql.outside", "database", name, source=text, detail=(
                f"{name}() runs SQL in another database that the guard neither reads nor "
                "measures; connect with that database's own driver (psycopg, %%guarded_sql "
                "postgresql://...)")))
        if name in REMOTE_SQL or name in REMOTE_READS:
            server = REMOTE_READS.get(name) or name.split("_", 1)[0]
            out.append(Intent("sql.extension", "none", server, source=text,
                              detail=f"{name}() loads the extension"))
    return tuple(out)


def _called(text: str, depth: int = 0) -> list[str]:
    """Names followed by ``(`` (lower case); the text of a command sqlglot keeps whole (``CALL
    f(...)``) is read the same way."""
    try:
        tokens = sqlglot.tokenize(text, read="duckdb")
    except TokenError:
        return []
    out: list[str] = []
    for tok, nxt in pairwise(tokens):
        if tok.token_type.name == "COMMAND" and depth < 2:
            out += _called(nxt.text, depth + 1)
        elif nxt.token_type.name == "L_PAREN":
            out.append(tok.text.lower())
    return out
