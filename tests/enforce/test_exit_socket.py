"""Socket exits in a real kernel: sockets user code did not connect itself (one a library
connected, one a server in the kernel accepted, `multiprocessing.connection`'s accepted side)
send no raw sensitive value, whole or a few characters at a time, and a loopback listener (or
client) receives none of it; the plain twin of each arrives byte for byte."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exits import EMAILS, SSNS, Recorder
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

PLAIN = "'\\n'.join(df.city.tolist()) + '\\n' + '\\n'.join(map(str, df.id.tolist()))"

LIBRARY_SOCKET = [
    pytest.param("c = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
                 "c.sock.sendall(D.encode())\nc.close()", id="http-client-sock-sendall"),
    pytest.param("c = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
                 "c.send(D.encode())\nc.close()", id="http-client-send"),
    pytest.param("c = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
                 "v = memoryview(D.encode())\nwhile v:\n    v = v[c.sock.send(v):]\nc.close()",
                 id="send-loop"),
    pytest.param("c = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
                 "c.sock.sendmsg([D[:3000].encode(), D[3000:].encode()])\nc.close()",
                 id="sendmsg"),
    pytest.param("c = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
                 "for ch in D[:400]:\n    c.sock.send(ch.encode())\nc.close()",
                 id="one-character-at-a-time"),
]


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, http.client, socket, threading\n"
              "con = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


class Sink(Recorder):
    """A loopback listener that keeps every byte of every connection until the peer closes it
    (no idle timeout: a loaded machine may be slow to send)."""

    def _serve(self) -> None:
        import threading

        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(120)
        try:
            while chunk := conn.recv(65536):
                self.received += chunk
                if b"\r\n\r\n" in chunk and chunk[:4] in (b"GET ", b"HEAD"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n"
                                 b"Connection: close\r\n\r\ncity,n\n\n")
                    break
        except OSError:
            pass
        finally:
            conn.close()


@pytest.fixture()
def rec() -> Iterator[Recorder]:
    r = Sink()
    yield r
    r.close()


def _no_raw(data: bytes | bytearray) -> None:
    text = bytes(data).decode("latin-1")
    hits = [v for v in SSNS[:300] + EMAILS[:300] if v in text]
    assert not hits, hits[:3]


def _settled(rec: Recorder, size: int = 0, timeout: float = 10.0) -> bytes:
    """What the listener holds once ``size`` bytes came (or, for ``size=0``, after a moment in
    which bytes that got through would have arrived)."""
    end = time.monotonic() + (timeout if size else 0.5)
    while time.monotonic() < end and (not size or len(rec.received) < size):
        time.sleep(0.05)
    return bytes(rec.received)


@pytest.mark.parametrize("col", ["email", "ssn"])
@pytest.mark.parametrize("code", LIBRARY_SOCKET)
def test_a_library_connected_socket_sends_no_sensitive_value(k: Kernel, rec: Recorder, code: str,
                                                             col: str) -> None:
    r = k.blocked(f"P = {rec.port}\nD = '\\n'.join(df.{col}.tolist())\n{code}", "exfiltration")
    assert "127.0.0.1" in r.error["evalue"]
    _no_raw(_settled(rec))
    k.ok("try:\n    c.close()\nexcept Exception:\n    pass")


@pytest.mark.parametrize("code", LIBRARY_SOCKET[:4])
def test_a_library_connected_socket_sends_plain_data_intact(k: Kernel, rec: Recorder,
                                                            code: str) -> None:
    k.ok(f"P = {rec.port}\nD = {PLAIN}\nprint(len(D))\n{code}")
    expected = k.run(f"print(repr({PLAIN}))").stream.strip()   # maybe in several messages
    got = _settled(rec, len(eval(expected)))   # the repr of a str the kernel printed
    assert got.decode() == eval(expected)


def test_a_drivers_sql_with_a_typed_literal_arrives(k: Kernel, rec: Recorder) -> None:
    """A socket also carries database drivers' SQL: an e-mail typed into a query is no value of
    a guarded table (the SQL rules judge literals), so it is sent as written."""
    sql = b"SELECT id FROM t WHERE email = 'someone.new@example.org'"
    k.ok(f"P = {rec.port}\nc = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
         f"c.sock.sendall({sql!r})\nc.close()")
    assert _settled(rec, len(sql)) == sql


def _client(port: int) -> socket.socket:
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    c.settimeout(30)
    return c


def _read_all(c: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := c.recv(65536):
            out += chunk
    except OSError:
        pass
    return out


SERVE = ("srv = socket.create_server(('127.0.0.1', 0))\nprint(srv.getsockname()[1])")


@pytest.mark.parametrize("col", ["email", "ssn"])
def test_a_connection_the_kernel_accepted_sends_no_sensitive_value(k: Kernel, col: str) -> None:
    port = int(k.ok(SERVE).text.strip())
    c = _client(port)
    try:
        k.blocked(f"conn, _ = srv.accept()\ntry:\n"
                  f"    conn.sendall('\\n'.join(df.{col}.tolist()).encode())\n"
                  "finally:\n    conn.close()\n    srv.close()", "exfiltration")
        _no_raw(_read_all(c))
    finally:
        c.close()


def test_a_connection_the_kernel_accepted_sends_plain_data_intact(k: Kernel) -> None:
    port = int(k.ok(SERVE).text.strip())
    c = _client(port)
    try:
        k.ok(f"conn, _ = srv.accept()\nconn.sendall(({PLAIN}).encode())\nconn.close()\n"
             "srv.close()")
        got = _read_all(c).decode()
    finally:
        c.close()
    lines = got.split("\n")
    assert lines[:3] == ["Paris", "Lyon", "Nice"] and lines[-1] == "4999", got[:80]


MP_SERVE = ("from multiprocessing.connection import Listener\n"
            "lst = Listener(('127.0.0.1', 0))\nprint(lst.address[1])")


def _mp_client(port: int) -> Any:
    from multiprocessing.connection import Client

    return Client(("127.0.0.1", port))


def test_multiprocessing_listener_side_sends_no_sensitive_value(k: Kernel) -> None:
    port = int(k.ok(MP_SERVE).text.strip())
    c = _mp_client(port)
    try:
        k.blocked("m = lst.accept()\ntry:\n    m.send(df.email.tolist())\n"
                  "    m.send_bytes('\\n'.join(df.ssn.tolist()).encode())\n"
                  "finally:\n    m.close()\n    lst.close()", "exfiltration")
        got = b""
        try:
            while c.poll(1):
                got += c.recv_bytes()
        except (EOFError, OSError):
            pass
        _no_raw(got)
    finally:
        c.close()


def test_multiprocessing_listener_side_sends_plain_data_intact(k: Kernel) -> None:
    port = int(k.ok(MP_SERVE).text.strip())
    c = _mp_client(port)
    try:
        k.ok("m = lst.accept()\nm.send(df.city.tolist()[:100])\nm.close()\nlst.close()")
        assert c.poll(30)
        assert c.recv()[:3] == ["Paris", "Lyon", "Nice"]
    finally:
        c.close()


def test_ordinary_http_gets_still_work(k: Kernel, rec: Recorder) -> None:
    out = k.ok(f"import urllib.request, requests\nU = 'http://127.0.0.1:{rec.port}/x?city=Paris'\n"
               "print(urllib.request.urlopen(U).read(), requests.get(U).status_code)")
    assert "b'city,n\\n\\n' 200" in out.text, out.text


def test_an_allowed_host_receives_and_a_swapped_socket_does_not(work_root: Any) -> None:
    """With 127.0.0.1 in `network.allow_hosts`, an HTTP GET carrying an e-mail reaches it
    (the policy allows that host); the same connection's `sock` swapped for one to 127.0.0.2
    is judged by its own peer, and nothing reaches 127.0.0.2."""
    from tests.conftest import new_workspace
    from tests.kernelutil import guarded_kernel

    d = new_workspace(work_root, data=False)
    allowed, other = Sink(), Sink("127.0.0.2")
    policy = "version: 1\nextends: default\nnetwork:\n  allow_hosts: ['127.0.0.1']\n"
    try:
        with guarded_kernel(d, policy=policy, warehouse=50, connect=True) as kk:
            kk.ok("import http.client, urllib.request\n"
                  "df = con.sql('SELECT * FROM customers ORDER BY id').df()\n"
                  "E = df.email.tolist()")
            kk.ok(f"urllib.request.urlopen('http://127.0.0.1:{allowed.port}/?e=' + E[0]).read()")
            assert b"user0@example.com" in _settled(allowed, 10)
            kk.blocked(f"c = http.client.HTTPConnection('127.0.0.1', {allowed.port})\n"
                       f"o = http.client.HTTPConnection('127.0.0.2', {other.port})\n"
                       "o.connect()\nc.sock = o.sock\nc.send(','.join(E).encode())",
                       "exfiltration")
            _no_raw(_settled(other))
    finally:
        allowed.close()
        other.close()


ASYNC_SERVE = """import asyncio
async def _serve(reader, writer, payload={payload}):
    try:
        writer.write(payload.encode())
        await writer.drain()
    finally:
        writer.close()
server = await asyncio.start_server(_serve, '127.0.0.1', 0)
print(server.sockets[0].getsockname()[1])"""


@pytest.mark.parametrize("payload, raw", [
    pytest.param("'\\n'.join(df.email.tolist())", True, id="emails"),
    pytest.param(PLAIN, False, id="plain"),
])
def test_an_asyncio_server_in_the_kernel(k: Kernel, payload: str, raw: bool) -> None:
    """A connection an asyncio server in the kernel accepted: its writes leave from the event
    loop (no cell on the stack), and still carry no value read from a sensitive column."""
    port = int(k.ok(ASYNC_SERVE.format(payload=payload)).text.strip())
    try:
        c = _client(port)
        c.settimeout(5 if raw else 60)
        try:
            got = _read_all(c)
        finally:
            c.close()
        if raw:
            _no_raw(got)
        else:
            lines = got.decode().split("\n")
            assert lines[:3] == ["Paris", "Lyon", "Nice"] and lines[-1] == "4999", got[:80]
    finally:
        k.ok("server.close()")
