"""One small handler per statement kind: sqlglot tree -> intents.

``KINDS`` is the dispatch table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from jupyter_guard.analyze.sql_tree import is_remote, reads_of, table_name
from jupyter_guard.analyze.where import bind, classify_where, count_sql_for
from jupyter_guard.model import Action, Intent, TargetKind

Handler = Callable[[Any, str, str, Any], tuple[Intent, ...]]


_DROP_TARGETS: dict[str, TargetKind] = {"table": "table", "view": "view", "schema": "schema",
                                        "database": "database"}


def _drop(tree: exp.Drop, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    kind = str(tree.args.get("kind") or "TABLE").lower()
    target_kind = _DROP_TARGETS.get(kind, "table")
    if kind in ("index", "macro", "function", "sequence", "type", "secret"):
        return (Intent("sql.other", source=src, detail=f"drop {kind}"),)
    tables = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
    temp = bool(tree.args.get("temporary"))
    return tuple(Intent("sql.drop", target_kind, table_name(t), source=src, temporary=temp,
                        detail=f"DROP {kind.upper()}") for t in tables) or (
        Intent("sql.drop", target_kind, "?", source=src),)


def _truncate(tree: exp.TruncateTable, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    return tuple(Intent("sql.truncate", "table", table_name(t), source=src)
                 for t in tree.expressions) or (Intent("sql.truncate", "table", "?", source=src),)


_CREATE_TARGETS: dict[str, TargetKind] = {"table": "table", "view": "view", "schema": "schema",
                                          "database": "database"}


def _create(tree: exp.Create, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    kind = str(tree.args.get("kind") or "").lower()
    if kind not in _CREATE_TARGETS:
        return (Intent("sql.other", source=src, detail=f"create {kind}"),)
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    name = table_name(target) if target is not None else "?"
    props = tree.args.get("properties")
    temp = bool(props and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions))
    body = tree.args.get("expression")
    tables, columns = reads_of(body) if body is not None else ((), ())
    action: Action = "sql.replace" if tree.args.get("replace") else "sql.create"
    return (Intent(action, _CREATE_TARGETS[kind],
                   name, columns, tables, src, temporary=temp),)


def _alter(tree: exp.Alter, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    name = table_name(tree.this)
    out: list[Intent] = []
    for action in tree.args.get("actions") or []:
        if isinstance(action, (exp.AlterRename, exp.RenameColumn)):
            what = "table" if isinstance(action, exp.AlterRename) else "column"
            # columns: the new name of a renamed table (a later statement may use it)
            new = (table_name(action.this),) if what == "table" and action.this is not None else ()
            out.append(Intent("sql.rename", "table", name, new, source=src,
                              detail=f"RENAME {what}"))
        elif isinstance(action, exp.Drop) or (
                isinstance(action, exp.Command) and "DROP" in action.sql().upper()):
            cols = [c.sql().lower() for c in action.args.get("tables") or []]
            if action.this is not None:
                cols.append(action.this.sql().lower())
            out.append(Intent("sql.drop_column", "table", name, tuple(cols) or ("?",), source=src))
        else:
            out.append(Intent("sql.alter", "table", name, source=src))
    return tuple(out) or (Intent("sql.alter", "table", name, source=src),)


def _filtered(action: Action) -> Handler:
    """DELETE and UPDATE: the WHERE kind and the count(*) that estimates the rows they touch."""
    def handler(tree: Any, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
        bound = bind(tree, params)
        tables, columns = reads_of(bound)
        return (Intent(action, "table", table_name(tree.this), columns, tables, src,
                       where=classify_where(bound.args.get("where")),
                       detail=count_sql_for(bound, dialect)),)
    return handler


def _insert(tree: exp.Insert, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    body = tree.args.get("expression")
    tables, columns = reads_of(body) if body is not None else ((), ())
    name = table_name(target) if target is not None else "?"
    conflict = tree.args.get("conflict")
    alt = str(tree.args.get("alternative") or "").upper()
    upsert = alt == "REPLACE" or (conflict is not None and (
        conflict.args.get("duplicate") is not None or "UPDATE" in conflict.sql().upper()))
    return (Intent("sql.insert", "table", name, columns, tables, src,
                   remote=is_remote(name.strip("'\"")), detail="upsert" if upsert else ""),)


def _merge(tree: exp.Merge, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    tables, columns = reads_of(tree)
    return (Intent("sql.merge", "table", table_name(tree.this), columns, tables, src),)


def _copy(tree: exp.Copy, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    files = [
        f.name if isinstance(f, exp.Literal) else f.sql() for f in tree.args.get("files") or []
    ]
    dest = files[0] if files else "?"
    if tree.args.get("kind"):  # COPY t FROM 'file': loads data into t
        return (Intent("sql.load", "table", table_name(tree.this), source=src, detail=dest),)
    tables, columns = reads_of(tree.this)
    if isinstance(tree.this, exp.Table):  # COPY t TO ...: every column of t
        columns = (f"{tables[0]}.*",) if tables else ("?",)
    elif isinstance(tree.this, exp.Schema) and isinstance(tree.this.this, exp.Table):
        # COPY t (a, b) TO ...: those columns of t
        tables = (table_name(tree.this.this),)
        columns = tuple(f"{tables[0]}.{c.name}" for c in tree.this.expressions) or ("?",)
    out: tuple[Intent, ...] = (
        Intent("sql.export", "file", dest, columns, tables, src, remote=is_remote(dest)),
    )
    if not is_remote(dest):  # the database writes the file: the file rules apply to it too
        out += (Intent("file.truncate", "file", dest, source=src, detail="COPY ... TO"),)
    return out


# Database servers DuckDB attaches through an extension (``TYPE postgres``, ``'postgres:...'``)
_SERVERS = {"postgres": "postgres", "postgresql": "postgres", "postgres_scanner": "postgres",
            "mysql": "mysql", "mysql_scanner": "mysql"}


def _attach(tree: exp.Attach, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    node = tree.this.this if isinstance(tree.this, exp.Alias) else tree.this
    loc = node.name if isinstance(node, exp.Literal) else node.sql() if node is not None else "?"
    alias = tree.this.alias if isinstance(tree.this, exp.Alias) else ""
    read_only = "READ_ONLY" in src.upper().replace(" ", "_")
    server = _server(tree, loc)
    if server:
        return _attach_server(server, alias or loc, loc, src, read_only)
    out: tuple[Intent, ...] = (
        Intent("sql.attach", "database", alias or loc, source=src, detail=loc,
               remote=is_remote(loc)),
    )
    if loc not in ("?", ":memory:") and not is_remote(loc) and not read_only:
        # a writable attach writes that file: the guard's own files are refused by the file rules
        out += (Intent("file.write", "file", loc, source=src, detail="ATTACH"),)
    return out


def _server(tree: exp.Attach, loc: str) -> str:
    """``postgres``/``mysql`` when the ATTACH opens a database server, else ``""``."""
    for opt in tree.expressions or []:
        if isinstance(opt, exp.AttachOption) and opt.this is not None and \
                opt.this.name.upper() == "TYPE" and opt.expression is not None:
            return _SERVERS.get(opt.expression.name.lower(), "")
    head = loc.split(":", 1)[0].lower() if ":" in loc else ""
    return _SERVERS.get(head, "")


def _attach_server(server: str, name: str, loc: str, src: str, read_only: bool
                   ) -> tuple[Intent, ...]:
    """DuckDB's ``postgres``/``mysql`` extension: loading it is loading native code (refused
    unless ``sql.allow_extensions`` names it); a writable attach is refused outright, because
    what DuckDB then writes in that server is neither judged in its dialect nor measured."""
    out: tuple[Intent, ...] = (
        Intent("sql.attach", "database", name, source=src, detail=loc, remote=True),
        Intent("sql.extension", "none", server, source=src,
               detail=f"ATTACH (TYPE {server}) loads the extension"))
    if not read_only:
        fix = ", or connect with psycopg or %%guarded_sql postgresql://..." \
            if server == "postgres" else ""
        out += (Intent("sql.outside", "database", name, source=src, detail=(
            f"ATTACH (TYPE {server}) without READ_ONLY: the guard does not measure what DuckDB "
            f"changes in that database; attach it READ_ONLY{fix}")),)
    return out


def _simple(action: Action) -> Handler:
    def handler(tree: Any, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
        return (Intent(action, source=src),)
    return handler


def _read(tree: Any, src: str, dialect: str, params: Any) -> tuple[Intent, ...]:
    tables, columns = reads_of(tree)
    return (Intent("sql.select", "table", ",".join(tables), columns, tables, src),)


KINDS: tuple[tuple[type, Handler], ...] = (
    (exp.Drop, _drop),
    (exp.TruncateTable, _truncate),
    (exp.Create, _create),
    (exp.Alter, _alter),
    (exp.Delete, _filtered("sql.delete")),
    (exp.Update, _filtered("sql.update")),
    (exp.Insert, _insert),
    (exp.Merge, _merge),
    (exp.Copy, _copy),
    (exp.Attach, _attach),
    (exp.Transaction, _simple("sql.transaction")),
    (exp.Commit, _simple("sql.transaction")),
    (exp.Rollback, _simple("sql.transaction")),
    (exp.Set, _simple("sql.set")),
    (exp.Pragma, _simple("sql.set")),
    (exp.Use, _simple("sql.set")),
    (exp.Summarize, _read),
    (exp.Describe, _read),
    (exp.Pivot, _read),
)
