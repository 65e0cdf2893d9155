"""Where the values on the other side of a comparison come from (the inference rule's lineage):
the table columns they are read from, or a guess.

A comparison of a sensitive column (``ssn = x``, ``ssn IN (SELECT x …)``, ``JOIN g ON c.ssn =
g.x``, ``array_has_any([ssn], x)``) answers a question about single values unless ``x`` is data
the warehouse holds. ``Sides.value`` follows ``x`` through CTEs, derived tables, ``UNION``
branches, views and tables made in this process (``sql_saved``, ``sql_filled``) down to its
leaves: a table column (``orders.email``; the catalog then says whether it is a sensitive column
of a real table, ``guard.infer_catalog``), or a guess, named with a leading ``!``: a constant, a
``VALUES`` list, generated rows (``range``, ``generate_series``, ``unnest`` of a literal list),
a table function (``read_csv``, ``read_parquet``), a table made empty here whose rows the guard
did not see, or a value computed by anything but a short list of functions that keep what a
column holds (casts, ``lower``/``upper``/``trim``, hashes, ``replace`` of a literal, lists and
concatenations of such values only). One guess leaf makes the whole side a guess: a table of
guesses with one real row added still asks about the guesses.

Pure: sqlglot trees in, names out.

>>> import sqlglot
>>> t = sqlglot.parse_one("WITH g AS (SELECT lpad(range::VARCHAR, 9, '0') AS s FROM range(9)) "
...                       "SELECT 1 FROM customers c JOIN g ON c.ssn = g.s")
>>> sorted(Sides(t).value(t.find(exp.EQ).expression, t))
['!lpad']
>>> t = sqlglot.parse_one("SELECT 1 FROM customers c JOIN orders o ON c.email = lower(o.email)")
>>> sorted(Sides(t).value(t.find(exp.EQ).expression, t))
['orders.email']
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_filled import _MADE
from jupyter_guard.analyze.sql_saved import _SAVED, _table_key
from jupyter_guard.analyze.sql_sources import _constant, _Derived, _naming

Leaves = frozenset[str]
# wrappers whose value is what their argument holds
_KEEP = (exp.Paren, exp.Alias, exp.Cast, exp.TryCast, exp.Lower, exp.Upper, exp.Collate,
         exp.Explode, exp.First, exp.Last, exp.ArrayAgg, exp.AnyValue, exp.IgnoreNulls,
         exp.Distinct, exp.Bracket, exp.ArrayUniqueAgg)
# functions whose every argument must be kept values (a literal among them makes a guess)
_ALL = (exp.Concat, exp.DPipe, exp.Array, exp.MD5, exp.SHA, exp.SHA2, exp.MD5Digest)
_ALL_NAMES = frozenset({"hash", "md5_number", "md5_number_upper", "md5_number_lower", "sha1",
                        "sha256", "list_value", "list", "array_agg", "first", "any_value",
                        "arbitrary", "last", "list_distinct", "array_distinct", "flatten"})
_AGG_KEEP = frozenset({"list", "array_agg", "first", "any_value", "arbitrary", "last"})


def _spelt(e: exp.Expr) -> str:
    """How a computed value or a table function is called in SQL (``lpad``, ``range``, ``+``)."""
    if isinstance(e, exp.Anonymous):
        return str(e.this).lower()
    if isinstance(e, exp.Func):
        return e.sql(dialect="duckdb").split("(", 1)[0].strip().lower()[:40] or "function"
    return type(e).__name__.lower()


def guess(leaves: Leaves) -> bool:
    """Whether a side with these leaves holds a guess (or nothing known)."""
    return not leaves or any(n.startswith("!") for n in leaves)


class Sides:
    """The leaves of values read in ``tree`` (one per query; saved queries get their own
    ``_Derived``, made when first followed)."""

    def __init__(self, tree: exp.Expr, derived: _Derived | None = None) -> None:
        self.root = tree
        self._derived: dict[int, _Derived] = {id(tree): derived or _Derived(tree)}
        self._names: dict[int, object] = {}
        self.budget = 512

    def _of(self, node: exp.Expr) -> _Derived:
        root = node
        while root.parent is not None:
            root = root.parent
        d = self._derived.get(id(root))
        if d is None:
            d = self._derived[id(root)] = _Derived(root)
        return d

    def value(self, e: exp.Expr, sel: exp.Expr, depth: int = 0) -> Leaves:
        """The leaves of the values ``e`` (read in ``sel``) takes."""
        self.budget -= 1
        if self.budget <= 0 or depth > 24:
            return frozenset({"!too-deep"})
        if isinstance(e, (exp.Any, exp.All)):
            e = e.this
        if isinstance(e, (exp.Subquery, exp.Query)):
            return self._query(e.this if isinstance(e, exp.Subquery) else e, depth)
        if isinstance(e, exp.Column):
            return self._column(e, sel, depth)
        if isinstance(e, exp.Star):
            return self._row("", sel, depth)
        if _constant(e):
            return frozenset({"!constant"})
        if (isinstance(e, exp.Trim) and e.args.get("expression") is None) or isinstance(e, _KEEP):
            return self.value(e.this, sel, depth + 1)
        if isinstance(e, exp.Replace) and all(
                isinstance(a, exp.Literal) for a in (e.expression, e.args.get("replacement"))):
            return self.value(e.this, sel, depth + 1)
        name = str(e.this).lower() if isinstance(e, exp.Anonymous) else ""
        if isinstance(e, _ALL) or (isinstance(e, exp.Anonymous) and name in _ALL_NAMES):
            args = list(e.iter_expressions())
            parts = [self.value(a, sel, depth + 1) for a in args]
            return frozenset().union(*parts) if parts else frozenset({"!constant"})
        return frozenset({f"!{_spelt(e)}"})

    def _query(self, q: exp.Expr, depth: int) -> Leaves:
        outs = _Derived._projections(q, [])
        found: set[str] = set()
        for pairs in outs.values():
            for e, inner in pairs:
                found |= self.value(e, inner, depth + 1)
        return frozenset(found) or frozenset({"!constant"})

    def _column(self, col: exp.Column, sel: exp.Expr, depth: int) -> Leaves:
        if isinstance(col.this, exp.Star):
            return self._row(col.table.lower(), sel, depth)
        if isinstance(sel, exp.Select) and sel.args.get("from_") is None:
            outer = sel.parent_select
            if outer is not None and outer is not sel:   # ``(SELECT ssn)`` reads the outer row
                return self._column(col, outer, depth + 1)
        d = self._of(sel)
        key = d._key(col, sel)
        if key in d.constant_sources:
            return frozenset({"!values"})
        follow = d.follow(col, sel)
        if follow is not None:
            found: set[str] = set()
            for e, inner in follow:
                found |= self.value(e, inner, depth + 1)
            return frozenset(found) or frozenset({"!unknown"})
        return self._table_column(col, sel, key, d)

    def _sources(self, sel: exp.Expr) -> list[exp.Expr]:
        if not isinstance(sel, exp.Select):
            return []
        out = [sel.args["from_"].this] if sel.args.get("from_") is not None else []
        return out + [j.this for j in sel.args.get("joins") or []]

    def _table_column(self, col: exp.Column, sel: exp.Expr, key: str, d: _Derived) -> Leaves:
        name = col.name.lower()
        sources = self._sources(sel)
        picked = [s for s in sources if _table_key(s) == key] if key else []
        if not picked and not col.table:
            picked = sources
        bad = [self._not_table(s) for s in picked]
        if picked and all(bad):
            return frozenset(b for b in bad if b)
        tables = [s for s, b in zip(picked, bad) if not b and isinstance(s, exp.Table)]
        if len(tables) > 1 and not col.table:   # ``ON c.ssn = x``: one of them holds ``x``
            return frozenset({"|".join(f"{t.name.lower()}.{name}" for t in tables)})
        if len(tables) == 1 and not any(bad):
            return frozenset({f"{tables[0].name.lower()}.{name}"})
        if any(bad):   # a bare name that a generated source may hold
            return frozenset(b for b in bad if b) | frozenset(
                f"{t.name.lower()}.{name}" for t in tables)
        root = self._of(sel)
        names = self._names.get(id(root))
        if names is None:
            top = sel
            while top.parent is not None:
                top = top.parent
            names = self._names[id(root)] = _naming(top, root)
        root.budget = 64
        found = names(col, sel)  # type: ignore[operator]
        return frozenset(n if "." in n else f"!unplaced:{n}" for n in found) or \
            frozenset({"!unknown"})

    @staticmethod
    def _not_table(s: exp.Expr) -> str:
        """'' for a table of the database; else the guess a FROM source is."""
        if isinstance(s, exp.Table):
            if isinstance(s.this, exp.Func):   # ``range(9)``, ``read_csv('g.csv')``
                return "!" + _spelt(s.this)
            name = s.name.lower()
            if name in _MADE and name not in _SAVED:
                return "!made-here"   # made empty here; no row the guard saw went in
            return ""
        return "!" + type(s).__name__.lower()   # a source no derived output names

    def _row(self, table: str, sel: exp.Expr, depth: int) -> Leaves:
        """``*`` / ``t.*`` of ``sel``: every column of its sources (a table's: ``t.*``)."""
        d = self._of(sel)
        keys = [table] if table else d._source_keys(sel)
        found: set[str] = set()
        for key in keys:
            if key in d.constant_sources:
                found.add("!values")
            elif key in d.outputs:
                for pairs in d.outputs[key].values():
                    for e, inner in pairs:
                        found |= self.value(e, inner, depth + 1)
            else:
                src = [s for s in self._sources(sel) if _table_key(s) == key]
                bad = self._not_table(src[0]) if src else "!unknown"
                name = src[0].name.lower() if src and isinstance(src[0], exp.Table) else key
                found.add(bad or f"{name}.*")
        return frozenset(found) or frozenset({"!unknown"})
