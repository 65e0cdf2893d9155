"""Column lineage through pandas: which sensitive columns a frame's columns came from.

A column renamed, copied or reshaped from a sensitive one stays sensitive for the writers
(``enforce.writers``): ``rename``, ``set_axis``, ``columns = [...]``, ``assign``,
``df[new] = df[old]``, ``DataFrame({...})`` of Series, ``Series.to_frame``, ``melt``, ``stack``,
``unstack``, ``transpose``, ``concat`` and ``merge``, carried through pandas' ``__finalize__`` to
copies, slices and sorted frames. Marks keep only origins that are sensitive by name (policy
``sensitive.columns``), so frames with nothing sensitive carry none; the patches that only carry
marks along (``__finalize__``, ``__getitem__``) are installed when the first mark is made, so a
session that never touches a sensitive column pays almost nothing for the tracking.

Reshapes that move values across columns (``melt``, ``stack``, ``unstack``, ``transpose``, a
``concat``/``merge`` column whose name matches no input) give every output column all the
sensitive origins of the columns they read: conservative, and only ever about data that held a
sensitive column. Values that leave pandas (``.values``, ``.tolist()``) lose their lineage; the
value detectors still look at what is exported.
"""
from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from jupyter_guard.hooks.state import Busy

PATCHED: dict[tuple[type, str], Any] = {}       # (class, attribute) -> the guard's replacement
MODULE_PATCHED: dict[tuple[Any, str], Any] = {}  # (module, attribute) -> the guard's replacement
# id(frame or series) -> column ("" for a Series) -> its sensitive origins
_marks: dict[int, dict[str, frozenset[str]]] = {}
_EMPTY: frozenset[str] = frozenset()
PROPAGATING = ("__finalize__", "__getitem__")   # only carry existing marks: installed at the first
_PROPAGATE: dict[tuple[type, str], Any] = {}    # mark (``_mark``), waiting here until then
Sensitive = Callable[[str], bool]


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
    return frame is not None and str(frame.f_globals.get("__name__", "")).startswith("pandas.")


class Origins:
    """Where a column, a Series or a whole frame came from (sensitive origins only)."""

    def __init__(self, pd: Any, sensitive: Sensitive) -> None:
        self.pd, self.sensitive = pd, sensitive

    def own(self, name: Any) -> frozenset[str]:
        return frozenset((str(name),)) if name is not None and self.sensitive(str(name)) else _EMPTY

    def series(self, s: Any) -> frozenset[str]:
        return origins(s).get("", _EMPTY) | self.own(getattr(s, "name", None))

    def column(self, df: Any, col: Any) -> frozenset[str]:
        return origins(df).get(str(col), _EMPTY) | self.own(col)

    def of(self, obj: Any, columns: Iterable[Any] | None = None) -> frozenset[str]:
        """Everything ``obj`` (a frame's ``columns``, all by default, or a Series) came from."""
        if isinstance(obj, self.pd.Series):
            return self.series(obj)
        if not isinstance(obj, self.pd.DataFrame):
            return _EMPTY
        out: set[str] = set()
        for c in obj.columns.tolist() if columns is None else columns:
            out |= self.column(obj, c)
        return frozenset(out)

    def spread(self, out: Any, every: frozenset[str]) -> None:
        """Every column of ``out`` (or the Series ``out``) comes from ``every``."""
        if every and isinstance(out, self.pd.DataFrame):
            _mark(out, {str(c): every for c in out.columns.tolist()})
        elif every and isinstance(out, self.pd.Series):
            _mark(out, {"": every})

    def by_name(self, inputs: list[Any], out: Any, suffixes: tuple[str, ...] = ()) -> None:
        """``out``'s columns come from the inputs' columns of the same name (or the name without
        a merge suffix); a column matching none comes from everything the inputs held."""
        if not isinstance(out, (self.pd.DataFrame, self.pd.Series)):
            return
        every = frozenset().union(*(self.of(x) for x in inputs))
        if not every:
            return
        if isinstance(out, self.pd.Series):
            self.spread(out, every)
            return
        named: dict[str, frozenset[str]] = {}
        for x in inputs:
            if isinstance(x, self.pd.Series):
                key = str(x.name)
                named[key] = named.get(key, _EMPTY) | self.series(x)
            elif isinstance(x, self.pd.DataFrame):
                for c in x.columns.tolist():
                    named[str(c)] = named.get(str(c), _EMPTY) | self.column(x, c)
        new = {}
        for c in map(str, out.columns.tolist()):
            bases = (c[: -len(s)] for s in suffixes if s and c.endswith(s))
            base = next((b for b in bases if b in named), c)
            new[c] = named.get(base, every)
        _mark(out, new)


