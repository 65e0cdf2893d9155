"""Every statement type DuckDB's parser can return, and what a statement of that type can do.

``STATEMENT_TYPES`` has one entry per ``duckdb.StatementType`` member (a test walks the enum);
``SUBKINDS`` refines a type by its leading words where one type covers statements of very
different reach (``CREATE SECRET`` is a ``CREATE``; ``INSTALL`` is a ``LOAD``; ``IMPORT DATABASE``
is a ``PRAGMA``). A type or sub-kind without an entry is refused (rule ``sql-unknown``).

Capabilities: ``read`` (reads data), ``rows`` (can change rows), ``schema`` (can change the
catalog), ``files`` (reads or writes files outside the database), ``network``, ``code`` (loads
native code or runs SQL the guard has not read). A statement with ``rows`` or ``schema`` is run
by the effect check (``enforce.effect``) where the connection allows it; ``files``, ``network``
and ``code`` are decided before it runs. Pure: no DuckDB import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

READ, ROWS, SCHEMA, FILES, NETWORK, CODE = "read", "rows", "schema", "files", "network", "code"


@dataclass(frozen=True)
class Kind:
    name: str
    caps: frozenset[str]
    note: str = ""

    @property
    def writes(self) -> bool:
        """Can change rows or the catalog: run inside the guard's measured transaction."""
        return bool(self.caps & {ROWS, SCHEMA})

    @property
    def outside(self) -> bool:
        """Reaches outside the database: decided before it runs."""
        return bool(self.caps & {FILES, NETWORK, CODE})


def _k(name: str, *caps: str, note: str = "") -> Kind:
    return Kind(name, frozenset(caps), note)


STATEMENT_TYPES: dict[str, Kind] = {
    "SELECT": _k("SELECT", READ, ROWS, note="writable CTEs and table functions can change rows"),
    "INSERT": _k("INSERT", READ, ROWS, note="OR REPLACE / ON CONFLICT DO UPDATE change rows"),
    "UPDATE": _k("UPDATE", READ, ROWS),
    "DELETE": _k("DELETE", READ, ROWS, note="TRUNCATE is reported as DELETE"),
    "MERGE_INTO": _k("MERGE_INTO", READ, ROWS, note="WHEN MATCHED THEN DELETE|UPDATE"),
    "CREATE": _k("CREATE", READ, ROWS, SCHEMA, note="OR REPLACE replaces a table"),
    "ALTER": _k("ALTER", ROWS, SCHEMA, note="RENAME, DROP COLUMN, SET DATA TYPE ... USING"),
    "DROP": _k("DROP", SCHEMA),
    "TRANSACTION": _k("TRANSACTION", note="BEGIN / COMMIT / ROLLBACK"),
    "COPY": _k("COPY", READ, ROWS, FILES, note="COPY t TO file writes a file; FROM loads rows"),
    "EXPORT": _k("EXPORT", READ, FILES, note="EXPORT DATABASE writes every table to a folder"),
    "ATTACH": _k("ATTACH", SCHEMA, FILES, NETWORK, note="opens (or creates) a database file/URL"),
    "DETACH": _k("DETACH", SCHEMA),
    "PRAGMA": _k("PRAGMA", READ, note="settings and catalog functions; see SUBKINDS"),
    "SET": _k("SET", note="SET / RESET / USE"),
    "VARIABLE_SET": _k("VARIABLE_SET"),
    "CALL": _k("CALL", READ, ROWS, SCHEMA, note="table functions; CHECKPOINT"),
    "EXPLAIN": _k("EXPLAIN", READ, note="EXPLAIN ANALYZE runs the statement it explains"),
    "PREPARE": _k("PREPARE", note="classed by the statement it prepares"),
    "EXECUTE": _k("EXECUTE", READ, ROWS, SCHEMA, note="runs a prepared statement"),
    "LOAD": _k("LOAD", NETWORK, CODE, note="INSTALL downloads, LOAD runs native code"),
    "VACUUM": _k("VACUUM", note="VACUUM / ANALYZE: statistics and space"),
    "ANALYZE": _k("ANALYZE"),
    "MULTI": _k("MULTI", READ, note="PIVOT"),
    "CREATE_FUNC": _k("CREATE_FUNC", SCHEMA),
    "COPY_DATABASE": _k("COPY_DATABASE", READ, ROWS, SCHEMA, FILES),
    "EXTENSION": _k("EXTENSION", CODE, note="statements of parser extensions: unread SQL"),
    # Never produced from text; the guard has no way to know what they do.
    "INVALID": _k("INVALID", CODE), "RELATION": _k("RELATION", CODE),
    "LOGICAL_PLAN": _k("LOGICAL_PLAN", CODE),
}
# Types refused whatever they contain: nothing a notebook writes as text produces them.
REFUSED_TYPES = frozenset({"INVALID", "RELATION", "LOGICAL_PLAN", "EXTENSION"})

