"""Inference: predicates that compare a column with a constant (``=``, ``LIKE``, ``IN``, ranges,
``regexp_*``, ``starts_with``, ``left(ssn, 3) = '123'``) inside a query. Each becomes a
``sql.predicate`` intent naming the column; the ``inference`` rule decides on the sensitive ones.
Column-to-column comparisons (joins on ``email``) and subqueries are not constants and yield none.
Ranking by a sensitive column while showing something else (``SELECT id … ORDER BY ssn``,
``rank() OVER (ORDER BY email)``, ``arg_min(id, ssn)``) yields one too (detail ``order``).

Pure: sqlglot trees in, intents out.

>>> [i.target for i in predicate_intents(sqlglot.parse_one(
...     "SELECT count(*) FROM customers c WHERE c.ssn LIKE '123%' AND city = 'Lyon'"))]
['customers.ssn', 'customers.city']
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import sqlglot
from sqlglot import exp

from jupyter_guard.model import Analysis, Intent

_SKIP = (exp.Is, exp.SubqueryPredicate)
# functions whose result says how a value relates to another: equal or not (``nullif``), how far
# (``levenshtein(email, 'a@b.com') = 0``), where (``instr``), which is larger (``greatest``)
_BOOL_FUNCS = (exp.StartsWith, exp.EndsWith, exp.Contains, exp.Levenshtein,
               exp.JarowinklerSimilarity, exp.StrPosition, exp.ArrayPosition, exp.Nullif,
               exp.Greatest, exp.Least)
_BOOL_NAMES = frozenset({"regexp_matches", "regexp_full_match", "prefix", "suffix", "contains",
                         "starts_with", "ends_with", "like_escape", "ilike_escape", "glob",
                         "list_contains", "array_contains", "list_has", "array_has",
                         "damerau_levenshtein", "hamming", "mismatches", "jaccard",
                         "jaro_similarity", "list_position", "list_indexof", "array_indexof",
                         "strcmp"})


def _is_predicate(node: exp.Expr) -> bool:
    if isinstance(node, exp.Predicate):
        return not isinstance(node, _SKIP)
    if isinstance(node, exp.Case):   # ``CASE ssn WHEN '123' THEN ...`` compares ssn with '123'
        return node.args.get("this") is not None
    return isinstance(node, _BOOL_FUNCS) or (
        isinstance(node, exp.Anonymous) and str(node.this).lower() in _BOOL_NAMES)


def _operands(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Case):
        return [node.this, *(i.this for i in node.args.get("ifs") or ())]
    return list(node.iter_expressions())


def _constant(node: exp.Expr) -> bool:
    """No column and no query reading a table: ``'x'``, ``?``, ``(SELECT 'x')``."""
    return not any(isinstance(n, (exp.Column, exp.Star)) or (
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


def predicate_intents(tree: exp.Expr) -> tuple[Intent, ...]:
    """One ``sql.predicate`` intent per column compared with a constant in a query. A column of
    a CTE or a derived table stands for the columns its output reads, and one whose output is a
    constant (``JOIN (SELECT '123' AS s) x ON c.ssn = x.s``, a ``VALUES`` list) is a constant."""
    tree = _inline(tree)
    derived = _Derived(tree)
    names = _naming(tree, derived)
    out: dict[str, Intent] = {}
    for node, sel in _scoped(tree, None):
        if sel is None or sel is node or not _is_predicate(node):
            continue
        operands = _operands(node)
        constant = [_constant(o) or derived.constant(o, sel) for o in operands]
        if not any(constant):
            continue
        for operand, const in zip(operands, constant):
            if const:
                continue
            for col, col_sel in _compared(operand, sel):
                derived.budget = 64
                for name in names(col, col_sel):
                    if name not in out:
                        out[name] = Intent("sql.predicate", "column", name, (name,),
                                           source=node.sql(dialect="duckdb")[:200])
    for sel in tree.find_all(exp.Select):
        for col, source in _joined_constants(sel, derived):
            derived.budget = 64
            for name in names(col, sel):
                out.setdefault(name, Intent("sql.predicate", "column", name, (name,),
                                            source=source))
    return tuple(out.values())


def _joined_constants(sel: exp.Select, derived: _Derived) -> list[tuple[exp.Column, str]]:
    """``JOIN … USING (ssn)`` and ``NATURAL JOIN`` with a constant source (``(SELECT '123' AS
    ssn)``, ``VALUES ('123') v(ssn)``) compare the other sources' columns of those names with
    the constant: each such column, with the join's text."""
    joins = sel.args.get("joins") or []
    matched = [j for j in joins if j.args.get("using")
               or str(j.args.get("method") or "").upper() == "NATURAL"]
    if not matched:
        return []
    sources = ([sel.args["from_"].this] if sel.args.get("from_") is not None else [])
    sources += [j.this for j in joins]
    keys = [_source_key(t) or t.alias_or_name.lower() for t in sources]
    using = {u.name.lower() for j in matched for u in j.args.get("using") or []}
    out: list[tuple[exp.Column, str]] = []
    for key in keys:
        if key in derived.constant_sources:
            values = next((t for t, k in zip(sources, keys) if k == key), None)
            alias = values.args.get("alias") if values is not None else None
            consts = using or {c.name.lower() for c in (
                alias.columns if isinstance(alias, exp.TableAlias) else [])}
        elif key in derived.outputs:
            outs = derived.outputs[key]
            consts = {n for n in (using or set(outs)) if n in outs and all(
                _constant(e) or derived.constant(e, s) for e, s in outs[n])}
        else:
            continue
        text = " ".join(j.sql(dialect="duckdb") for j in matched)[:200]
        out += [(exp.column(n, table=other), text) for other in keys if other != key
                for n in sorted(consts)]
    return out


