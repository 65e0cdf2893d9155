"""A whole cell's decision from its intents: the one loop the kernel's guard runs and ``jupyter
guard replay`` runs again on recorded facts, so a replay under the same policy gives the same
answer by construction.

What earlier statements of the same cell create or attach counts for the later ones.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from jupyter_guard.model import UNKNOWN, Intent, Verdict, combine
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import Context

_OWN_USE = ("sql.drop", "sql.truncate", "sql.drop_column", "sql.replace", "sql.rename",
            "sql.delete", "sql.update")


def decide_cell(intents: Sequence[Intent], policy: Policy, ctx: Context,
                errors: Sequence[str] = (), *, unverified_creates: bool = False
                ) -> tuple[tuple[Intent, ...], tuple[Verdict, ...]]:
    """(intents as decided, one verdict per intent, plus a parse-error verdict when due).

    A table an earlier statement creates counts as the session's own for the later ones when
    the database said it does not exist yet (``estimated_rows == -1``); the server gate, which
    asks no database, passes ``unverified_creates`` (the kernel checks the effect again).

    >>> from jupyter_guard.policy.model import Policy
    >>> k = "duckdb(/w/a.duckdb):main.t"   # where t would be made (``guard.owned``)
    >>> new = Intent("sql.create", "table", "t", estimated_rows=-1, key=k)   # not there yet
    >>> _, vs = decide_cell([new, Intent("sql.drop", "table", "t", key=k)],
    ...                     Policy(), Context())
    >>> [v.decision for v in vs]
    ['allow', 'allow']
    """
    verdicts: list[Verdict] = []
    decided: list[Intent] = []
    created: set[str] = set()
    temps: set[str] = set()   # bare names of temporary tables made earlier in the cell
    attached: dict[str, bool] = {}
    for i in intents:
        if created:
            ctx = replace(ctx, session_tables=ctx.session_tables | created)
        if temps and "." not in i.target and i.target in temps and i.action in _OWN_USE:
            i = i.with_(temporary=True)   # a bare name finds the temporary table first
        head = i.target.split(".")[0]
        if i.action in ("sql.insert", "sql.create", "sql.replace") and "." in i.target \
                and head in attached:
            i = i.with_(detail=f"attached database {head}", remote=i.remote or attached[head])
        if i.action == "sql.attach":
            attached[i.target.lower()] = i.remote
        (v,) = decide((i,), policy, ctx)
        verdicts.append(v)
        decided.append(i)
        if i.action in ("sql.create", "sql.replace") and not v.refuses and \
                UNKNOWN not in i.target and (i.estimated_rows == -1 or unverified_creates):
            # provisional, for later statements of this cell: the table does not exist now;
            # the kernel's effect check confirms that the statement really made it
            if i.key:
                created.add(i.key)
            if i.temporary and "." not in i.target:
                temps.add(i.target)
        if i.action == "sql.rename" and not v.refuses and i.columns and i.key:
            created.add(renamed(i.key, i.columns[0]))   # renamed from a table the cell may drop
    if errors and not any(v.refuses for v in verdicts) and any(
            i.action == "sql.unparsed" for i in decided):
        verdicts.append(Verdict("block", "sql-parse-error", errors[0], None, policy.revision))
    return tuple(decided), tuple(verdicts)


def renamed(key: str, name: str) -> str:
    """The place of a table renamed to ``name`` (same database and schema; a new table, so no
    object id).

    >>> renamed("pg(h:1/db@2):public.t#77", "u"), renamed("duckdb(/w/a.duckdb):main.t", "s.u")
    ('pg(h:1/db@2):public.u', 'duckdb(/w/a.duckdb):main.u')
    """
    base = key.split("#", 1)[0] if "#" in key.rsplit(":", 1)[-1] else key
    return f"{base.rsplit('.', 1)[0]}.{name.rsplit('.', 1)[-1].strip(chr(34)).lower()}"


def recorded(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict the audit records for a cell: the most severe, and a ``warn`` wins over a
    plain allow (the cell runs, the warning is what governance wants to see).

    >>> recorded([Verdict("allow", "", "ok"), Verdict("warn", "dynamic-code", "built")]).rule_id
    'dynamic-code'
    """
    v = combine(verdicts)
    if v.decision == "allow":
        return next((x for x in verdicts if x.decision == "warn"), v)
    return v
