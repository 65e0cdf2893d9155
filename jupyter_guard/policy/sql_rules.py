"""The built-in rules about SQL statements (README, "The default policy"): what a statement does
to tables the session did not create, rows changed in bulk, statements the guard cannot read or
that reach outside the database, yes/no questions about sensitive values, and agents' changes.
One small pure function each; ``rules.RULES`` orders them among the others.
"""
from __future__ import annotations

from jupyter_guard.model import SQL_WRITES, UNKNOWN, Intent, Verdict
from jupyter_guard.policy.context import Context, is_sensitive
from jupyter_guard.policy.context import verdict as _v
from jupyter_guard.policy.model import Policy


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
    if i.detail.startswith(("against", "rank")):
        return compared_side(i, p, c)
    if i.detail.startswith("crowd"):   # a format, domain, length or null check (``sql_crowd``)
        why = i.detail.partition(":")[2] if i.detail.startswith("crowd:") else \
            "asked over rows the guard could not count"
        return _v(p.inference, "inference", f"checks sensitive column {i.target} "
                  f"({i.source[:60]}) {why}, which answers for single people; count it over "
                  f"at least min_group_size={p.min_group_size} rows (the whole table, a large "
                  "filter, large groups), or ask someone whose role may unmask", i)
    if i.detail == "order":
        return _v(p.inference, "inference", f"ranks rows by sensitive column {i.target} "
                  f"({i.source[:60]}) while showing other columns, which tells roughly where "
                  "each value lies; order by another column, or ask someone whose role may "
                  "unmask", i)
    return _v(p.inference, "inference", f"compares sensitive column {i.target} with a constant "
              f"or values made up in the query ({i.source[:60]}), which reveals single values; "
              "compare or join it with a sensitive column of another table, or ask someone whose "
              "role may unmask", i)


def compared_side(i: Intent, p: Policy, c: Context) -> Verdict | None:
    """A sensitive column compared with another side (detail ``against:<leaves>``, ``rank:`` for
    ``<``/``>``/``BETWEEN``): allowed only when every leaf is a sensitive column of a table the
    catalog holds (a join between warehouse tables); a leaf that is a guess (``!…``: generated
    rows, a file, a DataFrame, a table of constants), a column that is not sensitive, or a side
    the catalog could not check (``against?:``) is a guess. Ranking sensitive values against
    each other tells where each lies, as ``ORDER BY`` does.

    >>> sens = Policy(sensitive_columns=("*ssn*",))
    >>> i = Intent("sql.predicate", "column", "customers.ssn", detail="against:orders.ssn")
    >>> compared_side(i, sens, Context()) is None
    True
    >>> compared_side(i.with_(detail="against:!range"), sens, Context()).rule_id
    'inference'
    >>> compared_side(i.with_(detail="rank:orders.ssn"), sens, Context()).rule_id
    'inference'
    """
    kind, _, rest = i.detail.partition(":")
    leaves = [n for n in rest.split(",") if n]
    plain = [n for n in leaves if n.startswith("!") or not is_sensitive(n, p, c)]
    checked = not kind.endswith("?")
    if checked and leaves and not plain:
        if kind != "rank":
            return None
        return _v(p.inference, "inference", f"ranks sensitive column {i.target} against "
                  f"{', '.join(leaves)[:80]} ({i.source[:60]}), which tells where each value "
                  "lies; compare with = instead, or ask someone whose role may unmask", i)
    what = ", ".join(n.lstrip("!") for n in (plain or leaves))[:80] if checked else \
        "a side the catalog could not check"
    return _v(p.inference, "inference", f"compares sensitive column {i.target} with values "
              f"that are not a sensitive column of the database ({what}: {i.source[:60]}), "
              "which tests guesses; join it with a sensitive column of another table, or ask "
              "someone whose role may unmask", i)


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
