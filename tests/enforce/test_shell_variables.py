"""Shell commands whose file names come from the environment or appear only when they run.

A variable a cell put in ``os.environ`` is inherited by every child: ``!rm $T`` deletes the file
``T`` names. A name produced by ``$(...)`` or left empty by an unset variable is known only when
the program runs, where no later layer of the guard sees it. Each spelling is refused and the
protected file keeps its bytes; honest uses of variables and substitutions still run."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "shellvars"
    d.mkdir()
    (d / "sales.csv").write_text("a,b\n1,2\n")
    with guarded_kernel(d, warehouse=20) as kernel:
        kernel.ok("import os\nos.environ['T'] = 'wh.duckdb'\nos.environ['SRC'] = 'sales.csv'")
        yield kernel


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("code", [
    "!rm $T", "!rm ${T}", "!rm \"$T\"", "!echo x > $T", "!: > $T", "!cp /dev/null $T",
    "!mv $T moved.duckdb", "!truncate -s 0 $T", "!echo x | tee $T",
    "!dd if=/dev/zero of=$T bs=1 count=1 2>/dev/null", "!sh -c 'rm \"$T\"'",
    "!bash -c \"rm $T\"", "!eval rm $T",
    "import subprocess\nsubprocess.run('rm $T', shell=True)",
    "import os, subprocess\nsubprocess.run('rm $Q', shell=True, env={**os.environ, 'Q': 'wh.duckdb'})",
    "!rm $(echo wh.duckdb)", "!rm `echo wh.duckdb`", "!echo x > $(echo wh.duckdb)",
    "!rm $NOT_SET_ANYWHERE", "!ln -sf /dev/null wh.duckdb",
])
def test_a_protected_file_named_through_the_environment_or_at_run_time_is_kept(
        k: Kernel, code: str) -> None:
    wh = k.workdir / "wh.duckdb"
    before = _digest(wh)
    r = k.run(code)
    text = r.everything()
    # ``tee`` naming the warehouse is also a copy of it: either rule refuses
    assert r.status == "error" and ("[destructive-files]" in text or (
        "tee" in code and "[exfiltration]" in text)), text
    assert wh.is_file() and not wh.is_symlink() and _digest(wh) == before
    assert not (k.workdir / "moved.duckdb").exists()


def test_honest_variables_and_substitutions_run(k: Kernel) -> None:
    k.ok("!cp $SRC copy_$(date +%Y).csv && echo hi >> notes_$(date +%F).txt")
    assert [p.read_text() for p in k.workdir.glob("copy_*.csv")] == ["a,b\n1,2\n"]
    assert [p.read_text() for p in k.workdir.glob("notes_*.txt")] == ["hi\n"]
    r = k.ok("!echo $T; ls $(pwd) > /dev/null && echo listed")
    assert "wh.duckdb" in r.stream and "listed" in r.stream
    k.ok("!ln -s sales.csv link.csv && rm $SRC.bak 2>/dev/null; rm -f link.csv")
    assert (k.workdir / "sales.csv").read_text() == "a,b\n1,2\n"
