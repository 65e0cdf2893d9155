"""``%%guarded_sql`` parameters, limits and named connections.

- ``:name`` and ``$name`` bind the Python variable ``name`` as a real query parameter: the value
  goes to the driver, never into the SQL text, so no value can change the statement's structure.
- ``{{name}}`` substitutes an *identifier* (a table, view or column name) and nothing else: the
  variable must hold a plain name that exists in the connection's catalog.
- ``--limit N`` fetches at most N rows; ``GuardedSql.displaylimit`` caps what is displayed, with a
  "showing N of M rows" note (``-o NAME`` keeps every fetched row).
- ``--alias NAME`` names a connection; ``%guard connections`` lists them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from traitlets import Integer
from traitlets.config import Configurable

from jupyter_guard.connections.conn import Conn
from jupyter_guard.errors import GuardConfigError
from jupyter_guard.model import Intent, Verdict

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")   # a Python name (keywords like `table` too)
ALIASES: dict[str, Conn] = {}
CURRENT: list[Conn | None] = [None]   # the connection of the last %%guarded_sql


class GuardedSql(Configurable):
    """``c.GuardedSql.displaylimit = 50`` (or ``%config GuardedSql.displaylimit = 50``)."""

    displaylimit = Integer(0, config=True,
                           help="rows of a %%guarded_sql result displayed, with a 'showing N of "
                                "M rows' note (0: all, pandas' own display options apply); "
                                "-o NAME keeps every row")


@dataclass(frozen=True)
class Prepared:
    text: str                                    # identifiers substituted, parameters as $name
    params: dict[str, Any] = field(default_factory=dict)
    templates: tuple[str, ...] = ()              # names substituted as identifiers


def _tokens(text: str, dialect: str) -> list[Any]:
    from sqlglot.dialects.dialect import Dialect

    try:
        return list(Dialect.get_or_raise(dialect).tokenize(text))
    except Exception as e:  # noqa: BLE001 - sqlglot's tokenizer errors vary; the user gets one line and a fix
        raise GuardConfigError(f"cannot read the SQL's parameters ({str(e).splitlines()[0]}); "
                               "check quotes and brackets") from None


def prepare(text: str, ns: dict[str, Any], dialect: str,
            catalog: Any = None, paramstyle: str = "dollar") -> Prepared:
    """Find ``:name``/``$name`` parameters and ``{{name}}`` identifiers in ``text``. Parameters
    become ``$name`` (``paramstyle="dollar"``) or ``%(name)s`` with every other ``%`` doubled
    (``"pyformat"``: psycopg's placeholders).

    >>> sql = "SELECT * FROM t WHERE city = :city AND n > $n"
    >>> p = prepare(sql, {"city": "x'y", "n": 2}, "duckdb")
    >>> p.text, p.params
    ('SELECT * FROM t WHERE city = $city AND n > $n', {'city': "x'y", 'n': 2})
    """
    if ":" not in text and "$" not in text and "{" not in text:
        return Prepared(text)   # nothing to bind: no tokenizing on a plain query's path
    from sqlglot import TokenType as T

    toks = _tokens(text, dialect)
    edits: list[tuple[int, int, str]] = []
    params: dict[str, Any] = {}
    templates: list[str] = []
    for n, t in enumerate(toks):
        nxt = toks[n + 1] if n + 1 < len(toks) else None
        if nxt is None or not _WORD.match(nxt.text) or nxt.start != t.end + 1:
            continue
        prev = toks[n - 1] if n else None
        value_before = prev is not None and prev.end + 1 == t.start and prev.token_type in (
            T.NUMBER, T.VAR, T.R_PAREN, T.R_BRACKET, T.STRING)   # a slice like a[1:n]
        if t.token_type == T.PARAMETER or (t.token_type == T.COLON and not value_before):
            params[nxt.text] = _value(ns, nxt.text, t.text)
            edits.append((t.start, nxt.end, f"%({nxt.text})s" if paramstyle == "pyformat"
                          else f"${nxt.text}"))
    for n in range(len(toks) - 4):
        a, b, name, c, d = toks[n:n + 5]
        if (a.token_type, b.token_type, c.token_type, d.token_type) == (
                T.L_BRACE, T.L_BRACE, T.R_BRACE, T.R_BRACE) and _WORD.match(name.text):
            edits.append((a.start, d.end, identifier(ns, name.text, dialect, catalog)))
            templates.append(name.text)
    out, pos = [], 0
    escape = paramstyle == "pyformat" and bool(params)   # psycopg reads every % as a marker
    for start, end, new in sorted(edits):
        out += [_percent(text[pos:start], escape), new]
        pos = end + 1
    out.append(_percent(text[pos:], escape))
    return Prepared("".join(out), params, tuple(templates))


def _percent(part: str, escape: bool) -> str:
    return part.replace("%", "%%") if escape else part


def _value(ns: dict[str, Any], name: str, sigil: str) -> Any:
    if name not in ns:
        raise GuardConfigError(f"{sigil}{name} has no value: define the Python variable {name!r} "
                               "first (it is sent as a query parameter, never pasted into the SQL)")
    return ns[name]


def identifier(ns: dict[str, Any], name: str, dialect: str, catalog: Any = None) -> str:
    """The quoted identifier ``{{name}}`` stands for, checked to be a plain name in the catalog."""
    from sqlglot import exp

    value = ns.get(name)
    if not isinstance(value, str) or not _NAME.match(value):
        got = repr(value)[:40] if isinstance(value, str) else type(value).__name__
        raise GuardConfigError(f"{{{{{name}}}}} must hold a table or column name, got {got}: "
                               f"use :{name} to pass a value")
    known = catalog() if callable(catalog) else catalog
    if known is not None and value.lower() not in known and \
            value.rsplit(".", 1)[-1].lower() not in known:
        raise GuardConfigError(f"{{{{{name}}}}} = {value!r} is not a table, view or column of "
                               "this connection")
    return ".".join(exp.to_identifier(p, quoted=True).sql(dialect=dialect)
                    for p in value.split("."))


def catalog(conn: Conn) -> set[str]:
    """Lower-case names of the connection's schemas, tables, views and columns."""
    return conn.kind.catalog_names(conn)


def used(sql: str, params: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The parameters one statement of the cell uses (DuckDB refuses extra ones)."""
    if not params:
        return {}
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in names}


def run(conn: Conn, sql: str, params: dict[str, Any], *, want_frame: bool,
        limit: int | None) -> tuple[Any, bool]:
    """Run one statement with its parameters; (frame or None, whether rows were left unfetched)."""
    import pandas as pd

    if conn.native_duckdb:
        from jupyter_guard.duck import as_caller  # late: duck is imported with duckdb

        cur = as_caller(conn.raw.execute, sql, params) if params else \
            as_caller(conn.raw.execute, sql)
        if not want_frame or cur.description is None or \
                [d[0] for d in cur.description] == ["Success"]:
            return None, False
        if limit is None:
            return cur.df(), False
        rows = cur.fetchmany(limit + 1)
        names = [d[0] for d in cur.description]
        return pd.DataFrame(rows[:limit], columns=names), len(rows) > limit
    if not hasattr(conn.raw, "dialect"):   # a DB-API connection (``connections.dbapi``)
        if params:
            raise GuardConfigError(f"{conn.name}: :name parameters need a SQLAlchemy engine or "
                                   "URL for this database; pass the engine instead")
        run: Any = conn.run   # a DbapiConn's run, which takes the row limit
        return run(sql, want_frame=want_frame, limit=limit), STATE["more"]
    import sqlalchemy

    res = conn._sa_conn().execute(sqlalchemy.text(re.sub(r"\$([A-Za-z_]\w*)", r":\1", sql)),
                                  params)
    if not (want_frame and res.returns_rows):
        return None, False
    rows = res.fetchmany(limit + 1) if limit is not None else res.fetchall()
    more = limit is not None and len(rows) > limit
    return pd.DataFrame(rows[:limit] if more else rows, columns=list(res.keys())), more


STATE: dict[str, bool] = {"more": False}   # the last %%guarded_sql left rows unfetched


def shown(result: Any, limit: int, more: bool, fetch_limit: int | None) -> Any:
    """What to display: at most ``limit`` rows, and a note when rows are not shown."""
    n = len(result) if result is not None and hasattr(result, "__len__") else 0
    if more:
        print(f"showing {min(n, limit) if limit else n} of more than {n} rows "
              f"(--limit {fetch_limit}); run without --limit or with a larger one for all")
    elif limit and n > limit:
        print(f"showing {limit} of {n} rows (GuardedSql.displaylimit = {limit}); "
              "-o NAME keeps all rows")
    if limit and n > limit:
        return result.head(limit)
    return result


def describe(conn: Conn | None, ns: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """``%guard connections``: (name, kind, dialect, current) for aliases and variables."""
    # late: only for a connection given by name
    from jupyter_guard.connections.base import for_object

    # late: only for a connection given by name
    from jupyter_guard.connections.conn import is_duckdb, is_sqlalchemy, unwrap

    out: dict[str, tuple[str, str, str, bool]] = {}
    for alias, c in ALIASES.items():
        out[alias] = (alias, f"alias of {c.name}", c.dialect, conn is c)
    for name, obj in list(ns.items()):
        if name.startswith("_"):
            continue
        raw = unwrap(obj)
        if is_duckdb(raw) or is_sqlalchemy(raw):
            kind = "duckdb connection" if is_duckdb(raw) else f"sqlalchemy {type(raw).__name__}"
            dialect = getattr(for_object(raw), "dialect", "?")
            out.setdefault(name, (name, kind, dialect, conn is not None and conn.raw is raw))
    if conn is not None and not any(row[3] for row in out.values()):
        out[conn.name or "(memory)"] = (conn.name or "(memory)", "url", conn.dialect, True)
    return list(out.values())


def connections_text(conn: Conn | None, ns: dict[str, Any]) -> str:
    rows = describe(conn, ns)
    if not rows:
        return "no connections yet: %%guarded_sql uses an in-memory DuckDB until you pass one"
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{'*' if cur else ' '} {name:<{width}}  {dialect:<10} {kind}"
                     for name, kind, dialect, cur in rows)


def dry_run_frame(intents: tuple[Intent, ...], verdicts: tuple[Verdict, ...]) -> Any:
    import pandas as pd

    rows = [{"statement": (i.source or "")[:80], "action": i.action, "target": i.target,
             "decision": v.decision, "rule": v.rule_id, "reason": v.reason,
             "estimated_rows": i.estimated_rows if i.estimated_rows not in (None, -1) else None}
            for i, v in zip(intents, verdicts)]
    return pd.DataFrame(
        rows,
        columns=["statement", "action", "target", "decision", "rule", "reason", "estimated_rows"],
    )
