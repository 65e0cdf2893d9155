"""Known SSNs respelt in plain Python objects (red team 22, item 3b; ``hooks/known_fuzzy``): one
character inserted (``'~'``, ``'x'``, a zero-width space or a soft hyphen that a list's repr
writes as its escape), the digit groups reordered or rotated, every character shifted by one,
the value cut into a tuple of two pieces. Each form of all 300 SSNs of a real DuckDB file
(random people) goes to print, a file, a child's stdin, an HTTP header to a local listener and
``display(HTML(...))``; judged by effect: every message of the cell, the file and the child's
output on disk, every byte the listener received; none of the 300 may be recoverable. Honest
twins (UUIDs, phone-like order numbers (``ORD-555-123-4567``: a bare phone number is masked by
the phone detector, as before), dates, amounts, a count of gmail addresses) print and
write intact; the real e-mail column is masked as usual.
"""
from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.hooks import known_fuzzy
from tests.conftest import new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
FORMS = {   # name: (the form of ``s`` in the kernel, the same here)
    "tilde": ("s[:5] + '~' + s[5:]", lambda s: s[:5] + "~" + s[5:]),
    "letter": ("s[:5] + 'x' + s[5:]", lambda s: s[:5] + "x" + s[5:]),
    "pipe": ("s[:5] + '|' + s[5:]", lambda s: s[:5] + "|" + s[5:]),
    "reordered": ("s[7:] + '-' + s[4:6] + '-' + s[:3]", lambda s: s[7:] + "-" + s[4:6] + "-"
                  + s[:3]),
    "rotated": ("s[4:] + ' ' + s[:4]", lambda s: s[4:] + " " + s[:4]),
    "zero-width": ("s[:5] + '\\u200b' + s[5:]", lambda s: s[:5] + "\u200b" + s[5:]),
    "soft hyphen": ("s[:5] + '\\xad' + s[5:]", lambda s: s[:5] + "\xad" + s[5:]),
    "shifted": ("''.join(chr(ord(c) + 1) for c in s)", lambda s: "".join(chr(ord(c) + 1)
                                                                          for c in s)),
    "tuple": ("(s[:5], s[5:])", lambda s: (s[:5], s[5:])),
}
EXITS = {   # name: code sending ``F`` (the list of forms) out
    "print": "print(F)",
    "file": "open('out.txt', 'w').write('\\n'.join(map(str, F)))",
    "child stdin": ("import subprocess\nsubprocess.run(['sh', '-c', 'cat > child.txt'], "
                    "input='\\n'.join(map(str, F)).encode())"),
    "header": ("import urllib.request as u\nu.urlopen(u.Request(URL, headers={'X-D': "
               "','.join(map(str, F)).encode('ascii', 'replace').decode()})).read()"),
    "html": "from IPython.display import HTML, display\ndisplay(HTML('<br>'.join(map(str, F))))",
}


class Sink:
    """A loopback HTTP listener that keeps every byte it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.got = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(5)
            buf = b""
            try:
                while b"\r\n\r\n" not in buf and (chunk := conn.recv(65536)):
                    buf += chunk
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except OSError:
                pass
            conn.close()
            with self.lock:
                self.got += buf

    def take(self) -> str:
        with self.lock:
            out, self.got = bytes(self.got), bytearray()
        return out.decode("latin-1")


def _people(path: Path) -> list[tuple[int, str, str]]:
    rng = random.Random(22)
    ssns: set[str] = set()
    while len(ssns) < N:
        ssns.add(f"{rng.randint(1, 899):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}")
    names = ["ana", "bo", "carl", "dina", "eve", "fred", "gia", "hal"]
    doms = ["gmail.com", "yahoo.com", "acme.org", "proton.me"]
    rows = [(i, f"{rng.choice(names)}.{rng.choice(names)}{rng.randint(1, 999)}@"
                f"{rng.choice(doms)}", s) for i, s in enumerate(sorted(ssns, key=lambda _: rng.random()))]
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers (id BIGINT, email VARCHAR, ssn VARCHAR)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", rows)
    con.close()
    return rows


@pytest.fixture(scope="module")
def setup(work_root: Path) -> Iterator[tuple[Kernel, Path, list[tuple[int, str, str]], Sink]]:
    d = new_workspace(work_root, data=False)
    rows = _people(d / "wh.duckdb")
    sink = Sink()
    with guarded_kernel(d, {"JUPYTER_GUARD_USER": "mallory"}, connect=True) as k:
        k.ok(f"URL = 'http://127.0.0.1:{sink.port}/'\n"
             "df = con.sql('SELECT * FROM customers').df(); S = list(df.ssn)")
        yield k, d, rows, sink
    sink.sock.close()


_ESC = re.compile(r"\\(?:u200b|xad)")


def recovered(text: str, rows: list[tuple[int, str, str]], form: Any) -> int:
    """How many SSNs a reader finds in ``text`` in this form (escapes read back)."""
    text = _ESC.sub(lambda m: "\u200b" if "200b" in m.group() else "\xad", text)
    n = 0
    for _, _, s in rows:
        f = form(s)
        spelt = [repr(f), f"{f[0]}\n{f[1]}"] if isinstance(f, tuple) else [f]
        n += any(x in text for x in spelt)
    return n


def _wait(path: Path, ran: bool) -> str:
    """The file's text once written (a child writes it after the cell ends)."""
    deadline = time.monotonic() + 10
    while ran and not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.read_text("utf-8", "replace") if path.exists() else ""


