"""Socket routes below the Python socket methods, in a real kernel: the C type's methods
(``_socket.socket.sendall(s, data)``), ``socket.sendfile``/``os.sendfile`` of a file holding
sensitive values, ``posix.write`` on a socket, Unix-domain sockets (a path listener and
``socketpair``). Each attack asserts on the bytes the listener (or the other end) received; each
plain twin arrives byte for byte."""
from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exit_socket import PLAIN, Sink, _no_raw, _settled
from tests.enforce.test_exits import EMAILS, SSNS, Recorder
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

LIB = "c = http.client.HTTPConnection('127.0.0.1', P)\nc.connect()\n"
ROUTES = [
    pytest.param(LIB + "_socket.socket.sendall(c.sock, D.encode())", id="c-type-sendall"),
    pytest.param(LIB + "_socket.SocketType.send(c.sock, D.encode()[:60000])", id="c-type-send"),
    pytest.param(LIB + "with open(F, 'rb') as f:\n    c.sock.sendfile(f)", id="socket-sendfile"),
    pytest.param(LIB + "with open(F, 'rb') as f:\n"
                 "    os.sendfile(c.sock.fileno(), f.fileno(), 0, 1 << 20)", id="os-sendfile"),
    pytest.param(LIB + "import posix\nposix.write(c.sock.fileno(), D.encode())",
                 id="posix-write"),
    # the C type reached through no name the text gives it
    pytest.param(LIB + "type(c.sock).__mro__[-2].sendall(c.sock, D.encode())", id="mro-of-type"),
    pytest.param(LIB + "super(type(c.sock), c.sock).sendall(D.encode())", id="super-of-type"),
    pytest.param(LIB + "T = type(c.sock).__mro__[-2]\nvars(T)['send' + 'all'](c.sock, D.encode())",
                 id="vars-of-the-c-type"),
    pytest.param(LIB + "getattr(type(c.sock).__bases__[0], 'sendall')(c.sock, D.encode())",
                 id="bases-getattr"),
    pytest.param(LIB + "object.__getattribute__(c.sock, 'sendall')(D.encode())",
                 id="object-getattribute"),
    # a file moved into a pipe, then on into the socket
    pytest.param(LIB + "with open(F, 'rb') as f:\n    r, w = os.pipe()\n"
                 "    while (n := os.splice(f.fileno(), w, 1 << 16)):\n"
                 "        while n > 0:\n            n -= os.splice(r, c.sock.fileno(), n)",
                 id="os-splice"),
]


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, http.client, os, socket, _socket\n"
              "con = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


@pytest.fixture()
def rec() -> Iterator[Recorder]:
    r = Sink()
    yield r
    r.close()


@pytest.mark.parametrize("col", ["email", "ssn"])
@pytest.mark.parametrize("code", ROUTES)
def test_routes_below_the_socket_methods_send_no_sensitive_value(k: Kernel, rec: Recorder,
                                                                 code: str, col: str) -> None:
    # the file a sendfile sends holds the warehouse's values (the kernel read them: known)
    f = k.workdir / f"{col}.txt"
    f.write_text("\n".join((EMAILS if col == "email" else SSNS)[:2000]))
    k.blocked(f"P = {rec.port}\nF = {str(f)!r}\nD = '\\n'.join(df.{col}.tolist())\n{code}",
              "exfiltration")
    _no_raw(_settled(rec))
    k.ok("c.close()")


@pytest.mark.parametrize("code", ROUTES)
def test_routes_below_the_socket_methods_send_plain_data_intact(k: Kernel, rec: Recorder,
                                                                code: str) -> None:
    expected = eval(k.run(f"print(repr({PLAIN}))").stream.strip())   # the repr the kernel printed
    f = k.workdir / "plain.txt"
    f.write_text(expected)
    k.ok(f"P = {rec.port}\nF = {str(f)!r}\nD = {PLAIN}\n{code}\nc.close()")
    want = expected if "SocketType.send(" not in code else expected[:60000]
    assert _settled(rec, len(want)).decode() == want


def test_the_c_type_still_answers_isinstance(k: Kernel) -> None:
    out = k.ok("s = socket.socket()\nprint(isinstance(s, _socket.socket), "
               "isinstance(s, socket.SocketType), issubclass(socket.socket, _socket.socket))\n"
               "s.close()")
    assert out.text.strip() == "True True True"


