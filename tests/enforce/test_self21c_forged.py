"""Code the user makes under an installed library's file name is the user's code.

``Runtime.user_caller`` (and the ``busy`` token's walk) took a frame whose file name lies under
the standard library or site-packages for that library working for its caller: raw sockets,
``ctypes`` and tracers are the library's own business there. Code compiled by a cell under
``pandas.__file__`` (``compile``, ``CodeType.replace(co_filename=...)``, through ``codeop``, a
``<frozen ...>`` name) passed for pandas: ``ctypes.CDLL(None).unlink(...)`` in it deleted a
protected file. Now ``integrity`` records each library name user code makes code under
(``own_code.FORGED``) and frames of it are judged as the user's. A real kernel: each spelling is
refused and the file is intact; pandas itself, and code compiled under a name of the user's,
still run with correct results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import busy_kernel, probe_kept
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

SETUP = ("import pandas as pd, types, codeop, ctypes\nfrom concurrent import futures\n"
         "PD = pd.core.frame.__file__\n"
         "UNLINK = R('ha') + R('yvax')\n"   # a name built at run time: no static reading
         "SRC = ('def gone():\\n    getattr(ctypes.CDLL(None), ' + repr(UNLINK) + ')"
         "(b\"data/probe.duckdb\")\\n')\n")

ATTACKS = [
    pytest.param("g = {'ctypes': ctypes}\n"
                 "exec(compile(SRC + 'gone()\\n', pd.core.series.__file__, 'exec'), g)",
                 id="module-compiled-as-pandas"),
    pytest.param("g = {'ctypes': ctypes}\nexec(compile(SRC, pd.core.generic.__file__, 'exec'), g)\n"
                 "g['gone']()",
                 id="function-compiled-as-pandas"),
    pytest.param("exec(SRC)\nf = types.FunctionType(gone.__code__.replace("
                 "co_filename=pd.io.common.__file__), globals())\nf()",
                 id="code-replaced-filename"),
    pytest.param("g = {'ctypes': ctypes}\n"
                 "exec(codeop.Compile()(SRC, pd.core.indexing.__file__, 'exec'), g)\n"
                 "g['gone']()", id="compiled-through-codeop"),
    pytest.param("g = {'ctypes': ctypes}\nexec(compile(SRC, '<frozen os>', 'exec'), g)\n"
                 "g['gone']()", id="frozen-name"),
    pytest.param("g = {'ctypes': ctypes}\nexec(compile(SRC, pd.core.base.__file__, 'exec'), g)\n"
                 "with futures.ThreadPoolExecutor(1) as ex:\n    ex.submit(g['gone']).result()",
                 id="in-a-thread"),
    # the record's name rebound in every guard module that reads it, then the code made
    pytest.param("import sys\nfor m in [m for n, m in list(sys.modules.items()) "
                 "if n.startswith(R('whclgre_thneq.ubbxf'))]:\n"
                 "    if R('SBETRQ') in vars(m):\n        setattr(m, R('SBETRQ'), set())\n"
                 "g = {'ctypes': ctypes}\nexec(compile(SRC, pd.core.ops.__file__, 'exec'), g)\n"
                 "g['gone']()", id="record-rebound"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, SETUP) as kernel:
        yield kernel


@pytest.mark.parametrize("cell", ATTACKS)
def test_code_named_like_a_library_is_the_users(k: Kernel, cell: str) -> None:
    probe_kept(k, cell)


def test_pandas_and_code_of_the_users_own_names_still_run(k: Kernel) -> None:
    """After the attacks forged pandas' names: pandas' own work, and code compiled under a name
    of the user's that writes a file of its own, give correct results."""
    r = k.ok("g = {}\nexec(compile(SRC, PD, 'exec'), g)\n"
             "df = pd.DataFrame({'a': [3, 1, 2]})\ndf.to_csv('mine.csv', index=False)\n"
             "print('sum', pd.read_csv('mine.csv')['a'].sum(), "
             "df.sort_values('a')['a'].tolist())\n"
             "h = {}\nexec(compile('def w(p):\\n    open(p, \"w\").write(\"ok\")\\n', "
             "'analysis.py', 'exec'), h)\nh['w']('note.txt')\n"
             "print('note', open('note.txt').read())")
    assert "sum 6 [1, 2, 3]" in r.stream and "note ok" in r.stream, r.everything()
