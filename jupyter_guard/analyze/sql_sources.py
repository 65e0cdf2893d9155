"""The sources a query's columns are read from, for the inference rule's naming: CTEs, derived
tables, ``VALUES`` lists, ``unnest``, PIVOTs and saved views (``sql_saved``), each output
column with what it is computed from; and ``_naming``, which turns a column read in a SELECT
into the table columns it stands for (``customers.ssn``).

Pure: sqlglot trees in, names out.

>>> import sqlglot
>>> t = sqlglot.parse_one("WITH w AS (SELECT ssn AS x FROM customers) SELECT x FROM w")
>>> d = _Derived(t)
>>> _naming(t, d)(t.expressions[0], t)
['customers.ssn']
"""
from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from jupyter_guard.analyze.sql_normal import normal, position
from jupyter_guard.analyze.sql_saved import _saved_query, _source_key, _table_key


def _constant(node: exp.Expr) -> bool:
    """No column and no query reading a table: ``'x'``, ``?``, ``(SELECT 'x')``."""
    return not any(isinstance(n, (exp.Column, exp.Star, exp.Columns)) or (
        isinstance(n, exp.Select) and n.args.get("from_") is not None) for n in node.walk())


def _aliases(tree: exp.Expr) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in tree.find_all(exp.Table):
        if t.alias:
            out[t.alias.lower()] = t.name.lower()
    return out


def _scoped(root: exp.Expr, select: exp.Expr | None) -> list[tuple[exp.Expr, exp.Expr | None]]:
    """Every node under ``root`` with the SELECT it belongs to (the nearest one above it; a
    SELECT belongs to itself), in one pass: asking each node for its ancestor walks up the tree
    every time, which is quadratic on a chain of thousands of ``OR`` terms."""
    out: list[tuple[exp.Expr, exp.Expr | None]] = [
        (root, root if isinstance(root, exp.Select) else select)]
    for node, sel in out:   # breadth first, like ``walk``: appended while read
        for child in node.iter_expressions():
            out.append((child, child if isinstance(child, exp.Select) else sel))
    return out


def _naming(tree: exp.Expr, derived: _Derived) -> Callable[[exp.Column, exp.Expr], list[str]]:
    """``names(col, sel)``: the table columns ``col`` (read in ``sel``) stands for, as
    ``table.column``: itself, or what a CTE's or derived table's output is computed from. A
    whole row (``c`` or ``c.*`` of ``FROM customers c``; a bare ``*``) stands for every column
    of its source: ``customers.*`` for a table (the catalog knows which), each output of a
    derived one."""
    aliases = _aliases(tree)
    for saved in derived.saved:
        aliases = {**_aliases(saved), **aliases}
    tables = [t.name.lower() for t in tree.find_all(exp.Table)]
    rows = set(aliases) | set(tables)

    def whole(key: str, sel: exp.Expr) -> list[str]:
        outs = derived.outputs.get(key)
        if outs is None:
            return [f"{aliases.get(key, key)}.*"]
        if not derived.enter():
            return []
        return [n for pairs in outs.values() for inner, inner_sel in pairs
                for c in _columns_of(inner) for n in names(c, inner_sel)]

    def names(col: exp.Column, sel: exp.Expr) -> list[str]:
        if isinstance(col.this, exp.Star):
            keys = [col.table.lower()] if col.table else derived._source_keys(sel)
            found = [n for k in keys for n in whole(k, sel)]
            pattern = col.meta.get("columns", "") if col.meta else ""
            for n in found:   # a row reached by ``COLUMNS('re')`` and by ``*``: every column
                if n.endswith(".*"):
                    had = derived.patterns.get(n, pattern)
                    derived.patterns[n] = "" if not had or not pattern else (
                        had if had == pattern else f"(?:{had})|(?:{pattern})")
            return found
        # ``c::VARCHAR``, ``to_json(c)``: the row of source ``c``; and a column of that name
        # too (DuckDB reads a column first), so neither reading is lost
        row = whole(col.name.lower(), sel) if not col.table and (
            col.name.lower() in rows or col.name.lower() in derived._source_keys(sel)) else []
        follow = derived.follow(col, sel)
        if follow is not None:
            return row + ([n for inner, inner_sel in follow for c in _columns_of(inner)
                           for n in names(c, inner_sel)] if derived.enter() else [])
        own = derived.own_table(sel) if not col.table else ""
        owner = aliases.get(col.table.lower(), col.table.lower()) if col.table else (
            aliases.get(own, own) if own else tables[0] if len(set(tables)) == 1 else "")
        return row + [f"{owner}.{col.name.lower()}" if owner else col.name.lower()]

    return names