def _compared(operand: exp.Expr, sel: exp.Expr) -> list[tuple[exp.Column, exp.Expr]]:
    """The columns whose values ``operand`` (read in ``sel``) carries, each with the SELECT it
    is read in: its own, those of a FROM-less subquery in it (``(SELECT ssn) LIKE '1%'`` reads
    the outer row), and what a subquery operand returns (``'1' IN (SELECT ssn FROM customers)``).
    A subquery's filters are not compared with this constant."""
    out: list[tuple[exp.Column, exp.Expr]] = []
    for col, owner in _scoped(operand, sel):
        if isinstance(col, exp.Column) and (owner is sel or (
                owner is not None and owner.args.get("from_") is None)):
            out.append((col, sel))
    if isinstance(operand, (exp.Subquery, exp.Query)):
        query = operand.this if isinstance(operand, exp.Subquery) else operand
        for outs in _Derived._projections(query, []).values():
            out += [(c, inner) for e, inner in outs for c in _columns_of(e)]
    return out


def _naming(tree: exp.Expr, derived: _Derived) -> Callable[[exp.Column, exp.Expr], list[str]]:
    """``names(col, sel)``: the table columns ``col`` (read in ``sel``) stands for, as
    ``table.column``: itself, or what a CTE's or derived table's output is computed from."""
    aliases = _aliases(tree)
    for saved in derived.saved:
        aliases = {**_aliases(saved), **aliases}
    tables = [t.name.lower() for t in tree.find_all(exp.Table)]

    def names(col: exp.Column, sel: exp.Expr) -> list[str]:
        follow = derived.follow(col, sel)
        if follow is not None:
            return [n for inner, inner_sel in follow for c in _columns_of(inner)
                    for n in names(c, inner_sel)] if derived.enter() else []
        own = derived.own_table(sel) if not col.table else ""
        owner = aliases.get(col.table.lower(), col.table.lower()) if col.table else (
            aliases.get(own, own) if own else tables[0] if len(set(tables)) == 1 else "")
        return [f"{owner}.{col.name.lower()}" if owner else col.name.lower()]

    return names


def _columns_of(e: exp.Expr) -> list[exp.Column]:
    """The columns ``e`` reads at its own level (not inside a subquery of it)."""
    found: list[exp.Column] = []
    todo = [e]
    while todo:
        n = todo.pop()
        if isinstance(n, exp.Column):
            found.append(n)
        elif not isinstance(n, (exp.Select, exp.Subquery)):
            todo.extend(n.iter_expressions())
    return found


# views, tables and table macros made by ``CREATE … AS <query>`` in this process: name -> (the
# query, its column names); a later query reading one reads what that query computes
_SAVED: dict[str, tuple[exp.Expr, list[str]]] = {}


