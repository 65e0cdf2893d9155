"""File exits below and beside ``open``: the same data check (``exits.scan``) on

- ``os.write``/``os.pwrite``/``os.writev`` by user code (any file descriptor: files, pipes to
  children, sockets, ``os.open`` descriptors), and by anyone into the input pipe of a child user
  code started (``asyncio``'s ``communicate`` writes from the event loop: ``exit_popen``);
- writes into an ``mmap`` (``write``, slice assignment): ``mmap.mmap`` becomes a subclass that
  checks first;
- compressed streams, before compression: ``gzip.GzipFile``/``gzip.open``, ``bz2.BZ2File``,
  ``lzma.LZMAFile``, ``zipfile.ZipFile.writestr`` and members opened with ``ZipFile.open(name,
  'w')``. A whole compressed stream written at once (``gzip.compress`` output) is inflated by
  ``exits.scan`` itself.
Each check costs nothing unless such a write happens; the frame walk runs only then.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from jupyter_guard.hooks import exit_popen
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

_MIN = 4   # shorter writes cannot hold a value worth finding

ECHOES: dict[int, Any] = {}
"""Descriptors the kernel copies captured output to (ipykernel echoes what child processes and C
code print into its own stdout, the server's log), each with the function that masks bytes
written there. Registered by the stream masking."""


def _fd_name(fd: Any) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{int(fd)}")
    except (OSError, TypeError, ValueError):
        return f"file descriptor {fd}"


def _checker(fx: Any) -> Any:
    def check(data: Any, dest: Any, how: str, depth: int = 2) -> None:
        if busy():
            return
        try:
            n = len(data)
        except TypeError:
            return   # not a buffer: the write itself raises
        if n >= _MIN and (fx.rt.user_stack(sys._getframe(depth)) or exit_popen.feeds_child(dest)):
            # a descriptor is named only now: the guard's own writes (its audit journal, every
            # cell) skip the readlink
            fx.check(data, _fd_name(dest) if isinstance(dest, int) else str(dest), how)
    return check


def install(fx: Any, module_patched: dict[tuple[Any, str], Any],
            patched: dict[tuple[Any, str], Any]) -> None:
    from jupyter_guard.hooks import lazy

    check = _checker(fx)
    _os_writes(check, module_patched)
    _file_io(check, module_patched)
    def on_mmap(m: Any) -> None:
        _mmap(check, m, module_patched)

    lazy.when_imported("mmap", on_mmap)
    for mod, cls in (("gzip", "GzipFile"), ("bz2", "BZ2File"), ("lzma", "LZMAFile")):
        def on_stream(m: Any, cls: str = cls) -> None:
            _stream_class(check, getattr(m, cls), patched)

        lazy.when_imported(mod, on_stream)
    lazy.when_imported("zipfile", lambda m: _zip(check, m, patched))


def _os_writes(check: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    if getattr(os.write, "_jg", False):
        return
    o_write, o_pwrite, o_writev = os.write, os.pwrite, os.writev

    def write(fd: int, data: Any) -> int:
        check(data, fd, "os.write")
        if ECHOES and type(fd) is int and fd in ECHOES:
            data = ECHOES[fd](data)
        return o_write(fd, data)

    def pwrite(fd: int, data: Any, offset: int) -> int:
        check(data, fd, "os.pwrite")
        return o_pwrite(fd, data, offset)

    def writev(fd: int, buffers: Any) -> int:
        buffers = list(buffers)
        check(b"".join(bytes(b) for b in buffers), fd, "os.writev")
        return o_writev(fd, buffers)

    for name, fn, orig in (("write", write, o_write), ("pwrite", pwrite, o_pwrite),
                           ("writev", writev, o_writev)):
        checked = sealed(fn, orig)   # its cells (the check) out of a cell's reach
        checked._jg = True   # a marker on our own functions
        setattr(os, name, checked)
        module_patched[(os, name)] = checked


def _file_io(check: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    """``io.FileIO(path, 'w')`` built directly is a raw file ``open`` never returned. Its
    replacement checks writes; ``isinstance`` still holds both ways for files ``open`` made."""
    import _io
    import io

    base = _io.FileIO
    if getattr(io.FileIO, "_jg", False):
        return

    class _Same(type):
        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, base)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, base)

    class FileIO(base, metaclass=_Same):  # type: ignore[misc, valid-type]  # a C base class
        _jg = True
        __doc__ = base.__doc__
        __module__ = base.__module__

        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)   # opened here, by the guard: its writes are checked

        def write(self, data: Any) -> int | None:
            if "r" not in self.mode or "+" in self.mode:
                check(data, getattr(self, "name", "a file"), "io.FileIO.write")
            return super().write(data)

        __init__, write = sealed(__init__), sealed(write)   # no closure cell to swap

    for mod in (io, _io):
        setattr(mod, "FileIO", FileIO)   # the module attribute user code reaches  # noqa: B010
        module_patched[(mod, "FileIO")] = FileIO


def _mmap(check: Any, mod: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    base = mod.mmap
    if getattr(base, "_jg", False):
        return

    class mmap(base):  # type: ignore[misc, valid-type]  # subclassing the run-time class
        _jg = True
        __doc__ = base.__doc__
        __module__ = base.__module__
        __qualname__ = "mmap"

        def write(self, data: Any) -> int:
            check(data, "a memory-mapped file", "mmap.write")
            return super().write(data)

        def __setitem__(self, key: Any, value: Any) -> None:
            if isinstance(key, slice):
                check(value, "a memory-mapped file", "mmap[...] =")
            super().__setitem__(key, value)

        write, __setitem__ = sealed(write), sealed(__setitem__)   # no closure cell to swap

    mod.mmap = mmap
    module_patched[(mod, "mmap")] = mmap


def _stream_class(check: Any, cls: type, patched: dict[tuple[Any, str], Any]) -> None:
    orig = cls.write   # type: ignore[attr-defined]  # every class in the table has write
    if getattr(orig, "_jg", False):
        return

    def write(self: Any, data: Any) -> Any:
        check(data, getattr(self, "name", None) or getattr(self, "_fp", "a stream"),
              f"{cls.__name__}.write")
        return orig(self, data)
    checked = sealed(write, orig)   # its cells (the check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    type.__setattr__(cls, "write", checked)
    patched[(cls, "write")] = checked


def _zip(check: Any, mod: Any, patched: dict[tuple[Any, str], Any]) -> None:
    zf, member = mod.ZipFile, getattr(mod, "_ZipWriteFile", None)
    orig = zf.writestr
    if getattr(orig, "_jg", False):
        return

    def writestr(self: Any, zinfo_or_arcname: Any, data: Any, *args: Any, **kw: Any) -> Any:
        check(data.encode("utf-8") if isinstance(data, str) else data,
              getattr(self, "filename", None) or "a zip file", "ZipFile.writestr")
        return orig(self, zinfo_or_arcname, data, *args, **kw)
    checked = sealed(writestr, orig)   # its cells (the check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    type.__setattr__(zf, "writestr", checked)
    patched[(zf, "writestr")] = checked
    if member is not None:
        m_write = member.write

        def write(self: Any, data: Any) -> Any:
            check(data, getattr(self._zipfile, "filename", None) or "a zip file",
                  "ZipFile.open(..., 'w').write")
            return m_write(self, data)
        member_write = sealed(write, m_write)   # its cells (the check): sealed
        member_write._jg = True   # a mark on the guard's own wrapper
        type.__setattr__(member, "write", member_write)
        patched[(member, "write")] = member_write
