"""Guesses computed rather than compared (issue 15, item 3; red team 18): a function or an
arithmetic operator that combines a column with a guess, whose result is then aggregated,
filtered on, grouped on, ordered by or compared, answers a question about single values with no
predicate on the column itself: ``min(length(replace(ssn, '123-45-6789', '')))`` is 0 when the
guess is an SSN, ``sum(sign(ssn::BIGINT - 123456789))`` ranks the guess among the SSNs (about
30 queries recover one by bisection).

One rule over the expression tree, not a list of functions (``computed_guesses``): a node that
computes (any function but aggregates, conditionals, hashes, concatenations, pads, ``coalesce``
and casts; any arithmetic operator) with one argument reading a column's content and another
that is a guess (``guess_literal``; a column or a query: its lineage, ``sql_sides``) is refused
when its value is aggregated, in a condition (``WHERE``, ``HAVING``, ``QUALIFY``, ``JOIN … ON``,
``FILTER``, ``CASE``), a key of ``GROUP BY``/``ORDER BY``/``DISTINCT``/a window, compared, or an
output of a query another one reads. Shown as a row of the statement's own result it is a
derived value, which masking decides on, unless the guess is long (``_long``: four letters or
digits, a number from 1000): a row of ``replace(ssn, '<guess>', 'HIT')`` or ``abs(ssn::BIGINT -
G)`` answers the question for one person in a form masking cannot recognise.

What cannot single out a value is no guess, in comparisons too: format literals, domain
patterns, small numbers given to a function, a regular expression's replacement, how a value is
written out (``sql_noguess``, whose names this module offers too).

Pure: sqlglot trees in, nodes out.

>>> import sqlglot
>>> from jupyter_guard.analyze.sql_sides import Sides
>>> t = sqlglot.parse_one("SELECT sum(sign(ssn::BIGINT - 123456789)) FROM customers")
>>> [(c.name, sorted(o)) for c, _s, o, _t, _r in computed_guesses(t, Sides(t))]
[('ssn', ['!constant'])]
>>> t = sqlglot.parse_one("SELECT count(DISTINCT replace(ssn, '-', '')) FROM customers")
>>> computed_guesses(t, Sides(t))
[]
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_noguess import (
    ARITHMETIC,
    _args,
    _long,
    bare_column,
    domain_part,
    domain_pattern,
    guess_literal,
    no_content,
    renders,
    text_type,
)
from jupyter_guard.analyze.sql_pattern import domain_only, format_only, literal_chars
from jupyter_guard.analyze.sql_sides import Sides
from jupyter_guard.analyze.sql_sources import _constant, _scoped

# functions whose result keeps what their arguments hold (no comparison in them)
_KEEPS = (exp.AggFunc, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Coalesce, exp.Concat,
          exp.DPipe, exp.ConcatWs, exp.Array, exp.Pad, exp.MD5, exp.SHA, exp.SHA2, exp.MD5Digest,
          exp.Window, exp.Struct, exp.Lower, exp.Upper, exp.Paren, exp.Alias, exp.Predicate,
          exp.Connector, exp.Not)
_KEEP_NAMES = frozenset({"hash", "md5_number", "md5_number_upper", "md5_number_lower", "sha1",
                         "sha256", "sha512", "xxhash", "list_value", "list", "array_agg",
                         "struct_pack", "row", "ifnull", "nvl", "concat", "concat_ws", "lpad",
                         "rpad", "format", "printf", "strftime", "date_trunc", "date_part",
                         "datepart", "extract", "to_json", "json_object"})
# where a computed value is read as a question: aggregated, a condition, a key, a comparison
_REACHES = (exp.AggFunc, exp.Where, exp.Having, exp.Qualify, exp.Filter, exp.Group, exp.Order,
            exp.Ordered, exp.Window, exp.If, exp.Case, exp.Predicate, exp.Connector, exp.Not,
            exp.Distinct, exp.Join)

Computed = tuple[exp.Column, exp.Expr, frozenset[str], exp.Expr, bool]

_GLUES = (exp.DPipe, exp.Concat, exp.ConcatWs, exp.Pad)


def glued_cast(node: exp.Expr) -> bool:
    """A cast to a bounded type (a number, a date: not text) of a value with a letter or digit
    glued on (``try_cast('2' || ssn[1] || '00000000' AS INTEGER)``: NULL, or an error, exactly
    when the digit passes the threshold the constant sets).

    >>> import sqlglot
    >>> def g(sql):
    ...     return glued_cast(sqlglot.parse_one(f"SELECT {sql}", read="duckdb").expressions[0])
    >>> g("try_cast('2' || ssn[1] || '00000000' AS INTEGER)"), g("rpad(ssn[1], 10, '0')::INT")
    (True, True)
    >>> g("try_cast(replace(ssn, '-', '') AS BIGINT)"), g("CAST(strftime(d, '%Y') AS INT)")
    (False, False)
    >>> g("CAST('x' || ssn AS VARCHAR)"), g("(email LIKE '%@x.org')::INT")
    (False, False)
    """
    if not isinstance(node, exp.Cast) or text_type(node):
        return False
    from jupyter_guard.analyze.sql_compare import is_comparison

    lits: list[exp.Literal] = []
    todo = [node.this]
    while todo:   # a comparison inside (``(email LIKE '%@x.org')::INT``) is judged as one
        n = todo.pop()
        if isinstance(n, exp.Literal):
            lits.append(n)
        elif not (isinstance(n, (exp.Predicate, exp.Connector, exp.Not, exp.Query)) or
                  is_comparison(n)):
            todo.extend(n.iter_expressions())
    for lit in lits:
        parent = lit.parent
        if lit.is_string and literal_chars(str(lit.this)) and (
                isinstance(parent, exp.Pad) or parent is None or not renders(
                    lit, parent, _args(parent).index(lit) if lit in _args(parent) else -1)):
            return True
        if not lit.is_string and isinstance(parent, _GLUES) and lit.arg_key != "length":
            return True
    return False


def _computes(node: exp.Expr) -> bool:
    if isinstance(node, ARITHMETIC):
        return True
    if not isinstance(node, exp.Func) or isinstance(node, _KEEPS):
        return False
    return not (isinstance(node, exp.Anonymous) and str(node.this).lower() in _KEEP_NAMES)


def _reached(node: exp.Expr, sel: exp.Expr) -> bool:
    """Whether ``node``'s value is aggregated, tested, used as a key or compared in ``sel``, or
    is an output of a query that another query reads."""
    child, parent = node, node.parent
    while parent is not None and parent is not sel:
        if isinstance(parent, _REACHES):
            return not (isinstance(parent, exp.Join) and parent.args.get("on") is not child)
        child, parent = parent, parent.parent
    if parent is None or not isinstance(sel, exp.Select):
        return True
    outer = sel.parent
    if outer is not None:   # a subquery, a CTE, a branch: what reads its outputs decides
        return True
    if sel.args.get("group") is not None or sel.args.get("distinct") is not None:
        return True   # a key (not under an aggregate), or told apart from the other rows
    return _referenced(sel, child)


def _referenced(sel: exp.Select, output: exp.Expr) -> bool:
    """Whether the statement's own ``ORDER BY``, ``HAVING`` or ``QUALIFY`` reads ``output`` (by
    position, alias or the same expression)."""
    alias = output.alias.lower() if isinstance(output, exp.Alias) else ""
    value = output.unalias()
    at = next((n for n, o in enumerate(sel.expressions, 1) if o is output), 0)
    for key in ("order", "having", "qualify"):
        clause = sel.args.get(key)
        if clause is None:
            continue
        for n in clause.walk():
            if (isinstance(n, exp.Column) and not n.table and alias and n.name.lower() == alias) \
                    or n == value:
                return True
            if key == "order" and isinstance(n, exp.Ordered) and isinstance(n.this, exp.Literal) \
                    and n.this.is_int and int(n.this.this) == at:
                return True
    return False


def computed_guesses(tree: exp.Expr, sides: Sides) -> list[Computed]:
    """(column, its SELECT, the other arguments' leaves, the node, whether it ranks) for each
    column a computing node combines with a guess whose value is read as a question (or shown,
    for a long guess)."""
    from jupyter_guard.analyze.sql_compare import is_comparison
    from jupyter_guard.analyze.sql_order import _content_columns

    out: list[Computed] = []
    for node, sel in _scoped(tree, None):
        if sel is not None and glued_cast(node):   # a threshold, shown or asked
            out += [(c, sel, frozenset({"!constant"}), node, True)
                    for c in _content_columns(node.this)]
            continue
        if sel is None or not _computes(node) or is_comparison(node):
            continue
        args = _args(node)
        if len(args) < 2:
            continue
        reads = [[] if _constant(a) else _content_columns(a) for a in args]
        if not any(reads):
            continue
        if not _reached(node, sel) and not any(
                _constant(a) and _long(a, node, k) for k, a in enumerate(args)):
            continue   # shown: a derived value masking decides on, unless a long guess
        several = sum(1 for r in reads if r) > 1   # a reading side's own leaves: only others'
        leaves: list[frozenset[str]] = []
        for k, a in enumerate(args):
            if _constant(a):
                leaves.append(frozenset({"!constant"}) if guess_literal(a, node, k, True)
                              else frozenset())
            elif not reads[k] or not several:   # a length, a type: nothing of a value's content
                leaves.append(frozenset())
            else:
                sides.budget = 256
                leaves.append(sides.value(a, sel))
        for k, cols in enumerate(reads):
            other = frozenset().union(*(lv for j, lv in enumerate(leaves) if j != k))
            if other:
                out += [(c, sel, other, node, isinstance(node, ARITHMETIC)) for c in cols]
    return out


__all__ = ["ARITHMETIC", "bare_column", "computed_guesses", "domain_only", "domain_part",
           "domain_pattern", "format_only", "glued_cast", "guess_literal", "no_content",
           "renders", "text_type"]