def _remember(tree: exp.Expr) -> bool:
    """Keep what ``CREATE [TEMP] VIEW|TABLE v AS …`` / ``CREATE MACRO m() AS TABLE …`` stores."""
    if isinstance(tree, exp.Create) and str(tree.args.get("kind") or "").upper() in (
            "MACRO", "FUNCTION") and isinstance(tree.this, exp.UserDefinedFunction) and \
            isinstance(tree.expression, exp.Expr) and not isinstance(tree.expression, exp.Query):
        udf = tree.this   # ``CREATE MACRO m(a) AS a LIKE '1%'``: ``m(ssn)`` is that body
        params = [p.name.lower() for p in udf.expressions if isinstance(p, exp.Identifier)]
        name = udf.this.name if isinstance(udf.this, exp.Table) else udf.name
        if name and len(params) == len(udf.expressions):
            _MACROS[name.lower()] = (params, tree.expression.copy())
            return True
        return False
    if not isinstance(tree, exp.Create) or not isinstance(tree.expression, exp.Query) or \
            str(tree.args.get("kind") or "").upper() not in ("VIEW", "TABLE", "MACRO"):
        return False
    target, cols = tree.this, []
    if isinstance(target, exp.Schema):
        cols = [c.name.lower() for c in target.expressions if isinstance(c, exp.Identifier)]
        target = target.this
    if isinstance(target, exp.UserDefinedFunction):
        target = target.this
    if not isinstance(target, exp.Table) or not target.name:
        return False
    _SAVED[target.name.lower()] = (tree.expression.copy(), cols)
    return True


_MACROS: dict[str, tuple[list[str], exp.Expr]] = {}   # scalar macros: name -> (params, body)


def _inline(tree: exp.Expr) -> exp.Expr:
    """``tree`` with each call of a scalar macro made in this process replaced by its body
    (its parameters by the arguments), so ``m(ssn)`` is read as ``ssn LIKE '1%'``."""
    if not _MACROS:
        return tree

    def expand(node: exp.Expr) -> exp.Expr:
        known = _MACROS.get(str(node.this).lower()) if isinstance(node, exp.Anonymous) else None
        if known is None or len(known[0]) != len(node.expressions):
            return node
        args = dict(zip(known[0], node.expressions))

        def put(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.Column) and not n.table and n.name.lower() in args:
                return exp.paren(args[n.name.lower()].copy())
            return n
        return exp.paren(known[1].copy().transform(put))

    for _ in range(4):   # macros calling macros
        tree = tree.transform(expand)
    return tree


def _saved_query(t: exp.Table) -> tuple[exp.Expr, list[str]] | None:
    """The query a table name stands for: a saved view/table/macro, or ``query('SELECT …')``."""
    f = t.this
    if isinstance(f, exp.Anonymous) and str(f.this).lower() == "query" and f.expressions and \
            isinstance(f.expressions[0], exp.Literal) and f.expressions[0].is_string:
        try:
            return sqlglot.parse_one(f.expressions[0].this, read="duckdb"), []
        except Exception:  # noqa: BLE001 - DuckDB reports a query it cannot read either
            return None
    name = _table_key(t) if not t.alias else t.name or str(getattr(f, "this", "")).lower()
    return _SAVED.get(name.lower()) if _SAVED and name else None


def _table_key(t: exp.Expr) -> str:
    """A FROM source's key: its alias or name (a table macro ``tm()``: ``tm``)."""
    key = _source_key(t) or t.alias_or_name.lower()
    if not key and isinstance(t, exp.Table) and isinstance(t.this, exp.Anonymous):
        key = str(t.this.this).lower()
    return key


def _source_key(node: exp.Expr) -> str:
    """A FROM or JOIN source's name: its alias, or for an unaliased subquery, ``VALUES`` list
    or ``unnest`` in FROM (DuckDB allows ``FROM (SELECT ssn AS x …) WHERE x …``) its identity."""
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.name:
        return alias.name.lower()
    if isinstance(node, (exp.Subquery, exp.Values, exp.Unnest, exp.Lateral)) and isinstance(
            node.parent, (exp.From, exp.Join)):
        return f"#{id(node)}"
    return ""