class UnixSink:
    """A Unix-domain listener that keeps every byte it receives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
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
            conn.settimeout(60)
            try:
                while chunk := conn.recv(65536):
                    self.received += chunk
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.mark.parametrize("payload, raw", [
    pytest.param("'\\n'.join(df.ssn.tolist())", True, id="ssns"),
    pytest.param(PLAIN, False, id="plain"),
])
def test_a_unix_domain_socket(k: Kernel, payload: str, raw: bool) -> None:
    path = Path("/tmp") / f"jg-{uuid.uuid4().hex[:8]}.sock"
    sink = UnixSink(path)
    try:
        code = (f"u = socket.socket(socket.AF_UNIX)\nu.connect({str(path)!r})\n"
                f"try:\n    u.sendall(({payload}).encode())\nfinally:\n    u.close()")
        if raw:
            r = k.blocked(code, "exfiltration")
            assert "unix:" in r.error["evalue"]
            _no_raw(_settled(sink))   # type: ignore[arg-type]  # has .received like Recorder
        else:
            k.ok(code)
            expected = eval(k.run(f"print(repr({payload}))").stream.strip())
            assert _settled(sink, len(expected)).decode() == expected  # type: ignore[arg-type]
    finally:
        sink.close()
        path.unlink(missing_ok=True)


def test_a_socketpair_carries_no_sensitive_value_and_plain_data_intact(k: Kernel) -> None:
    k.blocked("a, b = socket.socketpair()\na.sendall('\\n'.join(df.email.tolist()).encode())",
              "exfiltration")
    out = k.ok("b.setblocking(False)\ntry:\n    got = b.recv(1 << 20)\n"
               "except BlockingIOError:\n    got = b''\nprint(len(got))\na.close()\nb.close()")
    assert out.text.strip() == "0"
    out = k.ok(f"a, b = socket.socketpair()\nP = ({PLAIN}).encode()\na.sendall(P[:60000])\n"
               "got = b''\nwhile len(got) < min(len(P), 60000):\n    got += b.recv(65536)\n"
               "print(got == P[:60000])\na.close()\nb.close()")
    assert out.text.strip() == "True"


@pytest.mark.parametrize("code", [
    pytest.param(LIB + "super(socket.socket, c.sock).sendall(D.encode())", id="super-two-args"),
    pytest.param(LIB + "socket.socket.__mro__[1].sendall(c.sock, D.encode())", id="mro"),
    pytest.param("from socket import socket as S\n" + LIB + "S.__base__.sendall(c.sock, D.encode())",
                 id="base-of-an-alias"),
])
def test_the_raw_type_named_through_the_class_hierarchy_is_refused(k: Kernel, rec: Recorder,
                                                                  code: str) -> None:
    k.blocked(f"P = {rec.port}\nD = '\\n'.join(df.email.tolist())\n{code}", "self-protection")
    _no_raw(_settled(rec))
    k.ok("try:\n    c.close()\nexcept NameError:\n    pass")


def test_a_socket_subclass_with_plain_super_still_sends(k: Kernel, rec: Recorder) -> None:
    k.ok(f"class Mine(socket.socket):\n    def sendall(self, data):\n"
         f"        return super().sendall(data)\n"
         f"c = http.client.HTTPConnection('127.0.0.1', {rec.port})\nc.connect()\n"
         "m = Mine(fileno=os.dup(c.sock.fileno()))\nm.sendall(b'plain city data\\n')\n"
         "m.close()\nc.close()")
    assert _settled(rec, 16) == b"plain city data\n"


def test_the_c_types_checked_send_is_put_back_before_the_next_cell(k: Kernel, rec: Recorder) -> None:
    """An entry of the type's dictionary replaced by one cell is checked again in the next cell.
    The C method itself is out of a cell's reach (the checked function is sealed: no
    ``__closure__`` to take it from), so a stand-in that sends nothing replaces it."""
    r = k.ok("import gc\nz = socket.socket()\nT = type(z).__mro__[-2]\nz.close()\n"
             "print('closure', getattr(T.sendall, '__closure__', 'none'))\n"
             "def raw(s, data):\n    return None\n"
             "gc.get_referents(T.__dict__)[0]['sendall'] = raw")
    assert "closure none" in r.stream, r.everything()
    assert k.ok("print(vars(T)['sendall'] is raw)").text.strip() == "False"
    k.blocked(f"P = {rec.port}\nD = '\\n'.join(df.email.tolist())\n{LIB}"
              "T.sendall(c.sock, D.encode())", "exfiltration")
    _no_raw(_settled(rec))
    k.ok("c.close()")
