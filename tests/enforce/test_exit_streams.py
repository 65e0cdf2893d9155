"""File exits below and beside ``open``, in a real kernel: ``os.write``, ``mmap``, compressed
streams (gzip/bz2/lzma/zipfile, and whole streams from ``gzip.compress``/``zlib.compress``),
``shutil.copyfileobj``, ``pathlib`` writers, ``tempfile`` files, a child's stdin and a raw socket
get no raw sensitive value (file contents are read back decompressed); each has a plain twin
whose content is checked."""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
import time
import zipfile
import zlib

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exits import EMAILS, SSNS, Recorder

pytestmark = pytest.mark.kernel

FORMS = [
    pytest.param("gzip.open(F, 'wt').write(D)", id="gzip-open"),
    pytest.param("with gzip.GzipFile(F, 'wb') as g:\n    g.write(D.encode())", id="gzipfile"),
    pytest.param("open(F, 'wb').write(gzip.compress(D.encode()))", id="gzip-compress"),
    pytest.param("open(F, 'wb').write(zlib.compress(D.encode()))", id="zlib-compress"),
    pytest.param("with bz2.open(F, 'wb') as g:\n    g.write(D.encode())", id="bz2-open"),
    pytest.param("open(F, 'wb').write(bz2.compress(D.encode()))", id="bz2-compress"),
    pytest.param("lzma.open(F, 'wt').write(D)", id="lzma-open"),
    pytest.param("with zipfile.ZipFile(F, 'w', zipfile.ZIP_DEFLATED) as z:\n"
                 "    z.writestr('a.txt', D)", id="zip-writestr"),
    pytest.param("with zipfile.ZipFile(F, 'w', zipfile.ZIP_DEFLATED) as z:\n"
                 "    with z.open('a.txt', 'w') as m:\n        m.write(D.encode())",
                 id="zip-open-w"),
    pytest.param("shutil.copyfileobj(io.BytesIO(D.encode()), open(F, 'wb'))",
                 id="copyfileobj"),
    pytest.param("pathlib.Path(F).write_bytes(D.encode())", id="path-write-bytes"),
    pytest.param("pathlib.Path(F).write_text(D)", id="path-write-text"),
    pytest.param("t = tempfile.NamedTemporaryFile('w', dir='.', prefix=F, delete=False)\n"
                 "t.write(D)\nt.close()", id="named-tempfile"),
    pytest.param("t = tempfile.TemporaryFile(dir='.')\nt.write(D.encode())\nt.flush()",
                 id="unnamed-tempfile"),
    pytest.param("fd = os.open(F, os.O_WRONLY | os.O_CREAT)\ntry:\n"
                 "    os.write(fd, D.encode())\nfinally:\n    os.close(fd)", id="os-write"),
    pytest.param("fd = os.open(F, os.O_WRONLY | os.O_CREAT)\ntry:\n"
                 "    os.writev(fd, [D[:5000].encode(), D[5000:].encode()])\nfinally:\n"
                 "    os.close(fd)", id="os-writev"),
    pytest.param("open(F, 'wb').write(b'\\0' * len(D))\nwith open(F, 'r+b') as fh:\n"
                 "    m = mmap.mmap(fh.fileno(), 0)\n    m.write(D.encode())\n    m.flush()",
                 id="mmap-write"),
    pytest.param("open(F, 'wb').write(b'\\0' * len(D))\nwith open(F, 'r+b') as fh:\n"
                 "    m = mmap.mmap(fh.fileno(), 0)\n    m[0:len(D)] = D.encode()\n    m.flush()",
                 id="mmap-slice"),
    pytest.param("subprocess.run(['sh', '-c', 'cat > ' + F], input=D.encode())",
                 id="child-stdin"),
]


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, gzip, bz2, lzma, zlib, zipfile, shutil, io, os, pathlib, mmap, "
              "tempfile, subprocess, socket\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


def _read(p) -> str:
    raw = p.read_bytes()
    for opener in (gzip.decompress, bz2.decompress, lzma.decompress, zlib.decompress):
        try:
            raw = opener(raw)
            break
        except Exception:  # noqa: BLE001 - not this format: try the next, else the bytes as they are
            continue
    if raw[:2] == b"PK":
        with zipfile.ZipFile(p) as z:
            raw = b"".join(z.read(n) for n in z.namelist())
    return raw.decode("latin-1")


def _no_raw(text: str) -> None:
    hits = [v for v in SSNS[:300] + EMAILS[:300] if v in text]
    assert not hits, hits[:3]


@pytest.mark.parametrize("col", ["ssn", "email"])
@pytest.mark.parametrize("code", FORMS)
def test_stream_exits_refuse_raw_values(k, code, col, request):
    f = f"s_{request.node.callspec.id}.out"
    r = k.blocked(f"F = {f!r}\nD = '\\n'.join(df.{col}.tolist())\n{code}", "exfiltration")
    _no_raw(json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply))
    for p in k.workdir.glob(f + "*"):
        _no_raw(_read(p))


@pytest.mark.parametrize("code", FORMS)
def test_stream_exits_plain_twin(k, code, request):
    f = f"plain_{request.node.callspec.id}.out"
    k.ok(f"F = {f!r}\nD = '\\n'.join(df.city.tolist()) + '\\n' + "
         f"'\\n'.join(map(str, df.id.tolist()))\n{code}")
    if "unnamed" in f:
        return
    files = list(k.workdir.glob(f + "*"))
    assert files
    text = _read(files[0])
    assert text.startswith("Paris\nLyon\nNice") and "\n4999" in text, text[:80]


def test_raw_socket_gets_no_sensitive_value(k):
    rec = Recorder()
    try:
        r = k.run(f"s = socket.create_connection(('127.0.0.1', {rec.port}))\n"
                  "s.sendall('\\n'.join(df.email.tolist()).encode())\ns.close()")
        assert r.reply["status"] == "error" and "Blocked by jupyter_guard" in r.everything()
        time.sleep(0.3)   # bytes that got through would be recorded by now
        _no_raw(bytes(rec.received).decode("latin-1"))
    finally:
        rec.close()
