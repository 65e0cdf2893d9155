"""Keys that judge no guess, keys that do (issue 15, false positives; red team 19's oracles).

A ``PRIMARY KEY``, ``UNIQUE`` key or unique index answers about a guess only when it holds values
of a sensitive lineage and a guess together: a collision (an error, a row ``INSERT OR IGNORE``
skips) then tells whether the guess is one of the sensitive values. A key that only ever holds
values read from sensitive columns de-duplicates them (``CREATE TABLE t (email VARCHAR UNIQUE)``
then ``INSERT OR IGNORE INTO t SELECT email FROM customers``): a collision tells that two people
share a value, which ``count(DISTINCT email)`` tells too. ``pure_fill`` lets such a write through
``guard.oracles`` when

- the key is empty before it (a count, which reads no value, or a table made earlier in the same
  text) and no other statement was judged writing into the table (``FILLED``: a guess written
  earlier in the same text, not yet run, would be there), and
- each value it writes into a key column is one column of a real table, read as it is stored:
  one ``SELECT`` from one table (no join, no set operation, no subquery, no ``VALUES``), an
  output reading exactly one column, sensitive by the policy, with no constant, whose lineage is
  that column itself, read from a table by its place (schema and name: a ``customers`` of
  another schema counts apart) that the session never wrote into, by any route
  (``pure_table``: it may hold guesses beside the values).

On PostgreSQL (``guard.oracles_pg``) the table read must also be an ordinary, permanent table
that never had a child (a view, a temporary table or an inherited child could add a guess to
what it reads), the key a plain column key (an expression or partial unique index stays judged),
and the target empty with no other session holding a lock on it (another session's uncommitted
guess would still collide); a target made earlier in the same text is not in the catalog yet and
stays judged. What other processes wrote is not seen (a guess another kernel commits into the
filled key later is judged there by that kernel's own lineage: see docs/threat-model.md).

A later write into such a key (a guess, or more e-mails) finds it filled and stays judged, in
either order. ``CHECK`` constraints, ``ENUM`` and user-typed columns stay judged whatever is
written.

A ``FOREIGN KEY`` whose referenced key holds sensitive values judges each written value against
them (``referenced``): a guess written into the referencing table fails exactly when it is none
of them, so that write is reported too, whatever it writes. A filled table's lineage may be kept
under the source's column names (``INSERT INTO f1 SELECT ssn …`` under ``x``): a name the table
has not counts for every column.

A user type that only names a built-in one (``CREATE TYPE t AS VARCHAR``) judges nothing: a cast
to it is no oracle (``note_type`` tells ``analyze.sql_oracles``, after the catalog confirms that
no type of that name is already an ``ENUM``).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from jupyter_guard.analyze import sql_oracles
from jupyter_guard.guard import oracles_pg
from jupyter_guard.model import Intent
from jupyter_guard.policy.rules import bare_table

if TYPE_CHECKING:
    from jupyter_guard.guard.enrich import Catalog

KEY_KINDS = frozenset({"PRIMARY KEY", "UNIQUE", "UNIQUE INDEX", "PRIMARYKEY",
                       "UNIQUECOLUMNCONSTRAINT"})
FILLED: dict[str, set[str]] = {}
"""Table (bare, lower-case) -> statements judged writing into it (two at most: one other than
the statement judged is enough to know it)."""
PURE: dict[str, bool] = {}
"""Table (bare, lower-case) -> made by a plain ``CREATE TABLE … AS SELECT`` of sensitive columns
(True) or by another ``CREATE``/a load (False): what a key over it may judge."""
REFS: dict[str, list[tuple[str, str, frozenset[str]]]] = {}
"""Table -> (its column, the table it references, that table's columns), from CREATE texts."""
_TYPE = re.compile(r"^\s*CREATE\s+(OR\s+REPLACE\s+)?TYPE\s+(\"?[\w.]+\"?)\s+AS\s+(.+?)\s*;?\s*$",
                   re.I | re.S)
_DROP_TYPE = re.compile(r"^\s*DROP\s+TYPE\s+(IF\s+EXISTS\s+)?(\"?[\w.]+\"?)", re.I)


def note_fill(table: str, source: str) -> None:
    got = FILLED.setdefault(bare_table(table), set())
    if len(got) < 2:
        got.add(source)

def pure_table(table: str, cat: Catalog) -> bool:
    """No guess can sit beside the sensitive values of ``table`` (see ``guard.oracles_ddl``):
    decided by its place (schema and name), a table of the same name elsewhere counts apart."""
    from jupyter_guard.hooks.sql_exports import REMEMBERED

    key = bare_table(table)
    if key in PURE:
        return PURE[key]
    if FILLED.get(key):
        return False
    return key not in REMEMBERED and key.rsplit(".", 1)[-1] not in REMEMBERED


def pure_fill(tree: exp.Expr | None, table: str, keys: list[frozenset[str]], source: str,
              cat: Catalog, created: dict[str, list[tuple[str, frozenset[str]]]],
              columns: dict[str, list[str]]) -> bool:
    """Whether write ``tree`` fills ``table``'s empty keys with values of sensitive columns
    only (see the module's docstring)."""
    from jupyter_guard.hooks.sql_exports import REMEMBERED
    from jupyter_guard.hooks.taint_ddl import _inserted

    key = bare_table(table)
    if FILLED.get(key, set()) - {source} or not isinstance(tree, exp.Insert) or \
            cat.policy is None or (tree.args.get("conflict") is not None and \
            tree.args["conflict"].find(exp.Update)):   # ``DO UPDATE`` reads the colliding row
        return False
    src = tree.args.get("expression")
    read = (src.args.get("from_") or src.args.get("from")) if isinstance(src, exp.Select) \
        else None
    if not isinstance(src, exp.Select) or src.args.get("with_") or src.args.get("with") or \
            src.args.get("joins") or any(q is not src for q in src.find_all(exp.Query, exp.Values))\
            or read is None or not isinstance(read.this, exp.Table):
        return False
    read_name = ".".join(p.name for p in read.this.parts)
    if not pure_table(read_name, cat):
        return False   # a table the session wrote into (a guess may sit there), by its place
    postgres = cat.conn.kind.dialect == "postgres"
    if postgres and not oracles_pg.pure_source(read_name, cat.conn.rows):
        return False   # a view, a temporary table, a parent of children: not the stored values
    tail = bare_table(read_name).rsplit(".", 1)[-1]
    target = tree.this
    listed = [e.name.lower() for e in target.expressions] if isinstance(target, exp.Schema) \
        else []
    order = listed or columns.get(key) or list(cat.columns_anywhere(table) or ())
    outs = src.expressions
    values = _inserted(tree.copy(), cat, cat.policy) or ()
    if len(order) < len(outs) or len(values) != len(outs):
        return False
    keyed = frozenset().union(*keys)
    for name, out, value in zip(order, outs, values):
        if name not in keyed and "*" not in keyed:
            continue
        cols = list(out.find_all(exp.Column))
        if len(cols) != 1 or out.find(exp.Literal, exp.Placeholder, exp.Parameter, exp.Star,
                                      exp.Null) or not cat.policy.is_sensitive_column(
                cols[0].name) or len(value.origins) != 1:
            return False
        origin = next(iter(value.origins))   # the table read, as stored: no lineage kept
        if origin.lower() != f"{tail}.{cols[0].name.lower()}" or tail in REMEMBERED:
            return False
    written = target.this if isinstance(target, exp.Schema) else target
    if postgres:   # another session's uncommitted row would collide too: no lock but ours
        return oracles_pg.empty_alone(".".join(p.name for p in written.parts), cat.conn.rows)
    return _empty(written, key, cat, created)


def _empty(target: exp.Expr, key: str, cat: Catalog,
           created: dict[str, list[tuple[str, frozenset[str]]]]) -> bool:
    """No row in the table (a count reads no value); a table the catalog has not yet is empty
    when a ``CREATE`` earlier in the same text made it."""
    try:
        return int(cat.conn.scalar(exp.select("count(*)").from_(target.copy()).sql("duckdb"))) \
            == 0
    except Exception:  # noqa: BLE001 - not in the catalog yet: empty only if made in this text
        return key in created


def remember_refs(tree: exp.Expr) -> None:
    """``CREATE TABLE f (y … REFERENCES t (x))``: what ``f``'s columns reference."""
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema) or \
            not isinstance(tree.this.this, exp.Table):
        return
    name = bare_table(".".join(p.name for p in tree.this.this.parts))
    found: list[tuple[str, str, frozenset[str]]] = []
    for e in tree.this.expressions:
        for ref in e.find_all(exp.Reference):
            held = ref.this.this if isinstance(ref.this, exp.Schema) else ref.this
            cols = frozenset(c.name.lower() for c in ref.this.expressions) \
                if isinstance(ref.this, exp.Schema) else frozenset({"*"})
            fk = ref.parent if isinstance(ref.parent, exp.ForeignKey) else None
            mine = [c.name.lower() for c in fk.expressions] if fk is not None else \
                [e.name.lower()] if isinstance(e, exp.ColumnDef) else ["*"]
            if isinstance(held, exp.Table):
                found += [(m, ".".join(p.name for p in held.parts), cols) for m in mine]
    if found:
        REFS[name] = found
    else:
        REFS.pop(name, None)


