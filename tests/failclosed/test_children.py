"""Children are guarded or judged: every child form, in a real kernel, by effect (the protected
folder is still there, the cell ends in error or the child is stopped), each with a benign twin
that runs and gives the right result."""
from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.kernelutil import Kernel

RM = "import shutil; shutil.rmtree('data')"


def _folder(work_root: Path) -> Path:
    d = work_root / f"children-{uuid.uuid4().hex[:8]}"
    (d / "data").mkdir(parents=True)
    (d / "data" / "keep.csv").write_text("id,city\n1,Paris\n")
    (d / "s1.sh").write_text("rm -rf data\n")
    (d / "s4.py").write_text("import shutil\nshutil.rmtree('data')\n")
    (d / "mod_rm.py").write_text("import shutil\nshutil.rmtree('data')\n")
    (d / "reader.py").write_text("print(open('data/keep.csv').read().splitlines()[1])\n")
    (d / "ok.sh").write_text("echo shell-ok\n")
    (d / "Makefile").write_text("all:\n\t@echo made\n")
    return d


@pytest.fixture(scope="module")
def kd(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = _folder(work_root)
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_USER": "alice",
                   "TARGET": "data"})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        yield k, d
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def _intact(d: Path) -> bool:
    return (d / "data" / "keep.csv").read_text() == "id,city\n1,Paris\n"


REFUSED = [
    pytest.param(f'!python -c "{RM}"', "destructive-files", id="bang-python-c"),
    pytest.param(f'!python3 -c "{RM}"', "destructive-files", id="bang-python3-c"),
    pytest.param(f'import sys\nget_ipython().system(sys.executable + """ -c "{RM}" """)',
                 "destructive-files", id="venv-python-via-system"),
    pytest.param(f'import sys\n!{{sys.executable}} -c "{RM}"', "destructive-files",
                 id="venv-python-bang-expanded"),
    pytest.param(f'import subprocess\nsubprocess.run("""python -c "{RM}" """, shell=True)',
                 "destructive-files", id="subprocess-shell-true"),
    pytest.param(f"import subprocess\nsubprocess.run(['python', '-c', \"{RM}\"])",
                 "destructive-files", id="subprocess-list"),
    pytest.param(f'%%bash\npython -c "{RM}"', "destructive-files", id="cell-bash-python-c"),
    pytest.param(f'%%sh\npython3 -c "{RM}"', "destructive-files", id="cell-sh-python-c"),
    pytest.param(f'%%script bash\npython -c "{RM}"', "destructive-files", id="cell-script-python"),
    pytest.param(f'import os\nos.system("""python -c "{RM}" """)', "destructive-files", id="os-system"),
    pytest.param(f"import os, sys\nos.posix_spawn(sys.executable, [sys.executable, '-c', \"{RM}\"], "
                 "os.environ)", "destructive-files", id="posix-spawn"),
    pytest.param("!perl -e 'use File::Path; rmtree(\"data\")'", "destructive-files", id="perl-e"),
    pytest.param("!node -e \"require('fs').rmSync('data', {recursive: true})\"",
                 "destructive-files", id="node-e"),
    pytest.param("!ruby -e 'require \"fileutils\"; FileUtils.rm_rf(\"data\")'",
                 "destructive-files", id="ruby-e"),
    pytest.param("!Rscript -e 'unlink(\"data\", recursive=TRUE)'", "destructive-files", id="rscript-e"),
    pytest.param("!sh -c 'rm -rf data'", "destructive-files", id="sh-c"),
    pytest.param("!bash s1.sh", "destructive-files", id="bash-script-written-earlier"),
    pytest.param("!python s4.py", "destructive-files", id="python-script-written-earlier"),
    pytest.param("%%bash\ncat > s2.sh <<'EOF'\nrm -rf data\nEOF\nbash s2.sh", "destructive-files",
                 id="bash-script-written-in-the-same-cell"),
    pytest.param("%%bash\necho 'import shutil; shutil.rmtree(\"data\")' > s5.py\npython s5.py",
                 "destructive-files", id="python-script-written-in-the-same-cell"),
    pytest.param("%%bash\ncurl -s -o s6.sh http://127.0.0.1:9/x\nbash s6.sh", "child-unread",
                 id="bash-script-written-unseen-in-the-same-cell"),
    pytest.param("open('s3.sh', 'w').write('rm -rf data\\n')\nimport os\nos.system('bash s3.sh')",
                 "destructive-files", id="script-written-by-python-in-the-same-cell"),
    pytest.param("!perl s7.pl", "child-unread", id="unreadable-perl-script"),
    pytest.param("!cat s1.sh | bash", "destructive-files", id="script-piped-into-bash"),
    pytest.param("!bash -s < s1.sh", "destructive-files", id="script-redirected-into-bash"),
    pytest.param("%%bash\nsource s1.sh", "destructive-files", id="script-sourced"),
    pytest.param("!ls | sh", "child-unread", id="unseen-stdin-into-sh"),
    pytest.param(f"!echo \"{RM}\" | python", "destructive-files", id="code-piped-into-python"),
    pytest.param(f"%%bash\npython - <<'EOF'\n{RM}\nEOF", "destructive-files",
                 id="heredoc-into-python"),
    pytest.param("!sed -i 's/Paris/Nice/' data/keep.csv", "destructive-files", id="sed-in-place"),
    pytest.param("!cp /dev/null data/keep.csv", "destructive-files", id="cp-dev-null"),
    pytest.param("!make", "child-unread", id="make-not-allowed"),
    pytest.param("!git status", "child-unread", id="git-not-allowed"),
    pytest.param('!env -i python -c "print(1)"', "self-protection", id="env-i-python"),
    pytest.param('!PYTHONPATH= python -c "print(1)"', "self-protection", id="pythonpath-emptied"),
    pytest.param('!python -I -c "print(1)"', "self-protection", id="python-isolated"),
    pytest.param('!python -E -c "print(1)"', "self-protection", id="python-no-env"),
    pytest.param('!python -S -c "print(1)"', "self-protection", id="python-no-site"),
    pytest.param('%%bash\nunset PYTHONPATH\npython -c "print(1)"', "self-protection",
                 id="unset-pythonpath"),
    pytest.param("import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(1)'], env={})",
                 "self-protection", id="subprocess-empty-env"),
    pytest.param("import os\nos.environ['PYTHONPATH'] = ''", "self-protection", id="environ-emptied"),
    pytest.param("import os\ndel os.environ['PYTHONPATH']", "self-protection", id="environ-deleted"),
]


