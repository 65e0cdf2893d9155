"""Database programs (``sqlite3``, ``duckdb``, ``datasette``…) given a database file: what they
write out of it, judged by what their commands do.

Their output going to a file or a pipe is every table they read, unmasked, unless every
statement only counts (``SELECT count(*) FROM customers``: numbers, not one value of a row).
Commands that write files (``.output``, ``.dump``, ``COPY … TO``, ``EXPORT DATABASE``,
``VACUUM INTO``, ``ATTACH``) export whatever reaches them wherever the output goes. Programs that
serve the file over the network (``datasette``, ``sqlite_web``) are left to ``shell_serve``.

Pure: the caller hands in how to tell a database file (``Reader.database``).
"""
from __future__ import annotations

import re

from jupyter_guard.analyze.children import Reader
from jupyter_guard.analyze.shell_copies import export, looked_up
from jupyter_guard.model import Intent

DB_CLIS = frozenset({"sqlite3", "sqlite", "duckdb", "litecli", "sqlite-utils", "sqlitebrowser",
                     "datasette", "harlequin", "usql"})
"""Programs that open a database file and print or write its tables."""
_WRITES_FILES = re.compile(
    r"(?ims)^\s*\.(output|once|excel|save|backup|dump|clone|import|shell|system|log)\b|"
    r"(^|;)\s*(copy|export|attach|install|load|vacuum\b[^;]*\binto)\b")
_SQL_OPTS = frozenset({"-c", "-cmd", "-s", "--command"})
_VALUE_OPTS = frozenset({"-init", "-separator", "-nullvalue", "-newline", "-vfs", "-maxsize",
                         "-mmap", "-lookaside", "-pagecache", "-heap", "-escape", "-f"})
_FORMAT_DOTS = re.compile(r"(?i)^\s*\.(mode|headers?|separator|nullvalue|width|timer|bail|"
                          r"changes|echo|eqp|print)\b[^\n;]*$")
"""Dot commands that only shape the output (``.mode csv``): they write no file."""


def cli_exports(reader: Reader | None, argv: list[str], source: str, leaves: bool,
                cwd: str = "", stdin: str | None = None, fed: bool = False) -> tuple[Intent, ...]:
    """``sqlite3 wh.db "SELECT * FROM customers" > out.csv``, ``duckdb wh.duckdb -c "COPY
    customers TO 'x.csv'"``, ``sqlite3 wh.db .dump | gzip``: a database program given a
    database file whose output goes to a file or a pipe (``leaves``), or whose commands write
    files (``COPY … TO``, ``EXPORT DATABASE``, ``VACUUM INTO``, ``ATTACH``, ``.output``…, in
    its arguments, its visible input or its ``-init`` file), writes what it reads out of the
    tables without the kernel's masking: an export of every table. Printed to the cell's output
    it is masked like any output; written out, counts alone are numbers, not rows (``fed``: its
    input comes from somewhere the guard cannot see, so it may hold any statement)."""
    if reader is None or reader.database is None or not argv:
        return ()
    prog = argv[0].rpartition("/")[2]
    if prog not in DB_CLIS:
        return ()
    words = [a for a in argv[1:] if not a.startswith("-")]
    inits = [reader.read(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a == "-init"]
    texts = [*argv[1:], stdin or ""] + [t or "" for t in inits]
    if not any(_WRITES_FILES.search(t) for t in texts):
        if not leaves:
            return ()
        given = statements(argv[1:])
        if given and None not in inits and (stdin is not None or not fed) and \
                counts_only([*given, stdin or "", *(t or "" for t in inits)],
                            "sqlite" if prog.startswith("sqlite") else "duckdb"):
            return ()
    found: list[str] = []
    for w in words:   # the database file: the first word, after a verb (``sqlite-utils``)...
        found += [src for src in looked_up(reader, w, cwd, False) if src not in found]
    return tuple(export(src, prog, source) for src in found)


def statements(args: list[str]) -> list[str]:
    """The SQL a command line gives (``-c``/``-cmd`` values, the words after the file).

    >>> statements(["-csv", "x.db", "SELECT 1", "-cmd", ".mode csv"])
    ['.mode csv', 'SELECT 1']
    """
    texts: list[str] = []
    pos: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in _SQL_OPTS or a in _VALUE_OPTS:
            if a in _SQL_OPTS and i + 1 < len(args):
                texts.append(args[i + 1])
            i += 2
            continue
        if not a.startswith("-"):
            pos.append(a)
        i += 1
    return texts + pos[1:]


def counts_only(texts: list[str], dialect: str) -> bool:
    """Every statement is a ``SELECT`` whose every column is a count or a constant (and the dot
    commands only shape the output): what it prints is numbers, never a value of a row.

    >>> counts_only(["SELECT count(*) FROM customers", ".mode csv"], "sqlite")
    True
    >>> counts_only(["SELECT count(*), city FROM c GROUP BY city"], "sqlite")
    False
    >>> counts_only(["SELECT count(*) FROM c; SELECT * FROM c"], "sqlite")
    False
    >>> counts_only([".dump"], "sqlite"), counts_only(["SELECT count(*) OVER () FROM c"], "duckdb")
    (False, False)
    """
    import sqlglot
    from sqlglot import exp

    sql: list[str] = []
    for t in texts:
        for line in t.splitlines():
            if line.lstrip().startswith("."):
                if not _FORMAT_DOTS.match(line):
                    return False
            elif line.strip():
                sql.append(line)
    if not sql:
        return False
    try:
        trees = sqlglot.parse("\n".join(sql), read=dialect)
    except sqlglot.errors.SqlglotError:
        return False   # not understood: judged as a copy
    seen = False
    for tree in trees:
        if tree is None:
            continue
        if not isinstance(tree, exp.Select) or tree.find(exp.Window) is not None:
            return False
        for col in tree.expressions:
            e = col.unalias()
            if not isinstance(e, (exp.Count, exp.ApproxDistinct, exp.Literal)):
                return False
        seen = True
    return seen
