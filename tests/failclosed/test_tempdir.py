"""Explicit protection beats the temp-dir exemption: a notebook folder and ``TMPDIR`` both inside
the system temp dir, in a real kernel, every protection checked by its effect, with benign twins
(temp-dir scratch cleanup still works)."""
from __future__ import annotations

import base64
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel


@pytest.fixture(scope="module")
def tmpk() -> Iterator[tuple[Kernel, Path]]:
    root = Path(tempfile.mkdtemp(prefix="jg-tmpdir-", dir="/tmp"))
    nb = root / "nb"
    (nb / "data").mkdir(parents=True)
    (nb / "data" / "keep.csv").write_text("id\n1\n")
    make_warehouse(nb / "wh.duckdb", rows=10)
    (root / "guard").mkdir()
    policy = root / "policy.yaml"
    policy.write_text("extends: default\n")
    env = {"TMPDIR": str(root), "JUPYTER_GUARD_AUDIT": str(root / "guard" / "audit.duckdb"),
           "JUPYTER_GUARD_POLICY": str(policy), "JUPYTER_GUARD_USER": "alice"}
    k = Kernel(nb, env)
    try:
        loaded = k.run("%load_ext jupyter_guard")
        assert loaded.status == "ok", loaded.text
        assert k.run("import tempfile; print(tempfile.gettempdir())").text.strip() == str(root)
        deadline = time.monotonic() + 60
        while not (root / "guard" / "audit.duckdb").exists():   # the first ingest published it
            assert time.monotonic() < deadline, "the audit file never appeared"
            k.run("pass")
        yield k, root
    finally:
        k.stop()
        shutil.rmtree(root, ignore_errors=True)


def _b64(code: str) -> str:
    return base64.b64encode(code.encode()).decode()


RMTREE = "import shutil\nshutil.rmtree('data')"
ATTACKS = [
    pytest.param("import shutil\nshutil.rmtree('data')", "nb/data/keep.csv", id="rmtree-data"),
    pytest.param("import os\nos.remove('wh.duckdb')", "nb/wh.duckdb", id="remove-duckdb"),
    pytest.param("!rm -rf data", "nb/data/keep.csv", id="shell-rm-rf-data"),
    pytest.param("open('wh.duckdb', 'w').close()", "nb/wh.duckdb", id="truncate-duckdb"),
    pytest.param(f"import base64\nexec(base64.b64decode('{_b64(RMTREE)}'))",
                 "nb/data/keep.csv", id="base64-exec-rmtree"),
    pytest.param("import os\nos.remove(os.environ['JUPYTER_GUARD_AUDIT'])", "guard/audit.duckdb",
                 id="delete-audit-file"),
    pytest.param("import shutil\nshutil.rmtree(tempfile.gettempdir() + '/guard')", "guard/audit.duckdb",
                 id="rmtree-folder-holding-audit"),
    pytest.param("!rm -rf ../guard", "guard/audit.duckdb", id="shell-rm-folder-holding-audit"),
    pytest.param("open(tempfile.gettempdir() + '/policy.yaml', 'w').write('mode: audit')",
                 "policy.yaml", id="overwrite-policy"),
    pytest.param("import shutil\nshutil.rmtree(tempfile.gettempdir() + '/holds')", "holds/x.duckdb",
                 id="rmtree-temp-folder-holding-duckdb"),
    pytest.param("!rm -rf ../holds", "holds/x.duckdb", id="shell-rm-temp-folder-holding-duckdb"),
    pytest.param("import shutil\nshutil.move('wh.duckdb', '../moved.duckdb')", "nb/wh.duckdb",
                 id="move-duckdb-out"),
    pytest.param("import shutil\nshutil.rmtree('scratch_in_nb')", "nb/scratch_in_nb/f.txt",
                 id="rmtree-inside-notebook-folder"),
    pytest.param("import os\nos.rename('data', '../data_moved')", "nb/data/keep.csv", id="rename-data"),
]


@pytest.mark.parametrize("code,survivor", ATTACKS)
def test_protections_hold_in_the_temp_dir(tmpk: tuple[Kernel, Path], code: str, survivor: str):
    k, root = tmpk
    (root / "holds").mkdir(exist_ok=True)
    (root / "holds" / "x.duckdb").write_bytes(b"x")
    (root / "nb" / "scratch_in_nb").mkdir(exist_ok=True)
    (root / "nb" / "scratch_in_nb" / "f.txt").write_text("x")
    before = (root / survivor).read_bytes()
    r = k.run("import tempfile\n" + code if not code.startswith("!") else code)
    if survivor.startswith("guard/"):   # the audit file changes by itself (it records the refusal)
        assert (root / survivor).stat().st_size > 0, r.text
    else:
        assert (root / survivor).read_bytes() == before, r.text
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard [" in r.text and ("[destructive-files]" in r.text
                                                       or "[self-protection]" in r.text), r.text


BENIGN = [
    pytest.param("import shutil, tempfile\nshutil.rmtree(tempfile.gettempdir() + '/scratch')",
                 "scratch", id="rmtree-temp-scratch"),
    pytest.param("!rm -rf ../scratch", "scratch", id="shell-rm-temp-scratch"),
    pytest.param("import os, shutil, tempfile\nd = tempfile.mkdtemp()\n"
                 "open(os.path.join(d, 'f.txt'), 'w').write('x')\nshutil.rmtree(d)\n"
                 "open(tempfile.gettempdir() + '/scratch/gone', 'w').close()\n"
                 "import os; os.remove(tempfile.gettempdir() + '/scratch/gone')",
                 "", id="mkdtemp-cleanup"),
    pytest.param("import os\nos.remove('notes.txt')", "nb/notes.txt", id="remove-own-note"),
]


@pytest.mark.parametrize("code,gone", BENIGN)
def test_temp_scratch_cleanup_still_works(tmpk: tuple[Kernel, Path], code: str, gone: str):
    k, root = tmpk
    (root / "scratch" / "sub").mkdir(parents=True, exist_ok=True)
    (root / "scratch" / "sub" / "f.txt").write_text("x")
    (root / "nb" / "notes.txt").write_text("x")
    r = k.run(code)
    assert r.status == "ok", r.text
    if gone:
        assert not (root / gone).exists()


def test_a_new_duckdb_file_in_the_temp_notebook_folder_can_be_written(tmpk: tuple[Kernel, Path]):
    k, root = tmpk
    r = k.run("open('fresh.duckdb', 'wb').write(b'x')")
    assert r.status == "ok", r.text
    assert (root / "nb" / "fresh.duckdb").read_bytes() == b"x"