@pytest.mark.parametrize("code,rule", REFUSED)
def test_children_that_would_act_outside_the_guard_are_refused(kd: tuple[Kernel, Path], code: str,
                                                               rule: str):
    k, d = kd
    r = k.run(code)
    assert _intact(d), r.text
    assert r.status == "error" and f"[{rule}]" in r.text, r.text


GUARDED_INSIDE = [
    pytest.param("!python -c \"import os, shutil; shutil.rmtree(os.environ['TARGET'])\"",
                 id="bang-python-target-known-only-in-the-child"),
    pytest.param("!python -m mod_rm", id="python-m"),
    pytest.param("import subprocess, sys\nr = subprocess.run([sys.executable, '-m', 'mod_rm'], "
                 "capture_output=True, text=True)\nprint(r.returncode, r.stderr)", id="subprocess-m"),
    pytest.param("!python -c \"import subprocess; subprocess.run('rm -rf ' + 'da' + 'ta', shell=True)\"",
                 id="grandchild-shell"),
    pytest.param("!python -c \"import os, subprocess, sys; subprocess.run([sys.executable, '-c', "
                 "'print(1)'], env={'PATH': os.environ['PATH']})\"", id="grandchild-stripped-env"),
]


def _refused_in_a_child(d: Path, since: set[str]) -> bool:
    """A journal line written since ``since`` (lines seen before the cell) records a refusal."""
    for f in (d / "audit.duckdb.journal").glob("**/*.jsonl"):
        for line in f.read_text(errors="replace").splitlines():
            if line not in since and '"status": "blocked"' in line.replace('":"', '": "'):
                return True
    return False


def _journal_lines(d: Path) -> set[str]:
    return {line for f in (d / "audit.duckdb.journal").glob("**/*.jsonl")
            for line in f.read_text(errors="replace").splitlines()}


