"""Socket routes below ``socket.socket``'s Python methods, checked like its sends
(``exit_socket.check``: values read from a sensitive column, to a peer not allowed).

- The C type's own ``send``/``sendall``/``sendto``/``sendmsg`` check (``c_types.patch``), so
  every socket does, however the method is reached (``type(s).__mro__[-2].sendall(s, data)``,
  ``super(type(s), s).send``, ``_socket.socket.send`` fetched through ``vars``). Where that is
  not possible (not CPython) ``_socket.socket`` and ``_socket.SocketType`` become a checking
  subclass of the C type instead (``isinstance`` against it still holds for every socket).
- TLS: ``_ssl._SSLSocket.write`` (``install_tls``), below ``SSLSocket.send`` and
  ``ssl.SSLObject``: the plain text before encryption.
- ``os.sendfile`` and ``os.splice`` out of a file into a socket or a pipe (``socket.sendfile``
  uses ``sendfile``): the bytes they would move are read from the file first (at most ``PIECE``
  per call; both may move less than asked, and their callers loop) and checked as a send to the
  socket's peer or a write into the pipe. Copies between files pass. ``os.splice`` out of a
  pipe (a child's output) is made here: the bytes are taken, judged as a write to the
  destination, and written by the guard.
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

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks import c_types, exit_dbcopy, exit_socket, exits
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy

PIECE = 1 << 20


def install(rt: Any, module_patched: dict[tuple[Any, str], Any]) -> bool:
    """The C type's sends, ``os.sendfile``/``os.splice`` and the ``posix`` writes. True when the
    C type's own methods check (``socket.socket`` then needs no wrappers of its own)."""
    import _socket
    import posix

    real = _socket.socket
    done = getattr(c_types.original(real, "sendall"), "_jg", False)
    if not done:
        methods = exit_socket.checked_methods(rt, real)
        done = all(c_types.patch(real, name, fn) for name, fn in methods.items())
    if not done and not getattr(real, "_jg", False):   # not CPython: the module's names only
        checked = _checked_type(rt, real)
        for name in ("socket", "SocketType"):
            setattr(_socket, name, checked)
            module_patched[(_socket, name)] = checked
    from jupyter_guard.hooks import lazy

    lazy.when_imported("asyncio.selector_events", lambda m: install_asyncio(m, module_patched))
    for name, wrap in (("sendfile", _sendfile), ("splice", _splice)):
        orig = getattr(os, name, None)
        if orig is not None and not getattr(orig, "_jg", False):
            fn = wrap(rt, orig)
            setattr(os, name, fn)
            module_patched[(os, name)] = fn
    for name in ("write", "pwrite", "writev", "sendfile", "splice"):
        fn = getattr(os, name, None)
        if getattr(fn, "_jg", False) and getattr(posix, name, fn) is not fn:
            setattr(posix, name, fn)
            module_patched[(posix, name)] = fn
    return bool(done)


