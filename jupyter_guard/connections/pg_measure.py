"""What one PostgreSQL statement did, from the effect check's two snapshots (``SNAPSHOT`` in
``pg_snapshot_sql``), as intents the policy's rules judge like any other:

- rows deleted and updated per table (``pg_stat_xact_user_tables``; large objects as the table
  ``pg_catalog.pg_largeobject``), and across tables for one statement;
- tables and views dropped, renamed or moved, emptied or rewritten (a new ``relfilenode``),
  columns dropped, partitions detached and children disinherited (their rows leave the parent);
- triggers disabled, and triggers, rules, policies, constraints or grants changed on a table the
  session did not create; functions replaced, altered or dropped (triggers and views call them);
- ``session_replication_role``, the role, cluster authority (roles, memberships, session
  defaults, role-switching functions, event triggers, publications, foreign servers, default
  privileges), ``application_name`` set to a value the statement does not spell;
- a statement that runs code the guard cannot see into (a function, a ``DO`` block) where writes
  can reach another server (foreign servers, dblink): nothing here measures them.
Temporary tables (``pg_temp_*`` schemas) are the session's own and are not counted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jupyter_guard.connections.pg_judge import opaque, spelled_setting
from jupyter_guard.guard.owned import pg_key
from jupyter_guard.model import Action, Intent, TargetKind


@dataclass(frozen=True)
class Rel:
    """One table, view or function as the catalog and this transaction's statistics show it."""

    schema: str
    name: str
    filenode: int
    ncols: int
    updated: int
    deleted: int
    disabled: int
    kind: str
    hooks: str = ""
    parents: str = ""   # the oids of the tables it is a partition or child of (a function:
    # "s" when it calls set_config with a value that is not a literal)


# settings, then the database's place, then its schemas (the session's own are known by them)
Snapshot = tuple[dict[int, Rel], tuple[str, ...]]
AUTHORITY_KEY = -5   # the key of ``AUTHORITY`` among the relations: never a table's oid
APPNAME_KEY = -6     # the session's ``application_name`` (every session sees it)
REMOTE_KEY = -7      # foreign servers and dblink, when the database has them
FUNCTIONS_KEY = -8   # the database's own functions, in one row (``pg_snapshot_sql.FUNCTIONS``)
SCHEMAS_KEY = -9     # the schemas' and the database's owners and grants, in one row
_FN_KEY = -10_000_000_000   # a function's key: this minus its oid, never a table's
_NS_KEY = -20_000_000_000   # a schema's (or the database's)
_SPECIAL = (AUTHORITY_KEY, APPNAME_KEY, REMOTE_KEY)
_KEYED = ("measured hooks", "measured sequence")   # of the session's own: its business
# ``CLUSTER t [USING i]`` alone rewrites the table in another order: a new ``relfilenode`` with
# every row (an emptied table gets one too, so only this exact statement is told apart)
_CLUSTER = re.compile(r'\s*CLUSTER\s+(VERBOSE\s+)?[\w."]+(\s+USING\s+[\w."]+)?\s*;?\s*',
                      re.IGNORECASE)
_AUTHORITY_PARTS = ("roles or their memberships (CREATE/ALTER ROLE, GRANT role)",
                    "the settings a role or database starts its sessions with (ALTER ROLE/"
                    "DATABASE ... SET)",
                    "a function that switches the role or session_replication_role while it "
                    "runs (CREATE/ALTER FUNCTION ... SET)",
                    "event triggers, publications or foreign servers (they act on others' "
                    "statements, or send rows elsewhere)",
                    "the privileges of tables made later (ALTER DEFAULT PRIVILEGES)")


