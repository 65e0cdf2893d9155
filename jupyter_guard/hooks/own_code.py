"""The guard's own code, told by identity: the code objects of the functions, methods and nested
functions its modules defined (self-protection; ``state.Busy`` accepts only these frames).

A leaf (stdlib only), like ``state``. The code objects are gathered from a module as loading left
it: every module of the package when self-protection seals (``guard_modules.GuardModules``), and a
module imported later at the first miss on one of its files, once. A code object compiled by user
code with a guard file's name is in no module's functions, so it is not the guard's.
"""
from __future__ import annotations

import _thread
import gc
import os
import site
import sys
from functools import _lru_cache_wrapper
from types import CodeType, FrameType, FunctionType, MappingProxyType

TYPE_CHECKING = False   # not ``typing``'s: the child guard imports this module at every start
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

PACKAGE = "jupyter_guard"
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# What the guard trusts, sealed (self-protection): ``"codes"``, the ids of the guard's own code
# objects (a code object's hash reads all its bytes and constants: microseconds; an id is free;
# ``_KEEP`` holds them, so no id is reused while listed), and ``"forged"`` (below). Both are
# frozen sets in a read-only mapping: no method changes them in place. Only ``_swap`` rebinds
# them, and only when the guard's own code calls it; the mapping's own dict is reachable only
# through ``gc.get_referents(SEALED)`` (refused from user code: ``integrity``) or
# ``gc.get_referrers``/``gc.get_objects`` (refused: ``events``). The readers take ``SEALED`` as a
# default argument at import, so a mapping a cell binds to the name is read by nobody.
SEALED: Any = MappingProxyType({"codes": frozenset(), "forged": frozenset()})
_KEEP: list[CodeType] = []
_DONE: set[str] = set()        # the modules gathered (never again: a later cell could add to them)
_LISTING: set[str] = set()     # the modules being listed right now
_NOT: dict[int, CodeType] = {}   # a guard file's name, not the guard's code (kept: ids stay)


def _library_dirs() -> tuple[str, ...]:
    """Where installed code lives (the standard library, site-packages): frames there are
    libraries working for whoever called them, not user code."""
    paths = {os.path.dirname(os.__file__)}   # the standard library (lib-dynload is inside)
    try:
        paths.update(site.getsitepackages())
    except AttributeError:   # an embedded interpreter without site-packages
        pass
    # site directories a ``.pth`` file added (``site.addsitedir``: a shared environment, a
    # venv that reuses another's packages): without them every frame of their libraries was
    # taken for user code (a numpy import inside the guard's own work was refused, and hung)
    paths.update(p for p in sys.path
                 if p and p.rstrip(os.sep).endswith(("site-packages", "dist-packages")))
    out = {"<frozen "}
    for p in paths - {""}:
        out.update({p.rstrip(os.sep) + os.sep, os.path.realpath(p) + os.sep})
    return tuple(sorted(out))


LIBRARIES = _library_dirs()
# ``SEALED["forged"]``: names in ``LIBRARIES`` that user code made code under (``compile``,
# ``CodeType``/``replace``, recorded by ``integrity``): a frame whose file is one of them runs code
# the user may have made, so it is never taken for the library working for its caller
# (``runtime.Runtime.user_caller``, ``state.held``).


def _codes(code: CodeType, out: dict[int, CodeType]) -> None:
    out[id(code)] = code
    for c in code.co_consts:
        if isinstance(c, CodeType):
            _codes(c, out)


def codes_of(module: Any) -> dict[int, CodeType]:
    """Every code object of ``module``'s own functions (and those nested in them), by id."""
    out: dict[int, CodeType] = {}
    for v in list(vars(module).values()):
        _gather(v, module.__name__, out, set())
    return out


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


def _by_guard() -> bool:
    """The caller of the caller is the guard's own code (a cell calling ``made``/``admit`` is
    not)."""
    return own(sys._getframe(2).f_code)


