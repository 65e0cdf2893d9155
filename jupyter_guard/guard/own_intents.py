"""Intents the guard adds to, or adjusts in, what analysis found, before the policy decides: its
own files opened (the audit store, the server's authority files) by any route, files a statement
writes through a symlink, an overwrite of a file that does not exist yet, and which decisions only
the database can settle."""
from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from jupyter_guard.config import in_store
from jupyter_guard.guard.store_reads import code_words, store_paths, strings_of, words_of
from jupyter_guard.model import UNKNOWN, Intent


def opens_store(intents: tuple[Intent, ...], audit: str) -> tuple[Intent, ...]:
    """Any intent that names the audit store (file, journals, lock, archive, copies) by path,
    through ``open``, ``duckdb.connect``, ``ATTACH`` or ``sqlite3``, is tampering: the store
    is the guard's own, and even a read-only handle could hold it (see README)."""
    out = list(opens_authority(intents))
    if not audit:
        return tuple(out)
    queries = {i.source for i in intents if i.action.startswith("sql.") and i.source}
    for q in queries:   # DuckDB table functions and FROM 'file' read files the hooks miss
        for path in _file_positions(q, store_paths(strings_of(q), audit)):
            out.append(Intent("guard.tamper", "guard", f"reads the guard's audit store {path} "
                              "through SQL; read it outside the kernel (`jupyter guard "
                              "report`)", source=q))
    for i in intents:   # a child reading it (`!cat`, `!duckdb`, `python -c`): by its words
        if i.action in ("shell.exec", "code.dynamic") and not _guard_cli(i.source):
            words = words_of(i.source) if i.action == "shell.exec" else code_words(i.source)
            out += [Intent("guard.tamper", "guard", f"a child process reads the guard's audit "
                           f"store {path}; read it with `jupyter guard report`",
                           source=i.source) for path in store_paths(words, audit)]
    for i in intents:
        path = i.detail if i.action == "sql.attach" else i.target
        if (i.action.startswith("file.") or i.action == "sql.attach") and path and \
                UNKNOWN not in path and in_store(path, audit):
            out.append(Intent("guard.tamper", "guard", f"opens the guard's audit store {path}; "
                              "read it outside the kernel (`jupyter guard report`, DuckDB "
                              "read-only)", source=i.source))
    return tuple(out)


def _file_positions(query: str, found: list[str]) -> list[str]:
    """``found`` less the bare globs (no ``/`` or ``.``: ``'***'``) that stand in the statement
    only as values (``SELECT '***' AS email``, ``WHERE x = '?'``), never where DuckDB reads a file
    (``FROM``, a table function, ``COPY``, ``ATTACH``). Unparsed text keeps them all.

    >>> _file_positions("SELECT id, '***' AS email FROM t", ["***"])
    []
    >>> _file_positions("SELECT * FROM '***'", ["***"]), _file_positions("COPY t TO '*'", ["*"])
    (['***'], ['*'])
    """
    bare = [p for p in found if "/" not in p and "." not in p]
    if not bare:
        return found
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(query, read="duckdb")
    except Exception:  # noqa: BLE001 - text sqlglot cannot read: every string counts as a path
        return found
    as_file: set[str] = set()
    for tree in trees:
        for lit in (tree.find_all(exp.Literal) if tree is not None else ()):
            if not lit.is_string or lit.this not in bare:
                continue
            node: exp.Expr | None = lit.parent
            while node is not None and not isinstance(node, exp.Select):
                if not isinstance(node, (exp.Alias, exp.Binary, exp.Predicate, exp.Paren,
                                         exp.Case, exp.If, exp.Cast, exp.Where, exp.Having,
                                         exp.Func)) or isinstance(node, exp.Anonymous):
                    break   # a table, a table function, COPY/ATTACH, or a node not known here
                node = node.parent
            if node is None or not isinstance(node, exp.Select):
                as_file.add(lit.this)
    return [p for p in found if p not in bare or p in as_file or p not in
            {lit.this for t in trees if t is not None for lit in t.find_all(exp.Literal)}]


def opens_authority(intents: tuple[Intent, ...]) -> tuple[Intent, ...]:
    """Intents that open the jupyter server's key or approval store (``authority_files``): a
    path, a SQL literal, or a shell command word naming one."""
    from jupyter_guard.authority_files import is_authority_file, named_in, names

    out, seen = [], set()
    for i in intents:
        if i.source and i.action.startswith(("sql.", "shell.")) and (i.source in seen or not (
                any(n in i.source for n in names()) or any(c in i.source for c in "*?["))):
            continue   # seen, or no name of the files and no glob in the text
        if i.action.startswith("sql.") and i.source:
            seen.add(i.source)
            found = named_in(strings_of(i.source))
        elif i.action.startswith("shell.") and i.source:   # `cat KEY`, `cp KEY x`: any word
            seen.add(i.source)
            found = named_in(_words(i.source))
        else:
            path = i.detail if i.action == "sql.attach" else i.target
            found = [path] if (i.action.startswith(("file.", "sql.attach")) and path
                               and UNKNOWN not in path and is_authority_file(path)) else []
        out += [Intent("guard.tamper", "guard", f"opens the jupyter server's authority file "
                       f"{p} (its signing key or approvals); no cell may", source=i.source)
                for p in found]
    return tuple(out)


