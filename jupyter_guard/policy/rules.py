"""The built-in rules (README, "The default policy"): one small pure function each, in ``RULES``
order.

A rule sees one intent, the policy and the context, and returns a Verdict or None (no opinion).
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from jupyter_guard.analyze.children import NOT_YET
from jupyter_guard.model import SQL_WRITES, UNKNOWN, UNSEEN_LATER, Decision, Intent, Verdict
from jupyter_guard.policy.model import Policy


@dataclass(frozen=True)
class Context:
    """Who runs the cell and what the session knows (filled by enforcement)."""

    user: str = ""
    groups: tuple[str, ...] = ()
    actor: str = "human"
    connection: str = ""
    cwd: str = field(default_factory=os.getcwd)
    guard_files: tuple[str, ...] = ()  # audit file, policy file, journal dir
    session_tables: frozenset[str] = frozenset()  # places of tables this session created
    sensitive_columns: frozenset[str] = frozenset()  # known sensitive by lineage/value detection
    runtime_checks: bool = False  # file/shell actions are checked again at run time
    # The files under a folder (absolute paths; ``UNKNOWN`` when there are too many to list), so
    # that deleting or moving a folder that holds a protected file is judged like deleting the
    # file. ``None``: the caller cannot look (text alone), and folders are judged by name.
    walk: Callable[[str], Iterable[str]] | None = field(default=None, compare=False)


class RuleFn(Protocol):
    def __call__(self, i: Intent, p: Policy, c: Context) -> Verdict | None: ...


def _v(decision: Decision, rule: str, reason: str, i: Intent) -> Verdict:
    return Verdict(decision, rule, reason, i)


def bare_table(name: str) -> str:
    """
    >>> bare_table("memory.main.Customers"), bare_table('"s"."t"')
    ('customers', 's.t')
    """
    parts = [x.strip('"').lower() for x in name.split(".") if x]
    while (
        len(parts) > 1
        and parts[0] in ("memory", "main", "temp", "system")
        and parts[0] != parts[-1]
    ):
        parts = parts[1:]
    return ".".join(parts)


def own_table(i: Intent, c: Context) -> bool:
    """A temporary table, or one whose place (``Intent.key``: engine and database, schema,
    table, as ``guard.owned`` resolves the name on its connection) the session created. A
    target the guard could not place has no key and is nobody's own.

    >>> own = Context(session_tables=frozenset({"duckdb(/w/a.duckdb):main.orders"}))
    >>> own_table(Intent("sql.drop", "table", "orders", key="duckdb(/w/a.duckdb):main.orders"), own)
    True
    >>> own_table(Intent("sql.drop", "table", "orders", key="duckdb(/w/b.duckdb):main.orders"), own)
    False
    >>> own_table(Intent("sql.drop", "table", "orders"), own)   # a bare name is no place
    False
    """
    return i.temporary or (bool(i.key) and UNKNOWN not in i.target and i.key in c.session_tables)


def destructive_ddl(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """DROP/TRUNCATE/DROP COLUMN/CREATE OR REPLACE of an existing table, unless temp or ours.

    >>> destructive_ddl(Intent("sql.drop", "table", "customers"), Policy(), Context()).rule_id
    'destructive-ddl'
    """
    if i.action not in ("sql.drop", "sql.truncate", "sql.drop_column", "sql.replace", "sql.rename"):
        return None
    if own_table(i, c):
        return None
    if i.action == "sql.replace" and i.estimated_rows == -1:   # enricher: table does not exist yet
        return None
    what = {
        "sql.drop": f"drops {i.target_kind} {i.target}",
        "sql.truncate": f"empties table {i.target}",
        "sql.drop_column": f"drops column(s) {', '.join(i.columns)} of {i.target}",
        "sql.replace": f"replaces existing table {i.target}",
        "sql.rename": f"renames a {i.detail.split()[-1] if i.detail else 'table'} of {i.target}",
    }[i.action]
    if i.detail.startswith("RENAME") and i.action != "sql.rename":   # PostgreSQL renames (measured)
        what = f"renames {i.target_kind} {i.target} ({i.detail})"
    return _v("block", "destructive-ddl", f"this {what}, which this session did not create", i)


def bulk_change(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """DELETE/UPDATE with no WHERE, an always-true WHERE, or more rows than max_affected_rows,
    unless the table is temporary or the session's own by its place (``own_table``): emptying
    it is what ``TRUNCATE`` of it may do too.

    >>> bulk_change(Intent("sql.delete", "table", "orders", where="none"), Policy(),
    ...             Context()).rule_id
    'bulk-change'
    >>> mine = Context(session_tables=frozenset({"pg(h:5432/db@1):public.scratch#7"}))
    >>> bulk_change(Intent("sql.delete", "table", "scratch", where="none",
    ...                    key="pg(h:5432/db@1):public.scratch#7"), Policy(), mine) is None
    True
    >>> bulk_change(Intent("sql.delete", "table", "scratch", where="none",
    ...                    key="pg(h:5432/other@1):public.scratch#7"), Policy(), mine).rule_id
    'bulk-change'
    """
    if i.action not in ("sql.delete", "sql.update") or own_table(i, c):
        return None
    verb = "deletes" if i.action == "sql.delete" else "updates"
    rows = f", {i.estimated_rows} rows" if i.estimated_rows is not None and i.estimated_rows >= 0 \
        else ""
    if i.where == "none":
        return _v("block", "bulk-change", f"{verb} every row of {i.target} (no WHERE clause{rows})",
                  i)
    if i.where == "always":
        return _v("block", "bulk-change", f"{verb} every row of {i.target} (the WHERE clause is "
                  f"always true{rows})", i)
    if i.where in ("unknown", "param") or i.estimated_rows is None:
        return _v(
            "block",
            "bulk-change",
            f"{verb} rows of {i.target} and the guard could not count them",
            i,
        )
    if i.estimated_rows > p.max_affected_rows:
        return _v(
            "block",
            "bulk-change",
            f"{verb} {i.estimated_rows} rows of {i.target}, more than "
            f"max_affected_rows={p.max_affected_rows}",
            i,
        )
    return None


# An origin named ``held:<table>.<column>``: a column the guard saw receive sensitive values
# (values bound as parameters of an INSERT or UPDATE), whatever its name.
HELD = "held:"


def is_sensitive(col: str, p: Policy, c: Context) -> bool:
    return p.is_sensitive_column(col) or col.lower() in c.sensitive_columns or \
        col.rsplit(".", 1)[-1].lower() in c.sensitive_columns or col.startswith(HELD)


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


def inference(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """A query comparing a sensitive column with a constant (``ssn LIKE '123%'``), which answers
    yes/no questions about single values, for roles that may not unmask them.

    >>> inference(Intent("sql.predicate", "column", "customers.ssn"),
    ...           Policy(sensitive_columns=("*ssn*",)), Context()).rule_id
    'inference'
    """
    if i.action not in ("sql.predicate", "sql.fragment") or p.inference == "allow":
        return None
    if not is_sensitive(i.target, p, c) or p.may("may_unmask", c.user, c.groups):
        return None
    if i.action == "sql.fragment":
        return _v(p.inference, "inference", f"fetches pieces of sensitive column {i.target} too "
                  f"short to mask ({i.detail}), which reveal single values piece by piece; "
                  "aggregate them, or ask someone whose role may unmask", i)
    return _v(p.inference, "inference", f"compares sensitive column {i.target} with a constant "
              f"({i.source[:60]}), which reveals single values; compare or join it with another "
              "column, or ask someone whose role may unmask", i)


def in_tempdir(path: str, cwd: str) -> bool:
    """The path is below a system temp folder (``/tmp``, ``/var/tmp``, ``/dev/shm``, ``TMPDIR``).

    >>> in_tempdir("/tmp/x/y", "/home/a"), in_tempdir("/tmp", "/home/a")
    (True, False)
    """
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
    if i.action == "file.write":
        return None
    if is_protected(i.target, p, c):
        return _v("block", "destructive-files", f"{verb} protected path {i.target}", i)
    if i.action in ("file.delete", "file.move") and UNKNOWN not in i.target:
        held = held_protected(i.target, p, c)
        if held:
            rule = "self-protection" if guard_file_of(held, c) else "destructive-files"
            return _v("block", rule, f"{verb} {i.target}, which holds protected file {held}", i)
    if i.action == "file.delete" and i.recursive and not is_scratch(i.target, c.cwd):
        return _v("block", "destructive-files", f"deletes {i.target} recursively", i)
    return None


def self_protection(i: Intent, p: Policy, c: Context) -> Verdict | None:
    if i.action == "guard.tamper":
        return _v(
            "block",
            "self-protection",
            f"this cell tries to switch off or bypass the guard: {i.target}",
            i,
        )
    return None


def unparsed(i: Intent, p: Policy, c: Context) -> Verdict | None:
    if i.action == "sql.unparsed":
        return _v(
            "block", "sql-parse-error", "the SQL could not be parsed, so nothing of it was run", i
        )
    return None


def agent_approval(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """Agents need approval for any statement that changes data or schema."""
    if c.actor.startswith("agent:") and i.action in SQL_WRITES | {"sql.attach"}:
        return _v(
            "approval",
            "agent-approval",
            f"{c.actor} wants to run {i.action.split('.')[1].upper()} "
            f"on {i.target or 'the database'}; changes by agents need a person's approval",
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


def sql_unknown(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """A statement kind the guard's table does not know is refused, never allowed.

    >>> i = Intent("sql.unknown", detail="LOGICAL_PLAN statement")
    >>> sql_unknown(i, Policy(), Context()).rule_id
    'sql-unknown'
    """
    if i.action == "sql.unknown":
        return _v("block", "sql-unknown", f"the guard does not know what a "
                  f"{i.detail or 'statement'} can do, so it is not run", i)
    return None


def sql_outside(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """INSTALL/LOAD (network, native code) unless named in ``sql.allow_extensions``; secrets and
    statements that run SQL the guard has not read (IMPORT DATABASE).

    >>> sql_outside(Intent("sql.extension", target="httpfs"), Policy(), Context()).rule_id
    'sql-outside'
    >>> sql_outside(Intent("sql.extension", target="json"), Policy(allow_extensions=("json",)),
    ...             Context()) is None
    True
    """
    if i.action == "sql.extension":
        if i.target.lower() in p.allow_extensions and i.target not in ("", "?"):
            return None
        return _v("block", "sql-outside", f"{i.detail or 'LOAD'} {i.target} downloads or runs "
                  "native code; allow it in the policy's sql.allow_extensions", i)
    if i.action == "sql.outside":
        return _v("block", "sql-outside", f"{i.detail} reaches outside the database (credentials, "
                  "files or SQL the guard has not read)", i)
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