def admit(modules: Iterable[tuple[str, dict[str, Any]]], _sealed: Any = SEALED) -> None:
    """Gather the code of ``(name, globals)`` pairs (the guard's modules as loading left them),
    and list it in one swap."""
    if _sealed["codes"] and not _by_guard():
        return
    out: dict[int, CodeType] = {}
    names = []
    for name, glob in modules:
        if name in _DONE or name in _LISTING or \
                not (name == PACKAGE or name.startswith(PACKAGE + ".")):
            continue
        seen: set[int] = set()
        for v in list(glob.values()):
            _gather(v, name, out, seen)
        names.append(name)
    if not names:
        return
    codes = _sealed["codes"]
    _KEEP.extend(c for i, c in out.items() if i not in codes)
    _LISTING.update(names)   # the swap's audit event asks ``own`` again: told, not listed twice
    try:
        if codes:
            _swap(codes=frozenset(out))
        else:
            _first(out)
    finally:
        _LISTING.difference_update(names)
    _DONE.update(names)


def _first(out: dict[int, CodeType], _sealed: Any = SEALED) -> None:
    """This module's own code, listed at its import (no code of the guard's is listed yet to
    call ``_swap``; no user code has run)."""
    box = gc.get_referents(_sealed)[0]
    if type(box) is dict and not box["codes"]:
        box["codes"] = frozenset(out)


def made(code: CodeType, _sealed: Any = SEALED) -> None:
    """Count ``code``, which the guard itself built (a routed driver method: its routing
    template with the method's name), as the guard's own."""
    if id(code) not in _sealed["codes"] and _by_guard():
        _KEEP.append(code)
        _swap(codes=frozenset((id(code),)))


def own(code: Any, _sealed: Any = SEALED) -> bool:
    """Whether ``code`` is one of the guard's own code objects: listed, and compiled from one of
    its files (``integrity`` refuses compiling code under such a name from user code)."""
    if type(code) is not CodeType or not code.co_filename.startswith(PACKAGE_DIR) \
            or id(code) in _NOT:
        return False
    return id(code) in _sealed["codes"] or _late(code)


def module_frame(frame: FrameType) -> bool:
    """``frame`` runs the body of one of the guard's modules while it is first imported (its
    code object is kept nowhere to gather): the module's own dict, its own file, importing."""
    code, glob = frame.f_code, frame.f_globals
    if code.co_name != "<module>" or not code.co_filename.startswith(PACKAGE_DIR):
        return False
    mod = sys.modules.get(glob.get("__name__", ""))
    return (mod is not None and vars(mod) is glob and getattr(mod, "__file__", None) ==
            code.co_filename and getattr(mod.__spec__, "_initializing", False))


def _late(code: CodeType, _sealed: Any = SEALED) -> bool:
    """A guard module not gathered yet (imported after sealing): gathered now, once, from the
    module that file belongs to, if its import has finished."""
    for name, mod in list(sys.modules.items()):   # copied: threads import
        if name in _DONE or not name.startswith(PACKAGE):
            continue
        if getattr(mod, "__file__", None) != code.co_filename:
            continue
        spec = getattr(mod, "__spec__", None)
        if getattr(spec, "_initializing", False) or name in _LISTING:
            # still importing (its globals are not final), or being listed: told, not listed
            out: dict[int, CodeType] = {}
            for v in list(vars(mod).values()):
                _gather(v, name, out, set())
            return id(code) in out
        admit([(name, vars(mod))])
        break
    if id(code) in _sealed["codes"]:
        return True
    if len(_NOT) < 10_000:
        _NOT[id(code)] = code   # asked again at every frame of a walk: once is enough
    return False


_LOCK = _thread.RLock()


