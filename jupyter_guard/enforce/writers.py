"""Data-aware export control: pandas writers and ``json.dump`` refuse data that holds sensitive
columns, decided when the data is written (the static analysis cannot see what a frame holds).

A column is sensitive by its name (policy ``sensitive.columns``), by its values (the masking
detectors, ``mask.settings.sensitive_columns``), or by lineage: a column renamed or copied from a
sensitive one stays sensitive (``rename``, ``columns = [...]``, ``assign``, ``df[new] = df[old]``,
carried through pandas' ``__finalize__`` to copies, slices and sorted frames). Lineage keeps only
origins that are sensitive by name, so frames with nothing sensitive carry no marks; the patches
that only carry marks along (``__finalize__``, ``__getitem__``) are installed when the first mark
is made, so a session that never touches a sensitive column pays almost nothing for the tracking
(the value detectors look at the frame itself). Exports to remote
destinations (``s3://``, ``http://``, ...) are refused whatever they hold. Writes into in-memory
buffers (``StringIO``, ``BytesIO``) are not exports: pandas' own ``repr`` uses them.
"""
from __future__ import annotations

import io
import json
import logging
import os
import sys
import weakref
from dataclasses import replace
from collections.abc import Callable
from typing import Any

from jupyter_guard.analyze.sql import is_remote
from jupyter_guard.enforce.runtime import Busy, busy
from jupyter_guard.model import Intent, combine

log = logging.getLogger("jupyter_guard")
PATCHED: dict[tuple[type, str], Any] = {}
MODULE_PATCHED: dict[tuple[Any, str], Any] = {}
# writer -> (position, keyword) of its destination argument
WRITERS = {"to_csv": (0, "path_or_buf"), "to_parquet": (0, "path"), "to_json": (0, "path_or_buf"),
           "to_pickle": (0, "path"), "to_excel": (0, "excel_writer"), "to_feather": (0, "path"),
           "to_string": (0, "buf"), "to_markdown": (0, "buf"), "to_html": (0, "buf"),
           "to_latex": (0, "buf"), "to_xml": (0, "path_or_buffer"), "to_hdf": (0, "path_or_buf"),
           "to_orc": (0, "path"), "to_stata": (0, "path"), "to_sql": (0, "name"),
           "to_clipboard": (-1, "")}
_marks: dict[int, dict[str, frozenset[str]]] = {}   # id(frame or series) -> column -> sensitive origins
_EMPTY: frozenset[str] = frozenset()
PROPAGATING = ("__finalize__", "__getitem__")   # only carry existing marks: installed at the first
_PROPAGATE: dict[tuple[type, str], Any] = {}    # mark (``_mark``), waiting here until then


# -- lineage ----------------------------------------------------------------------------------
def origins(obj: Any) -> dict[str, frozenset[str]]:
    return _marks.get(id(obj), {})


def _mark(obj: Any, new: dict[str, frozenset[str]]) -> None:
    new = {k: v for k, v in new.items() if v}
    if not new:
        return
    key = id(obj)
    if key not in _marks:
        try:
            weakref.finalize(obj, _marks.pop, key, None)
        except TypeError:
            return
        _marks[key] = {}
        if _PROPAGATE:
            _propagate()
    _marks[key].update(new)


def _propagate() -> None:
    """The first mark: from now on copies, slices and selections carry marks along."""
    with Busy():
        for (cls, name), fn in list(_PROPAGATE.items()):
            PATCHED[(cls, name)] = fn
            setattr(cls, name, fn)
        _PROPAGATE.clear()


def _from_pandas(frame: Any) -> bool:
    return bool(frame is not None and str(frame.f_globals.get("__name__", "")).startswith("pandas."))


