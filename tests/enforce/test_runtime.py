"""The runtime layer in a real kernel: files, folders and shell children, plain and obfuscated.

Each attack must leave its target in place and end the cell in error with the rule named; each
benign twin must run."""
from __future__ import annotations

import base64

import pytest

pytestmark = pytest.mark.kernel


def b64(code: str) -> str:
    return base64.b64encode(code.encode()).decode()


FILE_ATTACKS = [
    pytest.param("getattr(__import__('o'+'s'), 'rem'+'ove')(T)", id="getattr-import"),
    pytest.param("import os as q\nf = getattr(q, 'unl' + 'ink')\nf(T)", id="renamed-import"),
    pytest.param("exec(__import__('base64').b64decode('{b}').decode())", id="exec-base64"),
    pytest.param("eval(compile(__import__('base64').b64decode('{b}').decode(), 's', 'exec'))",
                 id="eval-compile-base64"),
    pytest.param("import threading, os\nt = threading.Thread(target=getattr(os, 'remove'), args=(T,))\n"
                 "t.start(); t.join()", id="thread-builtin-target"),
    pytest.param("import asyncio, os\nawait asyncio.to_thread(getattr(os, 're'+'move'), T)", id="to_thread"),
    pytest.param("from concurrent.futures import ThreadPoolExecutor as P\nimport os\n"
                 "P(1).submit(getattr(os, 'remove'), T).result()", id="executor"),
    pytest.param("import pathlib\npathlib.Path(T).unlink()", id="pathlib"),
    pytest.param("open(T, 'w').close()", id="truncate-open"),
    pytest.param("import os\nos.truncate(T, 0)", id="os-truncate"),
    pytest.param("import os\nos.rename(T, T + '.bak')", id="rename"),
    pytest.param("import shutil\ngetattr(shutil, 'mo'+'ve')(T, 'elsewhere.txt')", id="shutil-move"),
    pytest.param("import subprocess as s\ns.run(['r'+'m', '-f', T])", id="subprocess-list"),
    pytest.param("import os\ngetattr(os, 'sys'+'tem')('rm -f ' + T)", id="os-system"),
    pytest.param("import subprocess, sys\nsubprocess.run([sys.executable, '-c', "
                 "'import os; os.remove(' + repr(T) + ')'])", id="python-child"),
]


@pytest.mark.parametrize("code", FILE_ATTACKS)
def test_protected_file_survives(kernel, code, request):
    name = f"data/{request.node.callspec.id}.duckdb"
    target = kernel.workdir / name
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(b"precious")
    kernel.ok(f"T = {name!r}")
    body = code.replace("{b}", b64(f"import os\nos.remove({name!r})"))
    _refused(kernel, body, "destructive-files", request.node.callspec.id)
    assert target.read_bytes() == b"precious"


def _refused(kernel, body, rule, case):
    """A refusal in a plain thread ends that thread (its traceback names the rule), not the cell."""
    if case.startswith("thread"):
        r = kernel.run(body)
        assert f"[{rule}]" in r.everything(), r.everything()
    else:
        kernel.blocked(body, rule)


FOLDER_ATTACKS = [
    pytest.param("import shutil\nshutil.rmtree(D)", id="plain"),
    pytest.param("getattr(__import__('sh'+'util'), 'rm'+'tree')(D)", id="getattr"),
    pytest.param("exec(__import__('base64').b64decode('{b}'))", id="exec-bytes"),
    pytest.param("import threading, shutil\nt = threading.Thread(target=shutil.rmtree, args=(D,))\n"
                 "t.start(); t.join()", id="thread"),
    pytest.param("import subprocess\nsubprocess.run('bash -c \"rm -rf ' + D + '\"', shell=True)", id="bash-c"),
    pytest.param("open('x.sh', 'w').write('rm -rf ' + D)\nimport subprocess\nsubprocess.run(['bash', 'x.sh'])",
                 id="script-written-then-run"),
]


@pytest.mark.parametrize("code", FOLDER_ATTACKS)
def test_folder_survives(kernel, code, request):
    name = f"data/dir_{request.node.callspec.id}"
    folder = kernel.workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "f.txt").write_text("x")
    kernel.ok(f"D = {name!r}")
    _refused(kernel, code.replace("{b}", b64(f"import shutil\nshutil.rmtree({name!r})")),
             "destructive-files", request.node.callspec.id)
    assert (folder / "f.txt").read_text() == "x"


def test_runtime_refusal_is_recorded_and_raised_at_call_site(kernel):
    (kernel.workdir / "data").mkdir(exist_ok=True)
    (kernel.workdir / "data" / "r.duckdb").write_text("x")
    kernel.ok("P = ['data/r.duckdb', 'remove']")
    r = kernel.run("import os\ntry:\n    getattr(os, P[1])(P[0])\nexcept PermissionError as e:\n"
                   "    print('caught', type(e).__name__, e.rule_id)")
    assert r.ok and "caught GuardBlocked destructive-files" in r.everything()
    r = kernel.ok("g = get_ipython()._jupyter_guard_kernel.guard\n"
                  "print([e['kind'] + ':' + e['status'] for e in g.recent][-3:])")
    assert "runtime:blocked" in r.everything()


BENIGN = [
    pytest.param("open('scratch.txt', 'w').write('x')\nimport os\nos.remove('scratch.txt')", id="own-scratch"),
    pytest.param("import shutil, tempfile\nd = tempfile.mkdtemp()\nopen(d + '/a', 'w').write('1')\n"
                 "shutil.rmtree(d)", id="rmtree-mkdtemp"),
    pytest.param("import subprocess, sys\nprint(subprocess.run([sys.executable, '--version'], "
                 "capture_output=True, text=True).stdout)", id="python-version"),
    pytest.param("print(open('data/read.duckdb').read())", id="read-protected"),
    pytest.param("exec('x = 1 + 1')\nprint(eval('x * 2'))", id="harmless-exec"),
    pytest.param("import threading\nt = threading.Thread(target=print, args=('hi',))\nt.start(); t.join()",
                 id="thread-print"),
    pytest.param("import dataclasses\n@dataclasses.dataclass\nclass P:\n    a: int\nprint(P(1))", id="dataclass"),
    pytest.param("!echo hello", id="shell-echo"),
    pytest.param("import os\nos.environ['MY_VAR'] = '1'", id="env-other"),
]


@pytest.mark.parametrize("code", BENIGN)
def test_benign_twins_run(kernel, code):
    (kernel.workdir / "data").mkdir(exist_ok=True)
    (kernel.workdir / "data" / "read.duckdb").write_text("readable")
    kernel.ok(code)


def test_kernel_internals_are_not_refused(kernel):
    """History, comms and the audit journal keep working after refusals (no fail-open either)."""
    kernel.blocked("import os\ngetattr(os, 'remove')('data/read.duckdb')", "destructive-files")
    r = kernel.ok("print(len(list(get_ipython().history_manager.get_range_by_str('1-2'))) >= 0)")
    assert "True" in r.everything()