def parse(rows: Any) -> Snapshot:
    """The rows of ``SNAPSHOT`` (a DB-API cursor's tuples or asyncpg's records)."""
    rels: dict[int, Rel] = {}
    settings = ("", "", "")
    authority = ""
    where = ""   # the database's place (``guard.owned``): the keys of the session's own tables
    schemas: list[str] = []
    for oid, schema, name, node, ncols, upd, dele, dis, kind, hooks in rows:
        if oid == -3:
            schemas.append(str(schema))
        elif oid == -2:
            where = str(schema)
        elif oid == -1:
            settings = (str(schema), str(name), str(kind))
            authority = str(hooks)
        elif oid == FUNCTIONS_KEY:
            rels.update(_functions(str(hooks or "")))
        elif oid == SCHEMAS_KEY:
            rels.update(_functions(str(hooks or ""), _NS_KEY, "ns"))
        elif oid in (APPNAME_KEY, REMOTE_KEY):
            rels[int(oid)] = Rel("", "", 0, 0, 0, 0, 0, str(kind), str(hooks or ""))
        else:
            own, _, parents = str(hooks or "").partition(":")
            rels[int(oid)] = Rel(schema, name, int(node), int(ncols), int(upd), int(dele),
                                 int(dis), kind, own, parents)
    if authority:   # kept apart from the settings and schemas (``guard.owned`` reads those)
        rels[AUTHORITY_KEY] = Rel("", "", 0, 0, 0, 0, 0, "authority", authority)
    return rels, (*settings, where, *sorted(schemas))


def _functions(text: str, base: int = _FN_KEY, kind: str = "fn") -> dict[int, Rel]:
    """The functions row (or the schemas row): one ``Rel`` each, its catalog row's ``xmin`` as
    its hooks.

    >>> _functions("16500\x1e731\x1es\x1epublic\x1estash")[_FN_KEY - 16500]
    Rel(schema='public', name='stash', filenode=0, ncols=0, updated=0, deleted=0, disabled=0, \
kind='fn', hooks='731', parents='s')
    """
    out: dict[int, Rel] = {}
    for entry in filter(None, text.split("\x1f")):
        oid, xmin, flag, schema, name = entry.split("\x1e", 4)
        out[base - int(oid)] = Rel(schema, name, 0, 0, 0, 0, 0, kind, xmin, flag)
    return out


def measured(before: Snapshot, after: Snapshot, source: str) -> tuple[Intent, ...]:
    """What the statement did.

    >>> r = Rel("public", "orders", 1, 3, 0, 0, 0, "r")
    >>> s = ("origin", "u", "u", "pg(h)")   # settings, then the database's place
    >>> [(i.action, i.estimated_rows, i.key) for i in measured(({7: r}, s),
    ...     ({7: Rel("public", "orders", 1, 3, 0, 30000, 0, "r")}, s), "x")]
    [('sql.delete', 30000, 'pg(h):public.orders#7')]
    """
    out: list[Intent] = []
    (old, s0), (new, s1) = before, after
    place = s0[3] if s0[3:] else ""
    out.extend(_authority(old.get(AUTHORITY_KEY), new.get(AUTHORITY_KEY), source))
    out.extend(_appname(old.get(APPNAME_KEY), new.get(APPNAME_KEY), source))
    functions = frozenset(r.name.lower() for r in old.values() if r.kind == "fn")
    out.extend(_remote(old.get(REMOTE_KEY), source, functions))
    out.extend(_setting_functions(old, source))
    for oid, r in old.items():
        if r.schema.startswith("pg_temp") or oid in _SPECIAL:   # temporary
            continue
        at = len(out)
        if r.kind == "fn":
            out.extend(_function(r, new.get(oid), source))
        elif r.kind == "ns":
            out.extend(_schema(r, new.get(oid), source))
        elif r.kind == "S":
            out.extend(_sequence(r, new.get(oid), source))
        else:
            out.extend(_table(oid, r, new.get(oid), old, place, source))
        if place:   # where it lives: the session's own tables and functions are known by it
            name, key = f"{r.schema}.{r.name}", pg_key(place, r.schema, r.name, oid)
            out[at:] = [i.with_(key=key) if not i.key and (
                i.target == name or r.kind in ("fn", "ns") or i.detail in _KEYED) else i
                for i in out[at:]]
    changed = [i for i in out if i.action in ("sql.delete", "sql.update")]
    if len(changed) > 1:   # one statement's rows across tables (cascades, partitions, triggers)
        names = ", ".join(sorted({i.target for i in changed}))
        updates = all(i.action == "sql.update" for i in changed)
        verb: Action = "sql.update" if updates else "sql.delete"
        out.append(Intent(verb, "table", names, source=source, where="filtered",
                          estimated_rows=sum(i.estimated_rows or 0 for i in changed),
                          detail="measured, all tables"))
    if s1[0] != s0[0] and s1[0] != "origin":
        out.append(Intent("guard.tamper", "guard", f"session_replication_role = {s1[0]} (turns off "
                          "triggers and foreign keys)", source=source))
    if s1[1:3] != s0[1:3]:
        out.append(Intent("guard.tamper", "guard", f"changes the session's role to {s1[1]}",
                          source=source))
    return tuple(out)


