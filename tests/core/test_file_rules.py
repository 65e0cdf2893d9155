"""Rule 4 (destructive files and shell) and rule 6 (self-protection) by effect in a real shell."""
from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

RM_B64 = base64.b64encode(b"import shutil; shutil.rmtree('data')").decode()

DELETE_FORMS = [
    pytest.param("!rm -rf data", id="bang"),
    pytest.param("!rm -r -f ./data/", id="bang-flags"),
    pytest.param("%%bash\nset -e\ncd .\nrm -rf data", id="cell-bash"),
    pytest.param("%%sh\nfind data -delete", id="cell-sh-find"),
    pytest.param("%%script bash\nbash -c 'rm -rf data'", id="script-nested"),
    pytest.param("%rm -rf data", id="rm-alias-magic"),
    pytest.param("get_ipython().system('rm -rf data')", id="ipython-system"),
    pytest.param("x = get_ipython().getoutput('rm -rf data')", id="getoutput"),
    pytest.param("import os\nos.system('rm -rf data')", id="os-system"),
    pytest.param("import subprocess\nsubprocess.run(['rm', '-rf', 'data'])", id="subprocess-list"),
    pytest.param("import subprocess as sp\nsp.call('rm -rf data', shell=True)", id="subprocess-shell"),
    pytest.param("import shutil\nshutil.rmtree('data')", id="rmtree"),
    pytest.param("from shutil import rmtree as r\nr('data')", id="rmtree-alias"),
    pytest.param("import shutil\nf = shutil.rmtree\nf('data')", id="rmtree-bound"),
    pytest.param("import importlib\nimportlib.import_module('shutil').rmtree('data')", id="import-module"),
    pytest.param("__import__('shutil').rmtree('data')", id="dunder-import"),
    pytest.param("getattr(__import__('sh' + 'util'), 'rm' + 'tree')('data')", id="getattr-built"),
    pytest.param(f"import base64\nexec(base64.b64decode('{RM_B64}'))", id="exec-base64"),
    pytest.param("exec(\"import shutil\\nshutil.rmtree('data')\")", id="exec-literal"),
    pytest.param("def clean(p):\n    import shutil\n    shutil.rmtree(p)\nclean('data')", id="function"),
    pytest.param("X = 'rm'\n!$X -rf data", id="shell-variable"),
    pytest.param("import threading, shutil\nt = threading.Thread(target=shutil.rmtree, args=('data',))\nt.start(); t.join()",
                 id="thread"),
    pytest.param("from concurrent.futures import ThreadPoolExecutor\nimport shutil\n"
                 "ThreadPoolExecutor().submit(shutil.rmtree, 'data').result()", id="executor"),
]


@pytest.mark.parametrize("code", DELETE_FORMS)
def test_recursive_deletes_are_blocked(s, code):
    cell = s.run(code)
    assert (s.dir / "data" / "keep.csv").exists()
    assert not cell.ok
    assert cell.rule == "destructive-files"


PROTECTED_FORMS = [
    pytest.param("import os\nos.remove(DB)", id="os-remove"),
    pytest.param("from pathlib import Path\nPath(DB).unlink()", id="path-unlink"),
    pytest.param("from pathlib import Path\n(Path(WORK) / 'wh.duckdb').unlink()", id="path-join-unlink"),
    pytest.param("open(DB, 'w').close()", id="open-truncate"),
    pytest.param("import os\nos.rename(DB, DB + '.bak')", id="rename"),
    pytest.param("import shutil\nshutil.move(DB, '/tmp/elsewhere.duckdb')", id="move"),
    pytest.param("!mv wh.duckdb /tmp/x.duckdb", id="shell-mv"),
    pytest.param("!: > wh.duckdb", id="shell-truncate"),
    pytest.param("%%writefile wh.duckdb\nnothing", id="writefile"),
    pytest.param("import os\nos.truncate(DB, 0)", id="os-truncate"),
    pytest.param("import os\nos.symlink(WORK, 'here')\nos.remove('here/wh.duckdb')",
                 id="symlinked-folder"),
]


