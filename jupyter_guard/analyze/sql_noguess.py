"""What cannot single out a value is no guess (``sql_guessfn``'s computed guesses, and
comparisons too: ``sql_infer``, ``sql_crowd``):

- a format literal: no letter or digit once regular-expression escapes (``\\d``), full classes
  (``[0-9]``, ``[^@]``) and counts (``{3}``) are taken out: ``ssn = ''``,
  ``regexp_matches(ssn, '^\\d{3}-\\d{2}-\\d{4}$')``, ``replace(ssn, '-', '')``;
- a domain pattern: only format before its first ``@`` (``LIKE '%@example.com'``,
  ``ends_with(email, '@example.com')``): it fixes the part of an e-mail after the ``@``;
- a small number given to a function (a position or a length: ``left(ssn, 3)``); a number is a
  guess beside an arithmetic operator, or from 1000 up;
- a regular-expression function's replacement, options and group, and ``replace``'s and
  ``translate``'s replacement (only the pattern guesses);
- how a value is written out, not what it is compared with (``renders``): a rendering function's
  template, format, locale, character set or fill, by the argument's role in sqlglot's expression
  (``strftime(d, '%Y-%m')``'s ``format``, ``encode(email)``'s ``charset``, ``format('{:>12}',
  ssn)``'s template, ``lpad``'s fill) or, for functions sqlglot reads as anonymous, its position
  (``convert_to(email, 'UTF8')``, ``printf('%s', ssn)``). A parsing format (``strptime(ssn,
  G)``) matches the value against it: still a guess.

Pure: sqlglot trees in, answers out.
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_pattern import domain_only, format_only, literal_chars

# operators whose result measures one value against another
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Pow,
              exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseLeftShift,
              exp.BitwiseRightShift)
# functions whose second argument alone is a pattern (the rest: replacements, options, groups)
_REGEXPS = (exp.RegexpLike, exp.RegexpReplace, exp.RegexpExtract, exp.RegexpILike,
            exp.RegexpSplit, exp.RegexpExtractAll, exp.Replace, exp.Translate)
# functions that search their argument for the text of a number they are given
_SEARCHES = (*_REGEXPS, exp.Split)
_LONG = 4   # letters and digits that make a shown guess (a value's piece, not a character)
_BIG = 1000   # a number from here up given to a function is a guess, not a position
# arguments that say how a value is written out (a template, a format, a locale, a character set,
# a fill), by role: the value is rendered with them, never compared with them
_RENDERS: dict[type[exp.Expr], frozenset[str]] = {
    exp.TimeToStr: frozenset({"format", "culture", "zone"}),
    exp.UnixToStr: frozenset({"format"}), exp.NumberToStr: frozenset({"format", "culture"}),
    exp.ToChar: frozenset({"format", "nlsparam"}),
    exp.Format: frozenset({"this"}), exp.Encode: frozenset({"charset"}),
    exp.Decode: frozenset({"charset"}), exp.Pad: frozenset({"fill_pattern"})}
# the same roles of functions sqlglot reads as anonymous (no role names): their positions
_RENDERS_AT = {"printf": 0, "format": 0, "convert_to": 1, "convert_from": 1, "strftime": 1}

# a comparison that matches a whole value against a pattern (what the column is, not a piece)
_MATCHES = (exp.Like, exp.ILike, exp.EndsWith, exp.RegexpLike)
_MATCH_NAMES = frozenset({"ends_with", "suffix", "regexp_matches", "regexp_full_match"})
# what keeps a value whole: its case or the blanks around it
_WHOLE = (exp.Lower, exp.Upper, exp.Trim, exp.Paren)


def bare_column(e: exp.Expr) -> exp.Column | None:
    """``e`` is a column, or its lower/upper/trimmed spelling: nothing built around it."""
    while isinstance(e, _WHOLE):
        e = e.this
    return e if isinstance(e, exp.Column) and not isinstance(e.this, exp.Star) else None


def domain_pattern(node: exp.Expr) -> bool:
    """``node`` matches the bare column against patterns that each fix only the part after the
    ``@`` (``email LIKE '%@example.com'``, ``ends_with(lower(email), '@x.org')``): not a
    column with a constant glued on (``('@' || ssn) = '@…'``), padded or reversed.

    >>> import sqlglot
    >>> def d(sql):
    ...     return domain_pattern(sqlglot.parse_one(f"SELECT {sql}", read="duckdb").expressions[0])
    >>> d("email LIKE '%@x.org'"), d("ends_with(lower(email), '@x.org')")
    (True, True)
    >>> d("('@' || ssn) LIKE '@8%'"), d("reverse(email) LIKE '%@57noj.eve'"), d("ssn = '@G'")
    (False, False, False)
    """
    if isinstance(node, exp.Escape):
        node = node.this
    if not (isinstance(node, _MATCHES) or (isinstance(node, exp.Anonymous) and
                                             str(node.this).lower() in _MATCH_NAMES)):
        return False
    ops = _args(node)
    if len(ops) != 2 or bare_column(ops[0]) is None:
        return False
    text = _string(ops[1])
    return text is not None and domain_only(text)


def _string(e: exp.Expr) -> str | None:
    return str(e.this) if isinstance(e, exp.Literal) and e.is_string else None


def guess_literal(arg: exp.Expr, node: exp.Expr, position: int,
                  positions: bool = False) -> bool:
    """Whether ``arg``, a constant argument (``position``) of ``node``, could single out a
    value. Unknown constants (a parameter, a constant query, a function of literals) are.
    ``positions``: a small number may be a position or a length (a computing function's
    argument, not a pattern's nor a compared value: ``strpos(ssn, 5)`` searches for ``'5'``)."""
    if isinstance(arg, (exp.DataType, exp.Var, exp.Identifier, exp.Null, exp.Boolean)):
        return False
    if renders(arg, node, position):
        return False
    if isinstance(node, _REGEXPS) and position != 1:
        return False   # a replacement, options, a group number
    text = _string(arg)
    if text is not None:
        return not (format_only(text) or (position == 1 and domain_pattern(node)))
    num = arg.this if isinstance(arg, exp.Neg) else arg
    if isinstance(num, exp.Literal) and not num.is_string:
        if not positions or isinstance(node, (*ARITHMETIC, *_SEARCHES)) or \
                not isinstance(node, exp.Func):
            return True
        try:
            return abs(float(str(num.this))) >= _BIG
        except ValueError:
            return True
    return True


def renders(arg: exp.Expr, node: exp.Expr, position: int) -> bool:
    """``arg`` says how ``node`` writes a value out (a template, a format, a character set, a
    fill), by its role: no value is compared with it.

    >>> import sqlglot
    >>> def role(sql, k):
    ...     node = sqlglot.parse_one(f"SELECT {sql}", read="duckdb").expressions[0]
    ...     return renders(_args(node)[k], node, k)
    >>> role("strftime(d, '%Y-%m')", 1), role("encode(email)", 1), role("printf('%s', ssn)", 0)
    (True, True, True)
    >>> role("convert_to(email, 'UTF8')", 1), role("format('{:>12}', ssn)", 0)
    (True, True)
    >>> role("strptime(ssn, '%Y')", 1), role("replace(ssn, '1234', '')", 1)
    (False, False)
    """
    if isinstance(node, exp.Anonymous):
        return _RENDERS_AT.get(str(node.this).lower()) == position
    roles = next((r for t, r in _RENDERS.items() if type(node) is t), frozenset())
    return arg.arg_key in roles and arg.parent is node


def domain_part(col_path: list[exp.Expr]) -> bool:
    """A column read only through ``split_part(x, '@', 2)`` (its case or blanks aside): the part
    of an e-mail after its one ``@``. Nothing else may be built around the column or the part
    (``split_part('@' || ssn, '@', 2)``); ``-1`` is the whole value of a column with no ``@``
    and ``-2`` a local part, so only ``2`` is a domain.

    >>> import sqlglot
    >>> def p(sql):
    ...     t = sqlglot.parse_one(f"SELECT {sql}", read="duckdb")
    ...     col, path = t.find(exp.Column), []
    ...     up = col.parent
    ...     while up is not None and up is not t:
    ...         path.append(up)
    ...         up = up.parent
    ...     return domain_part(path[:-1] if isinstance(path[-1], exp.EQ) else path)
    >>> p("split_part(email, '@', 2) = 'x.org'"), p("lower(split_part(trim(email), '@', 2))")
    (True, True)
    >>> p("split_part(ssn, '@', -1)"), p("split_part(email, '@', -2)")
    (False, False)
    >>> p("split_part('@' || ssn, '@', 2)")
    False
    """
    parts = [n for n in col_path if not isinstance(n, _WHOLE)]
    if len(parts) != 1 or not isinstance(parts[0], exp.SplitPart):
        return False
    n = parts[0]
    part = n.args.get("part_index")
    return _string(n.args.get("delimiter") or exp.null()) == "@" and \
        bare_column(n.this) is not None and isinstance(part, exp.Literal) and \
        not part.is_string and str(part.this) == "2"


def no_content(col: exp.Expr, operand: exp.Expr) -> bool:
    """``col`` is read in ``operand`` only for a property (``length(ssn) <> 9``) or for the
    part of an e-mail after its ``@`` (``split_part(email, '@', 2) = 'example.com'``)."""
    from jupyter_guard.analyze.sql_taint import reveals_nothing

    path: list[exp.Expr] = []
    node = col.parent
    while node is not None and node is not operand.parent:
        path.append(node)
        node = node.parent
    return any(reveals_nothing(n) for n in path) or domain_part(path)


def _long(arg: exp.Expr, node: exp.Expr, position: int) -> bool:
    """A guess a shown row answers for one person (``replace(ssn, '<9 digits>', 'HIT')``,
    ``abs(ssn::BIGINT - G)``): at least ``_LONG`` letters and digits, or a number from 1000."""
    if not guess_literal(arg, node, position, True):
        return False
    text = _string(arg)
    if text is not None:
        return literal_chars(text) >= _LONG
    num = arg.this if isinstance(arg, exp.Neg) else arg
    if isinstance(num, exp.Literal):
        try:
            return abs(float(str(num.this))) >= _BIG
        except ValueError:
            return True
    return True   # a parameter, a constant query: unknown


_TEXT = frozenset({"VARCHAR", "CHAR", "NCHAR", "NVARCHAR", "TEXT", "BPCHAR", "NAME", "STRING"})


def text_type(cast: exp.Cast) -> bool:
    """``cast`` is to text: nothing is told by whether a value fits. ``regtype``: an unknown type.

    >>> t = exp.maybe_parse("SELECT a::regtype::text", dialect="postgres")
    >>> [text_type(c) for c in t.find_all(exp.Cast)]
    [True, False]
    """
    to = cast.args.get("to")
    kind = to.this if isinstance(to, exp.DataType) else ""   # a ``DType``, or a name (``regtype``)
    return str(getattr(kind, "name", kind)).upper() in _TEXT or \
        str(getattr(kind, "value", kind)).upper() in _TEXT


def _args(node: exp.Expr) -> list[exp.Expr]:
    return list(node.expressions) if isinstance(node, exp.Anonymous) else \
        list(node.iter_expressions())


__all__ = ["ARITHMETIC", "bare_column", "domain_part", "domain_pattern", "guess_literal",
           "no_content", "renders", "text_type"]