def _words(command: str) -> list[str]:
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:   # unbalanced quotes: the plain words, quotes stripped
        words = [w.strip("'\"") for w in command.split()]
    return [w.split("=", 1)[-1] for w in words]   # --in=KEY, if=KEY


def _new_file(i: Intent) -> Intent:
    """Overwriting a file that does not exist yet only creates it: a write, not a truncation
    (so does copying into a folder). A shell pattern (``w*db``, a name partly computed when the
    command runs) is left to the policy, which expands it against the disk."""
    if i.action == "file.truncate" and UNKNOWN not in i.target and "://" not in i.target and \
            not any(ch in i.target for ch in "*?["):
        try:
            path = os.path.expanduser(i.target)
            # cp x dir/ writes into it; ``cp -r src dir`` over a folder of the same name
            # (recursive) overwrites what it holds
            if not os.path.lexists(path) or (os.path.isdir(path) and not i.recursive):
                return i.with_(action="file.write")
        except (OSError, ValueError):
            pass
    return i


def _real_twins(intents: tuple[Intent, ...]) -> tuple[Intent, ...]:
    """A file a statement names through a symlink (``COPY ... TO 'lnk/keep.csv'`` with
    ``lnk -> data``) is judged by its resolved name too, relative to the kernel's working folder,
    as the Python file rules judge ``open``. Only intents that name a local file pay for it."""
    out = []
    for i in intents:
        if not i.action.startswith("file.") or not i.target or UNKNOWN in i.target or \
                "://" in i.target or i.target in ("?", "*") or \
                not (i.source or "").lstrip().upper().startswith(("COPY", "EXPORT")):
            continue   # only files written by SQL: Python's own file rules resolve their paths
        try:
            full = os.path.abspath(os.path.expanduser(i.target))
            real = os.path.realpath(full)
        except (OSError, ValueError):
            continue   # an unresolvable name stays judged as written
        if real != full:
            out.append(i.with_(target=real))
    return tuple(out)


def needs_database(i: Intent) -> bool:
    """Decisions that only the database can settle (row counts, existence, columns behind ``*``)."""
    return (i.action in ("sql.delete", "sql.update") and i.where in ("filtered", "param")) or \
        i.action == "sql.replace" or (i.action in ("sql.export", "sql.insert", "sql.create")
                                      and any(c.endswith("*") for c in i.columns))


def unbound_frame(i: Intent, namespace: Any) -> bool:
    """An export or a made table whose columns the catalog could not tell because it reads a
    bare name that is not yet a variable: a frame the cell makes before the statement runs
    (``df = ...`` then ``COPY (SELECT * FROM df) TO ...``). Such a statement is judged again
    when it reaches the database, with the frame there to read; before the cell runs it is left
    to that judgement, as SQL built at run time is.

    >>> i = Intent("sql.export", "file", "o.csv", columns=("df.*",), reads=("df",), via="con")
    >>> unbound_frame(i, {}), unbound_frame(i, {"df": 1}), unbound_frame(i.with_(via=""), {})
    (True, False, False)
    """
    if not i.via or not any(c == "?" or c.endswith("*") for c in i.columns):
        return False
    return any("." not in r and r.isidentifier() and r not in namespace for r in i.reads)


def _guard_cli(command: str) -> bool:
    """``jupyter guard …``: the guard's own commands, which refuse what changes the store."""
    words = [w.rpartition("/")[2] for w in command.split()[:3]]
    return words[:2] == ["jupyter", "guard"] or words[:1] == ["jupyter-guard"] or (
        words[1:3] in (["-m", "jupyter_guard.cli"], ["-m", "jupyter_guard"])
        and words[0].startswith("python"))


@lru_cache(maxsize=16)
def resolved_own(names: tuple[str, ...]) -> tuple[str, ...]:
    """The guard's own files, resolved once per set of names (as the runtime layer resolves the
    package and policy file once): a judged file write cost ~30 us more when they were resolved
    per decision. Both the resolved and the absolute names are kept."""
    return tuple(dict.fromkeys(_realpaths(names) + tuple(os.path.abspath(p) for p in names)))


def _realpaths(paths: Iterable[str]) -> tuple[str, ...]:
    """``os.path.realpath`` of each path; files in one folder resolve the folder once (a final
    component that is not a symlink resolves to itself, so this is the same answer)."""
    folders: dict[str, str] = {}
    out = []
    for p in paths:
        head, name = os.path.split(p)
        if not name or name in (".", "..") or os.path.islink(p):
            out.append(os.path.realpath(p))
            continue
        if head not in folders:
            folders[head] = os.path.realpath(head)
        out.append(os.path.join(folders[head], name))
    return tuple(out)
