"""Frames DuckDB reads by name (replacement scans), as the guard may read them: their column
names, and whether their values are plain ones, told without running any code of theirs.

DuckDB turns a Python object in a frame into text or a number by running the object's own
methods (``__str__``, ``__index__``, …), and so do pandas' writers; even asking
``isinstance(value, Decimal)`` reads the value's ``__class__``, which a class may make a property.
Run by the guard (its sample of the rows a ``COPY`` writes, its check of an appended frame),
those methods would run under its own-work token. So the guard reads a frame's values only when
every value's exact type is a plain one (``type()`` and ``id()`` run no code of the value's), and
refuses to read a frame that holds anything else (``object_column``).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from itertools import chain
from typing import Any

FRAME_TYPES = (("pandas", "DataFrame"), ("polars", "DataFrame"), ("pyarrow", "Table"),
               ("pyarrow", "RecordBatch"))
_NESTED_DEPTH, _BUDGET = 3, 1_000_000   # lists in lists in lists; values read in all


class FrameLookup:
    """The namespace DuckDB's replacement scans read, and whether a decision read a frame from
    it (such a decision is not kept for the same text: the frame may change)."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace, self.used = namespace, False

    def get(self, name: str) -> Any:
        obj = self.namespace.get(name)
        self.used = self.used or obj is not None
        return obj


def is_frame(obj: Any) -> bool:
    """``obj`` is exactly a pandas or polars frame or an Arrow table (a subclass's attributes
    would be user code)."""
    t = type(obj)
    return any(t is getattr(sys.modules.get(m), name, None) for m, name in FRAME_TYPES)


def frame_columns(obj: Any) -> tuple[str, ...] | None:
    """The column names of a pandas or polars frame or an Arrow table, read without running
    user code (only these exact types, only plain ``str`` names, only plain values); None for
    anything else.

    >>> import pandas as pd
    >>> frame_columns(pd.DataFrame({"a": [1], "City": ["x"]})), frame_columns("customers")
    (('a', 'city'), None)
    >>> frame_columns(pd.DataFrame({"a": [object()]})) is None
    True
    """
    if not is_frame(obj):
        return None
    t = type(obj)
    names = list(obj.column_names if t.__name__ in ("Table", "RecordBatch") else obj.columns)
    if not all(type(n) is str for n in names) or object_column(obj) is not None:
        return None   # text the guard would get by running user code: unknown, as before
    return tuple(n.lower() for n in names)


def object_column(obj: Any) -> str | None:
    """The name of the first column of frame ``obj`` (``is_frame``) holding a value that is not
    plain (strings, numbers, dates, and lists or dicts of them), told by exact types; None when
    every value is plain.

    >>> import decimal, pandas as pd
    >>> object_column(pd.DataFrame({"a": [1], "d": [decimal.Decimal(1)], "l": [[1, "x"]]}))
    >>> class Note(str):
    ...     pass
    >>> object_column(pd.DataFrame({"a": [1], "n": pd.Series([Note("x")], dtype=object)}))
    'n'
    """
    t = type(obj)
    if t.__module__.startswith("polars"):
        return next((str(c) for c, d in zip(obj.columns, obj.dtypes) if "Object" in str(d)),
                    None)
    if not t.__module__.startswith("pandas"):
        return None   # Arrow: typed columns only
    plain = _plain_types()
    for i, (name, d) in enumerate(zip(list(obj.columns), obj.dtypes.tolist())):
        if id(type(d)) not in plain["dtypes"]:
            return _name(name)   # an extension dtype of the user's: its array is user code
        sub = getattr(d, "subtype", None)   # Sparse, Interval: of what
        if sub is not None and id(type(sub)) == plain["object"][0]:
            return _name(name)
        col = obj.iloc[:, i]
        if id(type(d)) == plain["object"][0] or getattr(d, "storage", None) == "python":
            values = col.to_numpy(dtype=object)
        elif id(type(d)) == plain["object"][1]:   # categorical: its categories
            values = col.cat.categories.to_numpy(dtype=object)
        else:
            continue
        if not _plain(values, plain, 0, [_BUDGET]):
            return _name(name)
    return None


def _name(name: Any) -> str:
    return name if type(name) is str else "?"


def _plain(values: Any, plain: dict[str, Any], depth: int, budget: list[int]) -> bool:
    """Every value's exact type is a plain one, or a list, tuple, dict or array of them (told
    by ``id`` only: no comparison, hash or attribute of a class of the user's)."""
    budget[0] -= len(values)
    if budget[0] < 0:
        return False   # too much to tell: not known to be plain
    ids, nested = plain["ids"], plain["nested"]
    kinds = set(map(id, map(type, values)))   # in C: ``type`` and ``id`` run no code of theirs
    if kinds <= ids:
        return True
    if depth >= _NESTED_DEPTH or not kinds <= ids | nested:
        return False
    lst, tup, dct, arr = plain["containers"]
    if kinds <= {id(lst), id(tup)}:   # lists only: their items, in C
        return _plain(list(chain.from_iterable(values)), plain, depth + 1, budget)
    inner: list[Any] = []
    for v in values:
        t = type(v)
        if t is lst or t is tup:
            inner.extend(v)
        elif t is dct:
            inner.extend(v.keys())
            inner.extend(v.values())
        elif t is arr:
            inner.extend(v.ravel().tolist())
    return _plain(inner, plain, depth + 1, budget)


_PLAIN: dict[str, Any] = {}


def _plain_types() -> dict[str, Any]:
    """The ids of the plain value types, of the containers read inside, and of the dtypes
    (numpy's and pandas' own) whose values are plain or read as values (computed once pandas is
    loaded; kept as ids: membership hashes an int, never a class of the user's)."""
    if _PLAIN:
        return _PLAIN
    import datetime
    import decimal
    import uuid

    import numpy as np
    import pandas as pd

    kinds: list[Any] = [str, int, float, bool, type(None), bytes, decimal.Decimal, uuid.UUID,
                        datetime.date, datetime.datetime, datetime.time, datetime.timedelta,
                        pd.Timestamp, pd.Timedelta, type(pd.NaT), type(pd.NA)]
    kinds += [t for t in set(np.sctypeDict.values()) if t is not np.object_ and t is not np.void]
    containers = (list, tuple, dict, np.ndarray)
    dtypes = [type(np.dtype(c)) for c in "?bhilqBHILQefdgFDGMmUSO"]
    dtypes += [getattr(pd, n) for n in dir(pd) if n.endswith("Dtype") and n != "ExtensionDtype"]
    _PLAIN.update(ids=frozenset(map(id, kinds)), nested=frozenset(map(id, containers)),
                  containers=containers, dtypes=frozenset(map(id, dtypes)),
                  object=(id(type(np.dtype("O"))), id(pd.CategoricalDtype)))
    return _PLAIN