# (type, leading words) -> kind, longest words first.
SUBKINDS: dict[tuple[str, str], Kind] = {
    ("CREATE", "CREATE SECRET"): _k("CREATE SECRET", NETWORK, FILES,
                                       note="credentials; PERSISTENT writes a file"),
    ("CREATE", "CREATE PERSISTENT SECRET"): _k("CREATE PERSISTENT SECRET", NETWORK, FILES),
    ("CREATE", "CREATE TEMPORARY SECRET"): _k("CREATE TEMPORARY SECRET", NETWORK),
    ("CREATE", "CREATE MACRO"): _k("CREATE MACRO", SCHEMA),
    ("CREATE", "CREATE FUNCTION"): _k("CREATE FUNCTION", SCHEMA),
    ("CREATE", "CREATE TEMP MACRO"): _k("CREATE TEMP MACRO", SCHEMA),
    ("CREATE", "CREATE TEMPORARY MACRO"): _k("CREATE TEMPORARY MACRO", SCHEMA),
    ("DROP", "DROP SECRET"): _k("DROP SECRET", FILES),
    ("DROP", "DROP PERSISTENT SECRET"): _k("DROP PERSISTENT SECRET", FILES),
    ("LOAD", "INSTALL"): _k("INSTALL", NETWORK, CODE, FILES),
    ("LOAD", "FORCE INSTALL"): _k("FORCE INSTALL", NETWORK, CODE, FILES),
    ("LOAD", "LOAD"): _k("LOAD", CODE),
    ("PRAGMA", "IMPORT DATABASE"): _k("IMPORT DATABASE", ROWS, SCHEMA, FILES, CODE,
                                      note="runs the SQL files of a folder"),
    ("PRAGMA", "COPY FROM DATABASE"): _k("COPY FROM DATABASE", READ, ROWS, SCHEMA, FILES),
    ("CALL", "CHECKPOINT"): _k("CHECKPOINT", FILES, note="writes committed data to the file"),
    ("CALL", "FORCE CHECKPOINT"): _k("FORCE CHECKPOINT", FILES, CODE,
                                     note="aborts other connections' transactions"),
    ("EXPLAIN", "EXPLAIN ANALYZE"): _k("EXPLAIN ANALYZE", READ, ROWS, SCHEMA,
                                       note="executes the statement it explains"),
}

# Leading words of statements sqlglot keeps only as text (``exp.Command``), for the dialects the
# guard reads with sqlglot (SQLAlchemy connections). Anything else is ``sql-unknown``.
COMMANDS: dict[str, Kind] = {
    **{w: _k(w, READ) for w in ("SHOW", "DESCRIBE", "SUMMARIZE", "EXPLAIN", "FETCH", "PIVOT",
                                "UNPIVOT", "WITH", "SELECT", "VALUES", "TABLE", "FROM")},
    **{w: _k(w) for w in ("SET", "RESET", "USE", "DISCARD", "LISTEN", "UNLISTEN", "DEALLOCATE",
                          "CLOSE", "DECLARE", "BEGIN", "START", "COMMIT", "END", "ROLLBACK",
                          "ABORT", "SAVEPOINT", "RELEASE", "PREPARE", "CHECKPOINT", "ANALYZE",
                          "VACUUM", "PRAGMA", "COMMENT", "REFRESH", "REINDEX", "CLUSTER", "LOCK")},
    **{w: _k(w, ROWS, SCHEMA) for w in ("INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT",
                                        "REPLACE", "TRUNCATE", "CREATE", "ALTER", "DROP",
                                        "GRANT", "REVOKE", "RENAME", "ATTACH", "DETACH",
                                        "COPY", "UNLOAD", "EXPORT", "IMPORT")},
    # Run code the guard has not read: procedural blocks, stored procedures, EXECUTE of a
    # prepared or dynamic statement.
    **{w: _k(w, ROWS, SCHEMA, CODE) for w in ("DO", "CALL", "EXEC", "EXECUTE")},
    "LOAD": _k("LOAD", CODE), "INSTALL": _k("INSTALL", NETWORK, CODE),
}