def _columns_of(e: exp.Expr) -> list[exp.Column]:
    """The columns ``e`` reads at its own level (not inside a subquery of it)."""
    found: list[exp.Column] = []
    todo = [e]
    while todo:
        n = todo.pop()
        if isinstance(n, exp.Column):
            found.append(n)
        elif isinstance(n, exp.Columns) and not isinstance(n.this, exp.Column):
            found.append(columns_star(n))   # ``COLUMNS('s.n') AS q``: what the pattern names
        elif not isinstance(n, (exp.Select, exp.Subquery)):
            todo.extend(n.iter_expressions())
    return found


def columns_star(node: exp.Columns) -> exp.Column:
    """``COLUMNS('re')``, ``COLUMNS(x -> …)``, ``COLUMNS(*)``: the columns of the row it matches,
    as a ``*`` that keeps the pattern (the catalog picks the columns it names; a lambda or a
    star matches every one)."""
    star = exp.Column(this=exp.Star())
    if isinstance(node.this, exp.Literal) and node.this.is_string:
        star.meta["columns"] = str(node.this.this)
    return star


def _nth_of(star: exp.Expr, sel: exp.Expr, j: int, n: int) -> exp.Expr:
    """The ``j``-th column of a ``*`` (output ``n`` of ``sel``): ``#j`` of its one source when
    it is the last output; else (its width unknown here) the whole row."""
    last = n == len(sel.expressions) - 1
    sources = ([sel.args["from_"]] if sel.args.get("from_") is not None else []) + list(
        sel.args.get("joins") or [])
    table = star.table if isinstance(star, exp.Column) else ""
    if last and (table or len(sources) == 1):
        col = exp.Column(this=exp.to_identifier(f"#{j}"),
                         table=exp.to_identifier(table) if table else None)
        col.meta["normal"] = True
        return col
    return exp.Column(this=exp.Star(), table=exp.to_identifier(table) if table else None)


def _nth(outs: dict[str, list[tuple[exp.Expr, exp.Expr]]],
         n: int) -> list[tuple[exp.Expr, exp.Expr]] | None:
    """Output ``n`` of a derived source (by the order its outputs were named); past a ``*``, the
    ``*``'s columns by position."""
    keys = [k for k in outs if k != "?"]
    for i, k in enumerate(keys[:n]):
        if k == "*":
            return [(_nth_of(e, inner, n - i, len(inner.expressions) - 1 if i == len(keys) - 1
                             else -2), inner) for e, inner in outs["*"]]
        if i == n - 1:
            return outs[k]
    return None


def _unpivoted(q: exp.Pivot) -> dict[str, list[tuple[exp.Expr, exp.Expr]]]:
    """``UNPIVOT t ON ssn, email INTO NAME k VALUE v``: ``v`` holds every unpivoted column
    (``ON COLUMNS(…)``, ``ON *``: every column of ``t``), ``k`` their names; the other columns
    are ``t``'s."""
    into = q.args.get("into")
    values = [v.alias_or_name.lower() for v in into.expressions] if isinstance(
        into, exp.UnpivotColumns) else []
    read: list[tuple[exp.Expr, exp.Expr]] = []
    for e in q.expressions:
        e = e.this if isinstance(e, exp.Alias) else e
        if isinstance(e, (exp.Columns, exp.Star)) and not isinstance(e.this, exp.Column):
            read.append((exp.Column(this=exp.Star()), q))   # ``EXCLUDE`` aside: fail closed
        else:
            read.append((e, q))
    out: dict[str, list[tuple[exp.Expr, exp.Expr]]] = {
        v: list(read) for v in values or ["value"]}
    out[into.this.alias_or_name.lower() if isinstance(into, exp.UnpivotColumns) else "name"] = [
        (exp.Literal.string(""), q)]
    out["*"] = [(exp.Column(this=exp.Star()), q)]
    return out


def _unnested(e: exp.Expr, sel: exp.Expr, out: dict[str, list[tuple[exp.Expr, exp.Expr]]]) -> None:
    """``unnest({'v': ssn})`` in a SELECT list: a column per field, each reading its expression;
    a struct not spelt out (``unnest(s)``): its fields, unknown here, read all of it."""
    arg = e.this if isinstance(e, exp.Explode) else (e.expressions or [None])[0]
    if isinstance(arg, exp.Struct):
        for f in arg.expressions:
            if isinstance(f, (exp.PropertyEQ, exp.Alias)):
                out.setdefault(f.alias_or_name.lower() if isinstance(f, exp.Alias) else
                               f.this.name.lower(), []).append((f.expression if isinstance(
                                   f, exp.PropertyEQ) else f.this, sel))
    elif arg is not None:
        out.setdefault("?", []).append((arg, sel))


