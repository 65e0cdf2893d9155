"""The file objects behind a ``CheckedFile`` check what is written through them directly.

A ``CheckedFile`` holds the file ``open`` made (and, below it, the buffer and the raw file).
Those objects are reachable from user code however they are kept: an attribute, a bound
method's ``__self__`` (``f.readable.__self__``), ``f.detach()``, ``gc.get_referents(f)``. So the
check is on the objects themselves: the ``write`` methods of the C types ``open`` builds
(``_io.TextIOWrapper``, ``_io.BufferedWriter``, ``_io.BufferedRandom``, ``_io.FileIO``) are
replaced in the types' own dictionaries (``c_types.patch``); a write to one of the objects
behind a checked file is scanned like the checked file's own writes (``FileExits.check``),
unless the checked file itself is sending what it already scanned (the guard's own work,
``state.Busy``). Writes to any other file object cost one dictionary look-up.

``writelines`` goes through ``write``; a buffer flushing to its raw file calls the raw file's
``write``, so bytes a layer holds are scanned again when user code flushes them directly
(already scanned, so the verdict is the same).
"""
from __future__ import annotations

import weakref
from typing import Any

from jupyter_guard.hooks import c_types
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

# the file object's identity hash -> (a weak reference to it, the path it writes, the FileExits
# that judges). Keyed by ``object.__hash__`` (the address, rotated: one object per key while it
# lives), not ``id()``: ``builtins.id`` raises an audit event, so each call runs the guard's audit
# hook (~0.15 us), paid by every write of every file in the process (20,000 per 1 MB ``to_csv``)
_behind: dict[int, tuple[Any, str, Any]] = {}
_key = object.__hash__


def _gone(key: int) -> Any:
    def drop(ref: Any) -> None:
        entry = _behind.get(key)
        if entry is not None and entry[0] is ref:
            del _behind[key]
    return drop


def register(f: Any, path: str, fx: Any) -> None:
    """``f`` and the layers below it write ``path``: writes through them are judged by ``fx``."""
    layers = [f]
    for name in ("buffer", "raw"):
        below = getattr(layers[-1], name, None) if not getattr(f, "closed", True) else None
        if below is not None:
            layers.append(below)
    for obj in layers:
        key = _key(obj)
        try:
            _behind[key] = (weakref.ref(obj, _gone(key)), path, fx)
        except TypeError:   # not weak-referenceable: not one of the C file types patched here
            continue


def _checking(orig: Any, how: str) -> Any:
    def write(self: Any, data: Any) -> Any:
        entry = _behind.get(_key(self)) if _behind else None
        if entry is not None and entry[0]() is self and not busy():
            entry[2].check(data, entry[1], how)
        return orig(self, data)

    checked = sealed(write, orig)   # no closure cell a cell could swap
    checked._jg = True   # a marker on our own function
    return checked


def install() -> None:
    """Patch the C file types' ``write`` (once per process)."""
    import _io

    raw: Any = _io.FileIO
    while getattr(raw, "_jg", False):   # the guard's own subclass (``exit_streams``): its C base
        raw = raw.__base__
    for cls in (_io.TextIOWrapper, _io.BufferedWriter, _io.BufferedRandom, raw):
        orig = c_types.original(cls, "write")
        if orig is None or getattr(orig, "_jg", False):
            continue
        c_types.patch(cls, "write", _checking(orig, f"{cls.__name__}.write"))
