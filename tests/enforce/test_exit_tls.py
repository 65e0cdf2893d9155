"""TLS below ``ssl.SSLSocket.send``, in a real kernel: the C object's ``write``
(``s._sslobj.write``) and TLS in memory (``ssl.SSLObject`` over ``MemoryBIO``, its encrypted
bytes carried by a plain socket). The listener is a TLS server in the test process: it decrypts
and keeps every plain byte it receives, which is what each test asserts on."""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exit_socket import PLAIN, _no_raw, _settled
from tests.kernelutil import Kernel

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")]

CTX = ("ctx = ssl.create_default_context()\nctx.check_hostname = False\n"
       "ctx.verify_mode = ssl.CERT_NONE\n")
ROUTES = [
    pytest.param(CTX + "c = http.client.HTTPSConnection('127.0.0.1', P, context=ctx)\n"
                 "c.connect()\nc.sock._sslobj.write(D.encode())\nc.close()", id="sslobj-write"),
    pytest.param(CTX + "c = http.client.HTTPSConnection('127.0.0.1', P, context=ctx)\n"
                 "c.connect()\nssl.SSLSocket.sendall(c.sock, D.encode())\nc.close()",
                 id="sslsocket-sendall"),
    pytest.param(CTX + "c = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
                 "s = c.sock\ninc, out = ssl.MemoryBIO(), ssl.MemoryBIO()\n"
                 "o = ctx.wrap_bio(inc, out)\n"
                 "while True:\n    try:\n        o.do_handshake()\n        break\n"
                 "    except ssl.SSLWantReadError:\n        s.sendall(out.read())\n"
                 "        inc.write(s.recv(65536))\n"
                 "s.sendall(out.read())\no.write(D.encode())\ns.sendall(out.read())\n"
                 "s.close()", id="memory-bio"),
]


class TlsSink:
    """A loopback TLS server that keeps every plain byte of every connection."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(120)
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                while chunk := tls.recv(65536):
                    self.received += chunk
        except (OSError, ssl.SSLError):
            pass   # the peer went away mid-record: what came is kept

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")], check=True, capture_output=True, timeout=120)
    return d / "cert.pem", d / "key.pem"


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, http.client, socket, ssl\n"
              "con = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


@pytest.fixture()
def rec(cert: tuple[Path, Path]) -> Iterator[TlsSink]:
    r = TlsSink(*cert)
    yield r
    r.close()


@pytest.mark.parametrize("col", ["email", "ssn"])
@pytest.mark.parametrize("code", ROUTES)
def test_tls_below_the_socket_methods_sends_no_sensitive_value(k: Kernel, rec: TlsSink,
                                                               code: str, col: str) -> None:
    k.blocked(f"P = {rec.port}\nD = '\\n'.join(df.{col}.tolist())\n{code}", "exfiltration")
    _no_raw(_settled(rec))
    k.ok("try:\n    c.close()\nexcept NameError:\n    pass")


@pytest.mark.parametrize("code", ROUTES)
def test_tls_below_the_socket_methods_sends_plain_data_intact(k: Kernel, rec: TlsSink,
                                                              code: str) -> None:
    expected = eval(k.run(f"print(repr({PLAIN}))").stream.strip())   # the repr the kernel printed
    k.ok(f"P = {rec.port}\nD = {PLAIN}\n{code}")
    assert _settled(rec, len(expected)).decode() == expected


def test_an_https_request_to_the_listener_still_works(k: Kernel, rec: TlsSink) -> None:
    """The usual TLS route (``SSLSocket.send`` under ``http.client``) with plain data."""
    k.ok(f"{CTX}c = http.client.HTTPSConnection('127.0.0.1', {rec.port}, context=ctx)\n"
         "c.request('GET', '/?city=Paris&n=3')\nc.close()")
    end = time.monotonic() + 30
    while b"\r\n\r\n" not in rec.received and time.monotonic() < end:
        time.sleep(0.05)
    got = bytes(rec.received)
    assert got.startswith(b"GET /?city=Paris&n=3 HTTP/1.1\r\n") and got.endswith(b"\r\n\r\n")
