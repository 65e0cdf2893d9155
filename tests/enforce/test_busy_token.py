"""The guard's ``busy`` token cannot be raised from a cell (``hooks/state.py``): whatever a cell
sets, by whatever spelling, the actions the guard refuses stay refused, judged by their effect
in a real kernel over a real DuckDB warehouse: a protected file is still there, ``customers``
still has its rows, the audit store is not opened. Before the token, each of these spellings
switched the run-time hooks off. Ordinary cells still run."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

ROWS = 40

# Names are built at run time (rot13), so that only the run-time layer sees what the cell does.
R = "import codecs, os, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
# the guard's ``state`` module, found by walking sys.modules (no textbook spelling)
FIND = ("def guard_globals():\n    for mod in list(sys.modules.values()):\n"
        "        g = getattr(mod, '__dict__', {})\n"
        "        if g.get('__name__', '').startswith(R('whclgre_thneq.ubbxf.fgngr')):\n"
        "            return g\n")
# a live frame of the guard's own code: one above the cell, or another thread's (the audit's)
FRAME = ("def guard_frame():\n"
         "    for top in [sys._getframe()] + list(sys._current_frames().values()):\n"
         "        f = top\n        while f is not None:\n"
         "            if R('whclgre_thneq') in str(f.f_globals.get('__name__')):\n"
         "                return f\n            f = f.f_back\n")

RAISE = [
    pytest.param(FIND + "setattr(guard_globals()[R('_gy')], R('ohfl'), True)", id="vars-loop"),
    pytest.param(FIND + "guard_globals()[R('Ohfl')]().__enter__()", id="busy-enter"),
    pytest.param("import inspect, threading\nm = inspect.getmodule(threading.Thread.start)\n"
                 "setattr(vars(m)[R('_gy')], R('ohfl'), True)", id="inspect-getmodule"),
    pytest.param("for top in sys._current_frames().values():\n    f = top\n"
                 "    while f is not None:\n        g = f.f_globals\n"
                 "        if R('_gy') in g and R('whclgre_thneq') in str(g.get('__name__')):\n"
                 "            setattr(g[R('_gy')], R('ohfl'), True)\n        f = f.f_back",
                 id="frame-globals"),
    pytest.param(FIND + FRAME + "setattr(guard_globals()[R('_gy')], R('ohfl'), guard_frame())",
                 id="live-guard-frame"),
]

ACTIONS = [
    pytest.param("getattr(os, R('erzbir'))('data/probe.duckdb')", id="remove-protected"),
    pytest.param("con.execute(R('QEBC GNOYR phfgbzref'))", id="drop-table"),
    pytest.param("import duckdb\nduckdb.connect(AUDIT, read_only=True)", id="open-audit"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    with guarded_kernel(d, warehouse=ROWS, connect=True) as kernel:
        kernel.ok(R + f"AUDIT = {str(d / 'audit.duckdb')!r}")
        yield kernel


@contextmanager
def busy_kernel(work_root: Path, setup: str) -> Iterator[Kernel]:
    """A guarded kernel on a warehouse of ``ROWS`` customers, ``R`` and then ``setup`` run in it
    (the kernel of every self-protection file that runs gadgets against the guard's token)."""
    with guarded_kernel(new_workspace(work_root), warehouse=ROWS, connect=True) as kernel:
        kernel.ok(R + setup)
        yield kernel


def _intact(k: Kernel, probe: Path) -> None:
    assert probe.exists(), "the protected file was deleted"
    r = k.ok("print('rows', con.execute('SELECT count(*) FROM customers').fetchall()[0][0])")
    assert f"rows {ROWS}" in r.stream, r.everything()


def probe_kept(k: Kernel, cell: str) -> None:
    """Run ``cell`` with a protected probe file in place: it must end in the guard's refusal
    with the probe and the warehouse intact (the self-protection files' one assertion)."""
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        r = k.run(cell)
        text = r.everything()
        assert probe.exists(), f"the protected file was deleted: {text}"
        assert r.status == "error" and "Blocked by jupyter_guard" in text, text
    finally:
        _settle(k)
    _intact(k, probe)


def _settle(k: Kernel) -> None:
    """Undo what the cell raised, if anything: the next case starts from a clean thread."""
    k.run("import gc, _thread\nfor o in gc.get_objects():\n    if type(o) is _thread._local:\n"
          "        o.__dict__.pop('busy', None)")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("spell", RAISE)
def test_a_raised_flag_waves_nothing_through(k: Kernel, spell: str, action: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        first = k.run(spell + "\n" + action)          # in the cell that raises it
        assert not first.ok, first.everything()
        assert "Blocked by jupyter_guard" in first.everything(), first.everything()
        k.run(spell)                                    # and in the cells after it
        second = k.run(action)
        assert not second.ok and "Blocked by jupyter_guard" in second.everything(), \
            second.everything()
    finally:
        _settle(k)
    _intact(k, probe)


def test_gadgets_do_not_lend_the_token(k: Kernel) -> None:
    """The guard's helpers that run a function as its own work do so only for its own."""
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    for cell in (FIND + "guard_globals()[R('ohfl_jenc')](getattr(os, R('erzbir')))"
                        "('data/probe.duckdb')",
                 FIND + "guard_globals()[R('nf_thneq')](getattr(os, R('erzbir')), "
                        "'data/probe.duckdb')"):
        r = k.run(cell)
        assert not r.ok and "Blocked by jupyter_guard" in r.everything(), r.everything()
    _intact(k, probe)


def test_ordinary_cells_still_run(k: Kernel) -> None:
    """The twins: reading, writing an ordinary file, SQL, and the guard's own recording."""
    r = k.ok("import os\nopen('notes.txt', 'w').write('hello')\nos.remove('notes.txt')\n"
             "print(con.execute('SELECT count(*) FROM customers').fetchall()[0][0])\n"
             "print(sorted(os.listdir('data')) != [])")
    assert str(ROWS) in r.stream and "True" in r.stream, r.everything()
    _intact(k, k.workdir / "data" / "keep.csv")


CHILD = ("import codecs, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
         "for name, mod in list(sys.modules.items()):\n"
         "    if name.startswith(R('whclgre_thneq.ubbxf.puvyq')) and hasattr(mod, R('_gy')):\n"
         "        setattr(getattr(mod, R('_gy')), R('ohfl'), True)\n"
         "getattr(__import__('os'), R('erzbir'))('data/probe.duckdb')\n")


def test_a_child_cannot_raise_its_guards_flag(k: Kernel) -> None:
    """A Python child runs under the child guard, whose token holds in its own frames only."""
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    (k.workdir / "raise_flag.py").write_text(CHILD)
    r = k.run("import subprocess\np = subprocess.run([sys.executable, 'raise_flag.py'], "
              "capture_output=True, text=True)\nprint(p.returncode, p.stderr[-300:])")
    assert probe.exists(), r.everything()
    assert "Blocked by jupyter_guard" in r.everything(), r.everything()
    r = k.ok("p = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, "
             "text=True)\nprint(p.stdout)")
    assert "42" in r.stream, r.everything()


JUDGED = ("for name, mod in list(sys.modules.items()):\n"
          "    if name == R('whclgre_thneq.ubbxf.rkvg_svyrf'):\n"
          "        setattr(getattr(mod, R('_gy')), R('whqtrq'), True)\n")


def test_the_judged_mark_cannot_be_raised(k: Kernel) -> None:
    """The writers' own mark (their file needs no byte scan) holds only in their frames: a
    cell that raises it still has its file's bytes scanned."""
    out = k.workdir / "leak.txt"
    try:
        r = k.run(JUDGED + "f = open('leak.txt', 'w')\nf.write('ssn 123-45-6789\\n')\nf.close()")
        assert not r.ok and "Blocked by jupyter_guard" in r.everything(), r.everything()
        assert "123-45-6789" not in (out.read_text() if out.exists() else "")
    finally:
        k.run(JUDGED.replace("True", "None"))
    k.ok("with open('fine.txt', 'w') as f:\n    f.write('hello')")   # the twin
    assert (k.workdir / "fine.txt").read_text() == "hello"


# text run in a thread the cell starts: it clears the thread's ``user`` mark, then deletes
UNMARK = ("import sys, codecs\\nR = lambda s: codecs.decode(s, 'rot13')\\n"
          "for n, m in list(sys.modules.items()):\\n"
          "    if n == R('whclgre_thneq.ubbxf.fgngr'):\\n"
          "        setattr(getattr(m, R('_gy')), R('hfre'), False)\\n"
          "getattr(__import__('os'), R('erzbir'))('data/probe.duckdb')\\n")


@pytest.mark.parametrize("cell", [
    pytest.param(f"t = threading.Thread(target=exec, args=(\"{UNMARK}\", {{}}))\n"
                 "t.start()\nt.join()", id="thread"),
    pytest.param("from concurrent.futures import ThreadPoolExecutor\n"
                 f"with ThreadPoolExecutor(1) as ex:\n    f = ex.submit(exec, \"{UNMARK}\", {{}})\n"
                 "print(type(f.exception()).__name__)", id="executor"),
])
def test_a_thread_cannot_unmark_itself(k: Kernel, cell: str) -> None:
    """Work a cell starts stays user code when it clears its thread's mark."""
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    k.run("import threading\n" + cell)
    assert probe.exists(), "the thread deleted the protected file"
    r = k.ok("t = threading.Thread(target=lambda: print('thread-ok'))\nt.start()\nt.join()")
    assert "thread-ok" in r.stream, r.everything()
