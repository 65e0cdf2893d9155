"""Red team, shell children that change files through an option or a little language of a
program that mostly reads: ``sort -o``, ``uniq in out``, ``tar --remove-files``, compressors
that replace their input, ``find -fprint``, ``awk`` (``system()``, pipes, ``print > f``,
``-i inplace``) and ``sed`` scripts (``w f``, ``e cmd``, ``s///e``). In a real kernel, by
effect: the protected file is intact and the cell is refused. The same programs reading, and
writing where nothing is protected, still run."""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

KEEP = "id,city\n1,Paris\n"


@pytest.fixture(scope="module")
def kd(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / f"redteam-shell-{uuid.uuid4().hex[:8]}"
    (d / "data").mkdir(parents=True)
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": None})
    try:
        k.ok("%load_ext jupyter_guard")
        yield k, d
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def _reset(d: Path) -> None:
    shutil.rmtree(d / "data", ignore_errors=True)
    (d / "data").mkdir()
    (d / "data" / "keep.csv").write_text(KEEP)


def _intact(d: Path) -> bool:
    f = d / "data" / "keep.csv"
    return f.is_file() and not f.is_symlink() and f.read_text() == KEEP


REFUSED = [
    pytest.param("!tar --remove-files -cf /tmp/jg_rt.tar data", "destructive-files",
                 id="tar-remove-files"),
    pytest.param("!tar cf /tmp/jg_rt.tar --remove-files data/keep.csv", "destructive-files",
                 id="tar-old-style-remove-files"),
    pytest.param("!sort -o data/keep.csv /dev/null", "destructive-files", id="sort-o"),
    pytest.param("!sort --output=data/keep.csv /dev/null", "destructive-files",
                 id="sort-output"),
    pytest.param("!uniq /dev/null data/keep.csv", "destructive-files", id="uniq-out"),
    pytest.param("!gzip data/keep.csv", "destructive-files", id="gzip-in-place"),
    pytest.param("!gzip -r data", "destructive-files", id="gzip-recursive"),
    pytest.param("!xz data/keep.csv", "destructive-files", id="xz-in-place"),
    pytest.param("!bzip2 data/keep.csv", "destructive-files", id="bzip2-in-place"),
    pytest.param("!find /tmp -maxdepth 0 -fprint data/keep.csv", "destructive-files",
                 id="find-fprint"),
    pytest.param("!awk 'BEGIN{system(\"rm -rf data\")}'", "destructive-files", id="awk-system"),
    pytest.param("!awk -v c='rm -rf data' 'BEGIN{system(c)}'", "child-unread",
                 id="awk-system-built-at-run-time"),
    pytest.param("!awk 'BEGIN{print \"rm -rf data\" | \"sh\"}'", "child-unread",
                 id="awk-print-into-sh"),
    pytest.param("!awk 'BEGIN{\"rm -rf data\" | getline}'", "destructive-files",
                 id="awk-getline-from-command"),
    pytest.param("!awk 'BEGIN{print \"x\" > \"data/keep.csv\"}'", "destructive-files",
                 id="awk-print-redirect"),
    pytest.param("!gawk -i inplace '{print \"x\"}' data/keep.csv", "destructive-files",
                 id="gawk-inplace"),
    pytest.param("!sed -n 'w data/keep.csv' /dev/null", "destructive-files", id="sed-w"),
    pytest.param("!echo | sed '1e rm -rf data'", "destructive-files", id="sed-e-command"),
    pytest.param("!echo 'rm -rf data' | sed 's/.*/&/e'", "child-unread",
                 id="sed-s-e-pattern-space"),
    pytest.param("import os\nos.system(\"awk 'BEGIN{system(\\\"rm -rf data\\\")}'\")",
                 "destructive-files", id="os-system-awk-system"),
]


@pytest.mark.parametrize("code,rule", REFUSED)
def test_programs_that_change_files_by_option_or_script_are_refused(kd, code: str,
                                                                    rule: str) -> None:
    k, d = kd
    _reset(d)
    r = k.run(code)
    assert _intact(d), r.everything()
    assert r.status == "error" and f"[{rule}]" in r.everything(), r.everything()


BENIGN = [
    pytest.param("!awk -F, 'NR > 1 && $1 > 0 {print $2}' data/keep.csv", "Paris",
                 id="awk-comparisons"),
    pytest.param("!awk '/Paris|Lyon/ {print $0}' data/keep.csv", "1,Paris", id="awk-regex-or"),
    pytest.param("!awk -F, '{print $2 | \"sort\"}' data/keep.csv", "Paris",
                 id="awk-print-into-sort"),
    pytest.param("!sort -r data/keep.csv", "id,city", id="sort-reads"),
    pytest.param("!sed -n '2p' data/keep.csv", "1,Paris", id="sed-print"),
    pytest.param("!gzip -c data/keep.csv | gzip -dc", "1,Paris", id="gzip-to-stdout"),
    pytest.param("!tar -cf - data | tar -tf -", "data/keep.csv", id="tar-without-removing"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!echo x > {td}/f && gzip {td}/f && ls {td}", "f.gz", id="gzip-scratch-file"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!sort -o {td}/s data/keep.csv && cat {td}/s", "1,Paris", id="sort-o-scratch"),
]


@pytest.mark.parametrize("code,expected", BENIGN)
def test_the_same_programs_reading_or_writing_scratch_still_run(kd, code: str,
                                                                expected: str) -> None:
    k, d = kd
    _reset(d)
    r = k.ok(code)
    assert expected in r.stream, r.everything()
    assert _intact(d)
