"""sqlglot's parse of a statement, cached per text and dialect for every reader of it, with the
one repair the guard makes (a column named like a nested type, ``WHERE range < 5``).
"""
from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError


@lru_cache(maxsize=4096)
def _parse(text: str, dialect: str) -> tuple[exp.Expr | None, ...]:
    try:
        return tuple(sqlglot.parse(text, read=dialect or None))
    except ParseError as e:
        if "Expecting >" not in str(e) or (quoted := _type_words_quoted(text, dialect)) is None:
            raise
        return tuple(sqlglot.parse(quoted, read=dialect or None))


_TYPE_WORDS = ("RANGE", "MAP", "LIST", "STRUCT", "ARRAY", "OBJECT")


def _type_words_quoted(text: str, dialect: str) -> str | None:
    """``text`` with a column named like a nested type and compared with ``<`` quoted
    (sqlglot reads ``WHERE range < 5`` as the start of a ``RANGE<…>`` type; DuckDB's ``range()``
    names its column ``range``), or None when there is none. A quoted lower-case name is the
    same column to the database; a word after ``AS`` or ``::`` is a type and stays.

    >>> print(_type_words_quoted("DELETE FROM t WHERE range < 5 AND 'map <' = m", "duckdb"))
    DELETE FROM t WHERE "range" < 5 AND 'map <' = m
    """
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    tokens = Dialect.get_or_raise(dialect or None).tokenize(text)
    out, last = [], 0
    for before, t, after in zip([None, *tokens], tokens, [*tokens[1:], None]):
        if after is not None and after.token_type == TokenType.LT and \
                t.token_type.name in _TYPE_WORDS and t.text.isalpha() and (
                before is None or before.token_type not in (TokenType.ALIAS, TokenType.DCOLON)):
            out += [text[last:t.start], f'"{t.text.lower()}"']
            last = t.end + 1
    return None if not out else "".join(out) + text[last:]


def parsed(text: str, dialect: str) -> tuple[exp.Expr | None, ...]:
    """sqlglot's trees of ``text``, parsed once per text and dialect for every reader of the
    same statement (shared: callers must not change them). Raises sqlglot's parse errors."""
    return _parse(text, dialect)


def _short(e: Exception) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return f"SQL could not be parsed: {first}"


def _first_string(query: str) -> str:
    for tok in sqlglot.tokenize(query, read="duckdb"):
        if tok.token_type.name == "STRING":
            return str(tok.text)
    return ""
