"""Socket exits: what leaves by ``socket.send``/``sendall``/``sendto``/``sendmsg`` (and
``ssl.SSLSocket.send``, before encryption), whoever connected the socket.

A socket user code connects itself to a host not in ``network.allow_hosts`` is refused at
``connect`` already (``hooks/events.py``). These checks cover the sockets that never pass there:
connections a library opened (``http.client``'s ``conn.sock``, asyncio streams), connections
accepted by a server in the kernel, inherited descriptors. Each send to a peer not in
``network.allow_hosts`` is checked for values known to come from sensitive columns (read out of
guarded results: ``exits.known``; as sent, URL-decoded, or in a compressed stream); a send that
carries one is refused (``exfiltration``) before any byte of it leaves; a send to an allowed
peer counts the known values it completes against the exfiltration budget (``_spend``).
Ordinary payloads pass untouched. The detectors are not run here: a socket also carries a
database driver's SQL, whose literals the SQL rules judge (an e-mail typed into a query to a
remote server is no leak of a guarded table); sends by HTTP clients are scanned with the
detectors by the HTTP layer.

``send`` passes on at most ``PIECE`` bytes per call (it may always send less than it is given),
so a caller's retry loop has each byte scanned once. Per socket, the peer and the last ``TAIL``
bytes sent are remembered (a weak map), and per peer host the last ``TAIL`` bytes any socket
sent to it, so a value sent a few characters at a time (one datagram each, or one new socket
each) is found when its last piece is sent. The HTTP layer names the
sockets it sends through to an allowed host (``allow``), whose address alone would not say so,
and the bytes it judged itself (``judged``: request lines, headers, bodies), which are not
scanned twice.
``multiprocessing.connection`` writes with ``os.write``: its accepted connections
(``Listener.accept``) are checked like its clients (``exit_net``).
"""
from __future__ import annotations

import os
import socket
import sys
import weakref
from typing import Any
from urllib.parse import unquote_plus

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks import exit_budget, exit_dbcopy, exit_follow, exits, joined_pieces
from jupyter_guard.hooks.event_paths import database_header
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

TAIL = 256
PIECE = 1 << 16
_IP = (socket.AF_INET, socket.AF_INET6)
_UNIX = getattr(socket, "AF_UNIX", None)
# socket -> [peer host ('' for sockets that are not TCP/UDP over IP), bytes last sent,
#            bytes the HTTP layer judged that it has not sent yet]
_seen: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
# host -> the last ``TAIL`` bytes sent to it by any socket: datagrams (``sendto`` on a socket
# with no peer) and new sockets per piece are followed by where they go, not by the socket
_to_host: dict[str, bytes] = {}
HOSTS = 1024


def _host(sock: Any) -> str | None:
    """The peer's address (``unix:<path>`` for a Unix-domain socket, '' when the socket is
    neither; None while it has no peer)."""
    try:
        if sock.family == _UNIX:   # a local process: no policy allows it by address
            peer = sock.getpeername()
            return f"unix:{os.fsdecode(peer) if peer else 'socketpair'}"
        if sock.family not in _IP:
            return ""
        host = str(sock.getpeername()[0]).lower()
    except (OSError, AttributeError, IndexError, TypeError):
        return None
    return host[7:] if host.startswith("::ffff:") else host


_ADDRESSES: dict[str, frozenset[str]] = {}


def _addresses(name: str) -> frozenset[str]:
    """The addresses ``name`` resolves to (once per name and process; none if it does not)."""
    found = _ADDRESSES.get(name)
    if found is None:
        from jupyter_guard.hooks.state import Busy

        try:
            with Busy():
                found = frozenset(str(a[4][0]).lower() for a in socket.getaddrinfo(name, None))
        except (OSError, UnicodeError):
            found = frozenset()
        _ADDRESSES[name] = found
    return found


def allow(sock: Any, host: str) -> None:
    """The HTTP layer sends through ``sock`` to ``host``, a host the policy allows: its sends
    pass when the socket's peer is one of the host's addresses (a connection's ``sock``
    swapped for another is judged by its own peer)."""
    if _seen.get(sock, ("",))[0] == host.lower():
        return
    peer = _host(sock)
    if not peer or (peer != host.lower() and peer not in _addresses(host.lower())):
        return
    try:
        _seen[sock] = [host.lower(), b"", 0]
    except TypeError:   # not weak-referenceable: its sends are judged by address
        pass


def judged(sock: Any, n: int) -> None:
    """The HTTP layer judged the next ``n`` bytes ``sock`` sends (its request line, headers and
    body bytes): they are not scanned a second time here. (No credit while nothing is looked
    for: ``check`` would not spend it, and it must not cover later sends.)"""
    if not exits.known:
        return
    entry = _seen.get(sock)
    if entry is None:
        host = _host(sock)
        if host is None:
            return
        entry = [host, b"", 0]
        try:
            _seen[sock] = entry
        except TypeError:   # not weak-referenceable: scanned here as well
            return
    entry[2] += n


