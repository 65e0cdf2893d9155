"""Socket routes below ``socket.socket``'s Python methods, checked like its sends
(``exit_socket.check``: values read from a sensitive column, to a peer not allowed).

- The C type: ``_socket.socket.sendall(s, data)`` (and ``send``/``sendto``/``sendmsg``) skips
  the Python subclass's wrapped methods. ``_socket.socket`` and ``_socket.SocketType`` become a
  checking subclass of the C type (``isinstance`` against it still holds for every socket).
- ``os.sendfile`` to a socket (``socket.sendfile`` uses it): the bytes it would send are read
  from the file first (at most ``PIECE`` per call; ``sendfile`` may send less than asked, and its
  callers loop) and checked as a send to the socket's peer. Copies between files pass.
- The ``posix`` names of the checked ``os`` writes (``posix.write`` is ``os.write`` unchecked).
Unix-domain sockets (a path, an abstract name, ``socketpair``) are peers no policy allows:
``exit_socket._host`` names them ``unix:<path>``.
"""
from __future__ import annotations

import os
import socket
import stat
import sys
from typing import Any

from jupyter_guard.hooks import exit_socket, exits
from jupyter_guard.hooks.state import busy

PIECE = 1 << 20


def install(rt: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    import _socket
    import posix

    real = _socket.socket
    if not getattr(real, "_jg", False):
        checked = _checked_type(rt, real)
        for name in ("socket", "SocketType"):
            setattr(_socket, name, checked)
            module_patched[(_socket, name)] = checked
    if not getattr(os.sendfile, "_jg", False):
        fn = _sendfile(rt, os.sendfile)
        os.sendfile = fn
        module_patched[(os, "sendfile")] = fn
    for name in ("write", "pwrite", "writev", "sendfile"):
        fn = getattr(os, name)
        if getattr(fn, "_jg", False) and getattr(posix, name, fn) is not fn:
            setattr(posix, name, fn)
            module_patched[(posix, name)] = fn


class _Meta(type):
    """Every socket (the C type's instances too) is an instance of the checking type."""

    _jg_real: type

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls._jg_real)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return issubclass(sub, cls._jg_real)


def _checked_type(rt: Any, real: Any) -> type:
    methods = exit_socket.checked_methods(rt, real)
    return _Meta("socket", (real,), {"__slots__": (), "__module__": "_socket", "_jg": True,
                                     "__doc__": real.__doc__, "_jg_real": real, **methods})


def _sendfile(rt: Any, orig: Any) -> Any:
    def sendfile(out_fd: int, in_fd: int, offset: Any, count: int, *args: Any, **kw: Any) -> int:
        if busy() or not exits.known or not rt.user_stack(sys._getframe(1)):
            return int(orig(out_fd, in_fd, offset, count, *args, **kw))
        count = min(int(count), PIECE) if count else PIECE
        _judge(rt, out_fd, _read(in_fd, offset, count))
        return int(orig(out_fd, in_fd, offset, count, *args, **kw))

    sendfile._jg = True  # type: ignore[attr-defined]  # a marker on our own function
    sendfile.__name__, sendfile.__doc__ = "sendfile", orig.__doc__
    return sendfile


def _read(in_fd: int, offset: Any, count: int) -> bytes:
    """The bytes ``sendfile`` would send, without moving the file's position."""
    try:
        at = os.lseek(in_fd, 0, os.SEEK_CUR) if offset is None else int(offset)
        return os.pread(in_fd, count, at)
    except (OSError, TypeError, ValueError):
        return b""   # not a readable file: sendfile itself raises


def _judge(rt: Any, out_fd: int, data: bytes) -> None:
    """A send to a socket's peer. (A copy between files, ``shutil.copyfile``'s fast path, moves
    bytes already on disk: the destination's path was judged when it was opened.)"""
    if not data:
        return
    try:
        if not stat.S_ISSOCK(os.fstat(out_fd).st_mode):
            return
    except (OSError, TypeError, ValueError):
        return   # not a descriptor: sendfile itself raises
    s = socket.socket(fileno=os.dup(out_fd))
    try:
        exit_socket.check(rt, s, data, "os.sendfile")
    finally:
        s.close()
