"""Data-aware export control: pandas writers and ``json.dump`` refuse data that holds sensitive
columns, decided when the data is written (the static analysis cannot see what a frame holds).

A column is sensitive by its name (policy ``sensitive.columns``), by its values (the masking
detectors, ``mask.settings.sensitive_columns``), or by lineage: a column renamed, copied or
reshaped from a sensitive one stays sensitive (``enforce.df_lineage``). Exports to remote
destinations (``s3://``, ``http://``, ...) are refused whatever they hold. Writes into in-memory
buffers (``StringIO``, ``BytesIO``) are not exports: pandas' own ``repr`` uses them.
"""
from __future__ import annotations

import io
import json
import logging
import os
import sys
from dataclasses import replace
from typing import Any

from jupyter_guard.analyze.sql import is_remote
from jupyter_guard.hooks import df_lineage, df_values, exits, label_values, own_code
from jupyter_guard.hooks.df_lineage import (
    _EMPTY,
    _PROPAGATE,
    MODULE_PATCHED,
    PATCHED,
    PROPAGATING,
    origins,
)
from jupyter_guard.hooks.exit_files import Judged
from jupyter_guard.hooks.file_batch import CheckedFile
from jupyter_guard.hooks.sealed_events import sealed, sealed_attr
from jupyter_guard.hooks.state import Busy, busy
from jupyter_guard.model import Intent

log = logging.getLogger("jupyter_guard")
# writer -> (position, keyword) of its destination argument
WRITERS = {"to_csv": (0, "path_or_buf"), "to_parquet": (0, "path"), "to_json": (0, "path_or_buf"),
           "to_pickle": (0, "path"), "to_excel": (0, "excel_writer"), "to_feather": (0, "path"),
           "to_string": (0, "buf"), "to_markdown": (0, "buf"), "to_html": (0, "buf"),
           "to_latex": (0, "buf"), "to_xml": (0, "path_or_buffer"), "to_hdf": (0, "path_or_buf"),
           "to_orc": (0, "path"), "to_stata": (0, "path"), "to_sql": (0, "name"),
           "to_clipboard": (-1, "")}


