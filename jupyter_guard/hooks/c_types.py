"""Methods of C types replaced in the type's own dictionary, so a check holds however the
method is reached.

A Python subclass or a module attribute swapped for a checking one is skipped by any route to
the C type itself (``type(s).__mro__[-2].sendall(s, data)``, ``super(type(s), s).send``,
``io.TextIOWrapper.write(f, data)``, a bound method's ``__self__``). A C type's dictionary
cannot be set through ``setattr`` (``TypeError: cannot set ... of immutable type``), but the
dictionary itself is an ordinary dict: the entry is replaced there and the type's method caches
are dropped (``PyType_Modified``), as CPython does for a class attribute set the usual way.
Subclasses that do not define the method inherit the checked one.

Only on CPython (``ctypes.pythonapi``); elsewhere ``patch`` returns False and the callers keep
their older, spelling-dependent checks. ``rearm`` puts back an entry user code replaced (through
the same dictionary) before the next cell, like the guard's other patches.
"""
from __future__ import annotations

import gc
from typing import Any

PATCHED: dict[tuple[type, str], Any] = {}


def _dict_of(cls: type) -> dict[str, Any] | None:
    """The dict behind ``cls.__dict__`` (a read-only proxy of it)."""
    refs = gc.get_referents(cls.__dict__)
    if len(refs) == 1 and isinstance(refs[0], dict):
        return refs[0]
    return None


def _modified(cls: type) -> bool:
    try:
        import ctypes

        ctypes.pythonapi.PyType_Modified(ctypes.py_object(cls))
    except (ImportError, AttributeError, OSError):
        return False   # no CPython C API here: the caller keeps its fallback
    return True


def patch(cls: type, name: str, fn: Any) -> bool:
    """Put ``fn`` in place of ``cls.<name>`` in the type's own dictionary (False: not possible
    here, nothing changed)."""
    from jupyter_guard.hooks.state import Busy

    d = _dict_of(cls)
    if d is None or name not in d:
        return False
    old = d[name]
    with Busy():   # the guard's own use of ctypes
        d[name] = fn
        if not _modified(cls):
            d[name] = old
            return False
    PATCHED[(cls, name)] = fn
    return True


def original(cls: type, name: str) -> Any:
    """``cls.<name>`` as the type defines it now (before ``patch``: the C method)."""
    d = _dict_of(cls)
    return d.get(name) if d is not None else getattr(cls, name, None)


def rearm() -> list[str]:
    """Put back every replaced entry user code changed; the names of those it put back."""
    fixed = []
    for (cls, name), fn in list(PATCHED.items()):
        if cls.__dict__.get(name) is not fn:
            d = _dict_of(cls)
            if d is not None:
                d[name] = fn
                _modified(cls)
                fixed.append(f"{cls.__name__}.{name}")
    return fixed
