"""numpy's writers that send an array to a file from native code.

``ndarray.tofile`` opens its file through an ``io.open`` numpy kept at import (the guard's
``open`` is never called) and writes with C's ``fwrite``, also into a file object the guard
returned (it asks for the descriptor): no Python write the file exits could scan. The method is
replaced in ``ndarray``'s own dictionary (``c_types.patch``), so every route to it (subclasses
such as ``memmap``, ``np.ndarray.tofile(a, f)``, a bound method saved before ``%load_ext``) is
checked: the array's content, as the file would get it, is scanned like any file write before
numpy runs. ``np.save``, ``np.savetxt`` and ``ndarray.dump`` write through Python file objects
and are checked by the file exits already.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from jupyter_guard.hooks import c_types
from jupyter_guard.hooks.state import Busy, busy


def content(arr: Any, sep: str, fmt: str) -> Any:
    """What ``arr.tofile(f, sep, fmt)`` puts in the file, as text or bytes to scan: the values as
    text for text output and for arrays of text or objects (their UTF-32 bytes hold the same
    characters), the raw bytes otherwise."""
    with Busy():   # the guard reading the array it judges
        flat = arr.ravel()
        if sep or arr.dtype.kind in "USOV":
            values = flat.tolist()
            if sep:
                try:
                    return sep.join(fmt % (v,) for v in values)
                except (TypeError, ValueError):
                    pass   # numpy would refuse this format too: the values are scanned as text
            return "\n".join(map(str, values))
        return flat.tobytes()


def _dest(fid: Any) -> str:
    if isinstance(fid, (str, bytes)):
        return os.fsdecode(fid)
    name = getattr(fid, "name", None)   # a file object (its name, never a method of the user's)
    return str(name) if isinstance(name, (str, bytes, int)) else type(fid).__name__


def install(fx: Any, numpy: Any) -> None:
    """Check ``numpy.ndarray.tofile`` (left as it is where the type's dictionary cannot be
    changed: not CPython)."""
    cls = numpy.ndarray
    orig = c_types.original(cls, "tofile")
    if orig is None or getattr(orig, "_jg", False):
        return

    def tofile(self: Any, fid: Any, sep: str = "", format: str = "%s") -> Any:
        if not busy() and fx.rt.user_stack(sys._getframe(1)):
            fx.check(content(self, sep if isinstance(sep, str) else "",
                             format if isinstance(format, str) else "%s"),
                     _dest(fid), "ndarray.tofile")
        return orig(self, fid, sep, format)

    tofile._jg = True  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
    tofile.__name__, tofile.__doc__ = "tofile", orig.__doc__
    c_types.patch(cls, "tofile", tofile)
