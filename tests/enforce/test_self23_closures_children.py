"""Two ways around the guard's self-protection, closed, judged by effect in a real kernel.

Closure cells: a cell's contents can be set with no audit event (``f.__closure__[0].cell_contents
= ...``). ``Thread.start``'s wrapper kept the runtime in one; a cell that swapped it for an
object saying "not user code" started a thread whose ``os.remove`` of a protected file went
through; ``sqlite3.connect``'s kept the guard, and a cell that swapped it for one judging
nothing dropped a table of a protected SQLite file. The wrappers are now
``sealed_events.sealed`` (no ``__closure__``; ``gc.get_referents`` of them refused from a cell).

Python children: the child guard had no memory, native-code or ``gc`` checks, and its hook asked
module-level names a script could rebind (``own_work``). Now a child runs the kernel's handlers
(``sealed_events``, through ``child_self``) and its hook holds what it calls: a child script
that deletes a protected file through ``ctypes``, reaches the sealed trust, or rebinds the child
guard's names is refused and the file stays. The twins: threads and executors of the user's,
SQLite reads, and a child's own ``gc``, ``ctypes`` buffer views, compiled code and files still work.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# a fake runtime: whatever asks it, no user code is acting
FAKE = ("class Fake:\n    def __getattr__(self, n):\n        return lambda *a, **k: False\n"
        "def swap(cells):\n    n = 0\n    for c in cells:\n"
        "        x = c.cell_contents if type(c).__name__ == 'cell' else None\n"
        "        if hasattr(x, R('hfre_fgnpx')):\n"
        "            c.cell_contents = Fake()\n            n += 1\n    return n\n"
        # the cells, from a function or from what ``gc`` says it holds (a function, its cells)
        "def cells(objs):\n    for x in objs:\n"
        "        yield from (getattr(x, '__closure__', None) or ()) if callable(x) else "
        "(x if type(x) is tuple else ())\n")
KERNEL_TAMPERS = [
    pytest.param("n = swap(threading.Thread.start.__closure__)", id="closure-cell"),
    pytest.param("n = swap(cells(gc.get_referents(threading.Thread.start)))", id="gc-referents"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, "import gc, subprocess, threading\n" + FAKE) as kernel:
        yield kernel


@pytest.mark.parametrize("tamper", KERNEL_TAMPERS)
def test_a_closure_cell_does_not_switch_the_thread_mark_off(k: Kernel, tamper: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        r = k.run(f"try:\n    {tamper}\nexcept Exception as e:\n    print('tamper failed:', e)\n"
                  "t = threading.Thread(target=getattr(os, R('erzbir')), "
                  "args=('data/probe.duckdb',))\nt.start()\nt.join()")
        text = r.everything()
        assert probe.exists(), f"the protected file was deleted: {text}"
        assert "Blocked by jupyter_guard" in text, text
    finally:
        _settle(k)
    _intact(k, probe)


def test_threads_and_executors_still_work(k: Kernel) -> None:
    r = k.ok("import concurrent.futures as cf\nout = []\n"
             "t = threading.Thread(target=lambda: out.append(sum(range(10))))\nt.start()\n"
             "t.join()\nwith cf.ThreadPoolExecutor(2) as ex:\n"
             "    got = list(ex.map(lambda x: x * 2, [1, 2, 3]))\n"
             "print('thread', out, 'pool', got, threading.Thread.start.__name__)")
    assert "thread [45] pool [2, 4, 6] start" in r.stream, r.everything()


# a guard that judges nothing: every statement is judged as an empty one (allowed)
PASS_GUARD = ("class Lenient:\n    def __init__(s, g):\n        s.g = g\n"
              "    def __getattr__(s, n):\n        return getattr(s.g, n)\n"
              "    def judge(s, analysis, **k):\n        return s.g.judge(type(analysis)(()), **k)\n"
              "def lenient(cells):\n    for c in cells:\n"
              "        if type(c).__name__ == 'cell' and "
              "type(c.cell_contents).__name__ == 'Guard':\n"
              "            c.cell_contents = Lenient(c.cell_contents)\n")
SQLITE_TAMPERS = [
    pytest.param("lenient(getattr(sqlite3.connect, R('__pybfher__'), None) or ())",
                 id="closure-cell"),
    pytest.param("lenient(cells(gc.get_referents(sqlite3.connect)))", id="gc-referents"),
]


def _sqlite(k: Kernel) -> Path:
    import sqlite3

    db = k.workdir / "data" / "w.sqlite"
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t(x)")
        c.execute("INSERT INTO t VALUES (7)")
    c.close()
    return db


@pytest.mark.parametrize("tamper", SQLITE_TAMPERS)
def test_a_closure_cell_does_not_switch_the_sql_guard_off(k: Kernel, tamper: str) -> None:
    """``sqlite3.connect``'s wrapper held the guard in a closure cell: a cell that swapped it for
    one judging nothing dropped a table of a protected database."""
    import sqlite3

    db = _sqlite(k)
    r = k.run("import sqlite3\n" + PASS_GUARD + f"try:\n    {tamper}\n"
              "except Exception as e:\n    print('tamper failed:', e)\n"
              "sq = sqlite3.connect('data/w.sqlite')\nsq.execute(R('QEBC GNOYR g'))\n"
              "sq.commit()\nsq.close()")
    text = r.everything()
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT x FROM t").fetchall()
    c.close()
    assert rows == [(7,)], text
    assert "Blocked by jupyter_guard" in text, text


def test_sqlite_still_works(k: Kernel) -> None:
    _sqlite(k)
    r = k.ok("import sqlite3\nsq = sqlite3.connect('data/w.sqlite')\n"
             "print('rows', sq.execute('SELECT x FROM t').fetchall(), sqlite3.connect.__name__)\n"
             "sq.close()")
    assert "rows [(7,)] connect" in r.stream, r.everything()


HEAD = ("import codecs, ctypes, gc, json, os, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "OC = sys.modules[R('whclgre_thneq.ubbxf.bja_pbqr')]\nS = getattr(OC, R('FRNYRQ'))\n"
        "CH = sys.modules[R('whclgre_thneq.ubbxf.puvyq')]\n"
        "UNLINK = R('ha') + R('yvax')\nGONE = 'data/probe.duckdb'\n"
        "SRC = 'def gone():\\n    getattr(ctypes.CDLL(None), UNLINK)(GONE.encode())\\n'\n"
        "def tried(fn):\n    try:\n        fn()\n    except BaseException as e:\n"
        "        print('tamper failed:', type(e).__name__, str(e)[:200], file=sys.stderr)\n")
# code made under a library's file name (json's) that deletes the file through libc
LIB = ("g = {'ctypes': ctypes, 'UNLINK': UNLINK, 'GONE': GONE}\n"
       "exec(compile(SRC, json.__file__, 'exec'), g)\n")
CHILD_TAMPERS = [
    pytest.param("tried(lambda: getattr(ctypes.CDLL(None), UNLINK)(GONE.encode()))",
                 id="ctypes-unlink"),
    pytest.param(LIB + "g['gone']()", id="library-named-code"),
    pytest.param(LIB + "def t():\n    gc.get_referents(S)[0][R('sbetrq')] = frozenset()\n"
                 "tried(t)\ng['gone']()", id="gc-referents-sealed"),
    pytest.param(LIB + "def t():\n    ctypes.py_object.from_address(id(S) + 16).value"
                 "[R('sbetrq')] = frozenset()\ntried(t)\ng['gone']()", id="from-address"),
    pytest.param("for n in (R('bja_jbex'), R('_bja'), R('uryq')):\n"
                 "    setattr(CH, n, lambda *a, **k: True)\ngetattr(os, R('erzbir'))(GONE)",
                 id="names-rebound"),
    pytest.param("def t():\n    getattr(CH, R('bja_jbex')).__defaults__ = "
                 "(lambda *a: True, lambda *a: True)\ntried(t)\n"
                 "getattr(os, R('erzbir'))(GONE)", id="defaults"),
]


@pytest.mark.parametrize("tamper", CHILD_TAMPERS)
def test_a_child_cannot_switch_its_guard_off(k: Kernel, tamper: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    (k.workdir / "child.py").write_text(HEAD + tamper + "\nprint('child done')\n")
    r = k.run("p = subprocess.run([sys.executable, 'child.py'], capture_output=True, text=True)\n"
              "print(p.returncode, p.stdout, p.stderr[-600:])")
    text = r.everything()
    assert probe.exists(), f"the protected file was deleted: {text}"
    assert "Blocked by jupyter_guard" in text, text
    _intact(k, probe)


def test_a_childs_own_introspection_still_works(k: Kernel) -> None:
    (k.workdir / "honest.py").write_text(
        "import ctypes, gc, json\nbox = [1, 2]\nbuf = bytearray(b'ab')\n"
        "h = {}\nexec(compile('def w(p):\\n    open(p, \"w\").write(\"ok\")\\n', 'mine.py', "
        "'exec'), h)\nh['w']('note.txt')\n"
        "def plus(x, y=1):\n    return x + y\nplus.__defaults__ = (41,)\n"
        "print('refs', gc.get_referents([box]), 'view', ctypes.c_char.from_buffer(buf, 1).value,"
        " 'note', open('note.txt').read(), 'plus', plus(1), json.dumps({'a': 1}))\n")
    r = k.ok("p = subprocess.run([sys.executable, 'honest.py'], capture_output=True, text=True)\n"
             "print(p.returncode, p.stdout, p.stderr[-600:])")
    assert "0 refs [[1, 2]] view b'b' note ok plus 42 {\"a\": 1}" in r.stream, r.everything()
