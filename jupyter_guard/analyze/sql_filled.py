"""What a table made empty in this process holds once rows are inserted into it: ``CREATE TABLE
g(s VARCHAR)`` then ``INSERT INTO g VALUES ('123…')`` makes ``g`` stand for those constants
(a guess table, as ``CREATE TABLE g AS SELECT '123…'`` does in ``sql_saved``), so comparing
``ssn`` with its column is a comparison with constants (``sql_infer``). Each further ``INSERT``
adds its rows (``UNION ALL``: rows read from ``customers`` are then among them, and the
guesses still are); rows the guard cannot read (``COPY … FROM`` a file, ``UPDATE``,
``MERGE``, an ``INSERT`` of a source it cannot follow) are constants. A table made here
that no ``INSERT`` filled is a guess too (``sql_sides``): its rows came in some way the guard
did not see.

Pure: sqlglot trees in; the memory is this process's (``sql_saved``'s).

>>> import sqlglot
>>> _filled(sqlglot.parse_one("CREATE TABLE doc_g(n INT, s VARCHAR)"))
True
>>> _filled(sqlglot.parse_one("INSERT INTO doc_g(s) VALUES ('1')"))
True
>>> _SAVED["doc_g"][0].sql()
"SELECT NULL AS n, '1' AS s"
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_saved import _SAVED

# tables made empty in this process (``CREATE TABLE g(s VARCHAR)``): name -> their columns;
# what ``INSERT`` puts in them is then all they hold (``_filled``)
_MADE: dict[str, list[str]] = {}


def _filled(tree: exp.Expr) -> bool:
    """Keep what ``tree`` puts in a table made here (True: what a name stands for changed)."""
    if isinstance(tree, exp.Create) and str(tree.args.get("kind") or "").upper() == "TABLE":
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        name = target.name.lower() if isinstance(target, exp.Table) else ""
        _MADE.pop(name, None)
        if tree.expression is None and isinstance(tree.this, exp.Schema) and name:
            _MADE[name] = [c.name.lower() for c in tree.this.expressions
                           if isinstance(c, exp.ColumnDef)]
            _SAVED.pop(name, None)
            return True
        return False
    if isinstance(tree, (exp.Copy, exp.Update, exp.Merge)):
        table = tree.this if isinstance(tree.this, exp.Table) else tree.find(exp.Table)
        name = table.name.lower() if table is not None else ""
        if name in _MADE:   # rows from a file, or changed by values the guard does not follow
            _add(name, [_unknown(_MADE[name])])
            return True
        return False
    if not isinstance(tree, exp.Insert) or tree.expression is None:
        return False
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    name = target.name.lower() if isinstance(target, exp.Table) else ""
    cols = _MADE.get(name)
    if not cols:
        return False
    given = [c.name.lower() for c in tree.this.expressions] \
        if isinstance(tree.this, exp.Schema) else cols
    _add(name, _rows_of(tree.expression, given, cols) or [_unknown(cols)])
    return True


def _add(name: str, parts: list[exp.Expr]) -> None:
    """``name`` (made here) now also holds the rows of ``parts`` (``UNION ALL``)."""
    part = parts[0]
    for more in parts[1:]:
        part = exp.union(part, more, distinct=False)
    known = _SAVED.get(name)
    query = part if known is None else exp.union(known[0].copy(), part, distinct=False)
    _SAVED[name] = (query, _MADE[name])


def _unknown(cols: list[str]) -> exp.Expr:
    """Rows the guard cannot read (a file's, ``?`` parameters, an ``UPDATE``'s): as
    constants, guesses for all the guard knows."""
    return exp.select(*[exp.alias_(exp.Placeholder(), c) for c in cols] or [exp.Placeholder()])


def _rows_of(src: exp.Expr, given: list[str], cols: list[str]) -> list[exp.Expr]:
    """The SELECTs that give the rows ``src`` inserts into columns ``given`` of a table of
    ``cols`` (the others NULL): one per ``VALUES`` tuple (at most 16 of literals alone), or
    ``src``'s own SELECTs with their outputs named as the table's columns."""
    if isinstance(src, exp.Values):
        tuples = [t.expressions if isinstance(t, exp.Tuple) else [t] for t in src.expressions]
        plain = [t for t in tuples if all(isinstance(e, exp.Literal) or e.is_star for e in t)]
        keep = [t for t in tuples if t not in plain] + plain[:16]
        return [exp.select(*_named(t, given, cols)) for t in keep]
    if isinstance(src, exp.Subquery):
        return _rows_of(src.this, given, cols)
    if isinstance(src, exp.SetOperation):
        return _rows_of(src.this, given, cols) + _rows_of(src.expression, given, cols)
    if isinstance(src, exp.Select) and not any(e.is_star for e in src.expressions):
        out = src.copy()
        out.set("expressions", _named(out.expressions, given, cols))
        return [out]
    if isinstance(src, exp.Query):   # ``SELECT * FROM (VALUES …)``: its columns by position
        alias = exp.TableAlias(this=exp.to_identifier("_ins"),
                               columns=[exp.to_identifier(c) for c in given])
        return [exp.select(*_named([exp.column(c, table="_ins") for c in given], given, cols))
                .from_(exp.Subquery(this=src.copy(), alias=alias))]
    return []


def _named(values: list[exp.Expr], given: list[str], cols: list[str]) -> list[exp.Expr]:
    by = {c: v.this if isinstance(v, exp.Alias) else v for c, v in zip(given, values)}
    return [exp.alias_(by[c].copy() if c in by else exp.Null(), c) for c in cols]
