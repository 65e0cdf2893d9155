"""The lineage rows and decision facts a cell's audit event carries.

Lineage rows are ``(direction, object_kind, name, is_sensitive)``:

- columns are stored as qualified as the statement tells (``main.customers.ssn`` when the table
  was written ``main.customers``, ``customers.ssn`` for a column of the only table a statement
  reads, a bare ``ssn`` only when the statement joins tables and does not say whose it is); the
  audit's views show the short ``table.column`` form;
- writes are what they are: ``to_sql`` and SQL writes are ``table``, remote destinations ``url``,
  everything else ``file``;
- a column renamed or computed from a sensitive one is sensitive (the writers pass what the
  pandas lineage knows);
- an event keeps at most ``LIMIT`` rows: sensitive rows and non-column rows always stay, the
  non-sensitive columns above the limit are summarised in one row ``+N columns`` per direction.

``facts_of`` is what ``jupyter guard replay`` needs to decide a cell again under another policy:
the intents after enrichment (row estimates, columns behind ``*``) and the decision context.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from jupyter_guard.model import SQL_WRITES, Intent

Lineage = tuple[str, str, str, bool]
LIMIT = 100
SUMMARY_SUFFIX = " columns"       # the summary row's name is "+<count> columns"


def qualify(column: str, reads: Sequence[str]) -> str:
    """A column's name with its table, when the statement says or has only one table.

    >>> qualify("ssn", ("customers",)), qualify("c.ssn", ("a", "b")), qualify("ssn", ("a", "b"))
    ('customers.ssn', 'c.ssn', 'ssn')
    """
    if "." in column or len(reads) != 1 or not reads[0]:
        return column
    return f"{reads[0]}.{column}"


def write_of(i: Intent) -> tuple[str, str]:
    """(object_kind, name) an export writes.

    >>> write_of(Intent("df.export", "file", "table leak", detail="to_sql"))
    ('table', 'leak')
    """
    target = i.target
    if i.detail == "to_sql" or target.startswith("table "):
        return "table", target.removeprefix("table ").strip()
    return ("url" if i.remote else "file"), target


def lineage_of(intents: Iterable[Intent], vars_written: Iterable[str] = (),
               vars_read: Iterable[str] = (), sensitive: Any = None,
               marked: frozenset[str] = frozenset()) -> list[Lineage]:
    """Tables, columns, files, URLs and variables the intents read and write.

    ``sensitive(name) -> bool`` is the policy's column test; ``marked`` names (lower case) are
    sensitive whatever their name (renamed or derived from a sensitive column).
    """
    out: dict[tuple[str, str, str], bool] = {}

    def sens(name: str) -> bool:
        short = name.rsplit(".", 1)[-1].lower()
        return short in marked or bool(sensitive and sensitive(name))

    for i in intents:
        for t in i.reads:
            out[("read", "table", t)] = False
        for c in i.columns:
            if not c.endswith("*") and c != "?":
                name = qualify(c, i.reads)
                out[("read", "column", name)] = sens(name)
        if i.action in SQL_WRITES and i.target and i.target_kind in ("table", "view") \
                and i.action != "sql.export":
            out[("write", "table", i.target)] = False
        if i.action in ("sql.export", "df.export"):
            kind, name = write_of(i)
            out[("write", kind, name)] = False
        if i.action == "file.read":
            out[("read", "file", i.target)] = False
        if i.action in ("file.write", "file.truncate", "file.delete", "file.move"):
            out[("write", "file", i.target)] = False
        if i.action in ("net.upload", "net.download"):
            direction = "write" if i.action == "net.upload" else "read"
            out[(direction, "url", i.detail or i.target)] = False
    for name in vars_written:
        out[("write", "variable", name)] = False
    for name in vars_read:
        out[("read", "variable", name)] = False
    return bound([(d, k, n, s) for (d, k, n), s in out.items()])


def export_lineage(intent: Intent, sensitive_cols: Iterable[str],
                   origins: dict[str, frozenset[str]]) -> list[Lineage]:
    """A DataFrame export's rows: the sensitive columns its columns came from (first, so the
    bound keeps them), the columns written (sensitive ones marked, renamed ones too), and the
    destination.

    >>> export_lineage(Intent("df.export", "file", "t", columns=("id", "tax_id"),
    ...                       detail="to_sql"), (), {"tax_id": frozenset({"ssn"})})
    [('read', 'column', 'ssn', True), ('read', 'column', 'id', False), \
('read', 'column', 'tax_id', True), ('write', 'table', 't', False)]
    """
    sens = {str(c).lower() for c in sensitive_cols}
    rows: list[Lineage] = [("read", "column", o, True)
                           for o in sorted({o for c in intent.columns for o in origins.get(c, ())})]
    rows += [("read", "column", c, c.lower() in sens or bool(origins.get(c)))
             for c in intent.columns]
    kind, name = write_of(intent)
    rows.append(("write", kind, name, False))
    return bound(list(dict.fromkeys(rows)))


def bound(rows: list[Lineage], limit: int = LIMIT) -> list[Lineage]:
    """At most ``limit`` column rows (sensitive ones first) plus one summary row ``+N columns``
    per direction and sensitivity for the rest; rows of other kinds always stay.

    >>> rows = [("read", "column", f"c{n}", n == 7) for n in range(1000)]
    >>> kept = bound(rows, 10); len(kept), kept[-1], ("read", "column", "c7", True) in kept
    (11, ('read', 'column', '+990 columns', False), True)
    """
    columns = [r for r in rows if r[1] == "column"]
    if len(columns) <= limit:
        return rows
    ranked = [r for r in columns if r[3]] + [r for r in columns if not r[3]]
    kept = set(ranked[:limit])
    dropped: dict[tuple[str, bool], int] = {}
    for d, _, _, sensitive in ranked[limit:]:
        dropped[(d, sensitive)] = dropped.get((d, sensitive), 0) + 1
    out = [r for r in rows if r[1] != "column" or r in kept]
    return out + [(d, "column", f"+{n}{SUMMARY_SUFFIX}", sensitive)
                  for (d, sensitive), n in dropped.items()]


_INTENT_DEFAULTS = {f: Intent.__dataclass_fields__[f].default
                    for f in Intent.__dataclass_fields__}
_SKIP = ("span", "source")   # source text is in the event's code; spans do not decide anything


def intent_doc(i: Intent) -> dict[str, Any]:
    """An intent as JSON, default fields left out.

    >>> intent_doc(Intent("sql.drop", "table", "t"))
    {'action': 'sql.drop', 'target_kind': 'table', 'target': 't'}
    """
    doc: dict[str, Any] = {}
    for name, default in _INTENT_DEFAULTS.items():
        value = getattr(i, name)
        if value != default and name not in _SKIP:
            doc[name] = list(value) if isinstance(value, tuple) else value
    return doc


def facts_of(intents: Sequence[Intent], ctx: Any) -> dict[str, Any] | None:
    """What ``replay`` needs to decide again: intents and the context (None without intents)."""
    if not intents:
        return None
    return {"v": 1, "intents": [intent_doc(i) for i in intents],
            "connection": ctx.connection, "groups": list(ctx.groups), "actor": ctx.actor,
            "user": ctx.user, "session_tables": sorted(ctx.session_tables),
            "sensitive_columns": sorted(ctx.sensitive_columns),
            "runtime_checks": ctx.runtime_checks, "guard_files": list(ctx.guard_files),
            "cwd": ctx.cwd}
