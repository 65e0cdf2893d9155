"""What a statement writing into a database file (``db_exits``) carries, checked by effect: the
rows its source query yields (run once more by the guard, ``SAMPLE_ROWS`` of them drawn at
random), the rows an ``UPDATE`` or ``MERGE`` writes (rebuilt as a query), the rows of a
``COPY … TO``, and the frames it reads by name (their lineage marks, then their values).

A hit is refused as ``exfiltration`` before the statement runs.
"""
from __future__ import annotations

from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.state import Busy

SAMPLE_ROWS = 2_000    # rows of a source query scanned: all of them, or as many drawn at random


def _settings() -> Any:
    from jupyter_guard.hooks.exit_files import FX

    if FX is not None:
        return FX.exports.settings()
    from jupyter_guard.mask.text import MaskSettings

    return MaskSettings()


def _refuse_if(guard: Any, kind: str, dest: str, what: str) -> None:
    if kind:
        from jupyter_guard.hooks.exit_files import FX

        exits.refuse(guard, FX.rt if FX is not None else None, kind,
                     f"database file {dest}", f"a write of {what} into")


def _check_copy(guard: Any, raw: Any, q: str) -> None:
    """``COPY … TO``: the rows it writes, when lineage found nothing sensitive in them (a
    table another process made with a renamed sensitive column has no lineage here)."""
    from sqlglot import exp

    from jupyter_guard.hooks import sql_exports

    tree = sql_exports._tree(q)
    if not isinstance(tree, exp.Copy) or tree.args.get("kind") or tree.this is None:
        return   # COPY … FROM reads a file into the database
    files = tree.args.get("files") or []
    dest = files[0].name if files and isinstance(files[0], exp.Expr) else "a file"
    src = tree.this
    source = f"SELECT * FROM {src.sql(dialect='duckdb')}" if isinstance(src, exp.Table) \
        else src.unnest().sql(dialect="duckdb")
    if not _objects_read(guard, src, dest, "COPY"):
        _scan_rows(guard, raw, source, dest, "COPY")


def _objects_read(guard: Any, source: Any, dest: str, how: str) -> bool:
    """A frame the statement reads by name (a replacement scan) holds values that are not plain
    (``guard.frames.object_column``): DuckDB would get their text by running their own methods,
    and the guard's own sample of the rows would run them under its token. Refused
    (``exfiltration``, naming the column and the fix); True when the policy lets it out
    anyway (then the guard reads none of its rows)."""
    from sqlglot import exp

    from jupyter_guard.duck import _caller
    from jupyter_guard.guard.frames import is_frame, object_column

    frame = _caller()
    if frame is None:
        return False
    scope = {**frame.f_globals, **frame.f_locals}
    names = {t.name for t in source.find_all(exp.Table)}
    if isinstance(source, exp.Table):
        names.add(source.name)
    for name in sorted(n for n in names if n):
        obj = scope.get(name)
        col = object_column(obj) if is_frame(obj) else None
        if col is not None:
            from jupyter_guard.hooks.exit_files import FX

            exits.refuse(guard, FX.rt if FX is not None else None,
                         f"Python objects (column {col} of frame {name}, whose text only their "
                         f"own methods give: make it plain values first, e.g. "
                         f"{name}[{col!r}].astype(str))", dest, how)
            return True
    return False


