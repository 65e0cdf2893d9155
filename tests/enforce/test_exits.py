"""One data-aware check at every file and network exit, in a real kernel: raw sensitive values
never reach a file, a loopback listener or a child; benign twins (plain data, downloads) work."""
from __future__ import annotations

import base64
import binascii
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import guarded_kernel

pytestmark = pytest.mark.kernel

SSNS = [f"{100000000 + n:09d}" for n in range(5000)]
EMAILS = [f"user{n}@example.com" for n in range(5000)]


class Recorder:
    """A loopback listener (127.0.0.1, free port) that keeps every byte, GETs included."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
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
            conn.settimeout(1.0)
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

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture()
def rec() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, json, pickle, numpy as np, pandas as pd\n"
              "con = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers').df()")
    return kernel


def _no_raw(text: str | bytes) -> None:
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    hits = [v for v in SSNS[:300] + EMAILS[:300] if v in text]
    assert not hits, hits[:3]


FILES = [
    pytest.param("open(F, 'w').write('\\n'.join(df.ssn.tolist()))", id="open-join-ssn"),
    pytest.param("open(F, 'w').write('\\n'.join(df.email.tolist()))", id="open-join-email"),
    pytest.param("with open(F, 'w') as fh:\n    for s in df['ssn']:\n        fh.write(s + ',')",
                 id="loop-of-writes"),
    pytest.param("json.dump(df.to_dict(), open(F, 'w'))", id="json-to-dict"),
    pytest.param("json.dump({'x': df.ssn.tolist()}, open(F, 'w'))", id="json-list"),
    pytest.param("pickle.dump(df.email.tolist(), open(F, 'wb'))", id="pickle"),
    pytest.param("np.save(F, df.email.values.astype(str))", id="np-save"),
    pytest.param("np.save(F, df.ssn.to_numpy().astype(str))", id="np-save-ssn"),
    pytest.param("import pyarrow as pa, pyarrow.parquet as pq\n"
                 "pq.write_table(pa.Table.from_pandas(df), F)", id="pyarrow-write-table"),
    pytest.param("df.style.to_html(F)", id="styler-to-html"),
    pytest.param("pd.core.generic.NDFrame.to_csv(df, F)", id="unbound-to-csv"),
    pytest.param("con.sql('SELECT name, email, ssn FROM (SELECT *, city AS name FROM customers)')"
                 ".write_csv(F)", id="relation-write-csv"),
    pytest.param("con.sql('SELECT id, ssn AS k FROM customers').write_parquet(F)",
                 id="relation-write-parquet-renamed"),
    pytest.param("from pathlib import Path\nPath(F).write_text(str(df.ssn.tolist()))",
                 id="pathlib-write-text"),
    pytest.param("r = df.rename(columns={'ssn': 'k'})\nopen(F, 'w').write(repr(list(r.k.values)))",
                 id="renamed-values"),
    pytest.param("import io\nio.FileIO(F, 'w').write(','.join(df.email[:50]).encode())",
                 id="fileio-direct"),
    pytest.param("import _io\nwith _io.FileIO(F, 'a') as f:\n    f.write(' '.join(df.ssn[:9]).encode())",
                 id="c-fileio-append"),
]


@pytest.mark.parametrize("code", FILES)
def test_file_exits_refuse_raw_values(k, code, request):
    f = f"exit_{request.node.callspec.id}.out"
    r = k.blocked(f"F = {f!r}\n{code}", "exfiltration")
    _no_raw(json.dumps([m["content"] for m in r.messages]))
    for p in k.workdir.glob(f + "*"):
        _no_raw(p.read_bytes())


# The raw C file classes, reached past the checked ``open``: refused when the cell itself opens a
# file for writing with them (their writes raise no event); reading with them is fine.
RAW_OPENS = [
    pytest.param("import io, _io\nio.open = _io.open\n"
                 "io.open(F, 'w').write(','.join(df.email[:50]))", id="io-open-restored"),
    pytest.param("import _io\n_io.open(F, 'w').write(','.join(df.email[:50]))", id="c-open"),
    pytest.param("B = type(open('wh.duckdb', 'rb', buffering=0))\n"
                 "B(F, 'w').write(','.join(df.email[:50]).encode())", id="type-of-raw-file"),
    pytest.param("import io\nB = io.FileIO.__mro__[1]\n"
                 "B(F, 'w').write(','.join(df.email[:50]).encode())", id="fileio-base-class"),
    pytest.param("B = type(open('wh.duckdb', 'rb', buffering=0))\nclass Mine(B):\n    pass\n"
                 "Mine(F, 'w').write(','.join(df.email[:50]).encode())", id="subclass-in-cell"),
]


@pytest.mark.parametrize("code", RAW_OPENS)
def test_raw_file_classes_cannot_open_for_writing_from_a_cell(k, code, request):
    f = f"raw_{request.node.callspec.id}.out"
    k.blocked(f"F = {f!r}\n{code}", "self-protection")
    for p in k.workdir.glob(f + "*"):
        _no_raw(p.read_bytes())
    r = k.ok("B = type(open('wh.duckdb', 'rb', buffering=0))\nprint(len(B('wh.duckdb').read(4)))")
    assert r.text.strip() == "4"


BENIGN_FILES = [
    pytest.param("open(F, 'w').write('\\n'.join(map(str, df.id.tolist())))", "4999",
                 id="open-ids"),
    pytest.param("json.dump(df[['city', 'amount']].to_dict(), open(F, 'w'))", "Paris",
                 id="json-plain"),
    pytest.param("pickle.dump(df.city.tolist(), open(F, 'wb'))", "Lyon", id="pickle-plain"),
    pytest.param("con.sql('SELECT city, amount FROM customers').write_csv(F)", "city,amount",
                 id="relation-plain"),
    pytest.param("with open(F, 'w') as fh:\n    fh.write(df.email.str.len().to_string())", "17",
                 id="derived-lengths-by-hand"),
    pytest.param("open(F, 'w').write(repr(df.head(3)))", "████", id="masked-text-passes"),
    pytest.param("import io\nio.FileIO(F, 'w').write(b'1,2,3')\n"
                 "assert isinstance(open(F, 'rb', buffering=0), io.FileIO)\n"
                 "assert issubclass(type(open(F, 'rb', buffering=0)), io.FileIO)", "1,2,3",
                 id="fileio-plain"),
]


@pytest.mark.parametrize(("code", "expect"), BENIGN_FILES)
def test_benign_files_are_written(k, code, expect, request):
    f = f"ok_{request.node.callspec.id}.out"
    k.ok(f"F = {f!r}\n{code}")
    assert expect in (k.workdir / f).read_text(encoding="utf-8", errors="replace")


NET = [
    pytest.param("import urllib.request as u\nu.urlopen(URL + '?d=' + ','.join(df.email[:50]))",
                 id="urlopen-query"),
    pytest.param("import urllib.request as u\nu.urlopen(URL + '?d=' + ','.join(df.ssn[:50]))",
                 id="urlopen-query-ssn"),
    pytest.param("import requests\nrequests.get(URL, params={'d': ','.join(df.ssn[:50].tolist())})",
                 id="requests-params"),
    pytest.param("import urllib.request as u\n"
                 "u.urlopen(u.Request(URL, headers={'X-D': ','.join(df.email[:5])}))",
                 id="header"),
    pytest.param("pd.read_csv(URL + '/x.csv?d=' + df.email[7])", id="read-csv-url"),
    pytest.param("from multiprocessing.connection import Client\n"
                 "c = Client(('127.0.0.1', PORT))\nc.send(df.email.tolist()[:20])",
                 id="multiprocessing-client"),
    pytest.param("e = ','.join(df.email[:3])\n"
                 "get_ipython().system(f'curl -s -m 2 \"{URL}?d={e}\"')",
                 id="shell-curl"),
    pytest.param("import subprocess\nsubprocess.run(['curl', '-s', '-m', '2', URL + '?d=' + "
                 "','.join(df.ssn[:20])])", id="subprocess-curl"),
]


@pytest.mark.parametrize("code", NET)
def test_network_exits_refuse_raw_values(k, rec, code):
    k.ok(f"PORT = {rec.port}\nURL = 'http://127.0.0.1:{rec.port}/'")
    r = k.run(code)
    assert "[exfiltration]" in r.everything(), r.everything()
    time.sleep(0.3)   # a request that got through would be recorded by now
    _no_raw(bytes(rec.received))
    _no_raw(json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply))


def test_download_without_sensitive_data_works(k, rec):
    r = k.ok(f"import urllib.request as u\nURL = 'http://127.0.0.1:{rec.port}/'\n"
             "print(u.urlopen(URL + 'x.csv?city=Paris').read())\n"
             "print(pd.read_csv(URL + 'x.csv').columns.tolist())")
    assert "city,n" in r.everything() and "['city', 'n']" in r.everything()
    assert b"city=Paris" in rec.received


def test_exfiltration_budget(tmp_path, rec):
    """An allowed host gets sensitive values only within the budget; over it the cell is refused
    and so is every later exit with sensitive values, while plain data still flows."""
    policy = ("version: 1\nextends: default\nnetwork:\n  allow_hosts: ['127.0.0.1']\n"
              "exfiltration:\n  max_sensitive_values_per_cell: 10\n"
              "  max_sensitive_values_per_session: 30\n")
    with guarded_kernel(tmp_path, {"JUPYTER_GUARD_USER": "ann"}, policy=policy,
                        warehouse=5000) as kern:
        assert kern.run("import duckdb, urllib.request as u\ncon = duckdb.connect('wh.duckdb')\n"
                        "df = con.sql('SELECT * FROM customers').df()\n"
                        f"URL = 'http://127.0.0.1:{rec.port}/'").status == "ok"
        r = kern.run("u.urlopen(URL + '?d=' + ','.join(df.email[:5])).read()")
        assert r.status == "ok", r.text
        assert wait_for(lambda: b"user4%40example.com" in rec.received or
                        b"user4@example.com" in rec.received)
        r = kern.run("u.urlopen(URL + '?d=' + ','.join(df.email[100:120])).read()")
        assert r.status == "error" and "[exfiltration]" in r.text and "budget" in r.text
        r = kern.run("u.urlopen(URL + '?d=' + df.email[200]).read()")   # the session is locked
        assert r.status == "error" and "budget" in r.text
        r = kern.run("print(u.urlopen(URL + '?city=Paris').read())")
        assert r.status == "ok", r.text
        time.sleep(0.3)
        got = bytes(rec.received).decode("latin-1").replace("%40", "@")
        assert "user100@example.com" not in got and "user200@example.com" not in got


def wait_for(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


# The guard's own state reached from a cell: its known values (the only check that sees a
# 9-digit SSN without dashes) cannot be emptied, however the module is reached.
FORGET = [
    pytest.param("import jupyter_guard.hooks.exits as e\ne.known.clear()", id="module-alias"),
    pytest.param("from jupyter_guard.hooks.exits import known\nknown.difference_update(known)",
                 id="imported-name"),
    pytest.param("import sys\nm = sys.modules['jupyter_guard.hooks.exits']\nm.known.clear()",
                 id="sys-modules"),
    pytest.param("import sys\nsys.modules.get('jupyter_guard.hooks.exits').known.clear()",
                 id="sys-modules-get"),
    pytest.param("import jupyter_guard.hooks.exits as e\ne.__dict__['MAX_KNOWN'] = 0",
                 id="module-dict"),
]


@pytest.mark.parametrize("code", FORGET)
def test_known_values_cannot_be_forgotten_from_a_cell(k, code, request):
    k.blocked(code, "self-protection")
    f = f"forget_{request.node.callspec.id}.out"
    k.blocked(f"open({f!r}, 'w').write(','.join(df.ssn.tolist()[:200]))", "exfiltration")
    for p in k.workdir.glob(f + "*"):
        _no_raw(p.read_bytes())


ENCODED = [
    pytest.param("base64.b64encode(','.join(df.ssn[:20]).encode()).decode()", id="base64"),
    pytest.param("base64.urlsafe_b64encode(','.join(df.email[:5]).encode()).decode()",
                 id="base64-urlsafe"),
    pytest.param("','.join(df.ssn[:20]).encode().hex()", id="hex"),
    pytest.param("binascii.hexlify(df.email[3].encode()).decode()", id="hexlify-one"),
]


@pytest.mark.parametrize("expr", ENCODED)
def test_encoded_values_do_not_leave_in_a_url(k, rec, expr):
    k.ok(f"import base64, binascii\nURL = 'http://127.0.0.1:{rec.port}/'\nenc = {expr}")
    r = k.run("import urllib.request as u\nu.urlopen(URL + '?q=' + enc).read()")
    assert "[exfiltration]" in r.everything(), r.everything()
    sent = k.ok("print(enc[:24])").text.strip()
    time.sleep(0.3)   # a request that got through would be recorded by now
    assert sent.encode() not in bytes(rec.received)


def test_encoded_plain_text_goes_out(k, rec):
    k.ok(f"import base64, urllib.request as u\nURL = 'http://127.0.0.1:{rec.port}/'\n"
         "u.urlopen(URL + '?q=' + base64.b64encode(b'city=Paris&n=3 rows').decode()).read()\n"
         "u.urlopen(URL + '?x=' + 'Lyon,Nice,Paris'.encode().hex()).read()")
    assert base64.b64encode(b"city=Paris&n=3 rows") in bytes(rec.received)
    assert b"4c796f6e2c4e6963652c5061726973" in bytes(rec.received)


def _decodings(data: bytes) -> list[bytes]:
    """``data`` as written, and every way a reader would decode it: whole or line by line, as
    base64 (either alphabet) or hex."""
    out = [data]
    for piece in [data.strip(), *data.split()]:
        for dec in (base64.b64decode, base64.urlsafe_b64decode, binascii.unhexlify):
            try:
                out.append(dec(piece + b"=" * (-len(piece) % 4) if dec is not binascii.unhexlify
                               else piece))
            except (binascii.Error, ValueError):
                pass
        bare = piece.rstrip(b"=")
        try:
            out.append(base64.b32decode(bare + b"=" * (-len(bare) % 8)))
        except (binascii.Error, ValueError):
            pass
    return out


# Values read from a sensitive column, encoded on their way to a file (issue: the same export,
# spelt as base64 or hex), whatever the size: the whole column of 5,000 values is over 64 KB.
ENCODED_FILES = [
    pytest.param("open(F, 'w').write(base64.b64encode(str(df.email.tolist()).encode()).decode())",
                 id="b64-whole-column"),
    pytest.param("open(F, 'wb').write(base64.b64encode(','.join(df.ssn).encode()))",
                 id="b64-bytes"),
    pytest.param("open(F, 'wb').write(base64.encodebytes(','.join(df.ssn).encode()))",
                 id="b64-76-char-lines"),
    pytest.param("open(F, 'w').write(','.join(df.ssn).encode().hex())", id="hex-whole"),
    pytest.param("open(F, 'w').write('\\n'.join(base64.urlsafe_b64encode(e.encode()).decode() "
                 "for e in df.email))", id="b64-one-per-line"),
    pytest.param("json.dump([binascii.hexlify(e.encode()).decode() for e in df.email[:100]], "
                 "open(F, 'w'))", id="json-of-hex"),
    pytest.param("open(F, 'w').write(base64.b32encode(','.join(df.ssn).encode()).decode())",
                 id="b32-whole"),
]


@pytest.mark.parametrize("code", ENCODED_FILES)
def test_encoded_values_do_not_leave_in_a_file(k, code, request):
    f = f"enc_{request.node.callspec.id}.out"
    k.blocked(f"import base64, binascii\nF = {f!r}\n{code}", "exfiltration")
    for p in k.workdir.glob(f + "*"):
        for text in _decodings(p.read_bytes()):
            _no_raw(text)


def test_encoded_plain_data_and_long_tokens_are_written(k):
    """Base64 of plain data, and text full of long tokens that are no encoding (paths, UUIDs,
    digests), are written whole."""
    k.ok("import base64, hashlib, uuid\n"
         "open('enc_ok.b64', 'w').write(base64.b64encode(df.city.str.cat(sep=',').encode())"
         ".decode())\n"
         "open('enc_ok.txt', 'w').write('\\n'.join(f'/srv/data/{c}/part-{i:05d}.parquet '"
         "f'{uuid.UUID(int=i)} {hashlib.sha256(str(i).encode()).hexdigest()}' "
         "for i, c in enumerate(df.city)))")
    b64 = (k.workdir / "enc_ok.b64").read_bytes()
    assert base64.b64decode(b64).decode().count("Paris") > 100
    lines = (k.workdir / "enc_ok.txt").read_text().splitlines()
    assert len(lines) == 5000 and lines[7].startswith("/srv/data/")
