"""Server-side code that carries sensitive values past the SQL taint (red team 22b), as intents.

- A ``DO`` block, a ``CREATE FUNCTION``/``PROCEDURE`` whose body reads a sensitive column and
  raises, writes or returns anything: ``RAISE NOTICE '%', replace(r.ssn, '-', '~')`` reaches the
  notebook through every driver's notice channel, which no lineage masks; a function's result,
  a trigger's row or a table the block fills carry what it computed. The body is one export
  (``server-side code``) of every name it spells and, when it reads whole rows (``*``,
  ``%ROWTYPE``, ``row_to_json``), of every column of the tables it reads: the ``exfiltration``
  rule refuses it when one is sensitive, unless the user's role may unmask.
- A sensitive value spelt character by character inside a scalar subquery or a lateral
  (``(SELECT array_agg(ascii(c)) FROM regexp_split_to_table(email, '') c)``): a piece of the
  column, as ``ascii(substr(email, 1, 1))`` written plainly is (``sql.fragment``).

Pure: names and shapes only. What a function made outside the guard reads is read from the
catalog at the call (``guard.pg_functions``).
"""
from __future__ import annotations

import itertools
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError

from jupyter_guard.model import Intent

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
SERVER_CODE = "server-side code"
# statements and clauses through which a body's values leave it
_EFFECTS = frozenset({"RAISE", "INSERT", "UPDATE", "MERGE", "COPY", "RETURN", "RETURNS", "INTO",
                      "PERFORM", "SELECT", "NOTIFY", "SET_CONFIG", "PG_NOTIFY", "ASSERT"})
_WHOLE_ROW = frozenset({"ROW_TO_JSON", "TO_JSON", "TO_JSONB", "JSON_BUILD_OBJECT", "HSTORE",
                        "FORMAT", "ROWTYPE", "RECORD"})
# functions that split a value into its characters (with an empty or NULL delimiter), and those
# that give a character's code
_SPLITTERS = frozenset({"regexp_split_to_table", "regexp_split_to_array", "string_to_table",
                        "string_to_array", "regexp_matches"})
_CODES = frozenset({"ascii", "unicode", "ord"})


def body_export(body: str, stmt: str, what: str, function: bool) -> Intent | None:
    """The export of what a body reads (None when it has no effect a value could leave by).

    >>> i = body_export("BEGIN RAISE NOTICE '%', (SELECT replace(ssn, '-', '~') FROM c); END",
    ...                 "DO $$...$$", "DO block", False)
    >>> 'ssn' in i.columns, i.detail
    (True, 'server-side code: a DO block')
    >>> body_export("BEGIN CREATE TABLE t (a int); END", "DO", "DO block", False) is None
    True
    >>> sorted(body_export("SELECT c.* FROM customers c", "", "function body", True).columns)
    ['c', 'customers', 'customers.*']
    """
    try:
        toks = sqlglot.tokenize(body, read="postgres")
    except TokenError:
        return Intent("sql.export", "variable", f"the output of a {what}", ("?",), source=stmt,
                      detail=f"{SERVER_CODE}: a {what}")
    words = {t.text.upper() for t in toks}
    if not function and not words & _EFFECTS:
        return None
    names = set(names_read(body))
    if "*" in words or words & _WHOLE_ROW:
        names |= {f"{t}.*" for t in read_tables(body)}
    if not names:
        return None
    return Intent("sql.export", "variable", f"the notices, rows written and results of a {what} "
                  "(no mask follows them)", tuple(sorted(names)), source=stmt,
                  detail=f"{SERVER_CODE}: a {what}")


