"""The child guard's module-level holders (its decision service, its runtime, its network
table), in a Python child started from a cell: a child that fills them in place with objects of
its own must still be refused a protected file's deletion. Names are built at run time (rot13)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import _intact, busy_kernel
from tests.kernelutil import Kernel

HEAD = ("import codecs, os, sys, importlib\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "GONE = 'data/probe.duckdb'\n"
        "class Yes:\n    def __getattr__(s, n):\n        return Yes()\n"
        "    def __call__(s, *a, **k):\n        return Yes()\n    def __bool__(s):\n"
        "        return False\n    def __iter__(s):\n        return iter(())\n"
        "def tried(fn):\n    try:\n        fn()\n        print('tamper set', file=sys.stderr)\n"
        "    except BaseException as e:\n"
        "        print('tamper failed:', type(e).__name__, str(e)[:200], file=sys.stderr)\n"
        "def holder(mod, name):\n"
        "    m = importlib.import_module(R('whclgre_thneq.ubbxf.') + R(mod))\n"
        "    return getattr(m, R(name))\n")
TAMPERS = [
    # before: module-level lists, filled in place (insert), with no audit event
    pytest.param("tried(lambda: holder('puvyq_fdy', '_TVIR_THNEQ')(Yes()))", id="guard"),
    pytest.param("tried(lambda: holder('puvyq_rkvgf', '_TVIR_EG')(Yes()))", id="runtime"),
    pytest.param("tried(lambda: holder('puvyq_rkvgf', '_TVIR_ARG')({}))", id="network"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, "import subprocess\n") as kernel:
        yield kernel


@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_child_filling_its_guards_holders_deletes_nothing(k: Kernel, tamper: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    (k.workdir / "child.py").write_text(HEAD + tamper + "\ngetattr(os, R('erzbir'))(GONE)\n"
                                        "print('child done')\n")
    r = k.run("p = subprocess.run([sys.executable, 'child.py'], capture_output=True, text=True)\n"
              "print(p.returncode, p.stdout, p.stderr[-600:])")
    text = r.everything()
    assert probe.exists(), f"the protected file was deleted: {text}"
    assert "Blocked by jupyter_guard" in text and "tamper set" not in text, text
    _intact(k, probe)


def test_a_child_still_writes_its_own_files(k: Kernel) -> None:
    (k.workdir / "honest.py").write_text(
        "import os\nopen('note.txt', 'w').write('ok')\nos.remove('note.txt')\n"
        "open('note2.txt', 'w').write('fine')\nprint('note', open('note2.txt').read())\n")
    r = k.ok("p = subprocess.run([sys.executable, 'honest.py'], capture_output=True, text=True)\n"
             "print(p.returncode, p.stdout, p.stderr[-600:])")
    assert "0 note fine" in r.stream, r.everything()