def check(rt: Any, sock: Any, data: Any, how: str, addr: Any = None,
          peer: str | None = None) -> None:
    """Refuse (``exfiltration``) a send that carries a sensitive value to a host not allowed
    (``peer``: the host, for a sender that is not a socket, such as a TLS object in memory)."""
    if busy():
        return
    pages = _database_head(data) and exit_dbcopy.local_copy(data) is not None   # served whole
    if not exits.known and not pages:
        return   # no value read from a sensitive column yet: nothing to look for
    entry = _seen.get(sock)
    if entry is None:
        host = peer if peer is not None else _host(sock) if addr is None else ""
        entry = [host or "", b"", 0]
        if host is not None and addr is None:
            try:
                _seen[sock] = entry
            except TypeError:   # not weak-referenceable: decided on this send alone
                pass
    host = entry[0]
    if isinstance(addr, tuple) and addr:
        host = str(addr[0]).lower()
    if not host:
        return
    if host in rt.guard.policy.allow_hosts:   # may receive them, within the budget
        _spend(rt, sock, entry, data, how)
        return
    if pages:
        exits.refuse(rt.guard, rt, exit_dbcopy.DATABASE_PAGES, host, how, host=host)
    try:
        n = len(data)
    except TypeError:
        return   # not a buffer: the send itself raises
    if entry[2]:   # what the HTTP layer judged already
        if entry[2] >= n:
            entry[2] -= n
            return
        entry[2] = 0
    try:
        chunk = bytes(data)
    except (TypeError, ValueError):
        return   # not a buffer: the send itself raises
    text = entry[1] + chunk if entry[1] else chunk
    entry[1] = text[-TAIL:]
    to_host = _to_host.pop(host, b"") + chunk   # every socket's sends to this host, in order
    if len(_to_host) >= HOSTS:
        _to_host.clear()
    _to_host[host] = to_host[-TAIL:]
    kind = carries_known(text) or (carries_known(to_host) if to_host != text else "")
    if kind:
        entry[1] = b""   # refused: nothing of it left, the next send starts afresh
        _to_host.pop(host, None)
        exits.refuse(rt.guard, rt, kind, host, how, host=host, data=chunk)


def _spend(rt: Any, sock: Any, entry: list[Any], data: Any, how: str) -> None:
    """A send to an allowed host: the sensitive values it completes (read after the socket's
    last ``TAIL`` bytes, so a value sent a few bytes at a time counts once whole; as sent or as
    ``exit_budget.readings`` gives them back) count against the exfiltration budget (bodies and
    raw sockets alike; request lines are counted by ``exit_net`` too, once: the budget counts
    distinct values). Compressed streams are followed over the socket's sends
    (``exit_follow.inflated``). Every socket's sends to the host are read joined too, in the
    order sent: a value cut over two connections (its head on one, its tail on the next, or
    alternating sends) counts as one sent whole."""
    p = rt.guard.policy
    if not (p.max_values_per_cell or p.max_values_per_session):
        return
    try:
        chunk = bytes(data)
    except (TypeError, ValueError):
        return   # not a buffer: the send itself raises
    before = entry[1]
    entry[1] = (before + chunk)[-TAIL:]
    exit_budget.spend_new(rt.guard, rt, before, before + chunk, how)
    host = entry[0]
    to_host = _to_host.pop(host, b"")
    if len(_to_host) >= HOSTS:
        _to_host.clear()
    _to_host[host] = (to_host + chunk)[-TAIL:]
    if to_host and to_host != before:   # another socket sent to the host in between (and
        # the line break between dropped): only a value across the joint is new there, so the
        # chunk's head is read (a megabyte read three times took seconds)
        joint = chunk[:TAIL]
        exit_budget.spend_new(rt.guard, rt, to_host, to_host + joint, how)
        head = to_host.rstrip(b"\r\n")
        if head != to_host:
            exit_budget.spend_new(rt.guard, rt, head, head + joint, how)
    if cut := joined_pieces.found(chunk):   # pieces of 4+ characters, serialised
        exit_budget.spend(rt.guard, rt, "\n".join(cut), how)
    exit_follow.inflated(rt, sock, chunk, how, before)


def _database_head(data: Any) -> bool:
    """The bytes begin as a DuckDB or SQLite file does: the file itself is being sent (a server
    in the kernel serving its folder). Bytes from further in are looked for by file writes only
    (looking them up costs milliseconds, too much for every send)."""
    try:
        head = bytes(memoryview(data)[:24])
    except (TypeError, ValueError):
        return False   # not a buffer: the send itself raises
    return database_header(head)


def _piece(data: Any) -> Any:
    """At most ``PIECE`` bytes of what ``send`` was given: ``send`` may send less than it is
    given (its callers loop), and each byte is then scanned once, not once per retry."""
    try:
        return memoryview(data)[:PIECE] if len(data) > PIECE else data
    except TypeError:
        return data   # not a buffer: the send itself raises


