"""Values that leave pandas from a sensitive column are remembered (``exits.known``), so the file
and network exits recognise them in plain Python objects: ``df.ssn.tolist()``, ``to_dict()``,
``values``/``to_numpy()``, iteration, ``items()``, ``itertuples()``/``iterrows()``,
``to_records()``. A column is sensitive by its name or by lineage (``df_lineage``). Values a user
loop then transforms (``e[::-1]``) are not known values; the detectors still scan the bytes.
Values too short to remember (``df.ssn.str[0].tolist()``) are pieces: ``df_pieces`` decides.
When no more values can be remembered (``exits.full()``), values not known yet are refused
(``pieces.refuse_full``), as a DuckDB or PostgreSQL fetch of them is.
"""
from __future__ import annotations

import sys
from functools import wraps
from typing import Any

from jupyter_guard.hooks import df_pieces, exits, pieces
from jupyter_guard.hooks.df_lineage import Origins, Sensitive
from jupyter_guard.hooks.state import busy, current

_SERIES = ("tolist", "to_list", "to_dict", "to_numpy", "__iter__", "items", "__array__")
_FRAME = ("to_dict", "to_numpy", "to_records", "itertuples", "iterrows", "items")


_LIBRARIES = ("pandas", "numpy", "pyarrow", "jupyter_guard", "IPython")


def _library(frame: Any) -> bool:
    """pandas' own use of its values (sorting, formatting) is not values leaving pandas."""
    return frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_LIBRARIES)


def _remember(values: Any, name: str, how: str) -> None:
    """Remember ``values``; when the known values are full and some are new, refuse instead:
    handed out, they would be left to the detectors alone."""
    if pieces.new_when_full(values):
        rt = current()
        if rt is not None:
            pieces.refuse_full(rt.guard, f"Series {name!r}.{how}()")
    exits.remember(values)


def patches(pd: Any, sensitive: Sensitive) -> dict[tuple[Any, str], Any]:
    o = Origins(pd, sensitive)
    getframe = sys._getframe
    DataFrame, Series = pd.DataFrame, pd.Series
    s_values, f_values = Series.values, DataFrame.values
    s_raw = Series.to_numpy
    f_getitem = DataFrame.__getitem__

    def note_series(s: Any, how: str = "tolist") -> None:
        taint = o.series(s)
        if taint and not busy():   # names first: busy() costs more than a lookup
            values = s_raw(s)
            df_pieces.check(values, taint, str(s.name), how)   # pieces too short to remember
            _remember(values, str(s.name), how)

    def note_frame(df: Any, how: str = "to_dict") -> None:
        for c in df.columns.tolist():
            taint = o.column(df, c)
            if taint and not busy():
                col = f_getitem(df, c)
                if isinstance(col, Series):
                    values = s_raw(col)
                    df_pieces.check(values, taint, str(c), how)
                    _remember(values, str(c), how)

    def on(orig: Any, note: Any) -> Any:
        how = orig.__name__

        @wraps(orig)
        def extract(self: Any, *args: Any, **kw: Any) -> Any:
            if not _library(getframe(1)):
                note(self, how)
            return orig(self, *args, **kw)
        return extract

    def prop(fget: Any, note: Any) -> property:
        def get(self: Any) -> Any:
            if not _library(getframe(1)):
                note(self, "values")
            return fget(self)
        return property(get, doc=getattr(fget, "__doc__", None))

    table: dict[tuple[Any, str], Any] = {}
    for name in _SERIES:
        if hasattr(Series, name):
            table[(Series, name)] = on(getattr(Series, name), note_series)
    for name in _FRAME:
        if hasattr(DataFrame, name):
            table[(DataFrame, name)] = on(getattr(DataFrame, name), note_frame)
    table[(Series, "values")] = prop(s_values.fget, note_series)
    table[(DataFrame, "values")] = prop(f_values.fget, note_frame)
    strings = pd.core.strings.accessor.StringMethods
    s_cat = strings.cat

    @wraps(s_cat)
    def cat(self: Any, *args: Any, **kw: Any) -> Any:   # ``s.str.cat()``: the values glued
        if not _library(getframe(1)):
            note_series(self._orig, "str.cat")
        return s_cat(self, *args, **kw)

    table[(strings, "cat")] = cat
    return table