def _scan_rows(guard: Any, raw: Any, source: str, dest: str, how: str,
               detectors: bool = True) -> bool:
    """Run ``source`` as the user would (replacement scans see the caller's frames), scan
    ``SAMPLE_ROWS`` of its rows drawn at random (all of them when there are fewer; known values,
    and with ``detectors`` the detectors) and refuse (``exfiltration``) sensitive values going
    to ``dest``. One query: a reservoir sample reads the whole result once, in DuckDB. False
    when the guard's copy of the query could not run (nothing was checked)."""
    from jupyter_guard.duck import as_caller
    from jupyter_guard.hooks.warehouse_values import preload

    with Busy():
        preload([raw], guard.policy)   # copies of the file's sensitive values are known values
        try:
            # executed (``execute`` materializes the rows) in the user's frame, as the user's
            # own statement is: DuckDB turns a scanned object (a relation over a frame of
            # objects) into text by running its methods, judged there as user code
            as_caller(raw.execute, f"SELECT * FROM ({source}) USING SAMPLE "
                      f"reservoir({SAMPLE_ROWS} ROWS)")
            rows = raw.fetchall()
        except Exception:  # noqa: BLE001 - the guard's copy of the query does not run: DuckDB
            # reports the user's own statement, and the lineage rules already judged it
            return False
        text = "\n".join("\t".join(map(str, r)) for r in rows)
        kind = exits.scan(text, _settings()) if detectors else exits._known(text)
    if kind:
        from jupyter_guard.hooks.exit_files import FX

        exits.refuse(guard, FX.rt if FX is not None else None, kind, dest, how)
    return True


def _check_source(guard: Any, raw: Any, q: str, dest: str) -> bool:
    """The rows the source query of ``CREATE … AS`` / ``INSERT … SELECT`` yields, and the
    frames it reads by name. Rows made inside the database (its own tables and views, table
    functions such as ``range`` or ``read_csv`` of a file already on disk) are checked for known
    values only; rows from Python objects (frames, registered views) with the detectors too.
    False when its rows could not be read (nothing was checked)."""
    from sqlglot import exp

    from jupyter_guard.hooks import sql_exports

    tree = sql_exports._tree(q)
    if tree is None:
        return False   # unparsed: its literal text was scanned (known values only)
    source = tree.args.get("expression") if isinstance(tree, (exp.Create, exp.Insert)) else \
        _update_rows(tree) if isinstance(tree, exp.Update) else \
        _merge_rows(tree) if isinstance(tree, exp.Merge) else None
    if source is None or isinstance(source, exp.Values):
        return not isinstance(tree, exp.Merge)   # a MERGE whose rows it could not build
    from jupyter_guard.duck import _caller

    frame = _caller()
    names = {t.name for t in source.find_all(exp.Table)}
    scope = {**frame.f_globals, **frame.f_locals} if frame is not None else {}
    # names DuckDB may read from a Python object (a replacement scan)
    found = {n: scope[n] for n in names if hasattr(scope.get(n), "columns")}
    cols, star = _shown(source, set(found))
    for obj in found.values():
        _check_frame(guard, obj, None if star else cols, dest)
    if _objects_read(guard, source, f"database file {dest}", "a write of rows into"):
        return True
    python = bool(found)
    return _scan_rows(guard, raw, source.sql(dialect="duckdb"), f"database file {dest}",
                      "a write of rows into", detectors=python or not _inside(raw, names))


def _merge_rows(tree: Any) -> Any:
    """The values a ``MERGE`` writes, as a query: its ``INSERT`` values and ``UPDATE SET``
    expressions over its target fully joined with its source (every row either branch sees);
    ``INSERT *``, ``BY NAME`` or ``UPDATE SET *`` write every column of the source."""
    from sqlglot import exp

    target, src, on = tree.this, tree.args.get("using"), tree.args.get("on")
    whens = tree.args.get("whens")
    if not isinstance(target, exp.Table) or src is None or whens is None:
        return None
    values: list[Any] = []
    whole = False
    for when in whens.expressions:
        then = when.args.get("then")
        if isinstance(then, exp.Insert):
            row = then.expression
            if isinstance(row, exp.Tuple):
                values += [v.copy() for v in row.expressions]
            else:
                whole = True
        elif isinstance(then, exp.Update):
            sets = [e.expression.copy() for e in then.expressions if isinstance(e, exp.EQ)]
            values += sets
            whole = whole or not sets
    if whole:
        values.append(exp.Column(this=exp.Star(), table=exp.to_identifier(src.alias_or_name)))
    if not values:
        return None
    using = tree.args.get("using_cond")
    if isinstance(using, list) and using:   # ``USING (id)``
        return exp.select(*values).from_(target.copy()).join(
            src.copy(), using=[u.copy() for u in using], join_type="full")
    return exp.select(*values).from_(target.copy()).join(
        src.copy(), on=on.copy() if isinstance(on, exp.Expr) else exp.true(), join_type="full")


