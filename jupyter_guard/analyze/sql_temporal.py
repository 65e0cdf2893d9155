"""A column's content turned into a date or a time (issue 15; red team 21): DuckDB reads the
digits of a text as seconds (``replace(ssn, '-', '')::INTERVAL`` is ``timedelta(days=3844,
seconds=84869)``: days * 86400 + seconds are the SSN's digits), and ``to_timestamp``,
``epoch_ms``, ``to_seconds`` make an instant or a duration of a number. The value shown is a
``datetime``/``timedelta`` that masking cannot recognise as the value it encodes, so a
projection that casts or converts a column's content to a temporal type (``INTERVAL``, ``DATE``,
``TIME*``, ``TIMESTAMP*``) or through a function that makes one is an export of that column
(``sql.export``, refused by the ``exfiltration`` rule when the column is sensitive).

A column cast as it is to ``DATE``, ``TIME`` or ``TIMESTAMP`` stays honest: DuckDB casts no
number to them and reads a text only when it is written as a date or a time, so the value
shown is the column's own (``birth_date::TIMESTAMP``). ``INTERVAL`` reads any digits: refused
even from a bare column. A temporal value read only in a condition is an inference question
(``sql_infer``), not decided here.

Pure: sqlglot trees in, intents out.

>>> import sqlglot
>>> def t(sql):
...     return [i.columns for i in temporal_exports(sqlglot.parse_one(sql, "duckdb"))]
>>> t("SELECT id, replace(ssn, '-', '')::INTERVAL FROM customers")
[('ssn',)]
>>> t("SELECT to_timestamp(s::BIGINT) FROM (SELECT ssn AS s FROM customers)")
[('s', 'ssn')]
>>> t("SELECT DATE '1970-01-01' + replace(ssn, '-', '')::INT % 100000 FROM customers")
[('ssn',)]
>>> t("SELECT birth_date::TIMESTAMP, now()::DATE, signup + INTERVAL 1 DAY FROM customers")
[('signup',)]
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_order import _content_columns
from jupyter_guard.analyze.sql_pivot import ctes_of, read_through
from jupyter_guard.model import Intent

WHERE = ("a date or time value (a cast or conversion of its content to a temporal type shows "
         "it as a datetime or timedelta that masking cannot recognise)")
DETAIL = "temporal value"
_TEMPORAL = frozenset({"INTERVAL", "DATE", "DATE32", "DATETIME", "TIME", "TIMETZ", "TIMESTAMP",
                       "TIMESTAMPTZ", "TIMESTAMPLTZ", "TIMESTAMP_S", "TIMESTAMP_MS",
                       "TIMESTAMP_NS", "TIMESTAMPNTZ", "DATETIME64"})
_MAKERS = (exp.UnixToTime, exp.ToDays, exp.StrToTime, exp.StrToDate, exp.DateFromParts,
           exp.TimeFromParts, exp.TimestampFromParts, exp.Interval, exp.UnixToStr)
# arithmetic that moves a date or a time by a number (``DATE '1970-01-01' + n``,
# ``n * INTERVAL 1 SECOND``, ``date_add(d, n)``): the number is read off the result
_SHIFTS = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.DateAdd, exp.DateSub, exp.TsOrDsAdd,
           exp.TimestampAdd, exp.TimeAdd)
_NOW = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.CurrentDatetime)
_MAKER_NAMES = frozenset({
    "to_seconds", "to_minutes", "to_hours", "to_days", "to_weeks", "to_months", "to_years",
    "to_milliseconds", "to_microseconds", "to_centuries", "to_decades", "to_millennia",
    "to_quarters", "epoch_ms", "epoch_us", "epoch_ns", "make_timestamp", "make_timestamptz",
    "make_timestamp_ns", "make_date", "make_time", "make_interval", "to_timestamp",
    "strptime", "try_strptime", "to_date", "to_time"})


def _temporal_cast(node: exp.Expr) -> bool:
    if not isinstance(node, (exp.Cast, exp.TryCast)):
        return False
    to = node.args.get("to")
    if not isinstance(to, exp.DataType):
        return False
    name = to.this.name if hasattr(to.this, "name") else str(to.this)
    if name.upper() not in _TEMPORAL:
        return False
    inner = node.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    # a bare column cast to a date or time: its own value (no number casts, text must be one)
    return name.upper() == "INTERVAL" or not isinstance(inner, exp.Column)


def _makes(node: exp.Expr) -> bool:
    return _temporal_cast(node) or isinstance(node, _MAKERS) or (
        isinstance(node, exp.Anonymous) and str(node.this).lower() in _MAKER_NAMES) or (
        isinstance(node, _SHIFTS) and any(_temporal(a) for a in node.iter_expressions()))


def _temporal(e: exp.Expr) -> bool:
    """``e`` is a date, a time or a duration (a typed literal, ``current_date``, a maker)."""
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, (exp.Cast, exp.TryCast)) and isinstance(e.args.get("to"), exp.DataType):
        return str(e.args["to"].this.name).upper() in _TEMPORAL
    return isinstance(e, _NOW) or _makes(e)


def _shown(node: exp.Expr) -> exp.Select | None:
    """The SELECT whose projection ``node`` is part of (its value is fetched), else None."""
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, (exp.Where, exp.Having, exp.Qualify, exp.Join, exp.Order,
                               exp.Group, exp.Subquery)):
            return None
        if isinstance(parent, exp.Select):
            return parent if child.arg_key == "expressions" else None
        child, parent = parent, parent.parent
    return None


def temporal_exports(tree: exp.Expr) -> tuple[Intent, ...]:
    """One ``sql.export`` per projection of ``tree`` that makes a date or time of a column's
    content: the columns (followed through subqueries, CTEs and saved views) it reads."""
    ctes = ctes_of(tree)
    out: list[Intent] = []
    for node in tree.walk():
        if not _makes(node):
            continue
        sel = _shown(node)
        if sel is None:
            continue
        names = {c.name.lower() for c in _content_columns(node) if c.name}
        if not names:
            continue
        src = sel.args["from_"].this if sel.args.get("from_") else None
        cols = read_through(names, src, ctes)
        out.append(Intent("sql.export", "column", WHERE, tuple(sorted(cols)),
                          source=node.sql(dialect="duckdb")[:500], detail=DETAIL))
    return tuple(out)


__all__ = ["DETAIL", "temporal_exports"]