def _swap(codes: frozenset[int] = frozenset(), forged: frozenset[str] = frozenset(),
          _sealed: Any = SEALED, _lock: Any = _LOCK, _own: Any = own,
          _frame: Any = sys._getframe, _referents: Any = gc.get_referents) -> None:
    """Add to the sealed sets (never take away): only when the guard's own code called the
    function that called this one (``forged``, ``admit``, ``made``). What it uses is taken at
    import (defaults): a cell that rebinds ``own_code.gc`` or ``own`` changes nothing here."""
    if not _own(_frame(2).f_code):
        return
    got = _lock.acquire(timeout=10)   # one writer at a time (a lock a cell holds delays, no more)
    try:
        box = _referents(_sealed)[0]   # the mapping's own dict (its only referent)
        if type(box) is dict and set(box) == {"codes", "forged"}:
            box["codes"], box["forged"] = box["codes"] | codes, box["forged"] | forged
    finally:
        if got:
            _lock.release()



def forged(filename: str, _sealed: Any = SEALED, _put: Any = _swap) -> None:
    """Record that user code made code under ``filename``, a library's name (never un-recorded:
    the library's own frames of that file are judged like the user's from then on)."""
    if filename.startswith(LIBRARIES) and not filename.startswith(PACKAGE_DIR) \
            and filename not in _sealed["forged"]:
        _put(forged=frozenset((filename,)))


# -- how the guard's innermost frame reached the code that acts ------------------------------
# A user object's method can run with no Python frame of the user's: a builtin or a library
# function bound as ``__str__``/``__fspath__``/``__eq__``/``__hash__``/``__iter__``
# (``staticmethod(functools.partial(shutil.rmtree, d))``, ``operator.methodcaller``). Called while
# the guard works, it looks like a library the guard called. What the guard's frame is doing
# tells them apart: a call by name is the guard's (``shutil.rmtree(p)``); an operator, an
# f-string, a dict key, a ``for``, or a builtin that calls the object's own methods (``str(x)``,
# ``os.fspath(x)``, ``len(x)``, ``d.get(x)``) ran the object's code.
_CALLS = frozenset({"CALL", "CALL_FUNCTION_EX"})
_PASS = frozenset({"IMPORT_NAME", "IMPORT_FROM", "BEFORE_WITH", "WITH_EXCEPT_START", "SEND"})
_NAMED = frozenset({"LOAD_GLOBAL", "LOAD_ATTR", "LOAD_METHOD", "LOAD_NAME", "LOAD_FAST",
                    "LOAD_DEREF"})
_GENERATORS = 0x20 | 0x80 | 0x200   # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
# builtins and methods whose work is calling their argument's own methods (no effects of theirs)
OBJECT_CALLERS = frozenset({
    "str", "repr", "ascii", "format", "len", "hash", "iter", "next", "fspath", "fsdecode",
    "fsencode", "sorted", "reversed", "list", "tuple", "set", "frozenset", "dict", "bytes",
    "bytearray", "bool", "int", "float", "complex", "index", "join", "any", "all", "sum", "min",
    "max", "enumerate", "zip", "map", "filter", "getattr", "hasattr", "setattr", "delattr",
    "vars", "dir", "isinstance", "issubclass", "get", "setdefault", "pop", "update", "extend",
    "count", "encode", "copy", "deepcopy", "dumps", "print", "write", "writelines", "flush",
    "debug", "info", "warning", "error", "exception", "critical", "log", "__str__", "__repr__",
    "__format__", "__fspath__", "__index__", "__len__", "__iter__", "__eq__", "__hash__",
    "__contains__", "__getitem__", "__bool__", "__call__",
})
_FOR = "\0for"
_RESUME = frozenset({"next", "send", "__next__", "__anext__"})