@pytest.mark.parametrize("exit_", list(EXITS))
@pytest.mark.parametrize("name", list(FORMS))
def test_respelt_values_reach_no_exit(setup: Any, name: str, exit_: str) -> None:
    k, d, rows, sink = setup
    code, form = FORMS[name]
    for f in ("out.txt", "child.txt"):
        (d / f).unlink(missing_ok=True)
    sink.take()
    r = k.run(f"F = [{code} for s in S]\n{EXITS[exit_]}")
    if not r.ok:
        assert "exfiltration" in r.everything() or "Blocked" in r.everything(), r.everything()
    seen = r.everything()
    if exit_ == "file":
        seen += _wait(d / "out.txt", r.ok)
    elif exit_ == "child stdin":
        seen += _wait(d / "child.txt", r.ok)
    elif exit_ == "header":
        seen += sink.take()
    assert recovered(seen, rows, form) == 0, (name, exit_, seen[:300])


def test_honest_twins_print_and_write_intact(setup: Any) -> None:
    k, d, rows, _ = setup
    code = ("import uuid, random\nrng = random.Random(5)\n"
            "U = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(300)]\n"
            "P = [f'ORD-{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}'"
            " for _ in range(300)]\n"
            "O = [f'ORD-{rng.randint(100000, 999999)}-{rng.randint(100, 999)}'"
            " for _ in range(300)]\n"
            "T = [f'2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}' for _ in range(300)]\n"
            "A = [f'{rng.uniform(0, 99999):,.2f}' for _ in range(300)]\n"
            "H = U + P + O + T + A\n")
    k.ok(code)
    r = k.ok("print(H)")
    assert "\u2588" not in r.stream
    expected = k.ok("print(len(str(H)))").stream.strip()
    assert len(r.stream.strip()) == int(expected)
    k.ok("open('honest.txt', 'w').write('\\n'.join(H))")
    assert (d / "honest.txt").read_text().count("\n") == len(rows) * 5 - 1
    r = k.ok("print(con.sql(\"SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com'\")"
             ".fetchall())")
    n = sum(e.endswith("@gmail.com") for _, e, _ in rows)
    assert f"[({n},)]" in r.stream
    r = k.ok("print(list(df.email))")
    assert not any(e in r.everything() for _, e, _ in rows)
    r = k.ok("print(S[:3])")   # the raw values, masked as before
    assert not any(s in r.everything() for _, _, s in rows)


def test_glued_codes_and_clustered_numbers_are_no_respelling() -> None:
    """In process: letters glued to a number's ends (a product code) are no respelling, and a
    one-digit match among clustered known numbers (``100000000 + i``) is no evidence; the same
    forms of spread-out known numbers are found: a character inside the digits, or the known
    value itself with letters glued to it."""
    clustered = {str(100000000 + i) for i in range(200)}
    assert known_fuzzy.spans("SKU100000999X, id9100000005, order 100000245", clustered) == []
    assert known_fuzzy.spans("1000~00999 1000x00005", clustered) == []
    rng = random.Random(7)
    spread = {f"{rng.randint(100, 899)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}"
              for _ in range(200)}
    a, b = sorted(spread)[:2]
    near = a[:-1] + str((int(a[-1]) + 1) % 10)   # one digit away
    assert known_fuzzy.spans(f"SKU{near}X, id9{b}", spread) == []
    assert len(known_fuzzy.spans(f"{near[:4]}~{near[4:]} {b[:4]}x{b[4:]}", spread)) == 2
    assert len(known_fuzzy.spans(f"SKU{a}X, {b}y", spread)) == 2