# -- deciding ---------------------------------------------------------------------------------
class Exports:
    def __init__(self, guard: Any, rt: Any) -> None:
        self.guard, self.rt = guard, rt
        self._settings: Any = None
        self._sensitive: dict[str, bool] = {}
        self._rev = guard.policy.revision

    def sensitive(self, name: str) -> bool:
        """Whether a column name is sensitive by the policy (cached: lineage asks per column)."""
        if self._rev != self.guard.policy.revision:   # the policy was reloaded
            self._rev, self._settings = self.guard.policy.revision, None
            self._sensitive.clear()
        hit = self._sensitive.get(name)
        if hit is None:
            hit = self._sensitive[name] = self.guard.policy.is_sensitive_column(name)
        return hit

    def settings(self) -> Any:
        if self._rev != self.guard.policy.revision:
            self._rev, self._settings = self.guard.policy.revision, None
            self._sensitive.clear()
        if self._settings is None:
            from jupyter_guard.mask.settings import MaskSettings

            p = self.guard.policy
            try:
                self._settings = MaskSettings(columns=p.sensitive_columns or MaskSettings().columns,
                                              detectors=p.detectors or MaskSettings().detectors,
                                              strategy=p.strategy)
            except Exception:  # noqa: BLE001 - settings that cannot be built mean the default masking, never none
                self._settings = MaskSettings()
        return self._settings

    def check(self, frame: Any, dest: Any, how: str, lineage: dict[str, frozenset[str]]) -> None:
        """Refuse (GuardBlocked) an export of ``frame`` to ``dest``; in-memory buffers pass."""
        if busy() or isinstance(dest, (io.StringIO, io.BytesIO)):
            return
        from jupyter_guard.guard.judge import Judgement, refuse, verdict
        from jupyter_guard.mask.settings import sensitive_columns

        g = self.guard
        target = _dest(dest)
        err = None
        # the column names as text, read as the user's code (a column's own __str__ is user code)
        cols = tuple(str(c) for c in frame.columns)
        axes, labelled = _axes(frame), frame   # labels of a level named ``ssn`` are values

        def hot(name: str) -> bool:
            return g.policy.is_sensitive_column(name) or any(
                g.policy.is_sensitive_column(x) for x in lineage.get(name, ()))
        if any(type(c) is not str for c in frame.columns):
            frame = frame.set_axis(list(cols), axis=1)   # inspected below with plain names
        with Busy():
            if self.rt is not None and self.rt.protect is not None:
                self.rt.protect.restore_guard()
            sens = {
                c for c, o in lineage.items() if any(g.policy.is_sensitive_column(x) for x in o)
            }
            try:
                sens |= sensitive_columns(frame, self.settings())
                sens |= exits.known_columns(frame)
                for ax in axes:   # the index and the column labels are written too
                    hit = {c for c in ax.columns if hot(c)}
                    hit |= sensitive_columns(ax, self.settings()) | exits.known_columns(ax)
                    cols += tuple(c for c in ax.columns if c in hit)   # judged as columns
                    sens |= hit
                cols, values = label_values.judged_names(cols, labelled, hot)
                if values:   # never named one by one: the names are the values
                    sens = {c for c in sens if c in cols} | {c for c in cols if hot(c)}
            except Exception as e:   # noqa: BLE001 - never fail open: a frame we cannot inspect is refused
                log.error("jupyter_guard could not inspect the exported data: %s", e)
                cols = ("?",)
            remote = isinstance(target, str) and (is_remote(target) or (
                "://" in target and not target.lower().startswith("file://")))
            intent = Intent("df.export", "file", target, columns=cols, remote=remote, detail=how,
                            source=f"{how}({target!r})")
            ctx = replace(g.context(), sensitive_columns=frozenset(c.lower() for c in sens))
            code = f"{how}({target!r}) columns={list(cols)[:20]}"
            v = verdict(g, intent, ctx, code)
            if v.refuses:
                from jupyter_guard.guard.lineage import export_lineage
                from jupyter_guard.model import Analysis

                j = Judgement(v, (v,), Analysis((intent,)), (intent,), ctx=ctx,
                              lineage=export_lineage(intent, sens, lineage))
                err = refuse(g, j, kind="runtime", code=code)
        if err is not None:
            raise err
        from jupyter_guard.hooks import file_pieces

        with Busy():
            pieces = file_pieces.in_frame(frame)
        if pieces:   # integer columns that are pieces of known SSNs, row by row
            exits.refuse(g, self.rt, file_pieces.REASON, str(target), how)
        if exits.known:   # numeric columns of derived values (a cut SSN, a scaled one)
            from jupyter_guard.hooks import known_binary

            with Busy():
                derived = known_binary.in_table(frame)
            if derived:
                exits.refuse(g, self.rt, derived, str(target), how)


def _axes(frame: Any, rows: int = 200) -> list[Any]:
    """What a writer writes beside the columns, each as a frame of text (its first ``rows``
    labels, one column per level, named after the level): the index unless it is the default
    0..n-1 (``groupby('ssn')``, ``value_counts()``, ``set_index('email')``), and the column labels
    (``pivot(columns='email')``). Read as the user's code, as the column names are."""
    import pandas as pd

    out = []
    for i, axis in enumerate((frame.index, frame.columns)):
        if i == 0 and isinstance(axis, pd.RangeIndex) and axis.name is None:
            continue
        part = axis[:rows].to_frame(index=False)
        names = [str(n) if n is not None else ("index" if i == 0 else "column labels")
                 + (f" {k}" if k else "") for k, n in enumerate(axis.names)]
        out.append(part.set_axis(names, axis=1).astype(str))
    return out


def _dest(dest: Any) -> str:
    if dest is None:
        return "clipboard"
    if isinstance(dest, (str, bytes, os.PathLike)):
        return os.fsdecode(dest)
    name = (
        getattr(dest, "name", None)
        or getattr(getattr(dest, "path", None), "__str__", lambda: None)()
    )
    return str(name) if name else f"<{type(dest).__name__}>"