def _table(oid: int, r: Rel, n: Rel | None, old: dict[int, Rel], place: str,
           source: str) -> list[Intent]:
    name = f"{r.schema}.{r.name}"
    kind: TargetKind = "view" if r.kind == "v" else "table"
    if n is None:
        return [Intent("sql.drop", kind, name, source=source, detail="measured")]
    out: list[Intent] = []
    if (n.schema, n.name) != (r.schema, r.name):
        out.append(Intent("sql.drop", kind, name, source=source,
                          detail=f"RENAME TO {n.schema}.{n.name} (measured)"))
    if n.filenode != r.filenode and r.kind in ("r", "p", "m") and not _CLUSTER.fullmatch(source):
        out.append(Intent("sql.truncate", "table", name, source=source, detail="measured"))
    if n.ncols < r.ncols:
        out.append(Intent("sql.drop_column", "table", name, ("?",), source=source,
                          detail="measured"))
    if n.disabled > r.disabled:
        out.append(Intent("guard.tamper", "guard", f"disables triggers of {name}", source=source))
    if n.hooks != r.hooks and r.hooks and n.hooks:
        out.append(Intent("guard.tamper", "guard", f"changes the triggers, rules, policies, "
                          f"constraints or grants of {name}, which act on its rows outside "
                          "the statements the guard judges", source=source,
                          detail="measured hooks"))
    for gone in set(filter(None, r.parents.split(","))) - set(n.parents.split(",")):
        p = old.get(int(gone))   # its rows leave the parent: the parent loses them
        parent = f"{p.schema}.{p.name}" if p else f"oid {gone}"
        out.append(Intent("sql.drop", "table", parent, source=source,
                          detail=f"DETACH PARTITION / NO INHERIT {name} (measured)",
                          key=pg_key(place, p.schema, p.name, int(gone)) if p and place else ""))
    for action, d in (("sql.delete", n.deleted - r.deleted), ("sql.update", n.updated - r.updated)):
        if d > 0:
            out.append(Intent(action, "table", name, source=source,  # type: ignore[arg-type]  # the action name comes from a table of valid names
                              where="filtered", estimated_rows=d, detail="measured"))
    return out


def _function(r: Rel, n: Rel | None, source: str) -> list[Intent]:
    """A function that existed before: replaced (``CREATE OR REPLACE`` keeps its oid, so the
    triggers, rules and views that call it run the new body), altered, renamed or dropped."""
    if n is not None and (n.schema, n.name, n.hooks) == (r.schema, r.name, r.hooks):
        return []
    what = "drops" if n is None else "replaces, renames or alters"
    return [Intent("guard.tamper", "guard", f"{what} the function {r.schema}.{r.name}, which "
                   "triggers, views and other sessions call outside the statements the guard "
                   "judges", source=source, detail="measured function")]


def _schema(r: Rel, n: Rel | None, source: str) -> list[Intent]:
    """A schema (or the database) given another owner or other grants: a schema's owner may
    drop every table in it. Dropped or renamed: its tables are measured one by one."""
    if n is None or n.hooks == r.hooks or n.name != r.name:
        return []
    return [Intent("guard.tamper", "guard", f"changes the owner or grants of {r.name}, which "
                   "decide who may drop or make tables in it", source=source,
                   detail="measured hooks")]


