"""Red team, shell children that change files through an option or a little language of a
program that mostly reads: ``sort -o``, ``uniq in out``, ``tar --remove-files``, compressors
that replace their input, ``find -fprint``, ``awk`` (``system()``, pipes, ``print > f``,
``-i inplace``) and ``sed`` scripts (``w f``, ``e cmd``, ``s///e``). In a real kernel, by
effect: the protected file is intact and the cell is refused. The same programs reading, and
writing where nothing is protected, still run."""
from __future__ import annotations

import shutil
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

KEEP = "id,city\n1,Paris\n"


@pytest.fixture(scope="module")
def kd(work_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / f"redteam-shell-{uuid.uuid4().hex[:8]}"
    (d / "data").mkdir(parents=True)
    src = tmp_path_factory.mktemp("src")   # what the attacks copy, extract or patch over
    (src / "data").mkdir()
    (src / "data" / "keep.csv").write_text("pwned\n")
    with zipfile.ZipFile(src / "x.zip", "w") as z:
        z.write(src / "data" / "keep.csv", "data/keep.csv")
    with tarfile.open(src / "x.tar", "w") as t:
        t.add(src / "data" / "keep.csv", "data/keep.csv")
    (src / "p.diff").write_text("--- data/keep.csv\n+++ data/keep.csv\n@@ -1,2 +1,2 @@\n"
                                " id,city\n-1,Paris\n+1,Nice\n")
    (src / "t.tcl").write_text("file delete data/keep.csv\n")
    (d / "x").mkdir()   # a script of the same name in another folder: the one ``cd`` reaches runs
    (d / "x" / "s1.sh").write_text("rm -rf ../data\n")
    (d / "s1.sh").write_text("echo fine\n")
    (d / "x" / "ok.sh").write_text("echo sub-ok\n")
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": None})
    try:
        k.ok("%load_ext jupyter_guard")
        k.ok(f"SRC = {str(src)!r}")
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
    # relative to where ``cd`` went; named by a pattern, an alias, a function, a trap
    pytest.param("!cd data && rm keep.csv", "destructive-files", id="cd-then-rm"),
    pytest.param("%%bash\npushd data >/dev/null\nrm -f keep.csv", "destructive-files",
                 id="pushd-then-rm"),
    pytest.param("%%bash\nD=da; D=${D}ta\ncd $D && rm -f keep.csv", "destructive-files",
                 id="cd-to-a-built-name"),
    pytest.param("!cd $(echo data) && rm -f keep.csv", "destructive-files",
                 id="cd-to-a-folder-known-at-run-time"),
    pytest.param("!cd x && bash s1.sh", "destructive-files", id="cd-then-script-there"),
    pytest.param("%%bash\ncd x\nsource s1.sh", "destructive-files", id="cd-then-source-there"),
    pytest.param("t = 'data'\n!find {t} -delete", "destructive-files",
                 id="ipython-expansion-judged-when-it-runs"),
    pytest.param("import os\nos.makedirs('{x}', exist_ok=True)\n"
                 "os.system('rm -rf \"{x}/../data\"')", "destructive-files",
                 id="literal-braces-outside-ipython"),
    pytest.param("!rm -f d?ta/*.csv", "destructive-files", id="glob"),
    pytest.param("!rm -f {{data,x}}/keep.csv", "destructive-files", id="brace-expansion"),
    pytest.param("%%bash\nf() { rm -f \"$1\"; }\nf data/keep.csv", "destructive-files",
                 id="function-argument"),
    pytest.param("%%bash\nshopt -s expand_aliases\nalias zz=rm\nzz -f data/keep.csv",
                 "destructive-files", id="alias"),
    pytest.param("%%bash\ntrap 'rm -f data/keep.csv' EXIT\necho hi", "destructive-files",
                 id="trap"),
    # programs the guard has no rule for, handed a protected path
    pytest.param("!ex -sc '%d|x' data/keep.csv", "child-unread", id="ex"),
    pytest.param("!fallocate -p -o 0 -l 4 data/keep.csv", "destructive-files",
                 id="fallocate-punch-hole"),
    pytest.param("!openssl enc -base64 -in /dev/null -out data/keep.csv", "destructive-files",
                 id="openssl-out"),
    pytest.param("!echo 00 | xxd -r - data/keep.csv", "destructive-files", id="xxd-r"),
    pytest.param("!zip -q -m /tmp/jg_rt_m.zip data/keep.csv", "destructive-files", id="zip-move"),
    pytest.param("!patch data/keep.csv {SRC}/p.diff", "destructive-files", id="patch-file"),
    pytest.param("!patch -p0 < {SRC}/p.diff", "child-unread", id="patch-diff-on-stdin"),
    pytest.param("!tclsh < {SRC}/t.tcl", "child-unread", id="tclsh-script-on-stdin"),
    # copies and extractions over a protected folder
    pytest.param("!scp {SRC}/data/keep.csv data/keep.csv", "destructive-files", id="scp-local"),
    pytest.param("!cp -r {SRC}/data .", "destructive-files", id="cp-r-folder-over-folder"),
    pytest.param("!cp -rT {SRC}/data data", "destructive-files", id="cp-rT"),
    # (the folder holds the audit store too: the guard's own files are named first)
    pytest.param("!unzip -o -q {SRC}/x.zip", "self-protection", id="unzip-over"),
    pytest.param("!tar -xf {SRC}/x.tar", "self-protection", id="tar-extract-over"),
    # a child started in another folder (``cwd=``): its relative paths are there
    pytest.param("import subprocess\nsubprocess.run(['rm', '-f', 'keep.csv'], cwd='data')",
                 "destructive-files", id="subprocess-cwd"),
    pytest.param("import subprocess\nsubprocess.run('rm -f keep.csv', shell=True, cwd='data')",
                 "destructive-files", id="subprocess-shell-cwd"),
    pytest.param("import subprocess\nsubprocess.Popen(['truncate', '-s0', 'keep.csv'], "
                 "cwd='data').wait()", "destructive-files", id="popen-cwd"),
    pytest.param("import asyncio\nasync def f():\n    p = await asyncio.create_subprocess_exec("
                 "'rm', '-f', 'keep.csv', cwd='data')\n    await p.wait()\nawait f()",
                 "destructive-files", id="asyncio-exec-cwd"),
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
    pytest.param("!mkdir -p data/sub && ls data", "sub", id="mkdir-in-protected-folder"),
    pytest.param("!wc -l data/keep.csv && file data/keep.csv", "ASCII text", id="readers"),
    pytest.param("!ls data/*.csv; cat d?ta/*.csv", "1,Paris", id="globs-read"),
    pytest.param("!touch x1.tmp x2.tmp && rm -f *.tmp && ls", "data", id="glob-rm-of-own-files"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!cd {td} && touch a && rm a && echo gone", "gone", id="cd-scratch-then-rm"),
    pytest.param("!mkdir -p /tmp/jg_rt_w && cd $(echo /tmp/jg_rt_w) && touch n && rm n && "
                 "echo done", "done", id="cd-known-at-run-time-then-rm-own-file"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!touch {td}/a && rm -r {td} && echo removed", "removed",
                 id="rm-r-of-a-scratch-folder-named-by-ipython"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!touch {td}/a && find {td} -name a -delete && echo found", "found",
                 id="find-delete-in-a-scratch-folder-named-by-ipython"),
    pytest.param("!cd x && bash ok.sh", "sub-ok", id="cd-then-script-there"),
    pytest.param("!bash s1.sh", "fine", id="script-of-the-same-name-here"),
    pytest.param("%%bash\nf() { echo \"hi $1\"; }\nf there", "hi there", id="function"),
    pytest.param("%%bash\nshopt -s expand_aliases\nalias ll='ls -l'\nll data", "keep.csv",
                 id="alias"),
    pytest.param("%%bash\ntrap 'echo bye' EXIT\necho hi", "bye", id="trap"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!unzip -o -q {SRC}/x.zip -d {td} && cat {td}/data/keep.csv", "pwned",
                 id="unzip-into-scratch"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!tar -xf {SRC}/x.tar -C {td} && cat {td}/data/keep.csv", "pwned",
                 id="tar-extract-into-scratch"),
    pytest.param("!unzip -l {SRC}/x.zip", "data/keep.csv", id="unzip-list"),
    pytest.param("!zip -q -r /tmp/jg_rt_b.zip data && unzip -l /tmp/jg_rt_b.zip", "keep.csv",
                 id="zip-a-protected-folder"),
    pytest.param("import tempfile\ntd = tempfile.mkdtemp()\n"
                 "!fallocate -l 10 {td}/f && wc -c {td}/f", "10", id="unknown-program-scratch"),
    pytest.param("import subprocess, tempfile\ntd = tempfile.mkdtemp()\n"
                 "open(td + '/f', 'w').write('x')\n"
                 "print(subprocess.run(['rm', 'f'], cwd=td).returncode, 'removed')", "0 removed",
                 id="subprocess-cwd-scratch"),
]


@pytest.mark.parametrize("code,expected", BENIGN)
def test_the_same_programs_reading_or_writing_scratch_still_run(kd, code: str,
                                                                expected: str) -> None:
    k, d = kd
    _reset(d)
    r = k.ok(code)
    assert expected in r.stream, r.everything()
    assert _intact(d)