def _update_rows(tree: Any) -> Any:
    """The values an ``UPDATE`` writes, as a query: its ``SET`` expressions (subqueries
    included) over the rows it changes (its table, its ``FROM``, its ``WHERE``)."""
    from sqlglot import exp

    values = [e.expression.copy() for e in tree.expressions if isinstance(e, exp.EQ)]
    if not values or not isinstance(tree.this, exp.Table):
        return None
    sel = exp.Select(expressions=values).from_(tree.this.copy())
    frm = tree.args.get("from_")
    if frm is not None and frm.this is not None:
        sel = sel.join(frm.this.copy(), join_type="cross")
    where = tree.args.get("where")
    return sel.where(where.this.copy()) if where is not None else sel


def _inside(raw: Any, names: set[str]) -> bool:
    """Every named source is a table or view stored in the database (not a temporary view such
    as a registered frame, not a Python object found by replacement scan)."""
    named = {n.lower() for n in names if n}
    if not named:
        return True
    with Busy():
        cur = raw.cursor()
        try:
            stored = {str(r[0]).lower() for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary UNION ALL "
                "SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal"
            ).fetchall()}
        finally:
            cur.close()
    return named <= stored


def _shown(source: Any, frames: set[str]) -> tuple[set[str], bool]:
    """The columns the projections of ``source`` carry out as values (not those only counted or
    summed by an aggregate), and whether one of them is a ``*`` over one of the ``frames``."""
    from sqlglot import exp

    cols: set[str] = set()
    star = False
    for sel in source.find_all(exp.Select):
        frm = sel.args.get("from_")
        tables = [frm.this] if frm is not None else []
        tables += [j.this for j in sel.args.get("joins") or []]
        for e in sel.expressions:
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and
                                           isinstance(e.this, exp.Star)):
                # every column of a frame read here (a subquery's or a CTE's ``*`` is its
                # own projections, counted where they are)
                star = star or any(isinstance(t, exp.Table) and t.name in frames
                                   for t in tables)
                continue
            for c in e.find_all(exp.Column):
                if c.find_ancestor(exp.AggFunc) is None:
                    cols.add(c.name.lower())
    return cols, star


def _check_frame(guard: Any, frame: Any, cols: set[str] | None, dest: str) -> None:
    """A frame whose columns lineage marks sensitive (renamed or derived from one)."""
    from jupyter_guard.hooks.df_lineage import origins

    try:
        present = {str(c) for c in frame.columns}
    except TypeError:   # columns that do not list: every mark counts
        present = None
    marked = {str(c) for c, o in origins(frame).items()
              if o and (present is None or str(c) in present)}
    hit = sorted(c for c in marked if cols is None or c.lower() in cols)
    if hit:
        _refuse_if(guard, f"{', '.join(hit[:5])} (from sensitive columns)",
                   dest, "a frame")


def _scan_frame(frame: Any) -> str:
    """The detectors' finding in an appended frame's rows (the guard's own ``to_csv``, so only
    of a frame of plain values: another's text would come from running its methods)."""
    from jupyter_guard.guard.frames import is_frame, object_column

    if not is_frame(frame):
        return "rows of a frame of a class of its own (its methods are user code)"
    col = object_column(frame)
    if col is not None:
        return (f"Python objects (column {col}, whose text only their own methods give: make "
                f"it plain values first, e.g. .astype(str))")
    with Busy():   # the guard's own to_csv is no export
        try:
            part = frame.sample(n=SAMPLE_ROWS) if len(frame) > SAMPLE_ROWS else frame
            text = part.to_csv(index=False) if hasattr(part, "to_csv") else str(part)
        except Exception:  # noqa: BLE001 - not a frame DuckDB reads: DuckDB raises when it runs
            return ""
        return exits.scan(text, _settings())