@pytest.mark.parametrize("code", GUARDED_INSIDE)
def test_python_children_run_with_the_guard_inside(kd: tuple[Kernel, Path], code: str):
    k, d = kd
    before = _journal_lines(d)
    r = k.run(code)
    assert _intact(d), r.text
    # the child's refusal is printed; under heavy load IPython's ``!`` can lose a child's last
    # output, so the refusal recorded by the child's own audit session counts too
    assert "Blocked by jupyter_guard [" in r.text or _refused_in_a_child(d, before), r.text


def test_a_refusal_inside_a_child_is_audited_in_a_session_naming_the_kernel(kd: tuple[Kernel, Path]):
    k, d = kd
    r = k.run("!python -c \"import os, shutil; shutil.rmtree(os.environ['TARGET'])\"")
    assert "Blocked by jupyter_guard [destructive-files]" in r.text and _intact(d)
    kernel_session = next(f.stem for f in (d / "audit.duckdb.journal").glob("*.jsonl"))
    deadline = time.monotonic() + 60
    rows: list[tuple[str, ...]] = []
    while not rows:             # the kernel's ingester brings the child's journal in
        assert time.monotonic() < deadline, "the child's refusal never reached the audit file"
        k.run("pass")
        try:
            con = duckdb.connect(str(d / "audit.duckdb"), read_only=True)
        except duckdb.Error:
            continue
        try:
            rows = con.execute("SELECT session_id, user_name, status FROM events WHERE rule_id = "
                               "'destructive-files' AND code LIKE '%rmtree%' AND session_id <> ?",
                               [kernel_session]).fetchall()
        finally:
            con.close()
    assert {(u, st) for _, u, st in rows} == {("alice", "blocked")}


# A DuckDB connection left in a reference cycle, already old (a full collection is the one that
# frees it): the forked pty child of `!cmd` collects on its own schedule; here, at once.
CYCLE = ("import duckdb, gc, os\nclass Holder: pass\nh = Holder(); h.me = h\n"
         "h.con = duckdb.connect(); h.con.execute('SELECT 1').fetchall()\ngc.collect(); del h\n"
         "os.register_at_fork(after_in_child=gc.collect)")


def test_a_shell_child_with_a_dead_duckdb_connection_in_the_kernel_still_says_why(work_root: Path):
    """The pty child checks `!cmd` before its exec. A collection there that frees an inherited
    DuckDB instance killed it silently: the cell ended 'ok', with no output and no refusal."""
    d = _folder(work_root)
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        assert k.run(CYCLE).status == "ok"
        r = k.run("target = 'data'\n!rm -rf {target}")
        assert r.status == "error" and "Blocked by jupyter_guard [destructive-files]" in r.text, \
            r.text
        # judged in the kernel before the fork: the guard's own one-line refusal, not
        # ptyprocess's OSError about a child that failed to start
        assert r.reply["ename"] == "GuardBlocked" and "ptyprocess" not in r.text, r.text
        assert _intact(d)
        assert k.run("!echo shell-still-runs").text.strip() == "shell-still-runs"
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


BENIGN = [
    pytest.param('!python -c "print(40 + 2)"', "42", id="bang-python-print"),
    pytest.param("!python reader.py", "1,Paris", id="python-script-that-reads"),
    pytest.param("!python -m json.tool --help", "usage", id="python-m-json-tool"),
    pytest.param("import subprocess, sys\nprint(subprocess.run([sys.executable, '-c', 'print(7 * 6)'],"
                 " capture_output=True, text=True).stdout)", "42", id="subprocess-list-print"),
    pytest.param("import subprocess\nprint(subprocess.run('python -c \"print(6 * 7)\"', shell=True, "
                 "capture_output=True, text=True).stdout)", "42", id="subprocess-shell-print"),
    pytest.param('%%bash\necho hi\npython -c "print(2 + 2)"', "4", id="cell-bash-python"),
    pytest.param("!perl -e 'print 1 + 1'", "2", id="perl-print"),
    pytest.param("!node -e 'console.log(3 * 3)'", "9", id="node-print"),
    pytest.param("!bash ok.sh", "shell-ok", id="bash-script-that-echoes"),
    pytest.param("%%bash\ncat > s8.sh <<'EOF'\necho same-cell\nEOF\nbash s8.sh", "same-cell",
                 id="bash-script-written-and-run"),
    pytest.param("!python -c \"open('o.txt', 'w').write('x'); import os; os.remove('o.txt'); "
                 "print('scratch-ok')\"", "scratch-ok", id="child-scratch-file"),
    pytest.param('!PYTHONPATH=/nowhere:$PYTHONPATH python -c "print(5)"', "5", id="pythonpath-extended"),
    pytest.param("!cp ok.sh copy.sh && bash copy.sh", "shell-ok", id="cp-to-a-new-file"),
    pytest.param("!cat ok.sh | bash", "shell-ok", id="benign-script-piped-into-bash"),
    pytest.param("import os, subprocess, sys\nprint(subprocess.run([sys.executable, '-c', 'print(8)'],"
                 " env={**os.environ, 'X': '1'}, capture_output=True, text=True).stdout)", "8",
                 id="subprocess-env-copy"),
]


