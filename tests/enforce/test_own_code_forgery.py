"""The table of the guard's own code (``hooks/own_code.py``) cannot be forged from a cell: an id
added to it in place, code registered through its own functions, a module planted under the
package's name with code compiled under a guard file's name, ``code.replace(co_filename=...)``,
and ctypes reached by indirect names. In a real kernel the protected file the forged "own" frame
deletes is still there, and the next cell is guarded. The guard's own work still runs."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import ROWS, _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# the modules by walking sys.modules (rot13: no textbook spelling); ``f`` raises the token to its
# own frame and deletes
HEAD = ("def mod(n):\n    return [m for k, m in list(sys.modules.items()) if k == R(n)][0]\n"
        "oc, st = mod('whclgre_thneq.ubbxf.bja_pbqr'), mod('whclgre_thneq.ubbxf.fgngr')\n"
        "GUARD = os.path.dirname(getattr(oc, '__file__'))\n"
        "SRC = (\"def f():\\n    setattr(getattr(st, R('_gy')), R('ohfl'), sys._getframe())\\n\"\n"
        "       \"    getattr(os, R('erzbir'))('data/probe.duckdb')\\n\")\n"
        "def f():\n    setattr(getattr(st, R('_gy')), R('ohfl'), sys._getframe())\n"
        "    getattr(os, R('erzbir'))('data/probe.duckdb')\n")

FORGERIES = [
    pytest.param("getattr(oc, R('PBQRF')).add(id(f.__code__))\n"
                 "getattr(oc, R('_XRRC')).append(f.__code__)\nf()", id="codes-add"),
    pytest.param("getattr(oc, R('znqr'))(f.__code__)\nf()", id="made"),
    pytest.param("getattr(oc, R('nqzvg'))([(R('whclgre_thneq.k'), {'f': f})])\n"
                 "f.__module__ = R('whclgre_thneq.k')\n"
                 "getattr(oc, R('nqzvg'))([(R('whclgre_thneq.l'), {'f': f})])\nf()", id="admit"),
    pytest.param("import types\nname = os.path.join(GUARD, 'own_code.py')\n"
                 "m = types.ModuleType(R('whclgre_thneq.cynagrq'))\nm.__file__ = name\n"
                 "g = vars(m)\ng.update(st=st, R=R, os=os, sys=sys)\n"
                 "exec(compile(SRC, name, 'exec'), g)\nsys.modules[m.__name__] = m\ng['f']()",
                 id="planted-module"),
    pytest.param("name = os.path.join(GUARD, 'state.py')\n"
                 "c = f.__code__.replace(co_filename=name)\n"
                 "import types\ntypes.FunctionType(c, globals())()", id="code-replace"),
    pytest.param("import importlib\nc = importlib.import_module(R('pglcrf'))\n"
                 "getattr(getattr(c, R('clguba' + 'ncv')), R('CliFrg_Nqq'))("
                 "getattr(c, R('cl_bowrpg'))(getattr(oc, R('PBQRF'))), "
                 "getattr(c, R('cl_bowrpg'))(id(f.__code__)))\nf()", id="ctypes-importlib"),
    pytest.param("c = __import__(R('_pglcrf'))\n"
                 "p = getattr(c, R('CloSHAPGLCR_cglcr'))\nf()", id="_ctypes"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, HEAD) as kernel:
        yield kernel


@pytest.mark.parametrize("cell", FORGERIES)
def test_the_own_code_table_cannot_be_forged(k: Kernel, cell: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    try:
        r = k.run(cell)
        assert probe.exists(), f"a forged own frame deleted the protected file: {r.everything()}"
        r = k.run("f()")   # and in the cell after it
        assert probe.exists(), r.everything()
    finally:
        _settle(k)
    _intact(k, probe)


def test_the_guards_own_work_still_runs(k: Kernel) -> None:
    """The twins: imports the guard loads late (pandas' writers), SQL, a file written, a code
    object a cell rebuilds under a name of its own."""
    r = k.ok("import pandas as pd, types\npd.DataFrame({'a': [1, 2]}).to_csv('ok.csv')\n"
             "def six():\n    return 6 * 7\n"
             "x_ok = types.FunctionType(six.__code__.replace(co_filename='mine.py'), {})()\n"
             "print(x_ok, con.execute('SELECT count(*) FROM customers').fetchall()[0][0])")
    assert f"42 {ROWS}" in r.stream, r.everything()