def referenced(table: str, cols: frozenset[str], source: str,
               cat: Catalog) -> tuple[Intent, ...]:
    """Comparisons of each sensitive column whose values a key that ``table``'s foreign keys
    reference holds, when the write puts values under such a foreign key."""
    from jupyter_guard.hooks.taint_ddl import _current

    key = bare_table(table)
    refs = list(REFS.get(key, []))
    try:
        for mine, other, theirs in cat.conn.rows(
                "SELECT constraint_column_names, referenced_table, referenced_column_names "
                "FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY' AND "
                "table_name = ?", [key.rsplit(".", 1)[-1]]):
            refs += [(str(m).lower(), str(other), frozenset(str(t).lower() for t in theirs or ())
                      or frozenset({"*"})) for m in mine or ["*"]]
    except Exception:  # noqa: BLE001 - no catalog of foreign keys: those read from CREATEs count
        pass
    out: dict[str, Intent] = {}
    for mine, other, theirs in refs:
        if "*" not in cols and mine != "*" and mine not in cols:
            continue
        held = _current(other, cat, cat.policy) if cat.policy is not None else None
        # lineage remembered under a name the table has not (``INSERT INTO f1 SELECT ssn``
        # keeps it as ``ssn`` under column ``x``): held by any column, the referenced one too
        real = {c.lower() for c in cat.columns_anywhere(other) or ()}
        for o in held or ():
            if "*" in theirs or o.name.lower() in theirs or (real and o.name.lower() not in real):
                for origin in sorted(o.origins):
                    out.setdefault(origin, Intent(
                        "sql.predicate", "column", origin, (origin,), detail="",
                        source=f"FOREIGN KEY of {table}.{mine} into {other}: {source[:120]}"))
    return tuple(out.values())


