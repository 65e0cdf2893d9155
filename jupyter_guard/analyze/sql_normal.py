"""One normalisation of a query tree before the inference rules read it, so every rule sees the
column a query really reads however it is spelt:

- a table's alias column list (``FROM customers t(a, b, c)``): ``c`` is the table's third
  column, named ``#3`` (``t.#3``, read as ``customers.#3``), which the catalog turns into its
  name (``positional``: ``customers.ssn``); the list is renamed alike (``t("#1", …)``), so the
  tree is still SQL the database runs;
- a positional reference (DuckDB's ``#3``): the third column of the FROM source, named the same
  way; over several sources (whose widths only the catalog knows) every column of each;
- ``query_table('customers')``: the table it names;
- a ``PIVOT … ON <expression>`` (``ON (ssn = 'G')``, ``GROUP BY ssn LIKE '1%'``): read as the
  SELECT that computes its keys, so its comparisons are comparisons like any other.

Derived tables and CTEs with column lists (``(SELECT * FROM customers) t(a, b, c)``) are
``sql_sources``' (``_Derived._projections`` names the outputs of a ``*`` by position).

Pure: sqlglot trees in and out; the parse is shared, so a tree that changes is a copy.

>>> import sqlglot
>>> print(normal(sqlglot.parse_one("SELECT a FROM customers t(a, b, c) WHERE c LIKE '1%'")).sql())
SELECT t."#1" FROM customers AS t("#1", "#2", "#3") WHERE t."#3" LIKE '1%'
>>> normal(sqlglot.parse_one("PIVOT customers ON (ssn = 'G') USING count(*)", "duckdb")).sql()
"SELECT (ssn = 'G'), COUNT(*) FROM customers GROUP BY (ssn = 'G')"
"""
from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from jupyter_guard.analyze.sql_saved import _table_key

_POSITION = re.compile(r"#([1-9][0-9]{0,4})")


def position(name: str) -> int:
    """The position a normalised column name stands for (``#3``: 3), or 0.

    >>> position("#3"), position("ssn")
    (3, 0)
    """
    m = _POSITION.fullmatch(name)
    return int(m.group(1)) if m else 0


def positional(name: str, columns: Callable[[str], tuple[str, ...] | None]) -> str:
    """``table.#n`` as the table's n-th column, by ``columns`` (the catalog's, in order); any
    other name, or a table the catalog does not know, as it is.

    >>> positional("customers.#3", lambda t: ("id", "email", "ssn"))
    'customers.ssn'
    >>> positional("customers.email", lambda t: None)
    'customers.email'
    """
    table, _, col = name.rpartition(".")
    n = position(col)
    if not table or not n:
        return name
    cols = columns(table)
    return f"{table}.{cols[n - 1]}" if cols and n <= len(cols) else name


def _queried(t: exp.Expr) -> exp.Expr | None:
    """``query_table('customers')`` (``query_table(['customers'])``): the table it reads."""
    if isinstance(t, exp.Table) and isinstance(t.this, exp.Anonymous) and \
            str(t.this.this).lower() == "query_table" and t.this.expressions:
        arg = t.this.expressions[0]
        arg = arg.expressions[0] if isinstance(arg, exp.Array) and len(
            arg.expressions) == 1 else arg
        if isinstance(arg, exp.Literal) and arg.is_string:
            return exp.to_table(str(arg.this))
    return None


def _needs(tree: exp.Expr) -> bool:
    for node in tree.find_all(exp.PositionalColumn, exp.TableAlias, exp.Pivot, exp.Table):
        if _queried(node) is not None or isinstance(node, exp.PositionalColumn) or (
                isinstance(node, exp.Pivot) and _pivoted(node)) or (
                isinstance(node, exp.TableAlias) and node.args.get("columns")
                and isinstance(node.parent, exp.Table)):
            return True
    return False


def normal(tree: exp.Expr) -> exp.Expr:
    """``tree`` with alias column lists, positional references and PIVOTs on expressions read
    as the columns and comparisons they are (the same tree when it has none)."""
    if not _needs(tree):
        return tree
    tree = tree.copy()   # the parse is shared: never changed in place
    for t in list(tree.find_all(exp.Table)):
        named = _queried(t)
        if named is not None:
            for part in ("this", "db", "catalog"):
                t.set(part, named.args.get(part))
    for pivot in list(tree.find_all(exp.Pivot)):
        if _pivoted(pivot):
            select = _as_select(pivot)
            if pivot is tree:
                tree = select
            else:
                pivot.replace(select)
    aliased = [a for a in tree.find_all(exp.TableAlias)
               if a.args.get("columns") and isinstance(a.parent, exp.Table)]
    for alias in reversed(aliased):   # the innermost first: its names hide the outer ones
        _renamed(alias)
    for pc in list(tree.find_all(exp.PositionalColumn)):
        _placed(pc)
    return tree