def install_asyncio(mod: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    """asyncio's selector transports send from ``write`` and ``sendto`` and swallow what the
    send raises (the transport closes and the stream reports ``ConnectionResetError``, a
    datagram's ``error_received``): a send the guard refused raises its refusal from there, in
    the user's call (``exit_socket.refused``). A refused write asyncio had buffered and sent
    later from the loop is raised by ``StreamWriter.drain``."""
    for cls_name, name in (("_SelectorSocketTransport", "write"),
                           ("_SelectorDatagramTransport", "sendto")):
        cls = getattr(mod, cls_name, None)
        orig = vars(cls).get(name) if isinstance(cls, type) else None
        if orig is None or getattr(orig, "_jg", False):
            continue   # another asyncio: its refusals show as it reports them

        def sent(self: Any, *args: Any, _orig: Any = orig) -> None:
            _orig(self, *args)
            _raise_refused(self)
        checked = _mark(sent, orig)
        setattr(cls, name, checked)
        module_patched[(cls, name)] = checked
    import asyncio.streams

    writer = asyncio.streams.StreamWriter
    orig_drain = vars(writer).get("drain")
    if orig_drain is None or getattr(orig_drain, "_jg", False):
        return

    async def drain(self: Any) -> None:
        try:
            await orig_drain(self)
        except ConnectionError:
            reader = getattr(self, "_reader", None)
            err = reader.exception() if reader is not None else None
            if isinstance(err, GuardBlocked):   # the connection was lost to a refusal
                raise err from None
            raise
    checked = _mark(drain, orig_drain)
    setattr(writer, "drain", checked)   # noqa: B010 - a method replaced on its class
    module_patched[(writer, "drain")] = checked


def _mark(fn: Any, orig: Any) -> Any:
    """``fn`` sealed (its cells out of a cell's reach) as ``orig``, marked ours."""
    checked = sealed(fn, orig)
    checked._jg = True   # a marker on our own function
    return checked


def _raise_refused(transport: Any) -> None:
    sock = getattr(transport, "_sock", None)
    if sock is None or not exit_socket.refused:
        return
    try:
        err = exit_socket.refused.pop(sock, None)
    except TypeError:   # not weak-referenceable: never kept
        return
    if err is not None:
        raise err


def install_tls(rt: Any) -> bool:
    """``_ssl._SSLSocket.write``, the C method every TLS write ends in: ``SSLSocket.send``,
    ``s._sslobj.write`` and ``ssl.SSLObject.write`` (TLS in memory, ``MemoryBIO``). The plain
    text is checked before it is encrypted, as a send to the socket's peer, or, for a TLS
    object in memory (whose encrypted bytes may go anywhere), to the server name it was given
    (``tls:memory`` when none: no policy allows it)."""
    import _ssl

    cls = _ssl._SSLSocket  # type: ignore[attr-defined]  # the C type behind every TLS object
    orig = c_types.original(cls, "write")
    if getattr(orig, "_jg", False):
        return True

    def write(self: Any, data: Any) -> int:
        if exits.known and not busy():
            owner = self.owner
            if isinstance(owner, socket.socket):
                exit_socket.check(rt, owner, data, "TLS write")
            else:
                exit_socket.check(rt, owner if owner is not None else self, data, "TLS write",
                                  peer=str(self.server_hostname or "tls:memory").lower())
        return int(orig(self, data))

    return c_types.patch(cls, "write", _mark(write, orig))


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
        exit_dbcopy.refuse_copy(rt, in_fd, out_fd, "os.sendfile", sys._getframe(1))
        kind = _exit_kind(out_fd)
        if not kind or busy() or not rt.user_stack(sys._getframe(1)) or not _regular(in_fd):
            return int(orig(out_fd, in_fd, offset, count, *args, **kw))
        count = min(int(count), PIECE) if count else PIECE
        _judge(rt, out_fd, kind, _read(in_fd, offset, count), "os.sendfile")
        return int(orig(out_fd, in_fd, offset, count, *args, **kw))

    return _mark(sendfile, orig)


def _read(in_fd: int, offset: Any, count: int) -> bytes:
    """The bytes ``sendfile`` would send, without moving the file's position."""
    try:
        at = os.lseek(in_fd, 0, os.SEEK_CUR) if offset is None else int(offset)
        return os.pread(in_fd, count, at)
    except (OSError, TypeError, ValueError):
        return b""   # not a readable file: sendfile itself raises


def _splice(rt: Any, orig: Any) -> Any:
    """``os.splice`` out of a file into a socket or a pipe: the bytes it would move are read
    from the file first and checked like ``sendfile``'s. Out of a pipe (what a child printed)
    nothing can be read without taking it, so the move is made here: read, checked as a write
    to the destination (a file, a pipe or a socket), then written (``_from_pipe``)."""
    def splice(src: int, dst: int, count: int, offset_src: Any = None, *args: Any,
               **kw: Any) -> int:
        exit_dbcopy.refuse_copy(rt, src, dst, "os.splice", sys._getframe(1))
        if _fifo(src) and not busy() and rt.user_stack(sys._getframe(1)):
            return _from_pipe(rt, src, dst, count, offset_src, *args, **kw)
        kind = _exit_kind(dst)
        if not kind or busy() or not rt.user_stack(sys._getframe(1)) or not _regular(src):
            return int(orig(src, dst, count, offset_src, *args, **kw))
        count = min(int(count), PIECE)
        _judge(rt, dst, kind, _read(src, offset_src, count), "os.splice")
        return int(orig(src, dst, count, offset_src, *args, **kw))

    return _mark(splice, orig)


def _from_pipe(rt: Any, src: int, dst: int, count: int, offset_src: Any = None,
               offset_dst: Any = None, flags: int = 0) -> int:
    """``os.splice`` out of a pipe, made as a read and a write: at most ``PIECE`` bytes are taken
    from the pipe, judged as a write into ``dst`` (a file or a pipe by the detectors and known
    values, a socket as a send to its peer), and written whole. Refused: they are dropped."""
    if offset_src is not None:
        raise OSError(29, "Illegal seek")   # what splice says of an offset into a pipe
    data = os.read(src, max(0, min(int(count), PIECE)))
    if not data:
        return 0
    try:
        mode = os.fstat(dst).st_mode
    except OSError:
        mode = 0
    if stat.S_ISSOCK(mode):
        _judge(rt, dst, "socket", data, "os.splice")
    else:
        _judge(rt, dst, "pipe", data, "os.splice")   # a file: the same check as a write
    view, done = memoryview(data), 0
    with Busy():   # judged above: the guard's own write
        while done < len(data):
            at = None if offset_dst is None else int(offset_dst) + done
            done += os.write(dst, view[done:]) if at is None else os.pwrite(dst, view[done:], at)
    return done


def _fifo(fd: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (OSError, TypeError, ValueError):
        return False   # not a descriptor: the call itself raises


def _regular(fd: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except (OSError, TypeError, ValueError):
        return False   # not a descriptor: the call itself raises


def _exit_kind(fd: int) -> str:
    """'socket' or 'pipe' for a descriptor whose bytes leave the process by a route checked
    here ('' otherwise: a copy between files moves bytes already on disk, whose destination
    was judged when it was opened; a socket while nothing sensitive is known)."""
    try:
        mode = os.fstat(fd).st_mode
    except (OSError, TypeError, ValueError):
        return ""   # not a descriptor: the call itself raises
    if stat.S_ISFIFO(mode):
        return "pipe"
    return "socket" if stat.S_ISSOCK(mode) and exits.known else ""


def _judge(rt: Any, out_fd: int, kind: str, data: bytes, how: str) -> None:
    """A send to a socket's peer, or a write into a pipe (a child's stdin, or a ``splice`` on
    to a socket), judged as ``os.write`` into it is."""
    if not data:
        return
    if kind == "pipe":
        from jupyter_guard.hooks import exit_files
        from jupyter_guard.hooks.exit_streams import _fd_name

        if exit_files.FX is not None:
            exit_files.FX.check(data, _fd_name(out_fd), how)
        return
    s = socket.socket(fileno=os.dup(out_fd))
    try:
        exit_socket.check(rt, s, data, how)
    finally:
        s.close()