def note_type(i: Intent, cat: Catalog) -> None:
    """``CREATE TYPE t AS VARCHAR``: ``t`` only names a built-in type (a cast to it judges
    nothing); ``CREATE TYPE t AS ENUM …``, ``DROP TYPE t``: it may judge."""
    text = i.source or ""
    drop = _DROP_TYPE.match(text) if i.action == "sql.drop" else None
    made = _TYPE.match(text) if i.action in ("sql.create", "sql.replace") else None
    if drop is not None:
        sql_oracles.alias_type(drop.group(2).strip('"'), False)
    if made is None:
        return
    name = made.group(2).strip('"')
    try:
        to = exp.DataType.build(made.group(3), dialect="duckdb")
    except Exception:  # noqa: BLE001 - a type sqlglot cannot read: it may judge
        to = None
    alias = to is not None and not sql_oracles.user_type(to)
    if alias and not made.group(1):
        try:   # a type of that name already there (the CREATE will fail): keep judging casts
            if cat.conn.rows("SELECT 1 FROM duckdb_types() WHERE NOT internal AND "
                             "lower(type_name) = lower(?)", [name.rsplit(".", 1)[-1]]):
                alias = False
        except Exception:  # noqa: BLE001 - the catalog could not be read: keep judging casts
            alias = False
    sql_oracles.alias_type(name, alias)


__all__ = ["FILLED", "KEY_KINDS", "PURE", "REFS", "note_fill", "note_type", "pure_fill",
           "pure_table", "referenced", "remember_refs"]