def _lineage_patches(pd: Any, sensitive: Callable[[str], bool]) -> dict[tuple[type, str], Any]:
    """pandas methods that carry column lineage; ``sensitive(name)`` says which origins to keep."""
    getframe = sys._getframe
    DataFrame, Series, NDFrame = pd.DataFrame, pd.Series, pd.core.generic.NDFrame
    f_final, f_rename, s_rename = NDFrame.__finalize__, DataFrame.rename, Series.rename
    f_set_axis = DataFrame.set_axis
    f_assign, f_setitem, f_getitem, f_setattr = (DataFrame.assign, DataFrame.__setitem__,
                                                 DataFrame.__getitem__, DataFrame.__setattr__)

    def _self(name: str) -> frozenset[str]:
        return frozenset((name,)) if sensitive(name) else _EMPTY

    def _positional(before: list[Any], after: Any, src: Any, dst: Any) -> None:
        """Columns renamed in place or by position: the new name remembers the old one."""
        after = list(after)
        if len(before) != len(after):
            return
        old = origins(src)
        _mark(dst, {str(n): old.get(str(o), _EMPTY) | _self(str(o))
                    for o, n in zip(before, after) if str(o) != str(n) or str(o) in old})

    def _series_origin(s: Any) -> frozenset[str]:
        name = getattr(s, "name", None)
        return origins(s).get("", _EMPTY) | (_self(str(name)) if name is not None else _EMPTY)

    def __finalize__(self: Any, other: Any, method: Any = None, **kw: Any) -> Any:
        out = f_final(self, other, method, **kw)
        if _marks and id(other) in _marks and other is not self:
            _mark(self, dict(_marks[id(other)]))
        return out

    def rename(self: Any, *args: Any, **kw: Any) -> Any:
        before = list(self.columns)
        out = f_rename(self, *args, **kw)
        _positional(before, (out if out is not None else self).columns, self, out if out is not None else self)
        return out

    def set_axis(self: Any, labels: Any, *args: Any, **kw: Any) -> Any:
        out = f_set_axis(self, labels, *args, **kw)
        if kw.get("axis", args[0] if args else 0) in (1, "columns") and isinstance(out, DataFrame):
            _positional(list(self.columns), out.columns, self, out)
        return out

    def series_rename(self: Any, *args: Any, **kw: Any) -> Any:
        before = _series_origin(self)
        out = s_rename(self, *args, **kw)
        target = out if out is not None else self
        if isinstance(target, Series):
            _mark(target, {"": before - {str(target.name)}})
        return out

    def assign(self: Any, **kw: Any) -> Any:
        out = f_assign(self, **kw)
        _mark(out, {str(k): _series_origin(v) - {str(k)} for k, v in kw.items() if isinstance(v, Series)})
        return out

    def __setitem__(self: Any, key: Any, value: Any) -> None:
        f_setitem(self, key, value)
        if isinstance(value, Series) and isinstance(key, str):
            _mark(self, {key: _series_origin(value) - {key}})
        elif isinstance(value, DataFrame) and isinstance(key, list):
            _positional(list(value.columns), key, value, self)

    def __getitem__(self: Any, key: Any) -> Any:
        out = f_getitem(self, key)
        if _marks and id(self) in _marks:
            if isinstance(out, Series) and isinstance(key, str) and key in _marks[id(self)]:
                _mark(out, {"": _marks[id(self)][key]})
            elif isinstance(out, DataFrame):
                _mark(out, {c: o for c, o in _marks[id(self)].items() if c in out.columns})
        return out

    def __setattr__(self: Any, name: str, value: Any) -> None:
        # pandas sets ``columns`` on results it builds (groupby, pivot, merge: ~15 times in a
        # 30-line cell); listing a fresh MultiIndex costs up to 90 us, so those are left alone
        # unless the frame already carries marks. Users' ``df.columns = ...`` is tracked.
        if name != "columns" or (id(self) not in _marks and _from_pandas(getframe(1))):
            return f_setattr(self, name, value)
        before = list(self.columns)
        f_setattr(self, name, value)
        _positional(before, self.columns, self, self)

    return {(NDFrame, "__finalize__"): __finalize__, (DataFrame, "rename"): rename,
            (Series, "rename"): series_rename, (DataFrame, "assign"): assign, (DataFrame, "set_axis"): set_axis,
            (DataFrame, "__setitem__"): __setitem__, (DataFrame, "__getitem__"): __getitem__,
            (DataFrame, "__setattr__"): __setattr__}


