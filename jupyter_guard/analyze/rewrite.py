"""Safer rewrites of a refused statement: what a person or an agent could run instead.

Pure: statement text and facts in, a ``Rewrite`` (or ``None``) out. Each rewrite keeps the
statement's purpose and removes what the policy refused: an export without its sensitive columns,
a rename, a create-and-swap or a table built beside instead of destroying one, a count and a
narrower WHERE instead of a bulk change. The caller offers a rewrite only when its policy allows
it; a rewrite is judged like any other SQL when it runs.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

Sensitive = Callable[[str], bool]


@dataclass(frozen=True)
class Rewrite:
    kind: str            # drop-sensitive-columns | rename | create-and-swap | narrow-where
    sql: str             # runnable SQL ("" when only a hint and a count can be given)
    hint: str            # one sentence for people
    count_sql: str = ""  # for narrow-where: the count of the rows the change would touch


def _ident(name: str, dialect: str) -> str:
    return ".".join(exp.to_identifier(p).sql(dialect=dialect) for p in name.split("."))


def _parse(sql: str, dialect: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(sql, read=dialect)
    except Exception:  # noqa: BLE001 - sqlglot raises many error types; no parse only means no suggestion
        return None


def without_sensitive(sql: str, columns: tuple[str, ...], sensitive: Sensitive,
                      dialect: str = "duckdb") -> Rewrite | None:
    """The same ``COPY`` without the sensitive columns.

    >>> sql = "COPY (SELECT id, email FROM t) TO 'o.csv'"
    >>> without_sensitive(sql, (), lambda c: c == 'email').sql
    "COPY (SELECT id FROM t) TO 'o.csv'"
    >>> without_sensitive("COPY (SELECT * FROM t) TO 'o.csv'", ("t.email",),
    ...                   lambda c: c == 'email').sql
    "COPY (SELECT * EXCLUDE (email) FROM t) TO 'o.csv'"
    """
    tree = _parse(sql, dialect)
    if not isinstance(tree, exp.Copy):
        return None
    src = tree.this
    inner = src.this if isinstance(src, exp.Subquery) else src
    known = [c.rsplit(".", 1)[-1] for c in columns if not c.endswith("*")]

    def rest() -> list[exp.Expr]:
        """The columns of ``*`` to keep: the known plain ones, or (DuckDB, when only the
        sensitive ones are known) ``* EXCLUDE (the sensitive ones)``."""
        plain = [exp.column(c) for c in dict.fromkeys(known) if not sensitive(c)]
        hidden = [exp.column(c) for c in dict.fromkeys(known) if sensitive(c)]
        if not plain and hidden and dialect == "duckdb":
            return [exp.Star(except_=hidden)]
        return list(plain)

    if isinstance(inner, exp.Table):
        keep = rest()
        if not keep:
            return None
        inner = exp.select(*keep).from_(inner.copy())
    elif isinstance(inner, exp.Select):
        inner = inner.copy()
        kept: list[exp.Expr] = []
        for proj in inner.expressions:
            if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column)
                                               and isinstance(proj.this, exp.Star)):
                kept.extend(rest())
                continue
            names = {proj.alias_or_name} | {c.name for c in proj.find_all(exp.Column)}
            if not any(sensitive(n) for n in names if n):
                kept.append(proj)
        if not kept:
            return None
        inner.set("expressions", kept)
    else:
        return None
    tree = tree.copy()
    tree.set("this", exp.Subquery(this=inner))
    return Rewrite("drop-sensitive-columns", tree.sql(dialect=dialect),
                   "export the same rows without the sensitive columns")


def retire(action: str, target: str, source: str, dialect: str = "duckdb",
           today: datetime.date | None = None) -> list[Rewrite]:
    """Less destructive alternatives to destroying a table, a view or a column, best first (the
    caller keeps the first its policy allows).

    >>> [r.kind for r in retire("sql.replace", "t", "CREATE OR REPLACE TABLE t AS SELECT 1")]
    ['create-and-swap', 'create-beside']
    >>> retire("sql.drop", "sales", "DROP TABLE sales", today=datetime.date(2026, 1, 2))[0].sql
    'ALTER TABLE sales RENAME TO sales_retired_20260102'
    """
    stamp = (today or datetime.date.today()).strftime("%Y%m%d")
    bare = target.split(".")[-1]
    table, old, new = _ident(target, dialect), f"{bare}_retired_{stamp}", f"{bare}_new"
    tree = _parse(source, dialect)
    if action == "sql.drop":
        kind = str(tree.args.get("kind") or "TABLE").upper() if isinstance(tree, exp.Drop) else ""
        if kind not in ("TABLE", "VIEW"):
            return []
        return [Rewrite("rename", f"ALTER {kind} {table} RENAME TO {_ident(old, dialect)}",
                        "rename it instead: the data stays and the rename can be undone")]
    if action == "sql.truncate" and dialect == "duckdb":
        return [Rewrite("create-and-swap",
                        f"ALTER TABLE {table} RENAME TO {_ident(old, dialect)}; "
                        f"CREATE TABLE {table} AS FROM {_ident(old, dialect)} LIMIT 0",
                        "keep the rows under another name and start an empty table")]
    query = ""
    if action == "sql.replace":
        body = tree.expression if isinstance(tree, exp.Create) else None
        query = body.sql(dialect=dialect) if isinstance(body, exp.Query) else ""
    elif action == "sql.drop_column" and dialect == "duckdb":
        drops = tree.find_all(exp.Drop) if isinstance(tree, exp.Alter) else ()
        dropped = [c.name for d in drops for c in d.args.get("tables") or () if c.name]
        if dropped:
            cols = ", ".join(_ident(c, dialect) for c in dropped)
            query = f"SELECT * EXCLUDE ({cols}) FROM {table}"
    if not query:
        return []
    return [Rewrite("create-and-swap", _swap(table, old, new, query, dialect),
                    "build the new table beside the old one, then swap the names"),
            Rewrite("create-beside", f"CREATE TABLE {_ident(new, dialect)} AS {query}",
                    f"build the new table as {new} beside {bare}, which stays as it is")]


def _swap(table: str, old: str, new: str, query: str, dialect: str) -> str:
    bare = table.split(".")[-1]
    return (f"CREATE TABLE {_ident(new, dialect)} AS {query}; "
            f"ALTER TABLE {table} RENAME TO {_ident(old, dialect)}; "
            f"ALTER TABLE {_ident(new, dialect)} RENAME TO {bare}")


def narrower(count_sql: str, rows: int | None, limit: int, where: str = "") -> Rewrite:
    """A bulk change gets its count and a hint: no rewrite can know which rows were meant.

    >>> narrower("SELECT COUNT(*) FROM t", 5000, 1000).hint
    'it would touch 5000 rows: add conditions to the WHERE so that at most 1000 rows match'
    """
    many = f"it would touch {rows} rows" if rows is not None and rows >= 0 else (
        "it would touch every row" if where in ("none", "always") else "its rows were not counted")
    return Rewrite("narrow-where", "", f"{many}: add conditions to the WHERE so "
                   f"that at most {limit} rows match", count_sql)
