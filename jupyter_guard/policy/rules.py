"""The built-in rules of CONTRACT section 3: one small pure function each, in ``RULES`` order.

A rule sees one intent, the policy and the context, and returns a Verdict or None (no opinion).
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from jupyter_guard.model import SQL_WRITES, UNKNOWN, Intent, Verdict
from jupyter_guard.policy.model import Policy


@dataclass(frozen=True)
class Context:
    """Who runs the cell and what the session knows (filled by enforcement)."""

    user: str = ""
    groups: tuple[str, ...] = ()
    actor: str = "human"
    connection: str = ""
    cwd: str = field(default_factory=os.getcwd)
    guard_files: tuple[str, ...] = ()                 # audit file, policy file, journal dir
    session_tables: frozenset[str] = frozenset()      # created by this kernel session (or temporary)
    sensitive_columns: frozenset[str] = frozenset()   # known sensitive by lineage/value detection
    runtime_checks: bool = False                      # file/shell actions are checked again at run time


class RuleFn(Protocol):
    def __call__(self, i: Intent, p: Policy, c: Context) -> Verdict | None: ...


def _v(decision: str, rule: str, reason: str, i: Intent) -> Verdict:
    return Verdict(decision, rule, reason, i)  # type: ignore[arg-type]


def bare_table(name: str) -> str:
    """
    >>> bare_table("memory.main.Customers"), bare_table('"s"."t"')
    ('customers', 's.t')
    """
    parts = [x.strip('"').lower() for x in name.split(".") if x]
    while len(parts) > 1 and parts[0] in ("memory", "main", "temp", "system") and parts[0] != parts[-1]:
        parts = parts[1:]
    return ".".join(parts)


def destructive_ddl(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """DROP/TRUNCATE/DROP COLUMN/CREATE OR REPLACE of an existing table, unless temp or ours.

    >>> destructive_ddl(Intent("sql.drop", "table", "customers"), Policy(), Context()).rule_id
    'destructive-ddl'
    """
    if i.action not in ("sql.drop", "sql.truncate", "sql.drop_column", "sql.replace", "sql.rename"):
        return None
    name = bare_table(i.target)
    if i.temporary or (name in c.session_tables and UNKNOWN not in name):
        return None
    if i.action == "sql.replace" and i.estimated_rows == -1:   # enricher: table does not exist yet
        return None
    what = {"sql.drop": f"drops {i.target_kind} {i.target}", "sql.truncate": f"empties table {i.target}",
            "sql.drop_column": f"drops column(s) {', '.join(i.columns)} of {i.target}",
            "sql.replace": f"replaces existing table {i.target}",
            "sql.rename": f"renames a {i.detail.split()[-1] if i.detail else 'table'} of {i.target}"
            }[i.action]
    return _v("block", "destructive-ddl", f"this {what}, which this session did not create", i)


def bulk_change(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """DELETE/UPDATE with no WHERE, an always-true WHERE, or more rows than max_affected_rows."""
    if i.action not in ("sql.delete", "sql.update"):
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
        return _v("block", "bulk-change", f"{verb} rows of {i.target} and the guard could not count them", i)
    if i.estimated_rows > p.max_affected_rows:
        return _v("block", "bulk-change", f"{verb} {i.estimated_rows} rows of {i.target}, more than "
                  f"max_affected_rows={p.max_affected_rows}", i)
    return None


def is_sensitive(col: str, p: Policy, c: Context) -> bool:
    return p.is_sensitive_column(col) or col.lower() in c.sensitive_columns or \
        col.rsplit(".", 1)[-1].lower() in c.sensitive_columns


def exfiltration(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """Exports of sensitive columns, or to a remote place; uploads to hosts not allowed."""
    if i.action == "net.upload":
        if i.target.lower() in p.allow_hosts and UNKNOWN not in i.target:
            return None
        return _v("block", "exfiltration", f"uploads data to {i.target or 'an unknown host'}, which is "
                  "not in network.allow_hosts", i)
    exporting = i.action in ("sql.export", "df.export") or (
        i.action in ("sql.insert", "sql.create", "sql.replace") and (i.remote or i.detail.startswith("attached")))
    if not exporting:
        return None
    where = f"to {i.target}" if i.target not in ("", "*") else "out of the database"
    if i.detail.startswith("attached"):
        where = f"into {i.detail}"
    if i.remote:
        return _v("block", "exfiltration", f"exports data {where}, a remote destination", i)
    sens = [col for col in i.columns if is_sensitive(col, p, c)]
    if sens:
        return _v("block", "exfiltration", f"exports sensitive column(s) {', '.join(sorted(set(sens))[:5])} {where}", i)
    if i.columns == ("?",) or any(col.endswith("*") for col in i.columns):
        return _v("block", "exfiltration", f"exports data {where} whose columns the guard could not tell", i)
    return None


def inference(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """A query comparing a sensitive column with a constant (``ssn LIKE '123%'``), which answers
    yes/no questions about single values, for roles that may not unmask them.

    >>> inference(Intent("sql.predicate", "column", "customers.ssn"),
    ...           Policy(sensitive_columns=("*ssn*",)), Context()).rule_id
    'inference'
    """
    if i.action != "sql.predicate" or not is_sensitive(i.target, p, c) or p.inference == "allow":
        return None
    if p.may("may_unmask", c.user, c.groups):
        return None
    return _v(p.inference, "inference", f"compares sensitive column {i.target} with a constant "
              f"({i.source[:60]}), which reveals single values; compare or join it with another "
              "column, or ask someone whose role may unmask", i)


def in_tempdir(path: str, cwd: str) -> bool:
    full = posixpath.normpath(path if path.startswith("/") else posixpath.join(cwd, path))
    temps = {posixpath.normpath(tempfile.gettempdir()), "/tmp", "/var/tmp", "/dev/shm"}
    return any(full.startswith(t + "/") for t in temps)


def is_protected(path: str, p: Policy, c: Context) -> bool:
    if UNKNOWN in path or path in ("", "?", "*"):
        return True
    full = posixpath.normpath(path if path.startswith("/") else posixpath.join(c.cwd, path))
    if any(full == g or full.startswith(g.rstrip("/") + "/") for g in c.guard_files if g):
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


def destructive_files(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """Recursive deletes anywhere but temp; deletes, moves and truncating writes of protected paths."""
    if i.action == "shell.exec" and (i.detail in ("dynamic command", "nesting too deep")):
        return _v("block", "destructive-files", f"runs a shell command the guard cannot read ({i.detail})", i)
    if i.action not in ("file.delete", "file.move", "file.truncate", "file.write"):
        return None
    if UNKNOWN in i.target and c.runtime_checks:
        return None  # a path known only at run time: the runtime layer decides on the real one
    if in_tempdir(i.target, c.cwd) and UNKNOWN not in i.target:
        return None
    if i.action == "file.delete" and i.recursive:
        return _v("block", "destructive-files", f"deletes {i.target} recursively", i)
    if i.action == "file.write" and not any(i.target.startswith(g) for g in c.guard_files if g):
        return None
    if is_protected(i.target, p, c):
        verb = {"file.delete": "deletes", "file.move": "moves", "file.truncate": "overwrites",
                "file.write": "writes to"}[i.action]
        rule = "self-protection" if any(
            posixpath.normpath(posixpath.join(c.cwd, i.target)).startswith(g) for g in c.guard_files if g
        ) else "destructive-files"
        return _v("block", rule, f"{verb} protected path {i.target}", i)
    return None


def self_protection(i: Intent, p: Policy, c: Context) -> Verdict | None:
    if i.action == "guard.tamper":
        return _v("block", "self-protection", f"this cell tries to switch off or bypass the guard: {i.target}", i)
    return None


def unparsed(i: Intent, p: Policy, c: Context) -> Verdict | None:
    if i.action == "sql.unparsed":
        return _v("block", "sql-parse-error", "the SQL could not be parsed, so nothing of it was run", i)
    return None


def agent_approval(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """Agents need approval for any statement that changes data or schema."""
    if c.actor.startswith("agent:") and i.action in SQL_WRITES | {"sql.attach"}:
        return _v("approval", "agent-approval", f"{c.actor} wants to run {i.action.split('.')[1].upper()} "
                  f"on {i.target or 'the database'}; changes by agents need a person's approval", i)
    return None


def dynamic_code(i: Intent, p: Policy, c: Context) -> Verdict | None:
    if i.action == "code.dynamic":
        return _v("warn", "dynamic-code", f"runs code the guard cannot read before it runs ({i.detail or 'dynamic'}); "
                  "the runtime layer checks what it does", i)
    return None


def sql_unknown(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """A statement kind the guard's table does not know is refused, never allowed.

    >>> sql_unknown(Intent("sql.unknown", detail="LOGICAL_PLAN statement"), Policy(), Context()).rule_id
    'sql-unknown'
    """
    if i.action == "sql.unknown":
        return _v("block", "sql-unknown", f"the guard does not know what a {i.detail or 'statement'} "
                  "can do, so it is not run", i)
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
        return _v("block", "sql-outside", f"{i.detail or 'LOAD'} {i.target} downloads or runs native "
                  "code; allow it in the policy's sql.allow_extensions", i)
    if i.action == "sql.outside":
        return _v("block", "sql-outside", f"{i.detail} reaches outside the database (credentials, "
                  "files or SQL the guard has not read)", i)
    return None


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
    ("agent-approval", agent_approval),
    ("dynamic-code", dynamic_code),
)
