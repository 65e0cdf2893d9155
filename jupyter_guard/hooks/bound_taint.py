"""Values bound as parameters of a statement that writes a table carry no SQL lineage.

``rows = con.sql('SELECT email FROM customers').fetchall()``, then
``scratch.executemany('INSERT INTO t VALUES (?)', rows)`` and ``COPY t TO 'out.csv'``: the
``COPY`` reads a table whose columns the SQL lineage knows nothing about, and DuckDB writes the
file from native code, past every byte scan. So the values bound to an ``INSERT`` or ``UPDATE``
are scanned before it runs (known values read out of a sensitive column, then the detectors,
``exits.scan``), and the columns that receive a sensitive one are remembered as tainted, as
``INSERT … SELECT ssn`` is (``taint_ddl``). The export rules then refuse the table, and its
reads are masked, like any table holding sensitive values. Bounded: at most ``LIMIT``
characters of values are scanned per statement.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlglot import exp

from jupyter_guard.analyze.sql_taint import Output
from jupyter_guard.hooks import exits, sql_exports, taint_ddl
from jupyter_guard.policy.rules import HELD, bare_table

LIMIT = 1 << 20


def note(query: Any, param_sets: Sequence[Any], settings: Any,
         columns_of: Callable[[str], list[str]]) -> None:
    """Remember the columns of ``query``'s target that receive a sensitive bound value."""
    if not isinstance(query, str) or not param_sets or \
            query.lstrip()[:6].upper() not in ("INSERT", "UPDATE"):
        return
    tree = sql_exports._tree(query)
    if isinstance(tree, exp.Insert):
        target, listed = tree.this, []
        if isinstance(target, exp.Schema):
            listed = [e.name.lower() for e in target.expressions]
            target = target.this
        name = _name(target)
        values = tree.args.get("expression")
        rows = values.expressions if isinstance(values, exp.Values) else []
        slots = [e.find_all(exp.Placeholder, exp.Parameter) for e in rows[0].expressions] \
            if len(rows) == 1 and isinstance(rows[0], exp.Tuple) else None
    elif isinstance(tree, exp.Update):
        name = _name(tree.this)
        sets = [e for e in tree.expressions if isinstance(e, exp.EQ)
                and isinstance(e.this, exp.Column)]
        listed = [e.this.name.lower() for e in sets]
        slots = [e.expression.find_all(exp.Placeholder, exp.Parameter) for e in sets]
    else:
        return
    if not name:
        return
    columns = listed or [c.lower() for c in columns_of(name.split(".")[-1])]
    hit = _sensitive_columns(param_sets, [list(s) for s in slots] if slots is not None else None,
                             columns, settings)
    if hit:
        _remember(name, columns, hit)


def _name(t: Any) -> str:
    return ".".join(p.name for p in t.parts) if isinstance(t, exp.Table) else ""


def _sensitive_columns(param_sets: Sequence[Any], slots: list[list[Any]] | None,
                       columns: list[str], settings: Any) -> set[str]:
    """The columns that receive a sensitive value. Positional ``?`` placeholders map values to
    columns in order; any other shape (named values, expressions mixing several) taints every
    target column when any value is sensitive."""
    first = param_sets[0]
    simple = slots is not None and isinstance(first, (list, tuple)) and \
        all(len(s) == 1 and isinstance(s[0], exp.Placeholder) and s[0].name in ("", "?")
            for s in slots) \
        and len(slots) == len(columns)
    if simple:
        return {c for n, c in enumerate(columns)
                if exits.scan(_text(p[n] for p in param_sets if isinstance(p, (list, tuple))
                                    and len(p) > n), settings)}
    flat = (v for p in param_sets for v in (p.values() if isinstance(p, dict) else
                                            p if isinstance(p, (list, tuple)) else [p]))
    return set(columns) if exits.scan(_text(flat), settings) else set()


def _text(values: Iterable[Any]) -> str:
    out, size = [], 0
    for v in values:
        s = v.decode("latin-1") if isinstance(v, (bytes, bytearray)) else str(v)
        out.append(s)
        size += len(s) + 1
        if size > LIMIT:
            break
    return "\n".join(out)


def _remember(name: str, columns: list[str], hit: set[str]) -> None:
    """Merge the ``held:`` origins into what is remembered of the table (``taint_ddl``), with a
    plain entry for each of its columns not remembered yet."""
    key = bare_table(name)
    outs = sql_exports.REMEMBERED.get(key, ())
    known = {o.name.lower() for o in outs}
    outs += tuple(Output(c) for c in columns if c not in known)
    taint_ddl._store(name, taint_ddl._merged(
        outs, {c: Output(c, frozenset({f"{HELD}{key}.{c}"})) for c in hit}))