def _pivoted(p: exp.Pivot) -> bool:
    """A DuckDB ``PIVOT`` statement whose keys are not all plain columns."""
    group = p.args.get("group")
    keys = list(p.expressions) + (list(group.expressions) if isinstance(group, exp.Group) else [])
    return p.this is not None and not p.args.get("unpivot") and any(
        not isinstance(k, exp.Column) for k in keys)


def _as_select(p: exp.Pivot) -> exp.Select:
    """``PIVOT t ON k USING f GROUP BY g`` as ``SELECT k, f, g FROM t GROUP BY k, g``: what it
    computes, each key a group whose value names a column (``ON (ssn = 'G')``: a column per
    answer; ``ON left(ssn, 5)``: a column per prefix)."""
    group = p.args.get("group")
    groups = list(p.expressions) + (list(group.expressions) if isinstance(group, exp.Group)
                                    else [])
    source = p.this.copy()
    if isinstance(source, exp.Query):
        source = source.subquery()
    select = exp.Select(expressions=[e.copy() for e in [*groups, *(
        p.args.get("using") or [])]]).from_(source, copy=False)
    return select.group_by(*[g.copy() for g in groups], copy=False)


def _scope(node: exp.Expr) -> exp.Expr:
    sel = node.parent_select if not isinstance(node, exp.Select) else node
    return sel if sel is not None else node.root()


def _renamed(alias: exp.TableAlias) -> None:
    """``customers t(a, b, c)``: each ``a``/``t.a`` read where the table is a source becomes
    ``t.#1`` (subqueries in that SELECT included), and the list ``("#1", "#2", "#3")``."""
    table = alias.parent
    assert isinstance(table, exp.Table)
    names = [c.name.lower() for c in alias.args.get("columns") or []]
    key = alias.name.lower() or table.name.lower()
    for col in list(_scope(table).find_all(exp.Column)):
        if col.meta.get("normal") or col.args.get("db") is not None or \
                isinstance(col.this, exp.Star):
            continue
        name, qual = col.name.lower(), col.table.lower()
        if name in names and qual in ("", key):
            new = exp.Column(this=exp.to_identifier(f"#{names.index(name) + 1}"),
                             table=exp.to_identifier(key))
            new.meta["normal"] = True
            col.replace(new)
    scope = _scope(table)
    if isinstance(scope, exp.Select):   # ``SELECT * FROM customers t(a, b, c)``: its ``c`` too
        for n, e in enumerate(list(scope.expressions)):
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(
                    e.this, exp.Star) and e.table.lower() == key):
                named = [exp.alias_(exp.Column(this=exp.to_identifier(f"#{i + 1}", quoted=True),
                                               table=exp.to_identifier(key)), name)
                         for i, name in enumerate(names)]
                scope.set("expressions", [*scope.expressions[:n], *named,
                                          *scope.expressions[n:]])
                break
    # the list renamed alike: the tree still reads as SQL the database runs (a crowd probe)
    alias.set("columns", [exp.to_identifier(f"#{n + 1}", quoted=True) for n in range(len(names))])


def _placed(pc: exp.PositionalColumn) -> None:
    """``#3``: the third column of the only FROM source (``t.#3``); over several sources, every
    column of each (a list of their rows)."""
    n = pc.this.to_py() if isinstance(pc.this, exp.Literal) else None
    sel = pc.parent_select
    sources: list[exp.Expr] = []
    if sel is not None and sel.args.get("from_") is not None:
        sources = [sel.args["from_"].this] + [j.this for j in sel.args.get("joins") or []]
    if not isinstance(n, int) or not sources:
        return
    keys = [_table_key(s) for s in sources]
    if len(sources) == 1:
        new: exp.Expr = exp.Column(this=exp.to_identifier(f"#{n}"),
                                   table=exp.to_identifier(keys[0]) if keys[0] else None)
        new.meta["normal"] = True
    else:
        new = exp.Array(expressions=[exp.Column(this=exp.Star(), table=exp.to_identifier(k))
                                     for k in keys])
    pc.replace(new)