@pytest.mark.parametrize("code", PROTECTED_FORMS)
def test_protected_paths_are_untouched(s, code):
    size = s.db.stat().st_size
    cell = s.run(code)
    assert s.db.exists() and s.db.stat().st_size == size
    assert not cell.ok
    assert cell.rule == "destructive-files"


def test_a_write_through_a_symlink_to_a_protected_file_is_refused(s):
    """The link made outside the guard (a link made by a cell to a database file is refused
    as a copy of it, ``test_copy_database.py``); writing through it is destructive."""
    size = s.db.stat().st_size
    (s.dir / "alias.bin").symlink_to(s.db)
    cell = s.run("open('alias.bin', 'w').close()")
    assert s.db.exists() and s.db.stat().st_size == size
    assert not cell.ok
    assert cell.rule == "destructive-files"


BENIGN = [
    pytest.param("!ls", id="bang-ls"),
    pytest.param("%%bash\necho hello", id="bash-echo"),
    pytest.param("!echo rm -rf data", id="echo-rm"),
    pytest.param("# shutil.rmtree('data')\nx = 1", id="comment"),
    pytest.param("s = 'rm -rf data'\nprint(s)", id="string"),
    pytest.param("head = open(DB, 'rb').read(16)", id="read-protected"),
    pytest.param("import pandas as pd\ndf = pd.read_csv('data/keep.csv')", id="read-data"),
    pytest.param("import tempfile, shutil, os\nd = tempfile.mkdtemp()\nopen(os.path.join(d, 'f'), 'w').close()\n"
                 "shutil.rmtree(d)", id="temp-cleanup"),
    pytest.param("!rm -rf /tmp/jg-scratch-dir", id="tmp-rm"),
    pytest.param("open('notes.txt', 'w').write('x')\nimport os\nos.remove('notes.txt')", id="own-scratch-file"),
    pytest.param("def clean(p):\n    import shutil\n    shutil.rmtree(p)", id="define-only"),
]


@pytest.mark.parametrize("code", BENIGN)
def test_benign_twins_run(s, code):
    cell = s.run(code)
    assert cell.ok, cell.error
    assert (s.dir / "data" / "keep.csv").exists() and s.db.exists()


SHELL_DOORS = [
    pytest.param("!echo ran > ran.txt", id="bang"),
    pytest.param("%%bash\necho ran > ran.txt", id="cell-bash"),
    pytest.param("%%sh\necho ran > ran.txt", id="cell-sh"),
    pytest.param("get_ipython().system('echo ran > ran.txt')", id="ipython-system"),
    pytest.param("import os\nos.system('echo ran > ran.txt')", id="os-system"),
    pytest.param("import subprocess\nsubprocess.run('echo ran > ran.txt', shell=True, check=True)",
                 id="subprocess"),
]


@pytest.mark.parametrize("code", SHELL_DOORS)
def test_benign_shell_commands_really_run(s, code):
    """Allowed shell commands run, also once the audit ingester's DuckDB is up in its thread (a
    forked child used to free it and die before the command ran, with the cell reported ok)."""
    marker = f"m = {time.time_ns()}"
    assert s.run(marker).ok
    _wait_for_event(Path(s.ip._jupyter_guard_kernel.guard.settings["audit"]), marker)
    cell = s.run(code)
    assert cell.ok, cell.error
    assert (s.dir / "ran.txt").read_text().strip() == "ran"


def _wait_for_event(audit: Path, code: str, timeout: float = 10) -> None:
    import duckdb

    from jupyter_guard.connections import unwrap

    deadline = time.time() + timeout
    while time.time() < deadline:
        if audit.exists():
            try:
                con = unwrap(duckdb.connect(str(audit), read_only=True))
                try:
                    found = con.execute("SELECT count(*) FROM events WHERE code = ?",
                                        [code]).fetchone()[0]
                finally:
                    con.close()
            except duckdb.IOException:
                # Seen once in CI: "Could not read enough bytes" from a read-only open racing a
                # publish, not yet explained; this test is about the
                # shell command, the readers' guarantee has its own tests in tests/record.
                found = 0
            if found:
                return
        time.sleep(0.2)
    raise AssertionError(f"the ingester did not publish {code!r} within {timeout} s")


