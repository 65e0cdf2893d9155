"""SQL that names the audit store as a file: DuckDB's table functions (``read_blob``,
``read_text``, ``read_csv``, ``read_json``, ``read_parquet``, ``glob``, ...) and replacement scans
(``FROM 'file'``) read files in C++, where the Python file hooks cannot see them. So the guard
reads every path-like string of the statement (literals, quoted names, string parameters) and
refuses one that is, resolves to, or as a glob can match, one of the store's files.

What it cannot read: a path built inside the SQL (``'/x/aud' || 'it.duckdb'``, ``concat``) and a
link to a store file whose name has no ``.`` or ``/``.
"""
from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_STRINGS = re.compile(r"'((?:[^']|'')*)'|\"((?:[^\"]|\"\")*)\"")
_GLOB = re.compile(r"[*?\[]")


def strings_of(query: str, params: Any = None) -> list[str]:
    """Path-like strings of one statement: literals, quoted names, string parameters.

    >>> strings_of("SELECT * FROM read_text('a/b.json') WHERE x = 'X'", ["c.csv", 3])
    ['a/b.json', 'c.csv']
    """
    found = [(a or b).replace("''", "'").replace('""', '"') for a, b in _STRINGS.findall(query)]
    if isinstance(params, dict):
        params = list(params.values())
    if isinstance(params, (list, tuple)):
        found += [p for p in params if isinstance(p, str)]
    return [s for s in found if _pathlike(s)]


_WORDS = re.compile(r"'([^']*)'|\"([^\"]*)\"|([^\s'\"=<>|;&()`,]+)")


def words_of(command: str) -> list[str]:
    """Path-like words of a shell command or of code run by a child (``python -c``): quoted
    strings, and words cut at spaces, quotes, ``=``, redirections and separators.

    >>> words_of("cat ./a/audit.duckdb --db=x.db 2>/dev/null; ls")
    ['./a/audit.duckdb', 'x.db', '/dev/null']
    """
    return [w for w in (a or b or c for a, b, c in _WORDS.findall(command)) if _pathlike(w)]


def code_words(source: str) -> list[str]:
    """Path-like words of Python code run at run time (``exec(...)``): the words inside its
    string literals, not its operators (the ``*`` of ``'x = 1;' * 10`` is no glob).

    >>> code_words("exec('x = 1;' * 10)"), code_words("exec('print(1)', {'f': 'a/audit.duckdb'})")
    ([], ['a/audit.duckdb'])
    """
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):   # not Python as written: every word counts
        return words_of(source)
    return [w for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) for w in words_of(node.value)]


def _pathlike(s: str) -> bool:
    return bool(s) and len(s) < 4096 and ("/" in s or "." in s or _GLOB.search(s) is not None)


def store_paths(strings: Iterable[str], audit: str) -> list[str]:
    """The strings that name one of the audit store's files (a glob that can match one counts)."""
    out = []
    for s in strings:
        path = s[len("file://"):] if s.startswith("file://") else s
        try:
            if _is_store(path, audit) or (_GLOB.search(path) and _glob_hits(path, audit)):
                out.append(s)
        except (OSError, ValueError):   # a name the guard cannot resolve: treated as the store's
            out.append(s)
    return out


@lru_cache(maxsize=4)
def _forms(audit: str) -> tuple[str, ...]:
    """The store's absolute and resolved names, once (the guard keeps its folder in place)."""
    return tuple({os.path.abspath(audit), os.path.realpath(audit)})


def _is_store(path: str, audit: str) -> bool:
    """One of the store's files (``audit.duckdb``, ``audit.duckdb.*``, hidden ingest copies
    ``.audit.duckdb.*``), by absolute and resolved name (the same test as ``config.in_store``,
    with the store's own names resolved once)."""
    path = os.path.expanduser(path)
    # realpath of a relative name resolves only its own parts (one lstat each), then abspath
    for n in (os.path.abspath(path), os.path.realpath(path)):
        for a in _forms(audit):
            head, base = os.path.split(a)
            if n == a or n.startswith((a + ".", os.path.join(head, "." + base + "."))):
                return True
    return False


def _glob_hits(pattern: str, audit: str) -> bool:
    """Whether the glob ``pattern`` can match a store file (``*`` may cross ``/``: stricter than
    DuckDB, never looser). The folder part before the first wildcard is resolved too."""
    full = os.path.abspath(os.path.expanduser(pattern))
    head = _GLOB.search(full)
    cut = full.rfind("/", 0, head.start() if head else len(full))
    real = os.path.join(os.path.realpath(full[:cut] or "/"), full[cut + 1:])
    pats = {full, real}
    return any(fnmatch.fnmatchcase(f, p) for f in _store_listing(audit) for p in pats)


def _store_listing(audit: str) -> list[str]:
    """Every file and folder of the store as it is now (journals included), by both names."""
    out: list[str] = []
    for a in {os.path.abspath(audit), os.path.realpath(audit)}:
        folder, base = os.path.split(a)
        out.append(a)
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for n in names:
            if n.startswith((base, "." + base)):
                p = os.path.join(folder, n)
                out.append(p)
                if os.path.isdir(p):
                    for root, _, files in os.walk(p):
                        out += [os.path.join(root, f) for f in files]
    return out
