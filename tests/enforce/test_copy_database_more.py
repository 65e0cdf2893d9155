"""Copies of a database file that the command line alone did not show, decided by their effect:
a database program whose output Python sends to a file or hands to another program
(``subprocess.run([...], stdout=f)``, ``stdin=p1.stdout``), paths relative to a folder known
only when the command runs (``cd $(…)``, ``env -C``), and servers given a folder that holds a
database file (``python -m http.server``). Each is refused and the destination holds no row; the
sources stay intact. Their twins work: a count written to a file, a plain folder served and
fetched, a list of plain files archived from ``find``, plain files copied after ``env -C``."""
from __future__ import annotations

import hashlib
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
    d = work_root / "copy_database_more"
    d.mkdir()
    with sqlite3.connect(d / "x.sqlite") as db:
        db.execute("CREATE TABLE customers (id INTEGER, email TEXT, ssn TEXT)")
        db.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                       [(i, f"user{i}{EMAIL}", f"219-09-{1000 + i}") for i in range(50)])
    db.close()
    (d / "site").mkdir()
    (d / "site" / "index.html").write_text("<h1>plain page</h1>\n")
    with guarded_kernel(d, warehouse=20) as kernel:
        (d / "data").mkdir()
        (d / "data" / "inner.duckdb").write_bytes((d / "wh.duckdb").read_bytes())
        yield kernel


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture()
def intact(k: Kernel) -> Iterator[None]:
    before = {p: _digest(k.workdir / p) for p in ("data/inner.duckdb", "x.sqlite", "wh.duckdb")}
    yield
    for p, digest in before.items():
        assert _digest(k.workdir / p) == digest, p


def _holds_no_copy(dest: Path, k: Kernel) -> None:
    """Absent, or (opened before the refusal) holding no row and none of the source's bytes."""
    if not dest.exists():
        return
    data = dest.read_bytes()
    assert EMAIL.encode() not in data and b"219-09-" not in data
    assert data[:64] not in (k.workdir / "x.sqlite").read_bytes()[:64] or not data


@pytest.mark.parametrize(("code", "out"), [
    pytest.param("import subprocess\nsubprocess.run(['sqlite3', 'x.sqlite', "
                 "'SELECT * FROM customers'], stdout=open('o1.csv', 'w'))", "o1.csv",
                 id="run-stdout-file"),
    pytest.param("import subprocess\nwith open('o2.csv', 'w') as f:\n"
                 "    subprocess.Popen(['sqlite3', '-csv', 'x.sqlite', "
                 "'SELECT email, ssn FROM customers'], stdout=f).wait()", "o2.csv",
                 id="popen-stdout-file"),
    pytest.param("import subprocess\nsubprocess.run('sqlite3 x.sqlite \"SELECT * FROM "
                 "customers\"', shell=True, stdout=open('o3.csv', 'w'))", "o3.csv",
                 id="shell-true-stdout-file"),
    pytest.param("import subprocess\np1 = subprocess.Popen(['sqlite3', 'x.sqlite', "
                 "'SELECT * FROM customers'], stdout=subprocess.PIPE)\n"
                 "subprocess.run(['gzip'], stdin=p1.stdout, stdout=open('o4.gz', 'wb'))",
                 "o4.gz", id="pipe-handed-to-gzip"),
    pytest.param("import os, subprocess\nfd = os.open('o5.sql', os.O_WRONLY | os.O_CREAT)\n"
                 "subprocess.run(['sqlite3', 'x.sqlite', '.dump'], stdout=fd)", "o5.sql",
                 id="dump-to-descriptor"),
])
def test_a_database_programs_output_sent_to_a_file_from_python_is_refused(
        k: Kernel, intact: None, code: str, out: str) -> None:
    r = k.run(code)
    assert r.status == "error", r.everything()
    assert "[exfiltration]" in r.everything() or "[sql-parse-error]" in r.everything()
    _holds_no_copy(k.workdir / out, k)


@pytest.mark.parametrize("out", ["c1.csv", "c2.sql"])
def test_a_guarded_python_child_sending_a_programs_output_to_a_file_is_refused(
        k: Kernel, intact: None, out: str) -> None:
    """The same ``stdout=f`` from a script the cell starts: the child judges where its own
    child's output goes."""
    cmd = "'.dump'" if out.endswith(".sql") else "'SELECT * FROM customers'"
    (k.workdir / f"send_{out}.py").write_text(
        "import subprocess\n"
        f"subprocess.run(['sqlite3', 'x.sqlite', {cmd}], stdout=open({out!r}, 'w'))\n")
    r = k.run(f"import sys\n!{{sys.executable}} send_{out}.py")   # the kernel's own Python
    assert "[exfiltration]" in r.everything() or "[sql-parse-error]" in r.everything()
    _holds_no_copy(k.workdir / out, k)


