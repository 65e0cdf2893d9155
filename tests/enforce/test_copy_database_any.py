"""Copies of a database file the header check alone did not see, decided by their effect:
the file moved away (``mv``), a path relative to a ``cd`` or ``tar -C``, a database program
writing what it reads into a file or a pipe (``sqlite3 x.sqlite "SELECT …" > out.csv``,
``VACUUM INTO``, ``ATTACH``), and the bytes copied in Python from any offset (``data[16:]``,
chunks after a ``seek``, ``os.sendfile``, ``os.copy_file_range``, ``mmap``, ``os.read``, text
mode, a thread). Each is refused, nothing of it reaches the destination, the source is intact.
Looking at a file (``head -c 16``, ``xxd -l 32``, ``file``, ``ls -l``, ``du``), counting rows
with the CLI, a folder of 20,500 files archived, and plain copies after a database file was
read in Python all work."""
from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

EMAIL = "@example.com"


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "copy_database_any"
    d.mkdir()
    (d / "notes.txt").write_text("plain notes\n" * 500)
    (d / "src").mkdir()
    (d / "src" / "a.py").write_text("print('a')\n")
    with sqlite3.connect(d / "x.sqlite") as db:
        db.execute("CREATE TABLE customers (id INTEGER, email TEXT, ssn TEXT)")
        db.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                       [(i, f"user{i}{EMAIL}", f"219-09-{1000 + i}") for i in range(50)])
    db.close()
    sub = d / "big" / "a" / "b"
    sub.mkdir(parents=True)
    for i in range(20_500):   # more files than the walk once gave up at
        (sub / f"f{i}.txt").write_text(str(i))
    with guarded_kernel(d, warehouse=20) as kernel:
        (d / "data").mkdir()
        shutil.copyfile(d / "wh.duckdb", d / "data" / "inner.duckdb")   # only in data/
        (d / "stash").mkdir()   # a database under a plain name: moving it destroys nothing protected
        shutil.copyfile(d / "wh.duckdb", d / "stash" / "old.bin")
        yield kernel


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture()
def intact(k: Kernel) -> Iterator[None]:
    """The sources are there afterwards, byte for byte (an earlier move that got through is
    undone first, so one leak does not fail the tests after it)."""
    if not (k.workdir / "stash" / "old.bin").exists():
        shutil.copyfile(k.workdir / "wh.duckdb", k.workdir / "stash" / "old.bin")
    before = {p: _digest(k.workdir / p) for p in ("data/inner.duckdb", "stash/old.bin",
                                                  "x.sqlite")}
    yield
    for p, digest in before.items():
        assert _digest(k.workdir / p) == digest, p