def reshape_patches(pd: Any, o: Origins) -> dict[tuple[Any, str], Any]:
    """Methods and module functions whose result mixes or moves columns."""
    DataFrame, Series = pd.DataFrame, pd.Series
    f_init, s_to_frame, f_merge = DataFrame.__init__, Series.to_frame, DataFrame.merge
    whole = {name: getattr(DataFrame, name) for name in ("stack", "unstack", "transpose")}

    @wraps(f_init)
    def __init__(self: Any, data: Any = None, *args: Any, **kw: Any) -> None:
        f_init(self, data, *args, **kw)
        if isinstance(data, dict):
            _mark(self, {str(k): o.series(v) for k, v in data.items() if isinstance(v, Series)})
        elif isinstance(data, (Series, DataFrame)):
            o.by_name([data], self)

    @wraps(s_to_frame)
    def to_frame(self: Any, *args: Any, **kw: Any) -> Any:
        out = s_to_frame(self, *args, **kw)
        o.spread(out, o.series(self))
        return out

    def whole_frame(orig: Any) -> Any:
        @wraps(orig)
        def reshaped(self: Any, *args: Any, **kw: Any) -> Any:
            out = orig(self, *args, **kw)
            o.spread(out, o.of(self))
            return out
        return reshaped

    def melted(orig: Any) -> Any:
        @wraps(orig)
        def melt(*args: Any, **kw: Any) -> Any:
            frame = args[0] if args else kw.get("frame")
            out = orig(*args, **kw)
            if isinstance(frame, DataFrame) and isinstance(out, DataFrame):
                names = list(args[1:3]) + [None] * (3 - len(args))
                ids = _listed(kw.get("id_vars", names[0])) or []
                values = _listed(kw.get("value_vars", names[1]))
                melted = [c for c in frame.columns.tolist()
                          if (c in values if values is not None else c not in ids)]
                every = o.of(frame, melted)   # the id columns keep their own values
                _mark(out, {str(c): o.column(frame, c) if c in ids else every
                            for c in out.columns.tolist()})
            return out
        return melt

    @wraps(f_merge)
    def merge(self: Any, right: Any, *args: Any, **kw: Any) -> Any:
        out = f_merge(self, right, *args, **kw)
        o.by_name([self, right], out, tuple(kw.get("suffixes") or ("_x", "_y")))
        return out

    def module_merge(orig: Any) -> Any:
        @wraps(orig)
        def merge_(left: Any, right: Any, *args: Any, **kw: Any) -> Any:
            out = orig(left, right, *args, **kw)
            o.by_name([left, right], out, tuple(kw.get("suffixes") or ("_x", "_y")))
            return out
        return merge_

    def module_concat(orig: Any) -> Any:
        @wraps(orig)
        def concat(objs: Any, *args: Any, **kw: Any) -> Any:
            if isinstance(objs, dict):
                objs = dict(objs)
                inputs = list(objs.values())
            else:
                objs = list(objs) if not isinstance(objs, (DataFrame, Series)) else objs
                inputs = objs if isinstance(objs, list) else [objs]
            out = orig(objs, *args, **kw)
            o.by_name(inputs, out)
            return out
        return concat

    table: dict[tuple[Any, str], Any] = {
        (DataFrame, "__init__"): __init__, (Series, "to_frame"): to_frame,
        (DataFrame, "merge"): merge, (DataFrame, "melt"): melted(DataFrame.melt),
        (pd, "melt"): melted(pd.melt), (pd, "merge"): module_merge(pd.merge),
        (pd, "concat"): module_concat(pd.concat)}
    for name, fn in whole.items():
        table[(DataFrame, name)] = whole_frame(fn)
    table[(DataFrame, "T")] = property(table[(DataFrame, "transpose")])  # ``T`` bound the original
    return table


def _listed(v: Any) -> list[Any] | None:
    if v is None:
        return None
    return list(v) if isinstance(v, (list, tuple)) else [v]


