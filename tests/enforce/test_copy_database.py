"""A copy of a database file is an export of every table in it, whatever the tables hold:
``shutil.copyfile('wh.duckdb', 'x.db')``, ``!cp wh.duckdb x.db``, ``!tar czf x.tgz .`` put the
whole warehouse, sensitive columns included, in a file no rule protects (the copy is made below
the writes the exits scan: ``os.sendfile`` or a child). A database file is told by its header,
whatever its name (``wh.data``), and a folder an archiver takes along is looked into. All are
refused and nothing is written; copies and archives of other files work."""
from __future__ import annotations

import base64
import gzip
import shutil
import sqlite3
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "copy_database"
    d.mkdir()
    (d / "notes.txt").write_text("plain notes\n")
    (d / "src").mkdir()
    (d / "src" / "a.py").write_text("print('a')\n")
    with sqlite3.connect(d / "plain.sqlite") as db:   # a SQLite file the CLI reads
        db.execute("CREATE TABLE t (n INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(7)])
    db.close()
    with guarded_kernel(d, warehouse=20) as kernel:
        shutil.copyfile(d / "wh.duckdb", d / "wh.data")   # a database under a plain name
        (d / "bk").mkdir()
        (d / "bk" / "nested").mkdir()
        shutil.copyfile(d / "wh.duckdb", d / "bk" / "nested" / "old.bin")
        yield kernel


@pytest.mark.parametrize(("code", "out"), [
    ("import shutil\nshutil.copyfile('wh.duckdb', 'c1.db')", "c1.db"),
    ("import shutil\nshutil.copy('wh.duckdb', 'c2.bak')", "c2.bak"),
    ("import shutil, os\nos.makedirs('bk', exist_ok=True)\nshutil.copy2('wh.duckdb', 'bk')",
     "bk/wh.duckdb"),
    ("import shutil\nshutil.copyfile('wh.duckdb', 'c4.txt')", "c4.txt"),   # any name
    ("!cp wh.duckdb c5.db", "c5.db"),
    ("import subprocess\nsubprocess.run(['cp', 'wh.duckdb', 'c6.db'])", "c6.db"),
    # by header, whatever the name, and by every program that copies bytes
    ("!cp wh.data c7.txt", "c7.txt"),
    ("!tar czf c8.tgz wh.duckdb", "c8.tgz"),
    ("!tar czf c9.tgz .", "c9.tgz"),                        # the folder holds it
    ("!tar cf c10.tar bk", "c10.tar"),                       # nested, under another name
    ("!zip -q c11.zip wh.data", "c11.zip"),
    ("!zip -qr c12.zip bk", "c12.zip"),
    ("!gzip -c wh.duckdb > c13.gz", "c13.gz"),
    ("!gzip < wh.data > c14.gz", "c14.gz"),
    ("!cat wh.duckdb > c15.bin", "c15.bin"),
    ("!cat wh.duckdb | base64 > c16.b64", "c16.b64"),
    ("!dd if=wh.duckdb of=c17.bin status=none", "c17.bin"),
    ("!install -m 644 wh.duckdb c18.db", "c18.db"),
    ("!cp wh.* c19", "c19"),                                 # a glob
    ("!cp -r bk c20", "c20"),
    ("!ln wh.duckdb c21.db", "c21.db"),
    ("!xz -kc wh.data > c22.xz", "c22.xz"),
    ("!bash -c 'head -c 100000000 wh.duckdb > c23.bin'", "c23.bin"),
    ("import os\nos.system('tar czf c24.tgz wh.data')", "c24.tgz"),
    ("import subprocess\nsubprocess.run(['tar', 'czf', 'c25.tgz', 'bk'])", "c25.tgz"),
    ("import subprocess\nsubprocess.run('gzip -c wh.duckdb > c26.gz', shell=True)", "c26.gz"),
    ("import os\nos.link('wh.duckdb', 'c27.db')", "c27.db"),
    ("import os\nos.symlink(os.path.abspath('wh.data'), 'c28.db')", "c28.db"),
    ("import shutil\nshutil.copytree('bk', 'c29')", "c29/nested/old.bin"),
    # the bytes read and written in Python (no value of it was read as data in this kernel)
    ("open('c30.bin', 'wb').write(open('wh.data', 'rb').read())", "c30.bin"),
    ("import shutil\nwith open('wh.duckdb', 'rb') as a, open('c31.bin', 'wb') as b:\n"
     "    shutil.copyfileobj(a, b)", "c31.bin"),
    ("import os\nfd = os.open('c32.bin', os.O_WRONLY | os.O_CREAT)\n"
     "os.write(fd, open('bk/nested/old.bin', 'rb').read(1 << 16))\nos.close(fd)", "c32.bin"),
])
def test_a_database_file_is_not_copied(k: Kernel, code: str, out: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert "database file" in r.everything()
    dest = k.workdir / out   # absent, or (opened before the refused write) empty
    assert not dest.exists() or dest.stat().st_size == 0


@pytest.mark.parametrize(("code", "out"), [
    ("!python -c \"import shutil; shutil.copy('wh.data', 'p1.bin')\"", "p1.bin"),
    ("!python -c \"import os; os.link('wh.duckdb', 'p2.db')\"", "p2.db"),
    ("!python -c \"import os; os.system('cat wh.data > p3.bin')\"", "p3.bin"),
    ("import sys\n!{sys.executable} -m zipfile -c p4.zip wh.data", "p4.zip"),
    ("import sys\n!{sys.executable} -m tarfile -c p5.tar bk", "p5.tar"),
])
def test_a_guarded_child_does_not_copy_a_database_file(k: Kernel, code: str, out: str) -> None:
    r = k.run(code)
    assert "copies database file" in r.everything()
    assert not (k.workdir / out).exists()


def test_other_files_are_copied(k: Kernel) -> None:
    k.ok("import shutil\nshutil.copyfile('notes.txt', 'n1.txt')\n!cp notes.txt n2.txt")
    for name in ("n1.txt", "n2.txt"):
        assert (k.workdir / name).read_text() == "plain notes\n"


def test_other_files_are_archived_compressed_and_linked(k: Kernel) -> None:
    k.ok("!tar czf src.tgz src\n!zip -qr src.zip src\n!gzip -c notes.txt > n.gz\n"
         "!cat notes.txt | base64 > n.b64\n!cp -r src src2\n"
         "import os, subprocess\nos.link('notes.txt', 'n3.txt')\n"
         "subprocess.run(['tar', 'cf', 'src.tar', 'src'], check=True)\n"
         "!python -c \"import shutil; shutil.copy('notes.txt', 'n4.txt')\"")
    with tarfile.open(k.workdir / "src.tgz") as t:
        assert t.extractfile("src/a.py").read() == b"print('a')\n"   # type: ignore[union-attr]
    with zipfile.ZipFile(k.workdir / "src.zip") as z:
        assert z.read("src/a.py") == b"print('a')\n"
    assert gzip.decompress((k.workdir / "n.gz").read_bytes()) == b"plain notes\n"
    assert base64.b64decode((k.workdir / "n.b64").read_bytes()) == b"plain notes\n"
    assert (k.workdir / "src2" / "a.py").read_text() == "print('a')\n"
    for name in ("n3.txt", "n4.txt"):
        assert (k.workdir / name).read_text() == "plain notes\n"
    with tarfile.open(k.workdir / "src.tar") as t:
        assert "src/a.py" in t.getnames()


def test_other_binary_files_are_copied_in_python(k: Kernel) -> None:
    k.ok("!gzip -c notes.txt > n5.gz\n"
         "open('n6.gz', 'wb').write(open('n5.gz', 'rb').read())\n"
         "import shutil\nwith open('n5.gz', 'rb') as a, open('n7.gz', 'wb') as b:\n"
         "    shutil.copyfileobj(a, b)")
    for name in ("n6.gz", "n7.gz"):
        assert gzip.decompress((k.workdir / name).read_bytes()) == b"plain notes\n"


def test_a_copy_into_a_folder_holding_a_database_works(k: Kernel) -> None:
    """The destination folder is not what is copied: ``bk`` holds a database file."""
    k.ok("!cp notes.txt bk/\n!cp -r src bk/")
    assert (k.workdir / "bk" / "notes.txt").read_text() == "plain notes\n"
    assert (k.workdir / "bk" / "src" / "a.py").exists()


def test_a_database_file_is_read_by_its_cli(k: Kernel) -> None:
    r = k.ok("!sqlite3 plain.sqlite 'SELECT count(*) FROM t'")
    assert "7" in r.stream