class _Derived:
    """The CTEs, derived tables, ``VALUES`` lists and ``unnest`` sources of a query, by alias:
    what each output column is computed from (an expression and the SELECT it is read in)."""

    def __init__(self, tree: exp.Expr) -> None:
        self.outputs: dict[str, dict[str, list[tuple[exp.Expr, exp.Expr]]]] = {}
        self.constant_sources: set[str] = set()
        # the column names of a constant source, where its alias names them (``v(s)``)
        self.constant_columns: dict[str, frozenset[str]] = {}
        self.budget = 64   # followings per column (a recursive CTE names itself)
        # the ``COLUMNS('re')`` pattern a ``table.*`` was reached through ('': every column)
        self.patterns: dict[str, str] = {}
        for node in tree.find_all(exp.CTE, exp.Subquery, exp.Values, exp.Unnest, exp.Lateral):
            alias = node.args.get("alias")
            key = node.alias_or_name.lower() if isinstance(node, exp.CTE) else _source_key(node)
            if not key:
                continue
            if isinstance(node, (exp.Values, exp.Unnest)):
                if _constant(node):
                    self.constant_sources.add(key)
                    if isinstance(alias, exp.TableAlias) and alias.columns:
                        self.constant_columns[key] = frozenset(
                            c.name.lower() for c in alias.columns)
                elif isinstance(node, exp.Unnest) and isinstance(alias, exp.TableAlias) and \
                        alias.columns and (at := node.find_ancestor(exp.Select)) is not None:
                    # ``unnest(t.l) AS u(v)``: ``u.v`` is made of the elements of ``t.l``
                    self.outputs[key] = {alias.columns[0].name.lower(): [
                        (e, at) for e in node.expressions]}
                continue
            query = node.this.this if isinstance(node, exp.Lateral) and isinstance(
                node.this, exp.Subquery) else node.this
            if isinstance(node, exp.Lateral) and not isinstance(query, exp.Query):
                continue   # ``LATERAL unnest(...)``, a table function: read as its columns
            cols = alias.columns if isinstance(alias, exp.TableAlias) else []
            self.outputs[key] = self._projections(query, [c.name.lower() for c in cols])
            if isinstance(query, exp.Pivot) and not query.args.get("unpivot"):
                # ``PIVOT t ON city USING first(ssn) GROUP BY id``: the columns it makes (one
                # per value of ``city``, unknown here) hold ``first(ssn)``; ``id`` is itself
                group = query.args.get("group")
                for g in group.expressions if isinstance(group, exp.Group) else []:
                    self.outputs[key].setdefault(g.alias_or_name.lower(), []).append((g, query))
                self.outputs[key]["?"] = [(u, query) for u in query.args.get("using") or []]
        for t in tree.find_all(exp.Table):   # ``FROM w t``: ``t`` reads CTE ``w``'s outputs
            if t.alias and t.name.lower() in self.outputs and not t.db:
                self.outputs.setdefault(t.alias.lower(), self.outputs[t.name.lower()])
        self.saved: list[exp.Expr] = []   # saved queries read here (views of views too)
        scan = [tree]
        while scan and len(self.saved) < 16:
            for t in scan.pop().find_all(exp.Table):
                saved = _saved_query(t)
                key = _table_key(t)
                if saved is None or key in self.outputs:
                    continue   # a table, or a CTE of that name
                saved = (normal(saved[0]), saved[1])   # its ``t(a, b, c)``, ``#3`` read too
                self.outputs[key] = self._projections(saved[0], saved[1])
                self.saved.append(saved[0])
                scan.append(saved[0])

    @staticmethod
    def _projections(q: exp.Expr, renamed: list[str]) -> dict[str, list[tuple[exp.Expr, exp.Expr]]]:
        if isinstance(q, exp.Pivot) and q.args.get("unpivot"):
            return _unpivoted(q)
        selects: list[exp.Expr] = []
        todo = [q]
        while todo:   # the branches of a UNION / INTERSECT / EXCEPT, however nested
            node = todo.pop()
            if isinstance(node, exp.Subquery):
                todo.append(node.this)
            elif isinstance(node, exp.SetOperation):
                todo += [node.expression, node.this]   # the leftmost first: it names them
            elif isinstance(node, exp.Select):
                selects.append(node)
        out: dict[str, list[tuple[exp.Expr, exp.Expr]]] = {}
        first = [e.alias_or_name.lower() for e in selects[0].expressions] if selects else []
        listed = renamed   # the names an alias list gives (``t(a, b, c)``)
        renamed = renamed + first[len(renamed):]   # a UNION's columns are its first branch's
        for sel in selects:
            for n, e in enumerate(sel.expressions):
                if isinstance(e, exp.Star) or (isinstance(e, exp.Column)
                                               and isinstance(e.this, exp.Star)):
                    out.setdefault("*", []).append((e, sel))
                    for j, name in enumerate(listed[n:]):   # ``(SELECT * …) t(a, b, c)``
                        out.setdefault(name, []).append((_nth_of(e, sel, j + 1, n), sel))
                    star = e if isinstance(e, exp.Star) else e.this
                    for r in star.args.get("rename") or ():   # ``* RENAME (ssn AS zz)``
                        out.setdefault(r.alias.lower(), []).append((r.this, sel))
                    continue
                name = renamed[n] if n < len(renamed) else e.alias_or_name.lower()
                out.setdefault(name, []).append((e.this if isinstance(e, exp.Alias) else e, sel))
                if isinstance(e, (exp.Explode, exp.Unnest)) and not listed:
                    _unnested(e, sel, out)
        return out

    def enter(self) -> bool:
        self.budget -= 1
        return self.budget > 0

    def _source_keys(self, sel: exp.Expr) -> list[str]:
        if isinstance(sel, exp.Pivot) and sel.this is not None:
            return [_table_key(sel.this)]
        if not isinstance(sel, exp.Select):
            return []
        sources = [sel.args["from_"].this] if sel.args.get("from_") is not None else []
        sources += [j.this for j in sel.args.get("joins") or []]
        return [_table_key(s) for s in sources]

    def own_table(self, sel: exp.Expr) -> str:
        """The one table ``sel`` reads from, when it reads one only ('' otherwise)."""
        if not self.outputs and not self.constant_sources:
            return ""   # no derived source anywhere: the caller's naming holds as it was
        keys = self._source_keys(sel)
        return keys[0] if len(keys) == 1 and keys[0] not in self.outputs else ""

    def _key(self, col: exp.Column, sel: exp.Expr) -> str:
        if col.table:
            return col.table.lower()
        name = col.name.lower()
        keys = self._source_keys(sel)
        hits = [k for k in keys if name in self.outputs.get(k, {}) or (
            k in self.constant_sources and name in self.constant_columns.get(k, {name}))]
        return hits[0] if len(hits) == 1 else keys[0] if len(keys) == 1 else ""

    def follow(self, col: exp.Column, sel: exp.Expr) -> list[tuple[exp.Expr, exp.Expr]] | None:
        """What a derived source's column is computed from (None: a table's own column)."""
        key = self._key(col, sel)
        outs = self.outputs.get(key)
        if outs is None:
            if col.table and not col.db:   # ``s.a``: field ``a`` of a derived column ``s``
                field = self.outputs.get(self._key(exp.column(col.table), sel), {})
                return field.get(col.table.lower())
            return None
        name = col.name.lower()
        if name in outs:
            return outs[name]
        if position(name):   # ``#3`` of a derived source (``sql_normal``): its third output
            return _nth(outs, position(name))
        return [(exp.column(col.name), inner) for _e, inner in outs.get("*", [])] or \
            outs.get("?")   # a column a PIVOT made

    def constant(self, operand: exp.Expr, sel: exp.Expr, depth: int = 0) -> bool:
        """Whether every column ``operand`` reads comes from constants (a ``VALUES`` list, a
        derived table or CTE that selects literals). A subquery is constant when every column
        it returns is (``ssn IN (SELECT s FROM guesses)``, ``guesses`` made from literals)."""
        if isinstance(operand, (exp.Any, exp.All)):   # ``ssn = ANY(SELECT s FROM guesses)``
            operand = operand.this
        if depth <= 8 and isinstance(operand, (exp.Subquery, exp.Query)):
            query = operand.this if isinstance(operand, exp.Subquery) else operand
            outs = self._projections(query, []) if isinstance(query, exp.Query) else {}
            return bool(outs) and "*" not in outs and all(
                _constant(e) or self.constant(e, inner, depth + 1)
                for found in outs.values() for e, inner in found)
        if depth > 8 or any(isinstance(n, exp.Star) or (isinstance(n, exp.Select)
                            and n.args.get("from_") is not None) for n in operand.walk()):
            return False
        cols = _columns_of(operand)
        if not cols:
            return False   # no column: ``_constant`` already said
        for col in cols:
            if self._key(col, sel) in self.constant_sources:
                continue
            follow = self.follow(col, sel)
            if not follow or not all(_constant(e) or self.constant(e, s, depth + 1)
                                     for e, s in follow):
                return False
        return True