def spelt(tree: exp.Expr, stmt: str, read: tuple[str, ...]) -> tuple[Intent, ...]:
    """``sql.fragment`` intents for the columns a scalar subquery or a lateral spells character
    by character (``read``: every column the statement reads, as its intents name them: an
    alias hides which one the subquery spells).

    >>> t = sqlglot.parse_one("SELECT id, (SELECT array_agg(ascii(c)) FROM "
    ...     "regexp_split_to_table(email, '') x(c)) FROM customers", read="postgres")
    >>> [i.target for i in spelt(t, "", ("customers.id", "customers.email"))]
    ['customers.id', 'customers.email', 'c', 'email']
    >>> spelt(sqlglot.parse_one("SELECT upper(city) FROM customers"), "", ("customers.city",))
    ()
    """
    found: set[str] = set()
    for fn in tree.find_all(exp.Func):
        name = _name(fn)
        inner = fn.find_ancestor(exp.Subquery, exp.Lateral, exp.From, exp.Join) is not None
        if not inner:
            continue
        if (name in _SPLITTERS and _by_character(fn)) or name in _CODES:
            found |= {c.name.lower() for c in fn.find_all(exp.Column)} | {"*"}
    if not found:
        return ()
    targets = tuple(dict.fromkeys((*read, *sorted(found - {"*"}))))
    return tuple(Intent("sql.fragment", "column", t, (t,), source=stmt,
                        detail="spelt character by character in a subquery") for t in targets)


def _name(fn: exp.Func) -> str:
    if isinstance(fn, exp.Anonymous):
        return str(fn.name).lower()
    return fn.sql_name().lower()


def _by_character(fn: exp.Func) -> bool:
    """A split whose delimiter is empty, NULL or not a literal (or missing)."""
    args = [a for a in fn.args.values() if isinstance(a, exp.Expr)] + list(fn.expressions)
    lits = [a for a in args[1:] if isinstance(a, (exp.Literal, exp.Null))]
    if len(args) < 2 or not lits:
        return True
    return any(isinstance(a, exp.Null) or (isinstance(a, exp.Literal) and a.name in ("", "."))
               for a in lits)


def called(text: str) -> frozenset[str]:
    """The names ``text`` calls (a name before ``(``), lower case as PostgreSQL folds them.

    >>> sorted(called("SELECT id, replace(f3(id), '@', ' at ') FROM customers"))
    ['f3', 'replace']
    >>> sorted(called('SELECT "Enc"(x), public.g (y) FROM t'))
    ['Enc', 'g']
    """
    try:
        toks = sqlglot.tokenize(text, read="postgres")
    except TokenError:
        return frozenset({"?"})
    from sqlglot.parser import Parser

    out = set()
    for a, b in itertools.pairwise(toks):
        if b.token_type.name == "L_PAREN" and _NAME.match(a.text) and (
                a.token_type.name in ("VAR", "IDENTIFIER") or a.text.upper() in Parser.FUNCTIONS):
            out.add(a.text if a.token_type.name == "IDENTIFIER" else a.text.lower())
    return frozenset(out)


def read_tables(text: str) -> frozenset[str]:
    """The tables ``text`` names after ``FROM``/``JOIN`` (and ``t%ROWTYPE``), as written.

    >>> sorted(read_tables("SELECT ssn INTO s FROM public.customers c JOIN orders o ON true"))
    ['orders', 'public.customers']
    """
    try:
        toks = sqlglot.tokenize(text, read="postgres")
    except TokenError:
        return frozenset({"?"})
    out, i = set(), 0
    while i < len(toks):
        rowtype = toks[i].text == "%" and toks[i + 1:i + 2] and \
            toks[i + 1].text.upper() == "ROWTYPE"
        if toks[i].text.upper() in ("FROM", "JOIN") or rowtype:
            j, parts = (i + 1, []) if toks[i].text != "%" else (i - 1, [toks[i - 1].text])
            while toks[i].text != "%" and j < len(toks) and _NAME.match(toks[j].text):
                parts.append(toks[j].text)
                if j + 1 < len(toks) and toks[j + 1].token_type.name == "DOT":
                    j += 2
                    continue
                break
            if parts:
                out.add(".".join(parts).lower())
        i += 1
    return frozenset(out)


def names_read(text: str) -> frozenset[str]:
    """Every identifier ``text`` spells (a column's name among them), lower case."""
    try:
        toks = sqlglot.tokenize(text, read="postgres")
    except TokenError:
        return frozenset({"?"})
    return frozenset(t.text.lower() for t in toks if _NAME.match(t.text) and
                     t.token_type.name in ("VAR", "IDENTIFIER"))
