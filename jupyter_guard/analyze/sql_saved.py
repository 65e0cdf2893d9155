"""What a name in a query stands for beyond the query itself: views, tables and table macros
made by ``CREATE … AS <query>`` in this process (``query('SELECT …')`` too), and scalar macros,
whose calls are read as their bodies. The inference naming (``sql_sources``) follows them.

Pure: sqlglot trees in and out; the memory is this process's, filled by ``sql_infer``.

>>> _remember(sqlglot.parse_one("CREATE VIEW doc_v AS SELECT ssn AS n FROM customers"))
True
>>> _SAVED["doc_v"][0].sql()
'SELECT ssn AS n FROM customers'
"""
from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

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
    tree = _without_on_commit(tree)
    if isinstance(tree, exp.Drop):   # a dropped name no longer stands for what it held
        gone = [k for t in tree.find_all(exp.Table) if t.name
                for k in (t.name.lower(), f"{t.db.lower()}.{t.name.lower()}") if k in _SAVED]
        for k in gone:
            _SAVED.pop(k, None)
        return bool(gone)
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Values):
        tree = tree.copy()   # ``CREATE TABLE g AS VALUES ('…')``: the rows as a query
        tree.set("expression", _values_query(tree.expression))
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
    entry = (tree.expression.copy(), cols)
    _SAVED[target.name.lower()] = entry
    if target.db:   # also under its schema: ``public.customers`` is never ``pg_temp.customers``
        _SAVED[f"{target.db.lower()}.{target.name.lower()}"] = entry
    return True


_ON_COMMIT = re.compile(r"\s+ON\s+COMMIT\s+(DROP|DELETE\s+ROWS|PRESERVE\s+ROWS)\b", re.I)


def _without_on_commit(tree: exp.Expr) -> exp.Expr:
    """PostgreSQL's ``CREATE TEMP TABLE g ON COMMIT DROP AS …``, which sqlglot reads only as a
    command, read without its ``ON COMMIT`` clause (what the table holds is the same)."""
    if not isinstance(tree, exp.Command) or str(tree.this).upper() != "CREATE":
        return tree
    text = "CREATE " + str(tree.expression)
    plain = _ON_COMMIT.sub("", text, count=1)
    if plain == text:
        return tree
    try:
        return sqlglot.parse_one(plain, read="postgres")
    except Exception:  # noqa: BLE001 - still unreadable: nothing remembered, as before
        return tree


def _values_query(values: exp.Values) -> exp.Expr:
    """``VALUES (a, b), …`` as ``SELECT a AS column1, b AS column2 UNION ALL …`` (PostgreSQL's
    names for a ``CREATE TABLE … AS VALUES`` table's columns; at most 16 rows are kept)."""
    rows = [r.expressions if isinstance(r, exp.Tuple) else [r] for r in values.expressions[:16]]
    selects = [exp.select(*(e.copy().as_(f"column{i + 1}") for i, e in enumerate(row)))
               for row in rows if row]
    query: exp.Expr = selects[0] if selects else exp.select("NULL")
    for more in selects[1:]:
        query = exp.union(query, more, distinct=False)
    return query


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
    if t.db and t.name and t.db.lower() not in ("pg_temp", "temp"):
        # named with its schema: only what was made under that name (a temporary
        # ``customers`` of guesses does not stand for ``public.customers``)
        return _SAVED.get(f"{t.db.lower()}.{t.name.lower()}") if _SAVED else None
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
            node.parent, (exp.From, exp.Join, exp.Pivot)):   # ``UNPIVOT (SELECT …) ON …``
        return f"#{id(node)}"
    return ""