def _writer(orig: Any, how: str, pos: int, kw_name: str, exports: Exports, series: bool) -> Any:
    def write(self: Any, *args: Any, **kw: Any) -> Any:
        if pos < 0:
            dest: Any = None
        else:
            dest = args[pos] if len(args) > pos else kw.get(kw_name)
            if dest is None:            # returns a string: nothing leaves the kernel
                return orig(self, *args, **kw)
        if how == "to_sql":
            dest = f"table {dest}"
        if series:
            frame = self.to_frame(name=str(self.name) if self.name is not None else "0")
            lineage = {str(frame.columns[0]): origins(self).get("", _EMPTY)}
        else:
            frame, lineage = self, origins(self)
        exports.check(frame, dest, how, lineage)
        with Judged():   # decided on the frame: the file it opens needs no byte scan
            return orig(self, *args, **kw)
    write.__name__, write.__doc__ = how, getattr(orig, "__doc__", None)
    return write


def _json_dump(orig: Any, exports: Exports) -> Any:
    def dump(obj: Any, fp: Any, *args: Any, **kw: Any) -> Any:
        frame = _records_frame(obj)
        if frame is not None:
            exports.check(frame, fp, "json.dump", {})
        if isinstance(fp, CheckedFile):   # one scan of the whole text, not one per token
            fp.write(json.dumps(obj, *args, **kw))
            return None
        return orig(obj, fp, *args, **kw)
    dump.__doc__ = orig.__doc__
    return dump


def _records_frame(obj: Any) -> Any:
    """A sample of records (list of dicts, dict of columns) as a frame; None for other JSON."""
    import pandas as pd

    try:
        if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj[:50]):
            return pd.DataFrame(obj[:200])
        if (
            isinstance(obj, dict)
            and obj
            and all(isinstance(v, (list, tuple)) for v in obj.values())
        ):
            return pd.DataFrame({str(k): list(v)[:200] for k, v in obj.items()})
        if isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj):
            return pd.DataFrame([obj])
    except Exception:  # noqa: BLE001 - an object pandas cannot frame: an unknown column, which the writer rules refuse
        return pd.DataFrame({"?": []})
    return None


def install(shell: Any, guard: Any, rt: Any) -> None:
    import pandas as pd

    exports = Exports(guard, rt)
    if getattr(pd.DataFrame.to_csv, "_jg", False):   # a second guard in this process
        for fn in [*PATCHED.values(), *_PROPAGATE.values(), *MODULE_PATCHED.values()]:
            if hasattr(_function(fn), "_jg_take"):
                _function(fn)._jg_take(exports)
        return
    holder = [exports]

    def take(new: Exports) -> None:
        """A second guard takes the writers over; only the guard's own code may."""
        if not own_code.own(sys._getframe(1).f_code):
            raise PermissionError("jupyter_guard: only the guard takes its writers over")
        holder[0] = new
    take_sealed = sealed(take)
    table = df_lineage.patches(pd, lambda name: holder[0].sensitive(name))
    table.update(df_values.patches(pd, lambda name: holder[0].sensitive(name)))
    for cls, series in ((pd.DataFrame, False), (pd.Series, True)):
        for how, (pos, kw_name) in WRITERS.items():
            orig = getattr(cls, how, None)
            if orig is not None:
                table[(cls, how)] = _writer(orig, how, pos, kw_name, _Proxy(holder), series)  # type: ignore[arg-type]  # the proxy stands in for the writer's module
    for (owner, name), fn in table.items():   # sealed: no closure cell a cell could swap
        fn = sealed_attr(fn, getattr(owner, name, None))
        target = _function(fn)
        target._jg, target._jg_take = True, take_sealed
        if name in PROPAGATING and not df_lineage._marks:
            _PROPAGATE[(owner, name)] = fn
            continue
        setattr(owner, name, fn)
        (PATCHED if isinstance(owner, type) else MODULE_PATCHED)[(owner, name)] = fn
    dump = sealed(_json_dump(json.dump, _Proxy(holder)), json.dump)  # type: ignore[arg-type]  # the proxy stands in for the writer's module
    dump._jg, dump._jg_take = True, take_sealed
    json.dump = dump
    MODULE_PATCHED[(json, "dump")] = dump


def _function(patch: Any) -> Any:
    """The function behind a patch (a property's getter)."""
    return patch.fget if isinstance(patch, property) else patch


class _Proxy:
    """Lets a second guard in the same process (test shells) take over the installed writers."""

    def __init__(self, holder: list[Exports]) -> None:
        self.holder = holder

    def check(self, *args: Any) -> None:
        self.holder[0].check(*args)
