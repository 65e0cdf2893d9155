"""Loading is all or nothing: every part of the guard installs, or every cell is refused.

Real kernels. The one thing faked is a crash (a part's ``install`` that raises), set up in the
kernel before ``%load_ext``; the race is made deterministic by a thread that mutates
``sys.modules`` and imports modules for the whole of the load.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.kernel.extension import PARTS
from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

CRASH = """
import jupyter_guard.{mod} as _m
_orig, _calls = _m.install, []
def _crash(*a, **k):
    _calls.append(1)
    if len(_calls) <= {times}:
        raise RuntimeError("part exploded")
    return _orig(*a, **k)
_m.install = _crash
"""


@pytest.fixture()
def folder(work_root: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    d = work_root / f"load-{uuid.uuid4().hex[:8]}"
    (d / "data").mkdir(parents=True)
    (d / "data" / "keep.csv").write_text("id\n1\n")
    make_warehouse(d / "wh.duckdb", rows=10)
    yield d


def _kernel(d: Path) -> Kernel:
    return Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_USER": "alice"})


def _tables(d: Path) -> set[str]:
    con = duckdb.connect(str(d / "wh.duckdb"), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("mod,part", [("kernel.wire_mask", "masking"),
                                      ("hooks.runtime", "run-time layer"),
                                      ("hooks.sinks", "SQL sinks"),
                                      ("kernel.approvals", "approvals"),
                                      ("kernel.children", "children")])
def test_a_part_that_fails_twice_refuses_every_cell(folder: Path, mod: str, part: str):
    k = _kernel(folder)
    try:
        assert k.run(CRASH.format(mod=mod, times=2)).status == "ok"
        loaded = k.run("%load_ext jupyter_guard")
        assert f"could not install its {part}" in loaded.text and "restart the kernel" in loaded.text
        for code in ("import shutil; shutil.rmtree('data')", "!rm -rf data",
                     "import duckdb; duckdb.connect('wh.duckdb').execute('DROP TABLE customers')",
                     "x = 1"):
            r = k.run(code)
            assert r.status == "error" and "[guard-error]" in r.text, (code, r.text)
            assert f"could not install its {part}" in r.text
            assert len(r.error["traceback"]) == 1      # one line, no 40-line traceback
        status = k.run("%guard status")
        assert status.status == "ok" and f"part     {part}: RuntimeError: part exploded" in status.text
        assert "REFUSING every cell" in status.text
    finally:
        k.stop()
    assert (folder / "data" / "keep.csv").exists()
    assert "customers" in _tables(folder)


def test_a_part_that_fails_once_is_retried_and_the_kernel_is_fully_guarded(folder: Path):
    k = _kernel(folder)
    try:
        assert k.run(CRASH.format(mod="hooks.runtime", times=1)).status == "ok"
        assert k.run("%load_ext jupyter_guard").status == "ok"
        assert k.run("_calls").text.strip() == "[1, 1]"
        status = k.run("%guard status").text
        for part in ("SQL sinks", "masking", "run-time layer", "children", "approvals",
                     "self-protection"):
            assert f"part     {part}: on" in status
        assert "REFUSING" not in status
        r = k.run("import shutil\nf = getattr(shutil, 'rm' + 'tree')\nf('data')")
        assert r.status == "error" and "[destructive-files]" in r.text
        assert k.run("print(40 + 2)").text.strip() == "42"      # benign twin
    finally:
        k.stop()
    assert (folder / "data" / "keep.csv").exists()


RACE = """
import sys, threading, importlib, types
_stop = threading.Event()
_rounds = [0]
def _churn():
    names = ["email.mime.text", "xml.dom.minidom", "json.tool", "csv", "fractions", "statistics"]
    while not _stop.is_set():
        for i in range(200):
            sys.modules[f"_jg_race_{i}"] = types.ModuleType(f"_jg_race_{i}")
        for i in range(200):
            sys.modules.pop(f"_jg_race_{i}", None)
        for n in names:
            sys.modules.pop(n, None)
            importlib.import_module(n)
        _rounds[0] += 1
_t = threading.Thread(target=_churn, daemon=True)
_t.start()
while _rounds[0] < 3:      # the churn is running before the load starts
    _stop.wait(0.001)
"""


def test_loading_while_another_thread_imports_is_fully_guarded(folder: Path):
    k = _kernel(folder)
    try:
        assert k.run(RACE).status == "ok"
        loaded = k.run("%load_ext jupyter_guard\n_stop.set(); _t.join()")
        assert "could not install" not in loaded.text, loaded.text
        assert k.run("_rounds[0] > 3").text.strip() == "True"   # it ran during the load
        status = k.run("%guard status").text
        assert "REFUSING" not in status and status.count(": on") == len(PARTS), status
        r = k.run("import shutil\nf = getattr(shutil, 'rm' + 'tree')\nf('data')")
        assert r.status == "error" and "[destructive-files]" in r.text
        r = k.run("import duckdb\nduckdb.connect('wh.duckdb').execute('DROP TABLE customers')")
        assert r.status == "error" and "[destructive-ddl]" in r.text
    finally:
        k.stop()
    assert (folder / "data" / "keep.csv").exists()
    assert "customers" in _tables(folder)


MUTATING_KEY = """
import sys, types
class _Key(str):      # a module name whose every comparison imports another module
    def startswith(self, *a):
        sys.modules[f"_jg_grown_{len(sys.modules)}"] = types.ModuleType("grown")
        return str.startswith(self, *a)
    def __eq__(self, other):
        sys.modules[f"_jg_grown_{len(sys.modules)}"] = types.ModuleType("grown")
        return str.__eq__(self, other)
    __hash__ = str.__hash__
sys.modules[_Key("_jg_trigger")] = types.ModuleType("trigger")
"""


def test_sys_modules_growing_during_every_look_at_it_leaves_the_kernel_fully_guarded(folder: Path):
    """The race made deterministic: ``sys.modules`` grows each time the guard looks at a key."""
    k = _kernel(folder)
    try:
        assert k.run(MUTATING_KEY).status == "ok"
        loaded = k.run("%load_ext jupyter_guard")
        assert "could not install" not in loaded.text, loaded.text
        assert k.run("len([m for m in list(sys.modules) if str.startswith(m, '_jg_grown_')]) > 0").text.strip() \
            == "True"                                   # it did grow while the guard loaded
        status = k.run("%guard status").text
        assert "REFUSING" not in status and status.count(": on") == len(PARTS), status
        r = k.run("import shutil\nf = getattr(shutil, 'rm' + 'tree')\nf('data')")
        assert r.status == "error" and "[destructive-files]" in r.text
    finally:
        k.stop()
    assert (folder / "data" / "keep.csv").exists()