_WORDS = re.compile(r"[A-Za-z_]+")


def leading_words(query: str, n: int = 3) -> str:
    """
    >>> leading_words("  create  or replace persistent secret s (type s3)")
    'CREATE PERSISTENT SECRET'
    """
    body = _strip_comments(query)
    words = [w.upper() for w in _WORDS.findall(body[:200])]
    words = [w for w in words if w not in ("OR", "REPLACE", "IF", "NOT", "EXISTS")]
    return " ".join(words[:n])


def _strip_comments(query: str) -> str:
    return re.sub(r"--[^\n]*|/\*.*?\*/", " ", query, flags=re.S)


def kind_of(duck_type: str, query: str) -> Kind | None:
    """The entry for one statement; None for a type the table does not know (refused).

    >>> kind_of("LOAD", "INSTALL httpfs").name, kind_of("CREATE", "CREATE TABLE t(a INT)").name
    ('INSTALL', 'CREATE')
    >>> kind_of("NEW_THING", "x") is None
    True
    """
    base = STATEMENT_TYPES.get(duck_type.upper())
    if base is None:
        return None
    if base.name == "EXPLAIN" and explained(query) is not None:   # ANALYZE anywhere in options
        return SUBKINDS[("EXPLAIN", "EXPLAIN ANALYZE")]
    words = leading_words(query, 4)
    best: Kind | None = None
    best_len = 0
    for (t, lead), k in SUBKINDS.items():
        fits = words == lead or words.startswith(lead + " ")
        if t == base.name and fits and len(lead) > best_len:
            best, best_len = k, len(lead)
    return best or base


def explained(query: str) -> str | None:
    """The statement an ``EXPLAIN ANALYZE`` runs, or None for a plain ``EXPLAIN``. ANALYZE (or
    ANALYSE) anywhere in the option list counts, whatever its value: DuckDB runs the statement
    for ``EXPLAIN (FORMAT json, ANALYZE false)`` too.

    >>> explained("EXPLAIN ANALYZE DELETE FROM t"), explained("explain select 1")
    ('DELETE FROM t', None)
    >>> explained("explain(format 'json',analyse true)drop table t")
    'drop table t'
    >>> explained("EXPLAIN (FORMAT 'analyze') SELECT 1") is None
    True
    """
    body = _strip_comments(query)
    m = re.match(r"\s*EXPLAIN\b\s*", body, flags=re.I)
    if not m:
        return None
    rest = body[m.end():]
    analyze = False
    if rest.startswith("("):
        end = _closing(rest)
        if end < 0:
            return None            # DuckDB refuses an unclosed option list: nothing runs
        options = re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", " ", rest[1:end])
        analyze = re.search(r"\bANALY[SZ]E\b", options, flags=re.I) is not None
        rest = rest[end + 1:].lstrip()
    m = re.match(r"ANALY[SZ]E\b\s*(?:VERBOSE\b\s*)?", rest, flags=re.I)
    if m:
        analyze, rest = True, rest[m.end():]
    return rest.strip() if analyze else None


def _closing(text: str) -> int:
    """Index of the parenthesis closing ``text[0]``, quotes respected; -1 when none does."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def extension_name(query: str) -> str:
    """
    >>> extension_name("FORCE INSTALL 'httpfs' FROM community"), extension_name("load spatial;")
    ('httpfs', 'spatial')
    >>> extension_name("CREATE EXTENSION IF NOT EXISTS plpython3u")
    'plpython3u'
    """
    m = re.match(r"\s*(?:FORCE\s+)?(?:INSTALL|LOAD|CREATE\s+EXTENSION(?:\s+IF\s+NOT\s+EXISTS)?)"
                 r"\s+(\"[^\"]*\"|'[^']*'|[^\s;]+)",
                 _strip_comments(query), flags=re.I)
    return m.group(1).strip("'\"").lower() if m else "?"