# -- deciding ---------------------------------------------------------------------------------
class Exports:
    def __init__(self, guard: Any, rt: Any) -> None:
        self.guard, self.rt = guard, rt
        self._settings: Any = None
        self._sensitive: dict[str, bool] = {}

    def sensitive(self, name: str) -> bool:
        """Whether a column name is sensitive by the policy (cached: lineage asks per column)."""
        hit = self._sensitive.get(name)
        if hit is None:
            hit = self._sensitive[name] = self.guard.policy.is_sensitive_column(name)
        return hit

    def settings(self) -> Any:
        if self._settings is None:
            from jupyter_guard.mask.settings import MaskSettings

            p = self.guard.policy
            try:
                self._settings = MaskSettings(columns=p.sensitive_columns or MaskSettings().columns,
                                              detectors=p.detectors or MaskSettings().detectors,
                                              strategy=p.strategy)
            except Exception:
                self._settings = MaskSettings()
        return self._settings

    def check(self, frame: Any, dest: Any, how: str, lineage: dict[str, frozenset[str]]) -> None:
        """Refuse (GuardBlocked) an export of ``frame`` to ``dest``; in-memory buffers pass."""
        if busy() or isinstance(dest, (io.StringIO, io.BytesIO)):
            return
        from jupyter_guard.enforce.kernel import blocked_error
        from jupyter_guard.mask.settings import sensitive_columns
        from jupyter_guard.policy.decide import decide

        g = self.guard
        target = _dest(dest)
        err = None
        with Busy():
            if self.rt is not None and self.rt.protect is not None:
                self.rt.protect.restore_guard()
            cols = tuple(str(c) for c in frame.columns)
            sens = {c for c, o in lineage.items() if any(g.policy.is_sensitive_column(x) for x in o)}
            try:
                sens |= sensitive_columns(frame, self.settings())
            except Exception as e:   # never fail open: a frame we cannot inspect is refused
                log.error("jupyter_guard could not inspect the exported data: %s", e)
                cols = ("?",)
            remote = isinstance(target, str) and (is_remote(target) or (
                "://" in target and not target.lower().startswith("file://")))
            intent = Intent("df.export", "file", target, columns=cols, remote=remote, detail=how,
                            source=f"{how}({target!r})")
            ctx = replace(g.context(), sensitive_columns=frozenset(c.lower() for c in sens))
            v = combine(decide((intent,), g.policy, ctx))
            code = f"{how}({target!r}) columns={list(cols)[:20]}"
            if v.refuses and g.approvals is not None:
                from jupyter_guard.enforce.guard import sha256

                approver = g.approvals.consume(g.user, sha256(code))
                v = replace(v, decision="allow", reason=f"approved by {approver}") if approver else v
            if v.refuses:
                from jupyter_guard.enforce.guard import Judgement
                from jupyter_guard.model import Analysis

                j = Judgement(v, (v,), Analysis((intent,)), (intent,))
                g.begin(kind="runtime", code=code, judgement=j, status="blocked")
                g.last_blocked = {"code": code, "verdict": v, "event_id": ""}
                err = blocked_error(v)
        if err is not None:
            raise err


def _dest(dest: Any) -> str:
    if dest is None:
        return "clipboard"
    if isinstance(dest, (str, bytes, os.PathLike)):
        return os.fsdecode(dest)
    name = getattr(dest, "name", None) or getattr(getattr(dest, "path", None), "__str__", lambda: None)()
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
        return orig(self, *args, **kw)
    write.__name__, write.__doc__ = how, getattr(orig, "__doc__", None)
    return write


def _json_dump(orig: Any, exports: Exports) -> Any:
    def dump(obj: Any, fp: Any, *args: Any, **kw: Any) -> Any:
        frame = _records_frame(obj)
        if frame is not None:
            exports.check(frame, fp, "json.dump", {})
        return orig(obj, fp, *args, **kw)
    dump.__doc__ = orig.__doc__
    return dump


def _records_frame(obj: Any) -> Any:
    """A sample of records (list of dicts, dict of columns) as a frame; None for other JSON."""
    import pandas as pd

    try:
        if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj[:50]):
            return pd.DataFrame(obj[:200])
        if isinstance(obj, dict) and obj and all(isinstance(v, (list, tuple)) for v in obj.values()):
            return pd.DataFrame({str(k): list(v)[:200] for k, v in obj.items()})
        if isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj):
            return pd.DataFrame([obj])
    except Exception:
        return pd.DataFrame({"?": []})
    return None


def install(shell: Any, guard: Any, rt: Any) -> None:
    import pandas as pd

    exports = Exports(guard, rt)
    if getattr(pd.DataFrame.to_csv, "_jg", False):   # a second guard in this process
        for fn in list(PATCHED.values()) + list(_PROPAGATE.values()) + list(MODULE_PATCHED.values()):
            fn._jg_exports[0] = exports
        return
    holder = [exports]
    table = _lineage_patches(pd, lambda name: holder[0].sensitive(name))
    for cls, series in ((pd.DataFrame, False), (pd.Series, True)):
        for how, (pos, kw_name) in WRITERS.items():
            orig = getattr(cls, how, None)
            if orig is not None:
                table[(cls, how)] = _writer(orig, how, pos, kw_name, _Proxy(holder), series)  # type: ignore[arg-type]
    for (cls, name), fn in table.items():
        fn._jg, fn._jg_exports = True, holder
        if name in PROPAGATING and not _marks:
            _PROPAGATE[(cls, name)] = fn
            continue
        setattr(cls, name, fn)
        PATCHED[(cls, name)] = fn
    dump = _json_dump(json.dump, _Proxy(holder))  # type: ignore[arg-type]
    dump._jg, dump._jg_exports = True, holder     # type: ignore[attr-defined]
    json.dump = dump
    MODULE_PATCHED[(json, "dump")] = dump


class _Proxy:
    """Lets a second guard in the same process (test shells) take over the installed writers."""

    def __init__(self, holder: list[Exports]) -> None:
        self.holder = holder

    def check(self, *args: Any) -> None:
        self.holder[0].check(*args)