TAMPER_FORMS = [
    pytest.param("%unload_ext jupyter_guard", id="unload-ext"),
    pytest.param("%reload_ext jupyter_guard", id="reload-ext"),
    pytest.param("get_ipython().run_line_magic('unload_ext', 'jupyter_guard')", id="unload-call"),
    pytest.param("import os\nos.environ['JUPYTER_GUARD_POLICY'] = '/dev/null'", id="environ-set"),
    pytest.param("import os\nos.environ.pop('JUPYTER_GUARD_AUDIT', None)", id="environ-pop"),
    pytest.param("%env JUPYTER_GUARD_POLICY=/dev/null", id="env-magic"),
    pytest.param("import sys\ndel sys.modules['jupyter_guard']", id="sys-modules"),
    pytest.param("get_ipython().compile.ast_parse = compile", id="replace-ast-parse"),
    pytest.param("get_ipython().events.callbacks['pre_run_cell'].clear()", id="clear-callbacks"),
    pytest.param("get_ipython().ast_transformers.clear()", id="clear-transformers"),
    pytest.param("import jupyter_guard.kernel.cellhook as k\nk.refuse = print", id="monkeypatch"),
    pytest.param("import os\nos.remove(os.environ['JUPYTER_GUARD_AUDIT'])", id="delete-audit"),
    pytest.param("import os\nA = os.environ['JUPYTER_GUARD_AUDIT']\n"
                 "os.symlink(os.path.dirname(A), 'adir')\n"
                 "open(os.path.join('adir', os.path.basename(A)), 'w').close()",
                 id="audit-via-symlinked-folder"),
]


@pytest.mark.parametrize("code", TAMPER_FORMS)
def test_tampering_is_refused_and_the_guard_stays_on(s, code):
    cell = s.run(code)
    assert not cell.ok
    assert cell.rule in ("self-protection", "destructive-files")
    after = s.run('con.execute("DROP TABLE customers")')
    assert not after.ok and after.rule == "destructive-ddl"
    assert "customers" in s.tables()


def test_unload_function_refuses(s):
    import jupyter_guard
    from jupyter_guard.errors import GuardBlocked

    with pytest.raises(GuardBlocked):
        jupyter_guard.unload_ipython_extension(s.ip)
    assert not s.run('con.execute("DROP TABLE customers")').ok


def test_writing_a_new_protected_kind_of_file_is_fine_but_overwriting_is_not(s):
    assert s.run("import pandas as pd\npd.DataFrame({'city': ['Paris']}).to_parquet('cities.parquet')").ok
    assert (s.dir / "cities.parquet").exists()
    size = (s.dir / "cities.parquet").stat().st_size
    cell = s.run("pd.DataFrame({'city': ['Lyon', 'Nice']}).to_parquet('cities.parquet')")
    assert not cell.ok and cell.rule == "destructive-files"
    assert (s.dir / "cities.parquet").stat().st_size == size


def test_dynamic_code_runs_but_is_logged_as_a_warning(s):
    import jupyter_guard

    cell = s.run("parts = ['y', '=', '6*7']\nexec(' '.join(parts))")
    assert cell.ok and s.ip.user_ns["y"] == 42
    last = jupyter_guard._kernel_guard.guard.recent[-1]
    assert (last["decision"], last["rule_id"]) == ("warn", "dynamic-code")
    hidden = s.run("import shutil\nparts = ['shutil.rmtree(', repr('data'), ')']\nexec(''.join(parts))")
    assert not hidden.ok and (s.dir / "data" / "keep.csv").exists()  # the runtime layer stops it
