"""The guard's own code, told by identity: the code objects of the functions, methods and nested
functions its modules defined (self-protection; ``state.Busy`` accepts only these frames).

A leaf (stdlib only), like ``state``. The code objects are gathered from a module as loading left
it: every module of the package when self-protection seals (``guard_modules.GuardModules``), and a
module imported later at the first miss on one of its files, once. A code object compiled by user
code with a guard file's name is in no module's functions, so it is not the guard's.
"""
from __future__ import annotations

import os
import site
import sys
import sysconfig
from collections.abc import Iterable
from types import CodeType, FrameType, FunctionType
from typing import Any

PACKAGE = "jupyter_guard"
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# The guard's own code objects, by id (a code object's hash reads all its bytes and constants:
# microseconds; an id is free). ``_KEEP`` holds them, so no id is reused while listed.
CODES: set[int] = set()
_KEEP: list[CodeType] = []
_DONE: set[str] = set()        # the modules gathered (never again: a later cell could add to them)
_NOT: dict[int, CodeType] = {}   # a guard file's name, not the guard's code (kept: ids stay)


def _library_dirs() -> tuple[str, ...]:
    """Where installed code lives (the standard library, site-packages): frames there are
    libraries working for whoever called them, not user code."""
    paths = {sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib",
                                                          "platlib")}
    try:
        paths.update(site.getsitepackages())
    except AttributeError:   # an embedded interpreter without site-packages
        pass
    out = {"<frozen "}
    for p in paths - {""}:
        out.update({p.rstrip(os.sep) + os.sep, os.path.realpath(p) + os.sep})
    return tuple(sorted(out))


LIBRARIES = _library_dirs()


def _codes(code: CodeType, out: dict[int, CodeType]) -> None:
    out[id(code)] = code
    for c in code.co_consts:
        if isinstance(c, CodeType):
            _codes(c, out)


def _gather(value: Any, module: str, out: dict[int, CodeType], seen: set[int],
            depth: int = 0) -> None:
    if id(value) in seen or depth > 4:
        return
    seen.add(id(value))
    if isinstance(value, FunctionType):
        if value.__module__ == module or value.__code__.co_filename.startswith(PACKAGE_DIR):
            _codes(value.__code__, out)
        wrapped = value.__dict__.get("__wrapped__")
        if wrapped is not None:
            _gather(wrapped, module, out, seen, depth + 1)
    elif type(value).__name__ in ("_lru_cache_wrapper", "partial", "cached_property"):
        _gather(getattr(value, "__wrapped__", None) or getattr(value, "func", None), module, out,
                seen, depth + 1)
    elif isinstance(value, (staticmethod, classmethod)):
        _gather(value.__func__, module, out, seen, depth + 1)
    elif isinstance(value, property):
        for f in (value.fget, value.fset, value.fdel):
            _gather(f, module, out, seen, depth + 1)
    elif isinstance(value, type) and value.__dict__.get("__module__") == module:
        for v in list(value.__dict__.values()):
            _gather(v, module, out, seen, depth + 1)
    elif isinstance(value, (dict, list, tuple)) and len(value) < 200:   # tables of handlers
        for v in list(value.values() if isinstance(value, dict) else value):
            _gather(v, module, out, seen, depth + 1)


def admit(modules: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Gather the code of ``(name, globals)`` pairs (the guard's modules as loading left them)."""
    for name, glob in modules:
        if name in _DONE or not (name == PACKAGE or name.startswith(PACKAGE + ".")):
            continue
        out: dict[int, CodeType] = {}
        seen: set[int] = set()
        for v in list(glob.values()):
            _gather(v, name, out, seen)
        _KEEP.extend(c for i, c in out.items() if i not in CODES)
        CODES.update(out)
        _DONE.add(name)


def made(code: CodeType) -> None:
    """Count ``code``, which the guard itself built (a routed driver method: its routing
    template with the method's name), as the guard's own."""
    if id(code) not in CODES:
        _KEEP.append(code)
        CODES.add(id(code))


def own(code: Any) -> bool:
    """Whether ``code`` is one of the guard's own code objects."""
    if id(code) in CODES:
        return True
    if type(code) is not CodeType or not code.co_filename.startswith(PACKAGE_DIR) \
            or id(code) in _NOT:
        return False
    return _late(code)


def module_frame(frame: FrameType) -> bool:
    """``frame`` runs the body of one of the guard's modules while it is first imported (its
    code object is kept nowhere to gather): the module's own dict, its own file, importing."""
    code, glob = frame.f_code, frame.f_globals
    if code.co_name != "<module>" or not code.co_filename.startswith(PACKAGE_DIR):
        return False
    mod = sys.modules.get(glob.get("__name__", ""))
    return (mod is not None and vars(mod) is glob and getattr(mod, "__file__", None) ==
            code.co_filename and getattr(mod.__spec__, "_initializing", False))


def _late(code: CodeType) -> bool:
    """A guard module not gathered yet (imported after sealing): gathered now, once, from the
    module that file belongs to, if its import has finished."""
    for name, mod in list(sys.modules.items()):   # copied: threads import
        if name in _DONE or not name.startswith(PACKAGE):
            continue
        if getattr(mod, "__file__", None) != code.co_filename:
            continue
        spec = getattr(mod, "__spec__", None)
        if getattr(spec, "_initializing", False):   # still importing: its globals are not final
            out: dict[int, CodeType] = {}
            for v in list(vars(mod).values()):
                _gather(v, name, out, set())
            return id(code) in out
        admit([(name, vars(mod))])
        break
    if id(code) in CODES:
        return True
    if len(_NOT) < 10_000:
        _NOT[id(code)] = code   # asked again at every frame of a walk: once is enough
    return False
