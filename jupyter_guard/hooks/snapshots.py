"""Identity snapshots for self-protection, compared in C, and a change test for dicts that reads
none of their entries.

Self-protection compares ~2,700 globals of the guard's ~130 modules with a snapshot before every
cell, by identity. Reading every entry touches every object (its reference count), and that is
most of the check's cost. CPython 3.8-3.11 give every dict a version tag (PEP 509) that changes
on every change of the dict: setting, replacing or deleting a key, ``update``, ``clear``, the
interpreter's own ``STORE_GLOBAL``. ``Versions`` reads those tags (one 8-byte read per dict,
no entry touched); only a dict whose tag moved is compared entry by entry. This is a gate, never
a verdict: an unchanged tag means an unchanged dict, and a moved tag leads to the same identity
compare as before. Where the tag is not there or does not behave (3.12+, other interpreters,
debug builds) ``Versions.make`` returns None and every dict is compared every time.
"""
from __future__ import annotations

import ctypes
import operator
import platform
import sys
from collections.abc import Callable, Sequence
from itertools import chain
from types import FunctionType
from typing import Any


def getter(keys: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """``d -> tuple(d[k] for k in keys)`` in one C call (raises ``KeyError`` for a missing key)."""
    if len(keys) == 1:
        one = operator.itemgetter(keys[0])
        return lambda d: (one(d),)
    return operator.itemgetter(*keys) if keys else (lambda d: ())


def attrgetter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """``obj -> tuple(getattr(obj, n) for n in names)`` in one C call."""
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda o: (one(o),)
    return operator.attrgetter(*names) if names else (lambda o: ())


def changed(d: Any, get: Callable[[Any], tuple[Any, ...]], values: tuple[Any, ...]) -> bool:
    """Whether any snapshot key of ``d`` is gone or no longer holds (by identity) its value."""
    try:
        return any(map(operator.is_not, get(d), values))
    except KeyError:
        return True


# operator.call (Python 3.11+) keeps the pipeline in C; Python 3.10 calls through a lambda
_CALL: Callable[..., Any] = getattr(operator, "call", lambda f, *args: f(*args))


def globals_changed(dicts: tuple[Any, ...], getters: tuple[Callable[[Any], tuple[Any, ...]], ...],
                    values: tuple[Any, ...]) -> bool:
    """``changed`` over many dicts at once (one C pipeline, no Python loop); ``values`` is the
    snapshots' values, flat, in the order of ``getters``."""
    try:
        now = chain.from_iterable(map(_CALL, getters, dicts))
        return any(map(operator.is_not, now, values))
    except KeyError:
        return True


# PyDictObject: PyObject_HEAD (reference count, type), ma_used, ma_version_tag
_WORD = ctypes.sizeof(ctypes.c_void_p)
_USED, _TAG = 2 * _WORD, 3 * _WORD
_VALUE = operator.attrgetter("value")


class Versions:
    """The version tags of some dicts, read in one pass. Holds the dicts (a tag is read from the
    dict's own memory, so the dict must stay alive as long as this object)."""

    def __init__(self, dicts: Sequence[dict[Any, Any]]) -> None:
        self.dicts = tuple(dicts)
        self._tags = tuple(ctypes.c_uint64.from_address(id(d) + _TAG) for d in self.dicts)

    @classmethod
    def make(cls, dicts: Sequence[dict[Any, Any]]) -> Versions | None:
        """Tags for ``dicts``, or None where this interpreter has no dependable tag."""
        if not supported() or not all(_used(d) == len(d) for d in dicts):
            return None
        return cls(dicts)

    def read(self) -> list[int]:
        """Each dict's tag now: equal to an earlier read only if that dict has not changed."""
        return list(map(_VALUE, self._tags))


def _used(d: dict[Any, Any]) -> int:
    """``len(d)`` read from the dict's memory: a check that the layout is the expected one."""
    return int(ctypes.c_ssize_t.from_address(id(d) + _USED).value)


_SUPPORTED: list[bool] = []


def supported() -> bool:
    """CPython 3.8-3.11 on a 64-bit release build, and the tag behaves on a scratch dict."""
    if not _SUPPORTED:
        _SUPPORTED.append(platform.python_implementation() == "CPython"
                          and (3, 8) <= sys.version_info[:2] < (3, 12) and _WORD == 8
                          and not hasattr(sys, "getobjects") and _behaves())
    return _SUPPORTED[0]


_probe = 0   # ``_store`` sets it in a scratch dict, never here


def _store() -> None:
    global _probe   # run with a scratch dict as its globals: the interpreter's own STORE_GLOBAL
    _probe = 4


def _behaves() -> bool:
    """Every kind of change moves the tag, reading does not, and the size is where expected."""
    d: dict[str, Any] = {"a": 1}
    tag = ctypes.c_uint64.from_address(id(d) + _TAG)
    seen = [tag.value]
    steps: tuple[Callable[[], Any], ...] = (
        lambda: d.__setitem__("b", object()), lambda: d.__setitem__("b", object()),
        lambda: d.__delitem__("b"), lambda: d.update(c=2), lambda: d.pop("c"),
        lambda: d.setdefault("e", 3), FunctionType(_store.__code__, d), lambda: d.clear())
    for step in steps:
        step()
        seen.append(tag.value)
    d.get("a")
    _ = "a" in d, list(d.items())
    return len(set(seen)) == len(seen) and tag.value == seen[-1] and _used(d) == len(d) == 0