class _Derived:
    """The CTEs, derived tables, ``VALUES`` lists and ``unnest`` sources of a query, by alias:
    what each output column is computed from (an expression and the SELECT it is read in)."""

    def __init__(self, tree: exp.Expr) -> None:
        self.outputs: dict[str, dict[str, list[tuple[exp.Expr, exp.Expr]]]] = {}
        self.constant_sources: set[str] = set()
        self.budget = 64   # followings per column (a recursive CTE names itself)
        for node in tree.find_all(exp.CTE, exp.Subquery, exp.Values, exp.Unnest, exp.Lateral):
            alias = node.args.get("alias")
            key = node.alias_or_name.lower() if isinstance(node, exp.CTE) else _source_key(node)
            if not key:
                continue
            if isinstance(node, (exp.Values, exp.Unnest)):
                if _constant(node):
                    self.constant_sources.add(key)
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
        self.saved: list[exp.Expr] = []   # saved queries read here (views of views too)
        scan = [tree]
        while scan and len(self.saved) < 16:
            for t in scan.pop().find_all(exp.Table):
                saved = _saved_query(t)
                key = _table_key(t)
                if saved is None or key in self.outputs:
                    continue   # a table, or a CTE of that name
                self.outputs[key] = self._projections(saved[0], saved[1])
                self.saved.append(saved[0])
                scan.append(saved[0])

    @staticmethod
    def _projections(q: exp.Expr, renamed: list[str]) -> dict[str, list[tuple[exp.Expr, exp.Expr]]]:
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
        renamed = renamed + first[len(renamed):]   # a UNION's columns are its first branch's
        for sel in selects:
            for n, e in enumerate(sel.expressions):
                if isinstance(e, exp.Star) or (isinstance(e, exp.Column)
                                               and isinstance(e.this, exp.Star)):
                    out.setdefault("*", []).append((e, sel))
                    continue
                name = renamed[n] if n < len(renamed) else e.alias_or_name.lower()
                out.setdefault(name, []).append((e.this if isinstance(e, exp.Alias) else e, sel))
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
        hits = [k for k in keys if name in self.outputs.get(k, {}) or k in self.constant_sources]
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
        return [(exp.column(col.name), inner) for _e, inner in outs.get("*", [])] or \
            outs.get("?")   # a column a PIVOT made

    def constant(self, operand: exp.Expr, sel: exp.Expr, depth: int = 0) -> bool:
        """Whether every column ``operand`` reads comes from constants (a ``VALUES`` list, a
        derived table or CTE that selects literals)."""
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


def order_intents(tree: exp.Expr) -> tuple[Intent, ...]:
    """One ``sql.predicate`` intent (detail ``order``) per column that rows or values are ranked
    by while something else is shown in that order: ``SELECT id … ORDER BY ssn``, ``rank() OVER
    (ORDER BY email)``, ``arg_min(id, ssn)``, ``list(id ORDER BY ssn)``. A rank reveals roughly
    where a value lies (with 10,000 rows, its first digits). Sorting a column shown alone (``SELECT
    ssn … ORDER BY ssn``: its values are masked anyway) or by a property (``length(email)``) is
    none.

    >>> [i.target for i in order_intents(sqlglot.parse_one(
    ...     "SELECT id, ssn FROM customers ORDER BY ssn"))]
    ['customers.ssn']
    >>> order_intents(sqlglot.parse_one("SELECT ssn FROM customers ORDER BY ssn"))
    ()
    """
    tree = _inline(tree)
    derived = _Derived(tree)
    names = _naming(tree, derived)
    out: dict[str, Intent] = {}
    for node, sel in _scoped(tree, None):
        if sel is None or sel is node:
            continue
        if isinstance(node, exp.Order):
            keys = _keys(node, sel)
            shown = _shown(node, sel)
        elif isinstance(node, (exp.ArgMin, exp.ArgMax)) and node.expression is not None:
            keys, shown = [node.expression], [node.this]
        else:
            continue
        derived.budget = 64

        def name(col: exp.Column, sel: exp.Expr = sel) -> list[str]:
            return names(col, sel)
        ranked = {n for k in keys for c in _content_columns(k) for n in name(c)}
        if not ranked or not any(_beside(e, ranked, name) for e in shown):
            continue
        for col in sorted(ranked):
            out.setdefault(col, Intent("sql.predicate", "column", col, (col,), detail="order",
                                       source=node.sql(dialect="duckdb")[:200]))
    return tuple(out.values())


def _keys(order: exp.Order, sel: exp.Expr) -> list[exp.Expr]:
    """The sort keys of ``order``; in a SELECT's own ORDER BY, an alias or a position stands for
    the output it names."""
    keys = [k.this if isinstance(k, exp.Ordered) else k for k in order.expressions]
    if order.parent is not sel or not isinstance(sel, exp.Select):
        return keys
    outputs = sel.expressions
    named = {e.alias.lower(): e.this for e in outputs if isinstance(e, exp.Alias)}
    resolved = []
    for k in keys:
        if isinstance(k, exp.Literal) and k.is_int and 0 < int(k.this) <= len(outputs):
            k = outputs[int(k.this) - 1]
        elif isinstance(k, exp.Column) and not k.table and k.name.lower() in named:
            k = named[k.name.lower()]
        resolved.append(k)
    return resolved