@pytest.mark.parametrize(("code", "out"), [
    ("!mv stash/old.bin m1.bin", "m1.bin"),
    ("!cd data && cp inner.duckdb ../m2.bin", "m2.bin"),
    ("!cd data; tar cf ../m3.tar inner.duckdb", "m3.tar"),
    ("!cd data && gzip < inner.duckdb > ../m5.gz", "m5.gz"),
    ("!pushd stash > /dev/null; mv old.bin ../m6.bin", "m6.bin"),
    ("import subprocess\nsubprocess.run('cd data && cp inner.duckdb ../m7.bin', shell=True)",
     "m7.bin"),
    # programs that print what they read, and names read from a list or from the input
    ("!sed '' stash/old.bin > m8.bin", "m8.bin"),
    ("!grep -a '' x.sqlite > m9.bin", "m9.bin"),
    ("!awk 1 stash/old.bin > m10.bin", "m10.bin"),
    ("!sort x.sqlite > m11.bin", "m11.bin"),
    ("!echo stash/old.bin > m13.lst && tar cf m13.tar -T m13.lst", "m13.tar"),
    ("!echo x.sqlite | zip -q m14.zip -@", "m14.zip"),
])
def test_a_database_file_is_not_moved_or_copied_from_a_folder(k: Kernel, intact: None,
                                                              code: str, out: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert "database file" in r.everything()
    assert not (k.workdir / out).exists()


@pytest.mark.parametrize(("code", "out"), [
    ('!sqlite3 x.sqlite "SELECT * FROM customers" > c1.csv', "c1.csv"),
    ('!sqlite3 -csv x.sqlite "SELECT email FROM customers" >> c2.csv', "c2.csv"),
    ('!sqlite3 x.sqlite "SELECT * FROM customers" | gzip > c3.gz', "c3.gz"),
    ('!sqlite3 x.sqlite "SELECT * FROM customers" | tee c4.txt', "c4.txt"),
    ("!sqlite3 x.sqlite \"VACUUM INTO 'c5.db'\"", "c5.db"),
    ('!echo "SELECT * FROM customers;" | sqlite3 x.sqlite > c6.txt', "c6.txt"),
    ("import subprocess\n"
     "subprocess.run('sqlite3 x.sqlite \"SELECT * FROM customers\" > c7.csv', shell=True)",
     "c7.csv"),
    ("open('c9.sql', 'w').write('.output c9.csv\\nSELECT * FROM customers;\\n')\n"
     "!sqlite3 -init c9.sql x.sqlite 'SELECT 1'", "c9.csv"),
    ("import os\nos.system('cd src && sqlite3 ../x.sqlite \"SELECT * FROM customers\" > x.csv')",
     "src/x.csv"),
])
def test_a_database_program_does_not_write_its_tables_out(k: Kernel, intact: None, code: str,
                                                          out: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert "database file" in r.everything()
    dest = k.workdir / out
    assert not dest.exists() or EMAIL.encode() not in dest.read_bytes()


@pytest.mark.parametrize(("code", "out"), [
    ("data = open('data/inner.duckdb', 'rb').read()\nopen('p1.bin', 'wb').write(data[16:])",
     "p1.bin"),
    ("f = open('data/inner.duckdb', 'rb'); f.seek(100)\nwith open('p2.bin', 'wb') as o:\n"
     "    while (b := f.read(4096)):\n        o.write(b)", "p2.bin"),
    ("import os\nsrc = os.open('data/inner.duckdb', os.O_RDONLY)\n"
     "dst = os.open('p3.bin', os.O_WRONLY | os.O_CREAT)\nos.sendfile(dst, src, 16, 1 << 22)",
     "p3.bin"),
    ("import os\nsrc = os.open('data/inner.duckdb', os.O_RDONLY)\n"
     "dst = os.open('p4.bin', os.O_WRONLY | os.O_CREAT)\nos.copy_file_range(src, dst, 1 << 22, 16)",
     "p4.bin"),
    ("import mmap, os\nfd = os.open('data/inner.duckdb', os.O_RDONLY)\n"
     "m = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)\nopen('p5.bin', 'wb').write(m[8:])", "p5.bin"),
    ("import os\nfd = os.open('data/inner.duckdb', os.O_RDONLY); os.lseek(fd, 50, 0)\n"
     "d = os.read(fd, 1 << 22)\nout = os.open('p6.bin', os.O_WRONLY | os.O_CREAT)\nos.write(out, d)",
     "p6.bin"),
    ("t = open('data/inner.duckdb', 'rb').read()[16:].decode('latin-1')\n"
     "open('p7.txt', 'w', encoding='latin-1').write(t)", "p7.txt"),
    ("import shutil\nwith open('x.sqlite', 'rb') as a, open('p8.bin', 'wb') as b:\n"
     "    a.seek(100)\n    shutil.copyfileobj(a, b)", "p8.bin"),
    ("from pathlib import Path\nPath('p9.bin').write_bytes(Path('x.sqlite').read_bytes()[1:])",
     "p9.bin"),
])
def test_database_bytes_are_not_written_from_any_offset(k: Kernel, intact: None, code: str,
                                                        out: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert "database file" in r.everything()
    dest = k.workdir / out   # absent, or (opened before the refused first write) empty
    assert not dest.exists() or dest.stat().st_size == 0


def test_database_bytes_are_not_written_from_a_thread(k: Kernel, intact: None) -> None:
    k.run("import threading\n"
          "def go():\n    open('t1.bin', 'wb').write(open('x.sqlite', 'rb').read()[24:])\n"
          "th = threading.Thread(target=go); th.start(); th.join()")
    dest = k.workdir / "t1.bin"
    assert not dest.exists() or dest.stat().st_size == 0


def test_looking_at_a_database_file_works(k: Kernel) -> None:
    r = k.ok("!head -c 16 data/inner.duckdb | od -c | head -1\n!xxd -l 32 x.sqlite\n"
             "!dd if=data/inner.duckdb bs=16 count=1 status=none | od -c | head -1\n"
             "!file x.sqlite\n!ls -l data/inner.duckdb\n!du -k x.sqlite")
    assert "D   U   C   K" in r.stream
    assert "SQLite format 3" in r.stream
    assert "x.sqlite" in r.stream and "inner.duckdb" in r.stream


def test_a_database_program_prints_to_the_cell(k: Kernel) -> None:
    r = k.ok('!sqlite3 x.sqlite "SELECT count(*) FROM customers"\n'
             '!sqlite3 x.sqlite "SELECT email FROM customers LIMIT 3"')
    assert "50" in r.stream
    assert "user1@example.com" not in r.everything()   # printed, and masked like any output


def test_moves_and_copies_from_a_folder_of_other_files_work(k: Kernel) -> None:
    k.ok("!cp notes.txt moved_notes.txt && mv moved_notes.txt notes2.txt\n"
         "!cd src && cp a.py ../b.py\n!tar cf src.tar -C src a.py\n"
         "!sed -n 1p notes.txt > first.txt\n!sort -u notes.txt > sorted.txt\n"
         "!echo src/a.py > l.lst && tar cf l.tar -T l.lst")
    assert (k.workdir / "first.txt").read_text() == "plain notes\n"
    assert (k.workdir / "sorted.txt").read_text() == "plain notes\n"
    with tarfile.open(k.workdir / "l.tar") as t:
        assert t.getnames() == ["src/a.py"]
    assert (k.workdir / "notes2.txt").read_text() == "plain notes\n" * 500
    assert (k.workdir / "b.py").read_text() == "print('a')\n"
    with tarfile.open(k.workdir / "src.tar") as t:
        assert t.getnames() == ["a.py"]


def test_a_folder_of_many_files_is_checked_not_refused(k: Kernel) -> None:
    k.ok("!tar cf big.tar big")
    with tarfile.open(k.workdir / "big.tar") as t:
        assert sum(1 for m in t if m.isfile()) == 20_500
    deep = k.workdir / "big" / "a" / "b" / "deep.bin"
    shutil.copyfile(k.workdir / "x.sqlite", deep)   # one database among them, under any name
    try:
        r = k.blocked("!tar cf big2.tar big", "exfiltration")
        assert "deep.bin" in r.everything()
        assert not (k.workdir / "big2.tar").exists()
    finally:
        deep.unlink()


def test_plain_writes_work_after_a_database_file_was_read(k: Kernel) -> None:
    r = k.ok("import hashlib, gzip, os, shutil\n"
             "print(hashlib.sha256(open('data/inner.duckdb', 'rb').read()).hexdigest()[:12])\n"
             "open('w1.txt', 'w').write(open('notes.txt').read())\n"
             "open('w2.gz', 'wb').write(gzip.compress(b'abc' * 1000))\n"
             "shutil.copy('notes.txt', 'w3.txt')\n"
             "a = os.open('notes.txt', os.O_RDONLY); b = os.open('w4.txt', os.O_WRONLY | os.O_CREAT)\n"
             "os.sendfile(b, a, 0, 1 << 20); os.close(a); os.close(b)")
    assert _digest(k.workdir / "data" / "inner.duckdb")[:12] in r.stream
    for name in ("w1.txt", "w3.txt", "w4.txt"):
        assert (k.workdir / name).read_text() == "plain notes\n" * 500
    assert (k.workdir / "w2.gz").stat().st_size > 0


def test_a_downloaded_database_file_is_saved(k: Kernel, tmp_path: Path) -> None:
    """A database file a server sends is no copy of this machine's tables (``!curl -o`` works
    too); one that urllib reads from here (``file://``) is."""
    import functools
    import http.server
    import threading

    with sqlite3.connect(tmp_path / "remote.bin") as db:   # another machine's database
        db.execute("CREATE TABLE products (code TEXT, price REAL)")
        db.executemany("INSERT INTO products VALUES (?, ?)",
                       [(f"PRD-{i:05d}", i * 1.5) for i in range(2000)])
    db.close()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/remote.bin"
        k.ok(f"import urllib.request\nurllib.request.urlretrieve({url!r}, 'dl.bin')")
    finally:
        server.shutdown()
    assert (k.workdir / "dl.bin").read_bytes() == (tmp_path / "remote.bin").read_bytes()
    local = (k.workdir / "stash" / "old.bin").as_uri()
    k.blocked(f"import urllib.request\nurllib.request.urlretrieve({local!r}, 'dl2.bin')",
              "exfiltration")
    dest = k.workdir / "dl2.bin"
    assert not dest.exists() or dest.stat().st_size == 0


def test_a_guarded_child_that_reads_before_it_writes_does_not_copy(k: Kernel, intact: None
                                                                   ) -> None:
    """The child's exits install at its first write: bytes it read from a database file before
    that are still known (the read was remembered) when they are written from any offset."""
    (k.workdir / "c_copy.py").write_text(
        "d = open('data/inner.duckdb', 'rb').read()\n"
        "open('c1.bin', 'wb').write(d[16:])\n")
    r = k.run("import subprocess, sys\n"
              "p = subprocess.run([sys.executable, 'c_copy.py'], capture_output=True, text=True)\n"
              "print(p.returncode, p.stderr[-400:])")
    assert "exfiltration" in r.everything() and "database file" in r.everything(), r.everything()
    dest = k.workdir / "c1.bin"
    assert not dest.exists() or dest.stat().st_size == 0
    (k.workdir / "c_plain.py").write_text(
        "d = open('c_copy.py', 'rb').read()\nopen('c2.bin', 'wb').write(d[3:])\n")
    k.ok("import subprocess, sys\nsubprocess.run([sys.executable, 'c_plain.py'], check=True)")
    assert (k.workdir / "c2.bin").read_bytes() == (k.workdir / "c_copy.py").read_bytes()[3:]