@pytest.mark.parametrize("code,expected", BENIGN)
def test_benign_children_run(kd: tuple[Kernel, Path], code: str, expected: str):
    k, d = kd
    r = k.run(code)
    assert r.status == "ok" and expected in r.text, r.text
    assert "Blocked" not in r.text
    assert _intact(d)


def test_allow_unread_lets_named_tools_run(work_root: Path):
    d = _folder(work_root)
    policy = d / "policy.yaml"
    policy.write_text("extends: default\nchildren:\n  allow_unread: [make, git]\n")
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": str(policy)})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        made = k.run("!make")
        assert made.status == "ok" and "made" in made.text, made.text
        git = k.run("!git init -q . && git status --short | head -1")
        assert git.status == "ok" and "Blocked" not in git.text, git.text
        still = k.run("!perl s7.pl")      # not named: still refused
        assert still.status == "error" and "[child-unread]" in still.text
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_children_get_the_policy_reloaded_after_load(work_root: Path):
    """A stricter policy picked up by ``%guard reload`` reaches the guard inside children: a
    folder protected only by the new policy survives a child whose target only it knows."""
    d = _folder(work_root)
    (d / "notes").mkdir()
    (d / "notes" / "n.txt").write_text("keep\n")
    policy = d / "policy.yaml"
    policy.write_text("extends: default\n")
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                   "JUPYTER_GUARD_POLICY": str(policy), "TARGET": "notes/n.txt"})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        policy.write_text("extends: default\nprotected_paths: ['notes/**', '*.duckdb']\n")
        assert k.run("%guard reload").status == "ok"
        r = k.run("!python -c \"import os; os.remove(os.environ['TARGET'])\"")
        assert (d / "notes" / "n.txt").read_text() == "keep\n", r.text
        assert "Blocked by jupyter_guard [destructive-files]" in r.text, r.text
        ok = k.run("!python -c \"print(6 * 7)\"")
        assert ok.status == "ok" and "42" in ok.text, ok.text
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


# A Python program read from standard input is not on the command line the kernel judges: the
# child reads it first, judges it as ``python -c`` would be, and hands the same bytes to Python.
DROP = "import duckdb; duckdb.connect('stdin_wh.duckdb').execute('DROP TABLE orders')"
STDIN_REFUSED = [
    pytest.param(f"import subprocess, sys\nr = subprocess.run([sys.executable, '-'], input={DROP!r},"
                 " capture_output=True, text=True)\nprint(r.returncode, r.stderr)", id="dash"),
    pytest.param(f"import subprocess, sys\nr = subprocess.run([sys.executable], input={DROP!r}, "
                 "capture_output=True, text=True)\nprint(r.returncode, r.stderr)", id="no-args"),
    pytest.param(f'!echo "{DROP}" | python', id="piped"),
    pytest.param(f"open('drop_prog.txt', 'w').write({DROP!r})\n!python - < drop_prog.txt",
                 id="redirected"),
]
STDIN_BENIGN = [
    pytest.param("import subprocess, sys\nprint(subprocess.run([sys.executable, '-'], "
                 "input='print(6 * 7)', capture_output=True, text=True).stdout)", "42", id="dash"),
    pytest.param('!echo "print(5 * 5)" | python', "25", id="piped"),
    pytest.param("import subprocess, sys\nprint(subprocess.run([sys.executable, '-'], input="
                 "\"import duckdb; print(duckdb.connect('stdin_wh.duckdb', read_only=True)"
                 ".execute('SELECT count(*) FROM orders').fetchone()[0])\", capture_output=True, "
                 "text=True).stdout)", "3", id="reads-the-table"),
]


