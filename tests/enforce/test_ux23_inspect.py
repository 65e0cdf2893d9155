"""Shift+Tab inspection runs no code a cell defined and shows no raw value; the kernel offers no
debugger (``kernel.client_inspect``, ``kernel.client_code``).

Read by effect on a real guarded kernel, with raw ``inspect_request``s: a property, a
``__getattr__``, a descriptor, a ``__repr__`` and a ``getdoc`` a cell defined never run (the
files they would create are absent), each such request is one audit row (rule ``inspect``),
no raw SSN is in any message the kernel sent. Benign twins: a plain function shows its
signature and docstring, ``df.shape``, ``df.ssn`` and a module function are found, a magic
too. ``kernel_info_reply`` lists no debugger.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import new_workspace
from tests.enforce.test_audit19_sent import wait_for
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

ROWS = 40
SSNS: list[str] = []


@pytest.fixture(scope="module")
def home(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    cwd = new_workspace(work_root, data=False)
    with guarded_kernel(cwd, {"JUPYTER_GUARD_USER": "ux23"}, warehouse=ROWS) as k:
        con = duckdb.connect(str(cwd / "wh.duckdb"), read_only=True)
        try:
            SSNS[:] = [r[0] for r in con.execute("SELECT ssn FROM customers").fetchall()]
        finally:
            con.close()
        k.ok("import duckdb, os\ncon = duckdb.connect('wh.duckdb')\n"
             "df = con.sql('SELECT * FROM customers').df()\nS = df.ssn[0]\nL = list(df.ssn)\n"
             "def touch(n):\n    open(n, 'w').close()\n    return 1\n"
             "class Desc:\n    def __get__(self, o, t):\n        return touch('ran_desc')\n"
             "class A:\n"
             "    '''An A.'''\n"
             "    d = Desc()\n"
             "    @property\n    def p(self):\n        os.system('touch ran_prop')\n"
             "        return self\n"
             "    def __getattr__(self, n):\n        touch('ran_getattr_' + n)\n        return self\n"
             "    def __repr__(self):\n        touch('ran_repr')\n        return 'A()'\n"
             "    def getdoc(self):\n        touch('ran_getdoc')\n        return 'doc'\n"
             "class R:\n    __repr__ = lambda self: os.system('touch ran_lambda') and ''\n"
             "ns = {}\nexec(compile(\"def rep(self):\\n    os.system('touch ran_exec')\\n"
             "    return 'E'\", '<string>', 'exec'), {'os': os}, ns)\n"
             "class E:\n    __repr__ = ns['rep']\n"
             "class Meta(type):\n    def __getattr__(cls, n):\n        return touch('ran_meta')\n"
             "class M(metaclass=Meta):\n    pass\n"
             "a = A()\nr = R()\ne = E()\n"
             "def area(width: int, height: int = 2) -> int:\n"
             "    '''The area of a rectangle.'''\n    return width * height\n")
        yield k, cwd


def inspect(k: Kernel, code: str, level: int = 0) -> tuple[dict[str, Any], str]:
    """The inspect_reply's content and the text of every message the request caused."""
    msg_id = k.kc.inspect(code, len(code), level)
    seen: list[Any] = []
    while True:
        r = k.kc.get_shell_msg(timeout=60)
        if r["parent_header"].get("msg_id") == msg_id:
            seen.append(r["content"])
            break
    while True:   # the request's busy/idle on iopub
        m = k.kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") == msg_id:
            seen.append(m["content"])
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
    data = seen[0].get("data") or {}
    if isinstance(data.get("text/plain"), str):   # IPython colours its sections
        data["text/plain"] = re.sub(r"\x1b\[[0-9;]*m", "", data["text/plain"])
    return seen[0], json.dumps(seen, ensure_ascii=False)


ATTACKS = ("a.p", "a.p.x", "a.zz", "a.zz.yy", "a.d", "a.d.real", "a", "r", "a.p.p", "e", "M.zz",
           "M.zz.y", "e.__repr__")


def test_inspection_runs_no_cell_code(home: tuple[Kernel, Path]) -> None:
    k, cwd = home
    for name in ATTACKS:
        for level in (0, 1):
            reply, _ = inspect(k, name, level)
            assert reply["status"] == "ok", (name, reply)
    ran = sorted(p.name for p in cwd.glob("ran_*"))
    assert ran == [], ran
    rows = wait_for(cwd / "audit.duckdb", "rule_id = 'inspect' AND code = 'inspect_request a.p.x'")
    assert rows[0]["decision"] == "block" and rows[0]["kind"] == "runtime", rows
    reply, _ = inspect(k, "a.p.x")
    assert "jupyter_guard [inspect]" in reply["data"]["text/plain"], reply


def test_benign_inspection_works(home: tuple[Kernel, Path]) -> None:
    k, cwd = home
    reply, _ = inspect(k, "area")
    text = reply["data"]["text/plain"]
    assert reply["found"] and "width: int, height: int = 2" in text, text
    assert "The area of a rectangle." in text
    reply, _ = inspect(k, "area(3, ")   # the cursor inside a call: the function
    assert "The area of a rectangle." in reply["data"]["text/plain"], reply
    reply, _ = inspect(k, "A")   # a cell's class, not an instance: its docstring
    assert reply["found"] and "An A." in reply["data"]["text/plain"], reply
    for name, want in (("df.shape", "property"), ("os.path.join", "join"),
                       ("df.ssn", "Series"), ("con.sql", "sql"), ("len", "len"),
                       ("timeit", "timeit")):
        reply, _ = inspect(k, name)
        assert reply["found"] and want in reply["data"]["text/plain"], (name, reply)
    reply, _ = inspect(k, "nothing_here")
    assert reply["found"] is False, reply
    rows = wait_for(cwd / "audit.duckdb", "code = 'inspect_request area' AND decision = 'allow'")
    assert rows[0]["status"] == "ok", rows


def test_no_raw_value_in_an_inspection(home: tuple[Kernel, Path]) -> None:
    k, _cwd = home
    assert len(SSNS) == ROWS
    for name in ("S", "L", "df.ssn", "df", "df.ssn.values"):
        for level in (0, 1):
            reply, text = inspect(k, name, level)
            assert reply["found"], (name, reply)
            leaked = [s for s in SSNS if s in text or s.replace("-", "") in text]
            assert not leaked, (name, text[:600])


def test_kernel_offers_no_debugger(home: tuple[Kernel, Path]) -> None:
    k, _cwd = home
    msg_id = k.kc.kernel_info()
    while True:
        r = k.kc.get_shell_msg(timeout=60)
        if r["parent_header"].get("msg_id") == msg_id:
            break
    content = r["content"]
    assert content["status"] == "ok" and content["language_info"]["name"] == "python", content
    assert "debugger" not in content.get("supported_features", []), content
    assert content.get("debugger", False) is False, content


def test_inspection_cost(home: tuple[Kernel, Path]) -> None:
    """One inspection stays fast (printed: ``-s`` shows it)."""
    k, _cwd = home
    for name in ("area", "df"):
        inspect(k, name)
        start = time.perf_counter()
        for _ in range(10):
            inspect(k, name)
        ms = (time.perf_counter() - start) * 100
        print(f"inspect {name}: {ms:.1f} ms a request")
        assert ms < 1000, ms