def _sequence(r: Rel, n: Rel | None, source: str) -> list[Intent]:
    """A sequence dropped, or set back (``ALTER SEQUENCE ... RESTART``, ``setval``): later
    inserts would reuse numbers that rows already have."""
    name = f"{r.schema}.{r.name}"
    if n is None:
        return [Intent("sql.drop", "table", name, source=source, detail="measured")]
    if n.updated >= r.updated:
        return []
    return [Intent("guard.tamper", "guard", f"sets the sequence {name} back from {r.updated} to "
                   f"{n.updated}: later inserts would reuse numbers rows already have",
                   source=source, detail="measured sequence")]


def _setting_functions(old: dict[int, Rel], source: str) -> list[Intent]:
    """Functions the statement names whose bodies ``set_config`` a value that is no literal:
    what they leave in a custom setting (``current_setting`` reads it back unmasked) no
    snapshot can list, so calling one is an export of what it may have read.

    >>> f = Rel("public", "stash", 0, 0, 0, 0, 0, "fn", "731", "s")
    >>> [i.detail for i in _setting_functions({-1: f}, "SELECT length(stash())")]
    ['setting']
    >>> _setting_functions({-1: f}, "SELECT stashed FROM t")
    []
    """
    out = []
    for r in old.values():
        name = r.name
        if r.kind == "fn" and r.parents == "s" and re.search(
                rf"\b{re.escape(name)}\s*\(", source, re.IGNORECASE):
            out.append(Intent("sql.export", "variable", f"a setting (set_config() of a value "
                              f"computed in the function {r.schema}.{name})", ("?",),
                              source=source, detail="setting"))
    return out


def _authority(r: Rel | None, n: Rel | None, source: str) -> list[Intent]:
    """What changed in the cluster's roles, session defaults and role-switching functions."""
    if r is None or n is None or r.hooks == n.hooks:
        return []
    was, now = r.hooks.split(":"), n.hooks.split(":")
    changed = [what for what, a, b in zip(_AUTHORITY_PARTS, was, now) if a != b]
    return [Intent("guard.tamper", "guard", f"changes {what}", source=source)
            for what in changed or _AUTHORITY_PARTS[:1]]


def _appname(r: Rel | None, n: Rel | None, source: str) -> list[Intent]:
    """``application_name`` set to a value the statement does not spell (``set_config`` in
    plpgsql ``EXECUTE`` of text built at run time, a function): every session reads it in
    ``pg_stat_activity``, so it is an export of data the guard cannot tell. A value computed by
    the statement itself from no column (``'job ' || now()``) is no export.

    >>> a, b = Rel("", "", 0, 0, 0, 0, 0, "appname", ""), Rel("", "", 0, 0, 0, 0, 0, "appname", "x")
    >>> _appname(a, b, "SET application_name = 'x'"), len(_appname(a, b, "SELECT f()"))
    ([], 1)
    >>> _appname(a, b, "SELECT set_config('application_name', 'a' || now()::text, false)")
    []
    """
    if r is None or n is None or r.hooks == n.hooks or not n.hooks or n.hooks in source:
        return []

    if spelled_setting(source, "application_name"):
        return []
    return [Intent("sql.export", "variable", "application_name (every session sees it in "
                   "pg_stat_activity), set to a value the statement does not spell", ("?",),
                   source=source, detail="setting")]


def _remote(r: Rel | None, source: str, functions: frozenset[str]) -> list[Intent]:
    """Code the guard cannot see into (a ``DO`` block, the database's own ``functions``), run
    where writes can reach another server.

    >>> remote, fns = Rel("", "", 0, 0, 0, 0, 0, "remote", "loop"), frozenset({"f"})
    >>> [i.action for i in _remote(remote, "DO $$ BEGIN DELETE FROM f.orders; END $$", fns)]
    ['sql.outside']
    >>> _remote(remote, "DELETE FROM orders WHERE id = 1", fns), _remote(None, "SELECT f()", fns)
    ([], [])
    """
    if r is None or not r.hooks:
        return []

    if not opaque(source, functions):
        return []
    return [Intent("sql.outside", "none", r.hooks.strip(","), source=source,
                   detail=f"a function or DO block where writes reach other servers "
                          f"({r.hooks.strip(',')}: foreign tables, dblink), which the guard "
                          "cannot measure; run the statements themselves")]