def _shown(order: exp.Order, sel: exp.Expr) -> list[exp.Expr]:
    """What is shown in the order ``order`` sets: a SELECT's outputs, a window's function, or
    the values an aggregate lists or picks."""
    parent = order.parent
    if parent is sel and isinstance(sel, exp.Select):
        return list(sel.expressions)
    if isinstance(parent, exp.Window):
        return [parent.this]
    if order.this is not None:
        return [order.this]
    return [e for e in (parent.iter_expressions() if parent is not None else ())
            if e is not order] or [order]


def _content_columns(e: exp.Expr) -> list[exp.Column]:
    """The columns ``e`` reads the content of (not under ``length``, ``typeof``, ``IS NULL``,
    nor inside a subquery)."""
    from jupyter_guard.analyze.sql_taint import reveals_nothing

    found: list[exp.Column] = []
    todo = [e]
    while todo:
        n = todo.pop()
        if isinstance(n, exp.Column) and not isinstance(n.this, exp.Star):
            found.append(n)
        elif not (reveals_nothing(n) or isinstance(n, (exp.Select, exp.Subquery))):
            todo.extend(n.iter_expressions())
    return found


def _beside(e: exp.Expr, ranked: set[str], name: Callable[[exp.Column], list[str]]) -> bool:
    """Whether the shown expression ``e`` shows anything besides the ranked columns: another
    column, every column (``*``), or a position (``rank()``, ``count(*)``)."""
    if any(True for _ in e.find_all(exp.Star)):
        return True
    cols = {n for c in _content_columns(e) for n in name(c)}
    return not cols or not cols <= ranked


@lru_cache(maxsize=1024)
def _of_text(text: str, dialect: str, saved: int = 0) -> tuple[Intent, ...]:
    """``saved``: how many views were remembered (a new one changes what a text reads)."""
    from jupyter_guard.analyze.sql import _parse  # the analysis' own cache: no second parse

    try:
        trees = _parse(text, dialect)
    except Exception:  # noqa: BLE001 - a statement sqlglot cannot read: the SQL analysis already decides it
        return ()
    found: list[Intent] = []
    for tree in trees:
        if tree is not None:
            found.extend(predicate_intents(tree))
            found.extend(order_intents(tree))
    return tuple(found)


_COPY_DATABASE = re.compile(r"^\s*COPY\s+FROM\s+DATABASE\s+(\S+)\s+TO\s+([^\s;]+)", re.I)


def copy_database(i: Intent) -> Intent:
    """DuckDB reports ``COPY FROM DATABASE a TO b`` as a PRAGMA: it copies every table of ``a``.

    >>> copy_database(Intent("sql.set", source="COPY FROM DATABASE wh TO tgt")).action
    'sql.export'
    """
    m = _COPY_DATABASE.match(i.source)
    if m is None:
        return i
    return Intent("sql.export", "database", m.group(2).strip('"'), ("?",), (m.group(1),),
                  i.source, detail=f"attached database {m.group(2)}")


_VERSION = [0]


def _remember_in(pieces: Sequence[str], dialect: str) -> None:
    from jupyter_guard.analyze.sql import _parse

    for piece in pieces:
        try:
            trees = _parse(piece, dialect)
        except Exception:  # noqa: BLE001 - a statement sqlglot cannot read stores nothing known
            continue
        if any(t is not None and _remember(t) for t in trees):
            _VERSION[0] += 1


def with_predicates(a: Analysis, text: str, dialect: str = "duckdb",
                    pieces: Sequence[str] | None = None) -> Analysis:
    """``a`` plus the predicate intents of ``text`` (cached by text; no SELECT, no work), with
    ``COPY FROM DATABASE`` read as the export it is. ``pieces``: the statements as the analysis
    split them (DuckDB's splitter), so their parses come from the same cache."""
    low = text.lower()
    if "database" in low and "copy" in low:
        a = Analysis(tuple(copy_database(i) for i in a.intents), a.errors, a.vars_written,
                     a.vars_read)
    if "create" in low and " as " in low:
        _remember_in(pieces or (text,), dialect)
    if "select" not in low:
        return a
    extra: tuple[Intent, ...] = ()
    for piece in pieces if pieces is not None else (text,):
        if "select" in piece.lower():
            extra += _of_text(piece, dialect, _VERSION[0])
    return a + Analysis(extra) if extra else a


__all__ = ["order_intents", "predicate_intents", "with_predicates"]
