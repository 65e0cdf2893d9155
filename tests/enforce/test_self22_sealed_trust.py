"""What the guard trusts cannot be changed in place from a cell.

``own_code`` keeps the ids of the guard's own code and the library file names user code made
code under (``forged``: a frame of such a name is judged as the user's). Both were plain sets a
cell reached through ``sys.modules``: ``FORGED.clear()`` after compiling code under a pandas file
name made that code pass for pandas, and ``ctypes.CDLL(None).unlink`` in it deleted a protected
file. Now they are frozen sets in a read-only mapping (``own_code.SEALED``), added to only by the
guard's own code; the readers take the mapping at import. A real kernel: each way to change them
(the set methods, the mapping, its dict through ``gc`` or ``ctypes``, the readers'
``__defaults__``, closures, rebound names), tried after (or before) the code is made, leaves
the code refused and the file intact. The twins: pandas' own work, the user's own compiled
code, ``gc.get_referents``, ``__defaults__`` and a ``ctypes`` view of the user's own objects
still work.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

# rot13: own_code, state, runtime, SEALED, forged, codes, FORGED, CODES, held, user_caller
SETUP = ("import pandas as pd, ctypes, gc, types\n"
         "OC = sys.modules[R('whclgre_thneq.ubbxf.bja_pbqr')]\n"
         "ST = sys.modules[R('whclgre_thneq.ubbxf.fgngr')]\n"
         "RTM = sys.modules[R('whclgre_thneq.ubbxf.ehagvzr')]\n"
         "F, C = R('sbetrq'), R('pbqrf')\n"
         # the sealed mapping, or (a guard that kept plain sets) the sets themselves
         "S = getattr(OC, R('FRNYRQ'), None) or {F: getattr(OC, R('SBETRQ'), None), "
         "C: getattr(OC, R('PBQRF'), None)}\n"
         "HELD = getattr(ST, R('uryq'))\nUC = getattr(RTM.Runtime, R('hfre_pnyyre'))\n"
         "EMPTY = types.MappingProxyType({C: S[C], F: frozenset()})\n"
         "UNLINK = R('ha') + R('yvax')\n"   # a name built at run time: no static reading
         "SRC = ('def gone():\\n    getattr(ctypes.CDLL(None), ' + repr(UNLINK) + ')"
         "(b\"data/probe.duckdb\")\\n')\n"
         "def made(name):\n    g = {'ctypes': ctypes}\n"
         "    exec(compile(SRC, name, 'exec'), g)\n    return g['gone']\n"
         "def tried(fn):\n    try:\n        fn()\n    except BaseException as e:\n"
         "        print('tamper failed:', type(e).__name__)\n")

CLOSURES = ("n = 0\nfor m in [m for k, m in list(sys.modules.items()) if k.startswith(R('whclgre'))]:\n"
            "    for v in list(vars(m).values()):\n"
            "        for fn in (list(vars(v).values()) if isinstance(v, type) else [v]):\n"
            "            for c in getattr(fn, '__closure__', None) or ():\n"
            "                try:\n                    x = c.cell_contents\n"
            "                except ValueError:\n                    continue\n"
            "                if x is S or x is getattr(OC, F):\n"
            "                    c.cell_contents = EMPTY if x is S else (lambda *a, **k: None)\n"
            "                    n += 1\nprint('cells', n)")

# (how the trust is changed, whether before the code is made: a record that stops recording)
TAMPERS = [
    pytest.param("S[F].clear()", False, id="clear"),
    pytest.param("S[F].discard(NAME)", False, id="discard"),
    pytest.param("set.clear(S[F])", False, id="set-clear-unbound"),
    pytest.param("S[F].__isub__({NAME})", False, id="isub"),
    pytest.param("S[C].__ior__({id(gone.__code__)})", False, id="codes-ior"),
    pytest.param("S[C].add(id(gone.__code__))", False, id="codes-add"),
    pytest.param("S[F] = frozenset()", False, id="mapping-item"),
    pytest.param("gc.get_referents(S)[0][F] = frozenset()", False, id="gc-referents"),
    pytest.param("[d for d in gc.get_referrers(S[F]) if type(d) is dict][0][F] = frozenset()",
                 False, id="gc-referrers"),
    pytest.param("ctypes.py_object.from_address(id(S) + 16).value[F] = frozenset()", False,
                 id="ctypes-from-address"),
    pytest.param("HELD.__defaults__ = (EMPTY,)\n    UC.__defaults__ = ((), EMPTY)", False,
                 id="readers-defaults"),
    pytest.param("HELD.__module__ = UC.__module__ = 'mine'\n    HELD.__defaults__ = (EMPTY,)\n"
                 "    UC.__defaults__ = ((), EMPTY)", False, id="readers-defaults-renamed"),
    pytest.param("for m in (OC, ST, RTM):\n        m.SEALED = EMPTY", False, id="names-rebound"),
    pytest.param("fn = getattr(OC, F)\n    fn.__module__ = 'mine'\n"
                 "    fn.__defaults__ = (EMPTY, lambda **k: None)", True, id="record-defaults"),
    pytest.param("exec(CLOSURES, globals())", True, id="closure-cells"),
    pytest.param("getattr(OC, R('_YBPX')).acquire()", True, id="lock-held"),
]
# a pandas file per case, never forged before in this kernel (a recorded name stays recorded)
FILES = ["core.series", "core.generic", "core.indexing", "core.base", "core.ops", "core.strings",
         "core.window", "core.reshape.merge", "core.groupby.groupby", "core.arrays.base",
         "io.common", "io.formats.format", "core.dtypes.cast", "core.indexes.base",
         "core.internals.managers", "core.tools.datetimes", "core.missing"]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, SETUP + f"CLOSURES = {CLOSURES!r}\n") as kernel:
        yield kernel


@pytest.mark.parametrize("n", range(len(TAMPERS)))
def test_the_trust_cannot_be_changed_in_place(k: Kernel, n: int) -> None:
    tamper, before = TAMPERS[n].values
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    mod = FILES[n]
    name = f"NAME = getattr(__import__('importlib').import_module('pandas.{mod}'), '__file__')\n"
    make, change = "gone = made(NAME)\n", f"def t():\n    {tamper}\ntried(t)\n"
    try:
        r = k.run(name + (change + make if before else make + change) + "gone()")
        text = r.everything()
        assert probe.exists(), f"the protected file was deleted: {text}"
        assert r.status == "error" and "Blocked by jupyter_guard" in text, text
        r = k.run("gone()")   # and in the cell after it
        assert probe.exists(), r.everything()
        assert r.status == "error" and "Blocked by jupyter_guard" in r.everything(), r.everything()
    finally:
        _settle(k)
    _intact(k, probe)


def test_pandas_the_users_code_and_gc_still_work(k: Kernel) -> None:
    """After the attacks: pandas' own work, code compiled under a name of the user's that
    writes a file of its own, ``gc.get_referents`` and ``__defaults__`` of the user's own
    objects, and a ``ctypes`` view of a buffer of the user's, all with correct results."""
    r = k.ok("df = pd.DataFrame({'a': [3, 1, 2]})\ndf.to_csv('mine.csv', index=False)\n"
             "print('sum', pd.read_csv('mine.csv')['a'].sum(), "
             "df.sort_values('a')['a'].tolist())\n"
             "h = {}\nexec(compile('def w(p):\\n    open(p, \"w\").write(\"ok\")\\n', "
             "'analysis.py', 'exec'), h)\nh['w']('note.txt')\n"
             "print('note', open('note.txt').read())\n"
             "box = [1, 2]\nprint('refs', gc.get_referents([box]))\n"
             "def plus(x, y=1):\n    return x + y\nplus.__defaults__ = (41,)\n"
             "print('plus', plus(1))\nbuf = bytearray(b'ab')\n"
             "print('view', ctypes.c_char.from_buffer(buf, 1).value)")
    assert "sum 6 [1, 2, 3]" in r.stream and "note ok" in r.stream, r.everything()
    assert "refs [[1, 2]]" in r.stream and "plus 42" in r.stream, r.everything()
    assert "view b'b'" in r.stream, r.everything()