def _stdin_wh(d: Path) -> Path:
    db = d / "stdin_wh.duckdb"
    if not db.exists():
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE orders AS SELECT range AS id FROM range(3)")
        con.close()
    return db


def _orders(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        con.close()


@pytest.mark.parametrize("code", STDIN_REFUSED)
def test_a_program_on_standard_input_is_judged_before_it_runs(kd: tuple[Kernel, Path], code: str):
    k, d = kd
    db = _stdin_wh(d)
    r = k.run(code)
    assert _orders(db) == 3, r.text
    assert "Blocked by jupyter_guard [destructive-ddl]" in r.text, r.text


@pytest.mark.parametrize("code,expected", STDIN_BENIGN)
def test_a_plain_program_on_standard_input_runs(kd: tuple[Kernel, Path], code: str, expected: str):
    k, d = kd
    _stdin_wh(d)
    r = k.run(code)
    assert r.status == "ok" and expected in r.text, r.text
    assert "Blocked" not in r.text


# SQL in code the kernel cannot read before the child starts (a module it imports, a file it
# execs): the child guards DuckDB itself, as the kernel does, by the statement's effect.
CHILD_MODULES = {
    "sql_drop.py": "import duckdb\nduckdb.connect('child_wh.duckdb').execute('DROP TABLE orders')\n",
    "sql_bulk.py": "import duckdb\ncon = duckdb.connect('child_wh.duckdb')\n"
                   "q = 'DELETE FROM orders WHERE id ' + '>= 0'\ncon.execute(q)\n",
    "sql_loop.py": "import duckdb\ncon = duckdb.connect('child_wh.duckdb')\n"
                   "for i in range(3000):\n    con.execute('DELETE FROM orders WHERE id = ?', [i])\n",
    "sql_read.py": "import duckdb\nprint('rows', duckdb.connect('child_wh.duckdb')"
                   ".execute('SELECT count(*) FROM orders').fetchone()[0])\n",
    "sql_own.py": "import duckdb\ncon = duckdb.connect('child_wh.duckdb')\n"
                  "con.execute('CREATE TABLE scratch AS SELECT range AS x FROM range(5000)')\n"
                  "con.execute('DELETE FROM scratch WHERE x < 10')\ncon.execute('DROP TABLE scratch')\n"
                  "con.execute('DELETE FROM orders WHERE id = 2999')\nprint('own-ok')\n",
}
CHILD_SQL_REFUSED = [
    pytest.param("import sys\n!{sys.executable} -c 'import sql_drop'", id="import-a-module"),
    pytest.param("import sys\n!{sys.executable} -m sql_drop", id="python-m"),
    pytest.param("import subprocess, sys\nr = subprocess.run([sys.executable, '-c', "
                 "\"exec(open('sql_bulk.py').read())\"], capture_output=True, text=True)\n"
                 "print(r.stderr)", id="exec-a-file"),
    pytest.param("import sys\n!{sys.executable} -m sql_loop", id="a-loop-of-single-deletes"),
]


def _child_wh(d: Path) -> Path:
    for name, text in CHILD_MODULES.items():
        (d / name).write_text(text)
    db = d / "child_wh.duckdb"
    if not db.exists():
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE orders AS SELECT range AS id FROM range(3000)")
        con.close()
    return db


@pytest.mark.parametrize("code", CHILD_SQL_REFUSED)
def test_sql_in_code_read_only_by_the_child_is_judged_by_its_effect(kd: tuple[Kernel, Path],
                                                                    code: str):
    k, d = kd
    db = _child_wh(d)
    before = _orders(db)
    r = k.run(code)
    assert "Blocked by jupyter_guard [" in r.text, r.text
    after = _orders(db)
    assert after >= before - 1000 and after > 0, (before, after, r.text)   # at most the limit
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders'"
                           ).fetchone()[0] == 1
    finally:
        con.close()


def test_sql_in_a_child_that_only_reads_or_works_on_its_own_tables_runs(kd: tuple[Kernel, Path]):
    k, d = kd
    db = _child_wh(d)
    before = _orders(db)
    r = k.run("import sys\n!{sys.executable} -m sql_read")
    assert r.status == "ok" and f"rows {before}" in r.text and "Blocked" not in r.text, r.text
    r = k.run("import sys\n!{sys.executable} -m sql_own")
    assert "own-ok" in r.text and "Blocked" not in r.text, r.text
    assert _orders(db) == before - 1
