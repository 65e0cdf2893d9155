"""Small questions about one sqlglot tree that the analysers and the statement handlers share:
the tables and columns a query reads, a table's qualified name, whether a location is remote."""
from __future__ import annotations

from sqlglot import exp

_REMOTE_PREFIXES = ("s3://", "s3a://", "gs://", "gcs://", "az://", "azure://", "abfss://",
                    "http://", "https://", "hf://", "r2://", "md:", "motherduck:")


def is_remote(location: str) -> bool:
    """
    >>> is_remote("s3://bucket/x.parquet"), is_remote("out/x.csv")
    (True, False)
    """
    return location.strip().lower().startswith(_REMOTE_PREFIXES)


def table_name(t: exp.Expression) -> str:
    """Qualified, lower-case name of a table node (``catalog.db.name`` as written)."""
    if isinstance(t, exp.Table):
        parts = [p.name for p in t.parts]
        return ".".join(parts).lower()
    return t.sql().lower()


def reads_of(tree: exp.Expr) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(tables read, columns read) of a query tree; CTE names are not tables."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    tables: list[str] = []
    aliases: dict[str, str] = {}
    for t in tree.find_all(exp.Table):
        name = table_name(t)
        if not name or name in ctes:
            continue
        if name not in tables:
            tables.append(name)
        if t.alias:
            aliases[t.alias.lower()] = name
    columns: list[str] = []
    for c in tree.find_all(exp.Column):
        qual = c.table.lower() if c.table else ""
        owner = aliases.get(qual, qual)
        col = f"{owner}.{c.name.lower()}" if owner else c.name.lower()
        if col not in columns:
            columns.append(col)
    for s in tree.find_all(exp.Star):
        parent = s.parent
        owner = ""
        if isinstance(parent, exp.Column) and parent.table:
            owner = aliases.get(parent.table.lower(), parent.table.lower())
        marks = [f"{owner}.*"] if owner else [f"{t}.*" for t in tables]
        columns.extend(m for m in marks if m not in columns)
    return tuple(tables), tuple(columns)
