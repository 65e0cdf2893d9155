"""A no-guess check on a sensitive column (``analyze.sql_crowd``), measured before the query
runs: the probe the analysis wrote (detail ``crowd?:<SQL>``) counts, per group of the query's
keys, the rows the check's answer depends on; when the smallest count reaches
``sensitive.min_group_size`` the check is an aggregate over a crowd and its intent is dropped.
Otherwise it stays, with detail ``crowd:<why>``, and the ``inference`` rule refuses it. A probe
that fails, or no policy to read the size from, leaves the check refused (fail closed).

The probe reads no value of the checked column, only the query's other predicates, keys and
joins, so whether it passes tells nothing of the checked values. On DuckDB the probe is read as
a sketch of the rows counted, and an answer whose rows differ from an earlier one's on the same
column by fewer than ``min_group_size`` is refused too (``crowd_memory``: differencing).

A check that reads only an e-mail's domain (detail prefix ``crowd@``) on a column whose masking
shows that domain anyway (``shows_domain``: every strategy the policy gives the column, or the
``email`` detector, is ``partial``) is dropped wherever it stands, a row listing or a ``CREATE
TABLE … AS`` included: a listing of the column shows ``█████@example.com`` row by row.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from jupyter_guard.analyze.sql_crowd import DOMAIN, PROBE
from jupyter_guard.guard.crowd_memory import overlap
from jupyter_guard.model import Intent
from jupyter_guard.policy.model import glob_match

if TYPE_CHECKING:
    from jupyter_guard.guard.enrich import Catalog


def measured(i: Intent, names: list[str], cat: Catalog) -> tuple[Intent, ...]:
    """``i`` as the columns it checks (``names``), those that need no refusal left out."""
    policy = cat.policy
    sens = [n for n in names if policy is None or policy.is_sensitive_column(n)]
    out = [i.with_(target=n, columns=(n,)) for n in names if n not in sens]
    detail = i.detail
    if detail.startswith(DOMAIN):   # masking that shows the domain: nothing more is told
        detail = detail[len(DOMAIN):]
        sens = [n for n in sens if not shows_domain(policy, n)]
    if not sens:
        return tuple(out)
    if detail.startswith(PROBE):
        detail = _count(detail[len(PROBE):], cat, policy, sens)
        if not detail:
            return tuple(out)
    return (*out, *(i.with_(target=n, columns=(n,), detail=detail) for n in sens))


def _count(probe: str, cat: Catalog, policy: object, columns: list[str]) -> str:
    """'' when every group the check is asked over holds ``min_group_size`` rows and (DuckDB)
    its rows differ enough from those earlier answers on ``columns`` depended on
    (``crowd_memory``); else why not."""
    size = getattr(policy, "min_group_size", None)
    if size is None:
        return "crowd:asked over rows the guard could not count"
    try:
        if cat.conn.dialect == "duckdb":
            smallest, why = overlap(probe, cat, columns, int(size), _views(cat),
                                    lambda t: _keyed(cat, t))
            if why:
                return why
        else:
            smallest = cat.conn.scalar(probe)
    except Exception:  # noqa: BLE001 - the rows could not be counted: the check stays refused
        return "crowd:asked over rows the guard could not count"
    if smallest is None or int(smallest) >= int(size):
        return ""
    return f"crowd:asked over {int(smallest)} rows (a group or filter smaller than " \
           f"min_group_size={size})"


def _views(cat: Catalog) -> dict[str, list[str]]:
    """DuckDB's views by name (bare, with their schema, with their database too): the texts
    that define them, read through by the crowd's person (``analyze.sql_crowd_carry``). A name
    that is also a table's somewhere holds two texts (the table's empty): which one the query
    reads is not told, so it is refused."""
    out: dict[str, list[str]] = {}
    for db, schema, view, sql in cat.conn.rows(   # a table of a view's name: two readings
            "SELECT database_name, schema_name, view_name, sql FROM duckdb_views() WHERE NOT "
            "internal UNION ALL SELECT database_name, schema_name, table_name, '' FROM "
            "duckdb_tables() WHERE lower(table_name) IN (SELECT lower(view_name) FROM "
            "duckdb_views() WHERE NOT internal)"):
        for k in {str(view), f"{schema}.{view}", f"{db}.{schema}.{view}",
                  f"{db}.{view}" if str(schema).lower() == "main" else str(view)}:
            out.setdefault(k.lower(), []).append(str(sql))
    return out


_KEYED = ("SELECT t.table_oid, list(c.constraint_column_names) FILTER (WHERE "
          "c.constraint_type = 'PRIMARY KEY') FROM duckdb_tables() t LEFT JOIN "
          "duckdb_constraints() c ON c.table_oid = t.table_oid WHERE lower(t.table_name) = ? "
          "GROUP BY t.table_oid")


def _keyed(cat: Catalog, table: exp.Table) -> list[str]:
    """The primary key's columns of every DuckDB table named like ``table`` (in any schema,
    temporary ones too), when they all have the same one: its rows are distinct people, so the
    crowd sketch need not make them distinct; [] otherwise."""
    try:
        got = cat.conn.rows(_KEYED, [table.name.lower()])
    except Exception:  # noqa: BLE001 - no catalog: the rows are made distinct
        return []
    keys = {tuple(k[0]) if k and len(k) == 1 else () for _oid, k in got}
    return list(keys.pop()) if len(keys) == 1 else []


def shows_domain(policy: object, column: str) -> bool:
    """Every masking strategy the policy gives ``column`` (by a ``per_column`` glob, or by the
    ``email`` detector) shows an e-mail's domain: ``partial`` (``█████@example.com``).

    >>> from jupyter_guard.policy.model import Policy
    >>> shows_domain(Policy(), "customers.email"), shows_domain(Policy(strategy="redact"), "email")
    (True, False)
    >>> shows_domain(Policy(per_column=(("email", "hash"),)), "customers.email")
    False
    """
    if policy is None:
        return False
    bare = column.rsplit(".", 1)[-1]
    given = [s for k, s in getattr(policy, "per_column", ()) if k == "email" or
             glob_match(bare, (k,))] or [getattr(policy, "strategy", "")]
    return all(s == "partial" for s in given)


__all__ = ["measured", "shows_domain"]