def carries_known(data: bytes) -> str:
    """Why ``data`` holds a value read from a sensitive column ('' if it does not): as sent,
    URL-decoded, or inside a whole compressed stream. Nothing to look for, no cost."""
    if not exits.known:
        return ""
    inner = exits._inflated(data)
    if inner and carries_known(inner):
        return "values read from a sensitive column"
    if cut := joined_pieces.carries(data):   # a pickle or JSON of pieces of 4+ characters
        return cut
    text = exits._text(data)
    if "%" in text or "+" in text:
        text = text + "\n" + unquote_plus(text)
    return exits._known(text)


_ASYNCIO = os.path.join(os.path.dirname(os.__file__), "asyncio") + os.sep
# socket -> the refusal of a send asyncio's transport made and swallowed (it closes the
# transport and reports a lost connection): ``exit_socket_raw``'s transport wrappers raise it
refused: weakref.WeakKeyDictionary[Any, BaseException] = weakref.WeakKeyDictionary()


def _checked(rt: Any, sock: Any, data: Any, how: str, addr: Any = None) -> None:
    """``check``; a refusal met inside asyncio's transport is kept for its wrappers to raise."""
    try:
        check(rt, sock, data, how, addr)
    except GuardBlocked as err:
        caller = sys._getframe(2).f_code.co_filename
        if caller.startswith(_ASYNCIO):
            try:
                if len(refused) > 64:
                    refused.clear()
                refused[sock] = err
            except TypeError:   # not weak-referenceable: asyncio reports a lost connection
                pass
        raise


def checked_methods(rt: Any, owner: Any) -> dict[str, Any]:
    """``send``, ``sendall``, ``sendto`` and ``sendmsg`` of ``owner`` (``socket.socket`` or the C
    type), each checking its bytes first; named and documented as the originals, marked ours."""
    o_send, o_sendall, o_sendto, o_sendmsg = (owner.send, owner.sendall, owner.sendto,
                                              owner.sendmsg)

    def send(self: Any, data: Any, *args: Any) -> int:
        data = _piece(data)
        _checked(rt, self, data, "socket.send")
        return int(o_send(self, data, *args))

    def sendall(self: Any, data: Any, *args: Any) -> None:
        _checked(rt, self, data, "socket.sendall")
        o_sendall(self, data, *args)

    def sendto(self: Any, data: Any, *args: Any) -> int:
        _checked(rt, self, data, "socket.sendto", args[-1] if args else None)
        return int(o_sendto(self, data, *args))

    def sendmsg(self: Any, buffers: Any, *args: Any) -> int:
        buffers = list(buffers)
        addr = args[2] if len(args) > 2 else None
        _checked(rt, self, b"".join(bytes(b) for b in buffers), "socket.sendmsg", addr)
        return int(o_sendmsg(self, buffers, *args))

    methods: dict[str, Any] = {"send": send, "sendall": sendall, "sendto": sendto,
                               "sendmsg": sendmsg}
    for name, fn in methods.items():   # sealed: their cells (the check) out of a cell's reach
        methods[name] = sealed(fn, getattr(owner, name))
        methods[name]._jg = True   # a marker on our own functions
    return methods


def install(rt: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Wrap the sending methods of ``socket.socket`` (every Python socket)."""
    cls = socket.socket
    if getattr(cls.send, "_jg", False):
        return
    for name, fn in checked_methods(rt, cls).items():
        type.__setattr__(cls, name, fn)
        patched[(cls, name)] = fn


def install_ssl(rt: Any, mod: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """``SSLSocket.send`` (``sendall`` and ``write`` go through it): the plain text, before it
    is encrypted; a socket not (yet) wrapped sends through ``socket.socket.send``."""
    cls = mod.SSLSocket
    orig = cls.send
    if getattr(orig, "_jg", False):
        return

    def send(self: Any, data: Any, flags: int = 0) -> int:
        if getattr(self, "_sslobj", None) is not None:
            data = _piece(data)
            check(rt, self, data, "ssl send")
        return int(orig(self, data, flags))
    checked = sealed(send, orig)   # its cells (the check) out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    type.__setattr__(cls, "send", checked)
    patched[(cls, "send")] = checked


def install_listener(rt: Any, mod: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    """``multiprocessing.connection.Listener.accept``: an accepted TCP connection's sends are
    checked as a client's are (its peer is the address it was accepted from)."""
    cls = mod.Listener
    orig = cls.accept
    if getattr(orig, "_jg", False):
        return

    def accept(self: Any) -> Any:
        c = orig(self)
        peer = getattr(self, "last_accepted", None)
        if isinstance(peer, tuple) and peer:
            try:
                c._jg_peer = str(peer[0]).lower()
            except AttributeError:   # a connection type without attributes: sent unchecked
                pass
        return c
    checked = sealed(accept, orig)   # its cells out of a cell's reach
    checked._jg = True   # a mark on the guard's own wrapper
    type.__setattr__(cls, "accept", checked)
    module_patched[(cls, "accept")] = checked