@pytest.mark.parametrize(("code", "out"), [
    pytest.param("!cd $(echo data) && cp inner.duckdb ../d1.bin", "d1.bin", id="cd-substitution"),
    pytest.param("!cd `dirname data/inner.duckdb` && tar cf ../d2.tar inner.duckdb", "d2.tar",
                 id="cd-backticks"),
    pytest.param("!env -C data cp inner.duckdb ../d3.bin", "d3.bin", id="env-C"),
    pytest.param("import subprocess\nsubprocess.run(['env', '--chdir=data', 'cp', "
                 "'inner.duckdb', '../d4.bin'])", "d4.bin", id="env-chdir-argv"),
])
def test_a_copy_from_a_folder_known_only_when_it_runs_is_refused(
        k: Kernel, intact: None, code: str, out: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert "database file" in r.everything()
    assert not (k.workdir / out).exists()


@pytest.mark.parametrize("args", [
    pytest.param("'-m', 'http.server', '0', '--bind', '127.0.0.1'", id="the-working-folder"),
    pytest.param("'-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', 'data'",
                 id="a-folder-with-a-database"),
    pytest.param("'-m', 'http.server', '0', '--bind', '127.0.0.1', '-d', '.'", id="dot"),
])
def test_serving_a_folder_that_holds_a_database_is_refused(k: Kernel, intact: None,
                                                           args: str) -> None:
    r = k.blocked("import subprocess, sys\n"
                  f"p = subprocess.Popen([sys.executable, {args}], stdout=subprocess.DEVNULL,"
                  " stderr=subprocess.DEVNULL)\np.kill(); p.wait()", "exfiltration")
    assert "database file" in r.everything() and "whoever connects" in r.everything()


def test_a_served_folder_of_html_is_fetched(k: Kernel) -> None:
    r = k.ok("import subprocess, sys, time, urllib.request, re\n"
             "p = subprocess.Popen([sys.executable, '-u', '-m', 'http.server', '0', '--bind',"
             " '127.0.0.1', '--directory', 'site'], stdout=subprocess.PIPE, text=True)\n"
             "line = p.stdout.readline()\n"
             "port = re.search(r'port (\\d+)', line).group(1)\n"
             "try:\n"
             "    print(urllib.request.urlopen(f'http://127.0.0.1:{port}/index.html',"
             " timeout=60).read().decode())\n"
             "finally:\n    p.kill(); p.wait()", timeout=120)
    assert "<h1>plain page</h1>" in r.stream


def test_counts_and_plain_output_go_to_files(k: Kernel) -> None:
    k.ok("!sqlite3 x.sqlite \"SELECT count(*) FROM customers\" > n1.txt\n"
         "!sqlite3 x.sqlite \"SELECT count(DISTINCT email) AS n FROM customers\" 2> e1.txt"
         " >> n1.txt\n"
         "import subprocess\n"
         "subprocess.run(['sqlite3', 'x.sqlite', 'SELECT count(*) FROM customers'],"
         " stdout=open('n2.txt', 'w'), check=True)\n"
         "subprocess.run(['ls', 'site'], stdout=open('ls.txt', 'w'), check=True)\n"
         "p = subprocess.run(['sqlite3', 'x.sqlite', 'SELECT count(*) FROM customers'],"
         " capture_output=True, text=True, check=True)\n"
         "open('n3.txt', 'w').write(p.stdout)")
    assert (k.workdir / "n1.txt").read_text() == "50\n50\n"
    assert (k.workdir / "n2.txt").read_text() == "50\n"
    assert (k.workdir / "n3.txt").read_text() == "50\n"
    assert (k.workdir / "ls.txt").read_text() == "index.html\n"


def test_plain_files_listed_and_copied_from_a_folder_work(k: Kernel) -> None:
    k.ok("!find site | tar cf l1.tar -T -\n!find . -name '*.html' | tar cf l2.tar -T -\n"
         "!env -C site cp index.html ../copied.html\n!cd $(echo site) && cp index.html ../c2.html")
    with tarfile.open(k.workdir / "l1.tar") as t:
        assert "site/index.html" in t.getnames()
    with tarfile.open(k.workdir / "l2.tar") as t:
        assert t.getnames() == ["./site/index.html"]
    for name in ("copied.html", "c2.html"):
        assert (k.workdir / name).read_text() == "<h1>plain page</h1>\n"


def test_a_database_listed_by_find_is_refused(k: Kernel, intact: None) -> None:
    r = k.blocked("!find data -type f | tar cf l3.tar -T -", "exfiltration")
    assert "inner.duckdb" in r.everything()
    assert not (k.workdir / "l3.tar").exists()


@pytest.mark.parametrize(("code", "out"), [
    pytest.param("import duckdb\nb = duckdb.connect().sql(\"SELECT content FROM "
                 "read_blob('data/inner.duckdb')\").fetchall()[0][0]\n"
                 "open('b1.bin', 'wb').write(b[16:])", "b1.bin", id="read-blob-duckdb"),
    pytest.param("import duckdb\nb = duckdb.connect().sql(\"SELECT content FROM "
                 "read_blob('x.*')\").fetchall()[0][0]\nopen('b2.bin', 'wb').write(b[100:])",
                 "b2.bin", id="read-blob-glob-sqlite"),
    pytest.param("import duckdb\nduckdb.connect().execute(\"COPY (SELECT content FROM "
                 "read_blob('x.sqlite')) TO 'b3.csv' (FORMAT csv)\")", "b3.csv",
                 id="copy-of-read-blob"),
    pytest.param("import sqlite3\ns = sqlite3.connect('x.sqlite').serialize()\n"
                 "open('b4.bin', 'wb').write(s[100:])", "b4.bin", id="serialize-headless"),
    pytest.param("import sqlite3\nsqlite3.connect('x.sqlite').execute(\"VACUUM INTO 'b5.db'\")",
                 "b5.db", id="vacuum-into"),
    pytest.param("import sqlite3\nc = sqlite3.connect(':memory:')\n"
                 "c.execute(\"ATTACH 'x.sqlite' AS s\")\nc.execute(\"VACUUM s INTO 'b6.db'\")",
                 "b6.db", id="vacuum-attached-into"),
])
def test_database_bytes_read_without_open_are_not_written(k: Kernel, intact: None, code: str,
                                                          out: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert "database" in r.everything()
    dest = k.workdir / out
    assert not dest.exists() or dest.stat().st_size == 0


_SERVE = ("import functools, http.server, threading, urllib.request\n"
          "h = functools.partial(http.server.SimpleHTTPRequestHandler, directory='.')\n"
          "srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n"
          "threading.Thread(target=srv.serve_forever, daemon=True).start()\n"
          "try:\n"
          "    got = urllib.request.urlopen(f'http://127.0.0.1:{{srv.server_address[1]}}/{name}',"
          " timeout=60).read()\n"
          "except Exception as e:\n    got = repr(e).encode()\n"
          "finally:\n    srv.shutdown(); srv.server_close()\n"
          "print(len(got), got[:20])")


def test_a_server_in_the_kernel_does_not_send_a_database_file(k: Kernel, intact: None) -> None:
    r = k.run(_SERVE.format(name="x.sqlite"), timeout=120)
    assert "SQLite format" not in r.everything() and "8192" not in r.stream, r.everything()
    r = k.ok(_SERVE.format(name="site/index.html"), timeout=120)
    assert "<h1>plain page" in r.stream


def test_database_reads_that_copy_nothing_work(k: Kernel) -> None:
    r = k.ok("import duckdb, sqlite3\n"
             "print(duckdb.connect().sql(\"SELECT size FROM read_blob('site/*')\").fetchall())\n"
             "c = sqlite3.connect('x.sqlite')\n"
             "print(c.execute('SELECT count(*) FROM customers').fetchall())\n"
             "c.execute('VACUUM')\n"
             "open('after.csv', 'w').write('\\n'.join(f'{i},{i * 2}' for i in range(10000)))\n"
             "plain = sqlite3.connect('plain.db')\n"
             "plain.execute('CREATE TABLE t (code TEXT)')\n"
             "plain.executemany('INSERT INTO t VALUES (?)', [(f'P{i}',) for i in range(500)])\n"
             "plain.commit()\nplain.backup(sqlite3.connect('plain_copy.db'))")
    assert "[(20,)]" in r.stream and "[(50,)]" in r.stream
    assert (k.workdir / "after.csv").read_text().splitlines()[-1] == "9999,19998"
    with sqlite3.connect(k.workdir / "plain_copy.db") as c:
        assert c.execute("SELECT count(*) FROM t").fetchone() == (500,)


def _products(path: Path) -> list[str]:
    """A database of long plain texts (product descriptions, no sensitive column)."""
    texts = [f"Stainless steel kettle model {i:05d}, 1.7 litres, cordless base" for i in range(300)]
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, description TEXT)")
        db.executemany("INSERT INTO products (description) VALUES (?)", [(t,) for t in texts])
    db.close()
    return texts


def test_a_downloaded_database_is_saved_with_any_client(k: Kernel, tmp_path: Path) -> None:
    """A database file a server sends is not this machine's: ``requests``' ``content`` and
    ``iter_content`` chunks are written, whole and byte for byte; a copy of a local database
    under another name still is not."""
    import functools
    import http.server
    import threading

    _products(tmp_path / "remote.sqlite")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/remote.sqlite"
        k.ok(f"import requests\nr = requests.get({url!r}, timeout=60)\n"
             "open('dl1.sqlite', 'wb').write(r.content)\n"
             f"with requests.get({url!r}, stream=True, timeout=60) as r, "
             "open('dl2.sqlite', 'wb') as f:\n"
             "    for chunk in r.iter_content(4096):\n        f.write(chunk)\n"
             "from pathlib import Path\n"
             f"Path('dl3.sqlite').write_bytes(requests.get({url!r}, timeout=60).content)")
    finally:
        server.shutdown()
        server.server_close()
    for name in ("dl1.sqlite", "dl2.sqlite", "dl3.sqlite"):
        assert (k.workdir / name).read_bytes() == (tmp_path / "remote.sqlite").read_bytes()


def test_a_local_database_under_another_name_is_still_a_copy(k: Kernel, intact: None) -> None:
    """Bytes that begin as a database file and are the start of one here (read by a route no
    index saw: a child's output) are refused."""
    r = k.blocked("import subprocess\n"
                  "p = subprocess.run(['tail', '-c', '+1', 'x.sqlite'], capture_output=True)\n"
                  "open('h1.bin', 'wb').write(p.stdout)", "exfiltration")
    assert "database file" in r.everything()
    dest = k.workdir / "h1.bin"
    assert not dest.exists() or dest.stat().st_size == 0


def test_text_values_found_in_a_database_read_as_bytes_are_no_copy(k: Kernel) -> None:
    """After a database file was read as bytes, a CSV of its long plain texts is written: the
    texts are values (judged by the data exits), not the file's pages; the pages themselves
    are still refused."""
    texts = _products(k.workdir / "products.sqlite")
    k.ok("import hashlib, sqlite3\n"
         "print(hashlib.sha256(open('products.sqlite', 'rb').read()).hexdigest()[:8])\n"
         "rows = sqlite3.connect('products.sqlite').execute("
         "'SELECT id, description FROM products').fetchall()\n"
         "open('products.csv', 'w').write(''.join(f'{i},\"{d}\"\\n' for i, d in rows))\n"
         "open('one.txt', 'w').write(rows[5][1] + '\\n' + rows[6][1] + '\\n')")
    lines = (k.workdir / "products.csv").read_text().splitlines()
    assert len(lines) == 300 and texts[299] in lines[-1]
    assert (k.workdir / "one.txt").read_text() == f"{texts[5]}\n{texts[6]}\n"
    k.blocked("d = open('products.sqlite', 'rb').read()\n"
              "open('pages.bin', 'wb').write(d[4096:])", "exfiltration")


@pytest.mark.parametrize("code", [
    pytest.param("import os\nd = open('x.sqlite', 'rb').read()\n"
                 "fd = os.open('s1.bin', os.O_WRONLY | os.O_CREAT)\n"
                 "for at in range(13, len(d), 24):\n    os.write(fd, d[at:at + 24])", id="os-write-24"),
    pytest.param("d = open('x.sqlite', 'rb').read()\n"
                 "with open('s1.bin', 'wb', buffering=0) as f:\n"
                 "    for at in range(101, len(d), 64):\n        f.write(d[at:at + 64])",
                 id="unbuffered-64"),
])
def test_a_copy_in_pieces_shorter_than_a_window_is_refused(k: Kernel, intact: None,
                                                           code: str) -> None:
    """Unbuffered writes are judged one by one: pieces shorter than the index's windows are
    looked at with the end of what the file got before them, so the copy stops within a few
    pieces (a file over 256 MB is indexed at a wider step: the same holds, a few steps in)."""
    dest = k.workdir / "s1.bin"
    if dest.exists():
        dest.unlink()
    k.blocked(code, "exfiltration")
    data = dest.read_bytes()   # at most the first page (the schema) and a piece of the next
    assert len(data) < 4096 + 2048 and EMAIL.encode() not in data, len(data)