def _how(code: CodeType, lasti: int) -> str | None:
    """What ``code`` does at ``lasti``: the name it calls (``""`` for a call not told by name),
    or ``None`` for anything that is not a call by name nor an import or ``with``."""
    import dis

    ins = list(dis.get_instructions(code))   # without the inline caches ``lasti`` may be in
    at = max((i for i, x in enumerate(ins) if x.offset <= lasti), default=None)
    if at is None:
        return None
    if ins[at].opname == "PRECALL" and at + 1 < len(ins):   # a specialized call runs from there
        at += 1
    op = ins[at].opname
    if op in _PASS:
        return ""
    if op == "FOR_ITER":
        return _FOR
    if op not in _CALLS:
        return None
    j, need = at - 1, (ins[at].arg or 0) if op == "CALL" else 1 + ((ins[at].arg or 0) & 1)
    while j >= 0 and ins[j].opname in ("PRECALL", "KW_NAMES"):
        j -= 1
    depth, name = 0, ""
    while j >= 0:   # the callable lies under the arguments: walk back over their stack effects
        x = ins[j]
        if "JUMP" in x.opname:
            return ""   # a branch among the arguments: not told
        try:
            depth += dis.stack_effect(x.opcode, x.arg if x.opcode >= dis.HAVE_ARGUMENT else None)
        except ValueError:
            return ""
        if depth > need:
            if not name and x.opname in _NAMED and isinstance(x.argval, str):
                name = x.argval
            return name
        if depth == need and x.opname in ("LOAD_ATTR", "LOAD_METHOD") and not name:
            name = str(x.argval)   # ``os.fspath``: the attribute is the callable
        if x.is_jump_target:
            return ""   # other branches join here: what came before is not told
        j -= 1
    return ""


def _entered(seen_how: dict[tuple[int, int], tuple[CodeType, str | None]]) -> Any:
    def entered(frame: FrameType, above: FrameType | None) -> bool:
        """Whether ``frame`` (the guard's innermost frame under an event) called the code above it
        by name: not by an operator, nor through a builtin that runs an object's own methods."""
        code = frame.f_code
        seen = seen_how.get((id(code), frame.f_lasti))
        if seen is not None and seen[0] is code:
            how = seen[1]
        else:
            try:
                how = _how(code, frame.f_lasti)
            except Exception:  # noqa: BLE001 - bytecode this reader does not know: not the guard's call (fails closed)
                how = None
            if len(seen_how) < 50_000:
                seen_how[(id(code), frame.f_lasti)] = (code, how)   # the code kept: its id stays
        if how == _FOR or how in _RESUME:   # ``for``, ``next(g)``: only a generator's own frame
            # (``os.walk``) acts for the guard
            return above is not None and bool(above.f_code.co_flags & _GENERATORS)
        if how is None:   # an operator: only a library's own method in Python
            # (``os.environ[k] = v``)
            name = above.f_code.co_name if above is not None else ""
            return name.startswith("__") and name.endswith("__")
        return how not in OBJECT_CALLERS
    return entered


# the cache of how each of the guard's call sites calls (a (code id, offset) -> (code, how)
# dict) decides who acts: held in the closure of a C wrapper (``sealed_events.sealed``, which
# this module cannot import), whose cells no cell reaches, rather than at module level where a
# cell filled it in place
entered: Any = _lru_cache_wrapper(_entered({}), 0, False, None)  # type: ignore[call-arg]
entered.__name__ = entered.__qualname__ = "entered"
entered.__doc__ = ("Whether ``frame`` (the guard's innermost frame under an event) called the "
                   "code above it by name: not by an operator, nor through a builtin that runs "
                   "an object's own methods.")


def held_once(what: str) -> tuple[Any, Any]:
    """``(get, give)``: one value held in the closures of C wrappers (as ``entered``), given by
    the guard's code only, the first one kept (``give`` returns it): the child guard's runtime
    and decision service, which lived in module-level lists the child's own code could fill in
    place. ``get()`` is None until given. Here, not in ``sealed_events``: every child imports
    this module at its start."""
    box: list[Any] = []

    def get() -> Any:
        return box[0] if box else None

    def give(value: Any) -> Any:
        if not own(sys._getframe(1).f_code):
            raise PermissionError(f"jupyter_guard: {what} is given by the guard "
                                  "(self-protection)")
        if box:   # made twice (an event while the first was made): the first one stays
            return box[0]
        box.append(value)
        return value
    out = []
    for fn in (get, give):
        w: Any = _lru_cache_wrapper(fn, 0, False, None)  # type: ignore[call-arg]
        w.__name__ = w.__qualname__ = fn.__name__
        out.append(w)
    return out[0], out[1]


admit([(__name__, globals())])   # this module's own functions first (the child guard's too)
