"""The child guard tells its own code by identity, as the kernel does (``own_code``): a script
in a guarded Python child that compiles its code under a guard file's name, or raises the child
guard's token to such a frame, is still judged. In a real kernel, the protected file the child
deletes is still there and the child says why; an honest child still runs."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

# rot13 names: the kernel's reading of the script sees no guard module by name
HEAD = ("import codecs, os, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "m = sys.modules[R('whclgre_thneq.ubbxf.puvyq')]\n"
        "name = os.path.join(os.path.dirname(m.__file__), 'own_code.py')\n"
        "DEL = \"getattr(__import__('os'), R('erzbir'))('data/probe.duckdb')\\n\"\n")
SCRIPTS = [
    pytest.param(HEAD + "exec(compile(DEL, name, 'exec'), {'R': R})\n", id="named-code"),
    pytest.param(HEAD + "exec(compile('def f():\\n    return sys._getframe()\\n', name, 'exec'), "
                 "g := {'sys': sys})\nsetattr(getattr(m, R('_gy')), R('ohfl'), g['f']())\n"
                 "exec(compile('F = sys._getframe()\\n' + DEL, name, 'exec'), {'R': R, 'sys': sys})\n",
                 id="named-token"),
    pytest.param(HEAD + "exec(compile('import sys\\nsetattr(M, B, sys._getframe())\\n' + DEL, "
                 "name, 'exec'), {'R': R, 'M': getattr(m, R('_gy')), 'B': R('ohfl')})\n",
                 id="named-token-same-frame"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    with guarded_kernel(d) as kernel:
        kernel.ok("import subprocess, sys")
        yield kernel


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_guard_files_name_is_no_token_in_a_child(k: Kernel, script: str) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    (k.workdir / "named.py").write_text(script)
    r = k.run("p = subprocess.run([sys.executable, 'named.py'], capture_output=True, text=True)\n"
              "print(p.returncode, p.stderr[-400:])")
    assert probe.exists(), r.everything()
    assert "Blocked by jupyter_guard" in r.everything(), r.everything()


def test_an_honest_child_still_runs(k: Kernel) -> None:
    (k.workdir / "honest.py").write_text(
        "import os\nopen('child_out.txt', 'w').write('ok')\nos.remove('child_out.txt')\n"
        "import csv\nprint(sum(1 for _ in csv.reader(open('data/keep.csv'))) > 0, 6 * 7)\n")
    r = k.ok("p = subprocess.run([sys.executable, 'honest.py'], capture_output=True, text=True)\n"
             "print(p.returncode, p.stdout, p.stderr[-300:])")
    assert "0 True 42" in r.stream, r.everything()