def rename_patches(pd: Any, o: Origins) -> dict[tuple[Any, str], Any]:
    """Methods that rename, copy or select columns (marks follow the names)."""
    getframe = sys._getframe
    DataFrame, Series, NDFrame = pd.DataFrame, pd.Series, pd.core.generic.NDFrame
    f_final, f_rename, s_rename = NDFrame.__finalize__, DataFrame.rename, Series.rename
    f_set_axis = DataFrame.set_axis
    f_assign, f_setitem, f_getitem, f_setattr = (DataFrame.assign, DataFrame.__setitem__,
                                                 DataFrame.__getitem__, DataFrame.__setattr__)

    def _positional(before: list[Any], after: Any, src: Any, dst: Any) -> None:
        """Columns renamed in place or by position: the new name remembers the old one."""
        after = list(after)
        if len(before) != len(after):
            return
        old = origins(src)
        _mark(dst, {str(n): old.get(str(b), _EMPTY) | o.own(b)
                    for b, n in zip(before, after) if str(b) != str(n) or str(b) in old})

    def __finalize__(self: Any, other: Any, method: Any = None, **kw: Any) -> Any:
        out = f_final(self, other, method, **kw)
        if _marks and id(other) in _marks and other is not self:
            _mark(self, dict(_marks[id(other)]))
        return out

    def rename(self: Any, *args: Any, **kw: Any) -> Any:
        before = self.columns.tolist()
        out = f_rename(self, *args, **kw)
        dst = out if out is not None else self   # ``inplace=True`` returns None
        _positional(before, dst.columns, self, dst)
        return out

    def set_axis(self: Any, labels: Any, *args: Any, **kw: Any) -> Any:
        out = f_set_axis(self, labels, *args, **kw)
        if kw.get("axis", args[0] if args else 0) in (1, "columns") and isinstance(out, DataFrame):
            _positional(self.columns.tolist(), out.columns.tolist(), self, out)
        return out

    def series_rename(self: Any, *args: Any, **kw: Any) -> Any:
        before = o.series(self)
        out = s_rename(self, *args, **kw)
        target = out if out is not None else self
        if isinstance(target, Series):
            _mark(target, {"": before - {str(target.name)}})
        return out

    def assign(self: Any, **kw: Any) -> Any:
        out = f_assign(self, **kw)
        _mark(out, {str(k): o.series(v) - {str(k)} for k, v in kw.items() if isinstance(v, Series)})
        return out

    def __setitem__(self: Any, key: Any, value: Any) -> None:
        f_setitem(self, key, value)
        if isinstance(value, Series) and isinstance(key, str):
            _mark(self, {key: o.series(value) - {key}})
        elif isinstance(value, DataFrame) and isinstance(key, list):
            _positional(value.columns.tolist(), key, value, self)

    def __getitem__(self: Any, key: Any) -> Any:
        out = f_getitem(self, key)
        if _marks and id(self) in _marks:
            if isinstance(out, Series) and isinstance(key, str) and key in _marks[id(self)]:
                _mark(out, {"": _marks[id(self)][key]})
            elif isinstance(out, DataFrame):
                _mark(out, {c: m for c, m in _marks[id(self)].items() if c in out.columns})
        return out

    def __setattr__(self: Any, name: str, value: Any) -> None:
        # pandas sets ``columns`` on results it builds (groupby, pivot, merge: ~15 times in a
        # 30-line cell); listing a fresh MultiIndex costs up to 90 us, so those are left alone
        # unless the frame already carries marks. Users' ``df.columns = ...`` is tracked.
        if name != "columns" or (id(self) not in _marks and _from_pandas(getframe(1))):
            f_setattr(self, name, value)
            return
        before = self.columns.tolist()
        f_setattr(self, name, value)
        _positional(before, self.columns, self, self)

    return {(NDFrame, "__finalize__"): __finalize__, (DataFrame, "rename"): rename,
            (Series, "rename"): series_rename, (DataFrame, "assign"): assign,
            (DataFrame, "set_axis"): set_axis,
            (DataFrame, "__setitem__"): __setitem__, (DataFrame, "__getitem__"): __getitem__,
            (DataFrame, "__setattr__"): __setattr__}


def patches(pd: Any, sensitive: Sensitive) -> dict[tuple[Any, str], Any]:
    """Every lineage patch: (class or module, attribute) -> replacement."""
    o = Origins(pd, sensitive)
    return {**rename_patches(pd, o), **reshape_patches(pd, o)}
