"""numpy's writers that send an array to a file from native code.

``ndarray.tofile`` opens its file through an ``io.open`` numpy kept at import (the guard's
``open`` is never called) and writes with C's ``fwrite``, also into a file object the guard
returned (it asks for the descriptor): no Python write the file exits could scan. The method is
replaced in ``ndarray``'s own dictionary (``c_types.patch``), so every route to it (subclasses
such as ``memmap``, ``np.ndarray.tofile(a, f)``, a bound method saved before ``%load_ext``) is
checked: the array's content, as the file would get it, is scanned like any file write before
numpy runs, and a binary array's numbers are read by its own type as derived known values
(``known_binary``). ``np.save``, ``np.savetxt`` and ``ndarray.dump`` write through Python file
objects and are checked by the file exits; ``np.savetxt`` of a path opens it through another
``io.open`` numpy kept at import (``numpy.lib._datasource``), which ``install_datasource`` points
at the guard's ``open``.

``np.memmap`` opened for writing (``r+``, ``w+``) maps the file shared: values assigned into the
array reach the file through the page cache, written by the OS with no call to check. A
writable memmap of a named file is mapped copy-on-write instead (mode ``c``: what the array holds
stays in this process), and its bytes go to the file in ``flush()`` and when the array is
collected, scanned first like any file write: a refused flush writes nothing, and raises as a
refused write does (a refusal while the array is collected writes nothing and is reported on
stderr). The file is created and sized as numpy does; ``mode`` reads as asked.
"""
from __future__ import annotations

import mmap
import os
import sys
import weakref
from typing import Any

from jupyter_guard.hooks import c_types
from jupyter_guard.hooks.sealed_events import sealed
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


def _derived(arr: Any) -> bool:
    """Whether a binary array holds known values as derived numbers (nothing known: no)."""
    from jupyter_guard.hooks import exits

    if not len(exits.known):
        return False
    from jupyter_guard.hooks import known_binary

    with Busy():   # the guard reading the array it judges
        return bool(known_binary.in_array(arr))


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
            if not sep and _derived(self):   # its numbers by its own type (``known_binary``)
                from jupyter_guard.hooks import exits, known_binary

                exits.refuse(fx.rt.guard, fx.rt, known_binary.REASON, _dest(fid),
                             "ndarray.tofile")
        return orig(self, fid, sep, format)

    checked = sealed(tofile, orig)   # its cells (the file exit) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    c_types.patch(cls, "tofile", checked)
    install_memmap(fx, numpy)


_MODES = {"readwrite": "r+", "write": "w+"}
CHUNK = 1 << 24
"""Bytes of a memmap scanned at a time (with an overlap, so a value across two is seen)."""
_TARGETS: weakref.WeakKeyDictionary[Any, tuple[str, int]] = weakref.WeakKeyDictionary()


def _path(filename: Any) -> str | None:
    if isinstance(filename, (str, bytes, os.PathLike)):
        return os.fsdecode(filename)
    name = getattr(filename, "name", None)   # a file object numpy reads ``fileno`` from
    return name if isinstance(name, str) and os.path.isfile(name) else None


def sync(fx: Any, mm: Any, path: str, start: int) -> None:
    """Scan a private mapping's bytes as a write to ``path``, then write them at ``start``."""
    if mm.closed:
        return
    size = len(mm)
    with Busy():   # the guard reading what it judges
        pieces = [mm[i:i + CHUNK + 64] for i in range(0, size, CHUNK)]
    for piece in pieces:   # all before any byte is written: a refusal writes nothing
        fx.check(piece, path, "numpy.memmap")
    with Busy():   # the guard's own write of checked bytes
        fd = os.open(path, os.O_WRONLY)
        try:
            for i in range(0, size, CHUNK):
                os.pwrite(fd, mm[i:i + CHUNK], start + i)
        finally:
            os.close(fd)


def install_memmap(fx: Any, numpy: Any) -> None:
    """Map writable file-backed ``numpy.memmap`` arrays copy-on-write, written out checked."""
    cls = numpy.memmap
    orig_new = cls.__dict__.get("__new__")
    orig_flush = cls.__dict__.get("flush")
    if orig_new is None or orig_flush is None or getattr(orig_flush, "_jg", False):
        return
    orig_new = orig_new.__func__ if isinstance(orig_new, staticmethod) else orig_new

    def __new__(subtype: Any, filename: Any, dtype: Any = numpy.uint8, mode: Any = "r+",
                offset: int = 0, shape: Any = None, order: str = "C") -> Any:
        want = _MODES.get(mode, mode)
        path = _path(filename)
        if want not in ("r+", "w+") or path is None or busy() \
                or not fx.rt.user_stack(sys._getframe(1)):
            return orig_new(subtype, filename, dtype, mode, offset, shape, order)
        made = orig_new(subtype, filename, dtype, mode, offset, shape, order)  # file sized
        shape = made.shape
        del made   # the shared mapping, unused: nothing was written into it
        arr = orig_new(subtype, path, dtype, "c", offset, shape, order)
        arr.mode = want
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        _TARGETS[arr._mmap] = (path, start)
        weakref.finalize(arr, sync, fx, arr._mmap, path, start)   # holds the mapping until then
        return arr

    def flush(self: Any) -> None:
        mm = getattr(self, "_mmap", None)
        target = _TARGETS.get(mm) if mm is not None else None
        if target is None:
            return orig_flush(self)
        sync(fx, mm, *target)
        return None

    sealed_flush = sealed(flush, orig_flush)   # their cells (the file exit): sealed
    sealed_flush._jg = True   # a mark on the guard's own wrapper
    cls.__new__ = staticmethod(sealed(__new__, orig_new))
    cls.flush = sealed_flush


def install_datasource(ds: Any, original: Any, checked: Any) -> None:
    """``np.savetxt``/``np.genfromtxt`` of a path open it through the ``io.open`` numpy kept at
    import in ``numpy.lib._datasource`` (the guard's ``open`` was never called, and whole values
    were written unchecked): that entry becomes the guard's ``open``."""
    openers = getattr(getattr(ds, "_file_openers", None), "_file_openers", None)
    if isinstance(openers, dict) and openers.get(None) is original:
        openers[None] = checked
