"""Loopback listeners for ``test_red15e_network`` that keep every byte they receive, one buffer
per connection (so two connections at once never interleave a value): an HTTP server that
answers every method (reading ``Content-Length`` and chunked bodies, ``Expect: 100-continue``,
an XML-RPC answer to ``text/xml``), a raw TCP sink, a UDP sink and a line server that answers
SMTP and FTP commands. ``settle`` waits until every connection made before it is read."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

_CSV = b"city,n\nParis,3\nLyon,2\n"
_XML = (b"<?xml version='1.0'?><methodResponse><params><param><value><string>ok</string>"
        b"</value></param></params></methodResponse>")
_MARK = b"R15E-MARK"


def _http(conn: socket.socket, buf: bytearray) -> None:
    while b"\r\n\r\n" not in buf:
        if not (chunk := conn.recv(65536)):
            return
        buf += chunk
    head, _, body = bytes(buf).partition(b"\r\n\r\n")
    lower = head.lower()
    if b"expect: 100-continue" in lower:
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    length = 0
    for line in lower.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    chunked = b"transfer-encoding: chunked" in lower
    while (len(body) < length) or (chunked and not body.endswith(b"0\r\n\r\n")):
        if not (chunk := conn.recv(65536)):
            break
        buf += chunk
        body += chunk
    out = _XML if b"text/xml" in lower else _CSV
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                 + str(len(out)).encode() + b"\r\nConnection: close\r\n\r\n" + out)


def _sink(conn: socket.socket, buf: bytearray) -> None:
    while chunk := conn.recv(65536):
        buf += chunk


_REPLIES = {b"USER": b"331 ok", b"PASS": b"230 ok", b"DATA": b"354 go on", b"QUIT": b"221 bye"}


def _lines(conn: socket.socket, buf: bytearray) -> None:
    """SMTP and FTP, enough for ``smtplib.sendmail`` and ``ftplib`` logins and commands."""
    conn.sendall(b"220 ok\r\n")
    data = False
    while chunk := conn.recv(65536):
        start = len(buf)
        buf += chunk
        for line in bytes(buf[start:]).split(b"\r\n")[:-1] if buf.endswith(b"\r\n") else []:
            if data:
                if line == b".":
                    data = False
                    conn.sendall(b"250 queued\r\n")
                continue
            verb = line.split(b" ")[0].upper()
            data = verb == b"DATA"
            conn.sendall(_REPLIES.get(verb, b"250 ok") + b"\r\n")
            if verb == b"QUIT":
                return


def _unacked(port: int) -> dict[int, int]:
    """For each IPv4 TCP socket connected to ``port`` on this host: its local port and the bytes
    it sent that are not yet acknowledged (``tx_queue`` in ``/proc/net/tcp``)."""
    out: dict[int, int] = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if int(remote.split(":")[1], 16) == port:
                out[int(local.split(":")[1], 16)] = int(queues.split(":")[0], 16)
    return out


class Listener:
    """A TCP listener on 127.0.0.1: each connection served by ``serve`` in its own thread."""

    def __init__(self, serve: Callable[[socket.socket, bytearray], None]) -> None:
        self.serve = serve
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns: list[bytearray] = []
        self.open: set[int] = set()
        self.peers: dict[int, tuple[socket.socket, int]] = {}   # open ones: socket, client port
        self.lock = threading.Condition()   # notified as each connection ends
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            buf = bytearray()
            with self.lock:
                self.conns.append(buf)
                self.open.add(id(buf))
                self.peers[id(buf)] = (conn, int(addr[1]))
            threading.Thread(target=self._one, args=(conn, buf), daemon=True).start()

    def _one(self, conn: socket.socket, buf: bytearray) -> None:
        # a backstop only (``settle`` ends a connection once the cell is over): 3 s would cut the
        # connection of a sender that pauses longer between two sends (a kernel at load 10+)
        conn.settimeout(120.0)
        try:
            self.serve(conn, buf)
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.open.discard(id(buf))
                self.peers.pop(id(buf), None)
                self.lock.notify_all()

    def _end_delivered(self) -> None:
        """Each connection still open whose client has nothing unacknowledged left (every byte
        it sent is in this side's receive queue) is shut for reading: ``serve`` reads what is
        queued, then sees the end. Called once the cell is over (nothing more will be sent),
        under ``self.lock``."""
        unacked = _unacked(self.port)
        for key, (conn, port) in list(self.peers.items()):
            if unacked.get(port, 0) == 0:
                try:
                    conn.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
                del self.peers[key]

    def settle(self) -> bytes:
        """Every byte received so far, once each connection made before this call is read to
        its end (a marker connection is accepted after them: the backlog is in order)."""
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(_MARK)
        deadline = time.monotonic() + 60
        with self.lock:
            assert self.lock.wait_for(lambda: any(b.startswith(_MARK) for b in self.conns),
                                      timeout=60), "the marker connection was never read"
            # the cell is over: a client that left its socket open sends nothing more, so its
            # connection ends once all it sent has arrived (a condition polled, not a wait)
            while self.open and time.monotonic() < deadline:
                self._end_delivered()
                self.lock.wait(timeout=0.01)
            assert not self.open, "a connection was never read to its end"
            data = b"\n--conn--\n".join(bytes(b) for b in self.conns)
            self.conns.clear()
            return data.replace(_MARK, b"")

    def close(self) -> None:
        self._stop = True
        self.sock.close()


class Udp:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got: list[bytes] = []
        self.came = threading.Condition()   # notified as each datagram is kept
        self._stop = False
        threading.Thread(target=self._recv, daemon=True).start()

    def _recv(self) -> None:
        while not self._stop:
            try:
                got = self.sock.recv(65536)
            except OSError:
                continue
            with self.came:
                self.got.append(got)
                self.came.notify_all()

    def settle(self) -> bytes:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(_MARK, ("127.0.0.1", self.port))
        with self.came:
            assert self.came.wait_for(lambda: _MARK in self.got, timeout=60), \
                "the marker datagram never came"
            data = b"\n--dgram--\n".join(self.got)
            self.got.clear()
        return data.replace(_MARK, b"")

    def close(self) -> None:
        self._stop = True
        self.sock.close()


class Listeners:
    """HTTP (``http``), raw TCP (``tcp``), UDP (``udp``) and SMTP/FTP (``mail``) on loopback."""

    def __init__(self) -> None:
        self.http, self.tcp, self.mail = Listener(_http), Listener(_sink), Listener(_lines)
        self.udp = Udp()

    def names(self) -> str:
        """The kernel's names for them."""
        return (f"PORT = {self.http.port}\nTPORT = {self.tcp.port}\nUPORT = {self.udp.port}\n"
                f"MPORT = {self.mail.port}\nURL = 'http://127.0.0.1:{self.http.port}/'\n"
                f"LURL = 'http://localhost:{self.http.port}/'")

    def settle(self) -> bytes:
        return b"\n--listener--\n".join(x.settle() for x in (self.http, self.tcp, self.mail,
                                                             self.udp))

    def close(self) -> None:
        for x in (self.http, self.tcp, self.mail, self.udp):
            x.close()
