"""The built-in rules (README, "The default policy"): one small pure function each, in ``RULES``
order. The rules about SQL statements are in ``sql_rules``; this module holds the rules about
exports, files, the guard itself, children and dynamic code, and the order of them all.

A rule sees one intent, the policy and the context, and returns a Verdict or None (no opinion).
"""
from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable

from jupyter_guard.model import UNKNOWN, UNSEEN_LATER, Intent, Verdict
from jupyter_guard.policy.context import HELD, Context, RuleFn, bare_table, is_sensitive
from jupyter_guard.policy.context import verdict as _v
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.sql_rules import (
    agent_approval,
    bulk_change,
    destructive_ddl,
    inference,
    own_table,
    sql_outside,
    sql_unknown,
    unparsed,
)

# Importers name the context and the SQL rules from here as they always have.
__all__ = [
    "HELD", "RULES", "Context", "RuleFn", "agent_approval", "bare_table", "bulk_change",
    "child_unread", "destructive_ddl", "destructive_files", "dynamic_code", "exfiltration",
    "guard_file_of", "held_protected", "in_tempdir", "inference", "is_protected", "is_scratch",
    "is_sensitive", "own_table", "self_protection", "sql_outside", "sql_unknown", "unparsed",
]


def exfiltration(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """Exports of sensitive columns, or to a remote place; uploads to hosts not allowed."""
    if i.action == "net.upload":
        if i.target.lower() in p.allow_hosts and UNKNOWN not in i.target:
            return None
        return _v(
            "block",
            "exfiltration",
            f"uploads data to {i.target or 'an unknown host'}, which is not in network.allow_hosts",
            i,
        )
    exporting = i.action in ("sql.export", "df.export") or (
        i.action in ("sql.insert", "sql.create", "sql.replace")
        and (i.remote or i.detail.startswith("attached"))
    )
    if not exporting:
        return None
    where = f"to {i.target}" if i.target not in ("", "*") else "out of the database"
    if i.detail.startswith("attached"):
        where = f"into {i.detail}"
    if i.remote:
        return _v("block", "exfiltration", f"exports data {where}, a remote destination", i)
    if i.detail.startswith("copies database file"):   # every table of it, whatever they hold
        src = i.detail[len("copies database file "):]
        if guard_file_of(src, c):
            return None   # the guard's own file: ``self_protection`` names what it is
        return _v("block", "exfiltration", f"{i.detail} {where}", i)
    sens = [col for col in i.columns if is_sensitive(col, p, c)]
    if sens and i.detail.startswith("server-side code") and \
            p.may("may_unmask", c.user, c.groups):
        return None   # a DO block's notices, a function's result: values the role may see
    if sens:
        return _v(
            "block",
            "exfiltration",
            f"exports sensitive column(s) {', '.join(sorted(set(sens))[:5])} {where}",
            i,
        )
    if i.columns == ("?",) or any(col.endswith("*") for col in i.columns):
        return _v(
            "block",
            "exfiltration",
            f"exports data {where} whose columns the guard could not tell",
            i,
        )
    return None


TEMP_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")


def _full(path: str, cwd: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(cwd, path))


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def in_tempdir(path: str, cwd: str) -> bool:
    """The path is below a system temp folder (``/tmp``, ``/var/tmp``, ``/dev/shm``, ``TMPDIR``).

    >>> in_tempdir("/tmp/x/y", "/home/a"), in_tempdir("/tmp", "/home/a")
    (True, False)
    """
    import tempfile  # (stdlib, with shutil and random) only when a path may be scratch

    full = _full(path, cwd)
    temps = {posixpath.normpath(tempfile.gettempdir()), *TEMP_ROOTS}
    return any(full.startswith(t.rstrip("/") + "/") for t in temps)


def is_scratch(path: str, cwd: str) -> bool:
    """Temp-folder scratch: below a temp folder, and neither inside the notebook's folder nor
    holding it (a notebook folder under ``/tmp``, or a ``TMPDIR`` that contains it, exempts
    nothing of that folder).

    >>> is_scratch("/tmp/s", "/home/a"), is_scratch("/tmp/nb/s", "/tmp/nb")
    (True, False)
    >>> is_scratch("/tmp", "/tmp/nb")
    False
    """
    if UNKNOWN in path:
        return False
    full = _full(path, cwd)
    return in_tempdir(full, cwd) and not _under(full, cwd) and not _under(cwd, full)


def guard_file_of(path: str, c: Context) -> str:
    """The guard's own file this path is (or is inside), else ''."""
    full = _full(path, c.cwd)
    return next((g for g in c.guard_files if g and _under(full, g)), "")


def is_protected(path: str, p: Policy, c: Context) -> bool:
    """Protected wherever it is (temp folder included): a guard file or a ``protected_paths`` match.

    >>> pol = Policy(protected_paths=("*.duckdb",))
    >>> is_protected("/tmp/nb/wh.duckdb", pol, Context(cwd="/tmp/nb"))
    True
    """
    if UNKNOWN in path or path in ("", "?", "*"):
        return True
    full = _full(path, c.cwd)
    if guard_file_of(full, c):
        return True
    rel = posixpath.relpath(full, c.cwd) if full.startswith(c.cwd + "/") else full
    base = posixpath.basename(full)
    for pat in p.protected_paths:
        pat_l = pat.lower()
        if fnmatch.fnmatch(base.lower(), pat_l) or fnmatch.fnmatch(rel.lower(), pat_l):
            return True
        if pat.endswith("/**") and (rel + "/").lower().startswith(pat_l[:-2]):
            return True
        if pat.endswith("/**") and (full + "/").lower().find("/" + pat_l[:-2]) >= 0:
            return True
    return False


def held_protected(path: str, p: Policy, c: Context) -> str:
    """A protected file (or guard file) inside the folder ``path``, else ''.

    >>> c = Context(cwd="/w", guard_files=("/tmp/a/audit.duckdb",), walk=lambda d: [d + "/x.csv"])
    >>> held_protected("/tmp/a", Policy(), c), held_protected("/tmp/b", Policy(), c)
    ('/tmp/a/audit.duckdb', '')
    """
    full = _full(path, c.cwd)
    inside = next((g for g in c.guard_files if g and g.startswith(full.rstrip("/") + "/")), "")
    if inside or c.walk is None:
        return inside
    return next((f for f in c.walk(full) if is_protected(f, p, c)), "")


_VERBS = {"file.delete": "deletes", "file.move": "moves", "file.truncate": "overwrites",
          "file.write": "writes to"}


def destructive_files(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """Deletes, moves and truncating writes of protected paths and the guard's own files,
    wherever they are (temp folder included); recursive deletes anywhere but temp-folder scratch
    that holds no protected file.

    >>> pol = Policy(protected_paths=("*.duckdb",))
    >>> rm = Intent("file.delete", "path", "w.duckdb")
    >>> destructive_files(rm, pol, Context(cwd="/tmp/nb")).rule_id
    'destructive-files'
    >>> scratch = Intent("file.delete", "path", "/tmp/s", recursive=True)
    >>> destructive_files(scratch, pol, Context(cwd="/w"))
    """
    if i.action == "shell.exec" and (i.detail in ("dynamic command", "nesting too deep")):
        return _v(
            "block",
            "destructive-files",
            f"runs a shell command the guard cannot read ({i.detail})",
            i,
        )
    if i.action not in _VERBS:
        return None
    if UNKNOWN in i.target and c.runtime_checks and i.detail != UNSEEN_LATER:
        return None  # a path known only at run time: the runtime layer decides on the real one
    verb = "takes access away from" if i.detail == "chmod" else _VERBS[i.action]
    if i.detail == UNSEEN_LATER:
        return _v("block", "destructive-files", f"{verb} {i.detail} ($(...), `...` or a variable "
                  "that is not set); write the file's name in the command", i)
    if UNKNOWN not in i.target and guard_file_of(i.target, c):
        return _v("block", "self-protection", f"{verb} protected path {i.target}", i)
    unknown = _unknown_program(i)
    if unknown:   # a program with no rule was handed this path: it may change it
        if unknown in p.allow_unread or not (is_protected(i.target, p, c)
                                             or glob_protected(i.target, p, c)):
            return None
        return _v("block", "destructive-files", f"hands protected path {i.target} to {unknown}, "
                  "which the guard does not know (it may change it); a team that trusts it "
                  "lists it in children.allow_unread", i)
    if i.action == "file.write":
        return None
    if is_protected(i.target, p, c):
        return _v("block", "destructive-files", f"{verb} protected path {i.target}", i)
    held_glob = glob_protected(i.target, p, c)
    if held_glob:
        return _v("block", "destructive-files", f"{verb} {i.target}, which names protected "
                  f"file {held_glob}", i)
    if (i.action in ("file.delete", "file.move") or (i.action == "file.truncate" and i.recursive)
            ) and UNKNOWN not in i.target:   # a folder copied over one overwrites what it holds
        held = held_protected(i.target, p, c)
        if held:
            rule = "self-protection" if guard_file_of(held, c) else "destructive-files"
            return _v("block", rule, f"{verb} {i.target}, which holds protected file {held}", i)
    if i.action == "file.delete" and i.recursive and not is_scratch(i.target, c.cwd):
        return _v("block", "destructive-files", f"deletes {i.target} recursively", i)
    return None


def _unknown_program(i: Intent) -> str:
    """The program a ``shell_unknown`` intent names ('' for any other intent)."""
    # late: the analysis's wording is the contract between the two
    from jupyter_guard.analyze.shell_unknown import UNKNOWN_PROGRAM

    if i.detail.endswith(UNKNOWN_PROGRAM):
        return i.detail[:-len(UNKNOWN_PROGRAM)].strip()
    return ""


def glob_protected(path: str, p: Policy, c: Context) -> str:
    """A protected file a shell pattern (``d?ta/*.csv``, ``{a,data}/x``) names, as the shell
    would expand it ('' if none, or no way to look).

    >>> glob_protected("x.csv", Policy(), Context())
    ''
    """
    if c.walk is None or UNKNOWN in path or not any(ch in path for ch in "*?[{"):
        return ""
    pats = _braces(_full(path, c.cwd))
    roots = {posixpath.dirname(q.split("*")[0].split("?")[0].split("[")[0]) or "/" for q in pats}
    for root in roots:
        for f in c.walk(root):
            if f == UNKNOWN:
                return f   # too many files to look at: the pattern may name any of them
            if any(_globs(f, q) for q in pats) and (is_protected(f, p, c)
                                                    or held_protected(f, p, c)):
                return f
    return ""


def _globs(path: str, pat: str) -> bool:
    """Whether the shell pattern ``pat`` names ``path``: one pattern per path segment, as the
    shell expands it (``*`` never crosses a ``/``).

    >>> _globs("/w/data/keep.csv", "/w/d?ta/*.csv"), _globs("/w/data/keep.csv", "/w/*.csv")
    (True, False)
    >>> _globs("/w/data/keep.csv", "/w/**/keep.csv"), _globs("/w/c2.html", "/w/**/../c2.html")
    (True, False)
    """
    if "**" not in pat:
        a, b = path.split("/"), pat.rstrip("/").split("/")
        return len(a) == len(b) and all(fnmatch.fnmatchcase(x, y)
                                        for x, y in zip(a, b, strict=True))
    # ``**``: any number of folders (a relative path after ``cd`` to a folder known at run time)
    rx = "".join("(?:[^/]+/)*" if seg == "**" else _segment(seg) + "/"
                 for seg in pat.rstrip("/").split("/"))
    return re.fullmatch(rx[:-1], path) is not None


def _segment(seg: str) -> str:
    """One path segment of a shell pattern as a regex that never crosses a ``/``."""
    return "".join("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch)
                   for ch in seg)


def _braces(pat: str) -> list[str]:
    """``{a,b}/x`` -> ``a/x``, ``b/x`` (bash brace expansion, nested too, bounded).

    >>> _braces("{a,b}/x")
    ['a/x', 'b/x']
    """
    out: list[str] = []
    todo = [pat]
    while todo and len(out) < 256:
        q = todo.pop(0)
        m = re.search(r"\{([^{}]*,[^{}]*)\}", q)
        if m is None:
            out.append(q)
            continue
        todo[:0] = [q[:m.start()] + alt + q[m.end():] for alt in m.group(1).split(",")]
    return out


def self_protection(i: Intent, p: Policy, c: Context) -> Verdict | None:
    if i.action == "guard.tamper":
        return _v(
            "block",
            "self-protection",
            f"this cell tries to switch off or bypass the guard: {i.target}",
            i,
        )
    return None


def dynamic_code(i: Intent, p: Policy, c: Context) -> Verdict | None:
    if i.action == "code.dynamic":
        return _v(
            "warn",
            "dynamic-code",
            f"runs code the guard cannot read before it runs ({i.detail or 'dynamic'}); "
            "the runtime layer checks what it does",
            i,
        )
    return None


def child_unread(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """A child whose code the guard cannot read, unless ``children.allow_unread`` names it.

    >>> child_unread(Intent("child.unread", "command", "make"), Policy(), Context()).rule_id
    'child-unread'
    >>> make = Intent("child.unread", "command", "make")
    >>> child_unread(make, Policy(allow_unread=("make",)), Context())
    """
    if i.action != "child.unread" or i.target in p.allow_unread:
        return None
    # late: a guarded child's first file write judges it without the child analysis
    from jupyter_guard.analyze.children import NOT_YET

    if c.runtime_checks and i.detail.startswith(NOT_YET):
        return None   # a script the cell may write first: judged again when the child starts
    return _v("block", "child-unread", f"runs {i.target}, whose code the guard cannot read "
              f"({i.detail}); a team that trusts it lists it in children.allow_unread", i)


RULES: tuple[tuple[str, Callable[[Intent, Policy, Context], Verdict | None]], ...] = (
    ("sql-parse-error", unparsed),
    ("sql-unknown", sql_unknown),
    ("sql-outside", sql_outside),
    ("self-protection", self_protection),
    ("destructive-ddl", destructive_ddl),
    ("bulk-change", bulk_change),
    ("exfiltration", exfiltration),
    ("inference", inference),
    ("destructive-files", destructive_files),
    ("child-unread", child_unread),
    ("agent-approval", agent_approval),
    ("dynamic-code", dynamic_code),
)
