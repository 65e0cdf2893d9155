"""Shell commands that write over a protected file through a path operand or a redirection.

``mv SRC wh.duckdb`` replaces the warehouse (its last operand is a write over that path, as
``cp``'s is), and ``1<> wh.duckdb`` (``exec 3<> wh.duckdb``) opens it for writing without
truncating it, so what the command prints lands over its first bytes. Each spelling is refused
with the file's bytes unchanged and a ``block`` row in the audit; a name partly computed when the
command runs is judged as the pattern it may expand to; a Python child that opens the file
``r+b`` under a name the guard cannot read first is refused by the effect. Honest moves, reads,
input redirections and ``2>&1`` still run."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_exit_batches import _events
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

B64 = "d2guZHVja2Ri"   # base64 of wh.duckdb: a name the child's static reading cannot see


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "shell23"
    d.mkdir()
    (d / "sub").mkdir()
    (d / "sub" / "wh.duckdb").write_text("not the warehouse")
    (d / "data").mkdir()
    with guarded_kernel(d, warehouse=20) as kernel:
        kernel.ok("import subprocess")
        yield kernel


def _md5(p: Path) -> str:
    return hashlib.md5(p.read_bytes()).hexdigest()


SPELLINGS = [
    "!mv junk.txt wh.duckdb", "!mv -f junk.txt wh.duckdb", "!mv -T junk.txt wh.duckdb",
    "!mv -b junk.txt wh.duckdb", "!mv junk.txt ./sub/../wh.duckdb",
    "!mv junk.txt $(echo wh).duckdb", "!f=wh.duckdb; mv junk.txt $f",
    "subprocess.run(['mv', 'junk.txt', 'wh.duckdb'])", "!mkfifo fifo && mv -f fifo wh.duckdb",
    "!mv junk.txt w$(echo h.duck)db", "!cd sub && mv ../junk.txt ../wh.duckdb",
    "!printf zzzz 1<> wh.duckdb", "!exec 3<>wh.duckdb; printf zzzz >&3",
    "%%bash\nexec 7<> wh.duckdb\necho hi >&7", "!head -c 16 /dev/zero 1<>wh.duckdb",
    "!{ printf zzzz; } 1<> wh.duckdb", "!printf zz 1<>./sub/../wh.duckdb",
    "subprocess.run('printf zzzz 1<>wh.duckdb', shell=True)", "!printf zz 1<> w$(echo h.duck)db",
    "!printf zz 1<> $(echo wh.duckdb)",
    # other programs' path operands: onto the file, or into the folder that holds it
    "!cp -t . sub/wh.duckdb", "!rsync junk.txt wh.duckdb", "!install junk.txt wh.duckdb",
    "!ln -f junk.txt wh.duckdb", "!dd if=junk.txt of=wh.duckdb conv=notrunc 2>/dev/null",
    "!truncate -s 0 wh.duckdb", "!scp junk.txt wh.duckdb",
]
INTO_DATA = ["!mv -t data x.csv", "!mv --target-directory=data x.csv", "!mv x.csv data",
             "!cp x.csv data/", "!rsync x.csv data/", "!exec 4<>data/x.csv; echo zz >&4",
             "!printf zz 1<> d$(echo ata/x).csv"]


@pytest.mark.parametrize("code", SPELLINGS)
def test_a_shell_write_over_a_protected_file_is_refused(k: Kernel, code: str) -> None:
    wh = k.workdir / "wh.duckdb"
    (k.workdir / "junk.txt").write_text("x")
    before = _md5(wh)
    r = k.run(code)
    text = r.everything()
    assert r.status == "error" and "[destructive-files]" in text, text
    assert wh.is_file() and not wh.is_symlink() and _md5(wh) == before
    row = [e for e in _events(k.workdir / "audit.duckdb") if e["code"] == code][-1]
    assert (row["decision"], row["rule_id"]) == ("block", "destructive-files")


@pytest.mark.parametrize("code", INTO_DATA)
def test_a_write_into_a_protected_folder_over_its_file_is_refused(k: Kernel, code: str) -> None:
    kept = k.workdir / "data" / "x.csv"
    kept.write_text("keep")
    (k.workdir / "x.csv").write_text("new")
    r = k.run(code)
    assert r.status == "error" and "[destructive-files]" in r.everything(), r.everything()
    assert kept.read_text() == "keep"


@pytest.mark.parametrize("call", [
    f"f = open(base64.b64decode('{B64}').decode(), 'r+b'); f.write(b'zzzz'); f.close()",
    f"os.rename('junk.txt', base64.b64decode('{B64}').decode())",
])
def test_a_python_child_writing_over_it_by_a_hidden_name_is_refused(k: Kernel, call: str) -> None:
    wh = k.workdir / "wh.duckdb"
    (k.workdir / "junk.txt").write_text("x")
    before = _md5(wh)
    r = k.run(f"p = subprocess.run(['python3', '-c', \"import base64, os; {call}\"], "
              "capture_output=True, text=True)\nprint(p.returncode, p.stderr)")
    assert "[destructive-files]" in r.everything() or "overwrites protected path" in \
        r.everything(), r.everything()
    assert _md5(wh) == before


def test_honest_moves_reads_and_redirections_run(k: Kernel) -> None:
    d = k.workdir
    (d / "a.txt").write_text("one\ntwo\n")
    (d / "b.txt").write_text("old")
    before = _md5(d / "wh.duckdb")
    k.ok("!mv a.txt b.txt")
    assert (d / "b.txt").read_text() == "one\ntwo\n" and not (d / "a.txt").exists()
    k.ok("!mv b.txt sub/ && mv -t . sub/b.txt && mv b.txt out_$(date +%Y).txt")
    assert [p.read_text() for p in d.glob("out_*.txt")] == ["one\ntwo\n"]
    r = k.ok("!wc -l < out_$(date +%Y).txt && ls wh.duckdb 2>&1 && printf ab 1<> scratch.txt")
    assert "2" in r.stream and "wh.duckdb" in r.stream and (d / "scratch.txt").read_text() == "ab"
    r = k.ok("!head -c 4 wh.duckdb > /dev/null && echo read-ok && echo note >> notes.txt")
    assert "read-ok" in r.stream and (d / "notes.txt").read_text() == "note\n"
    assert _md5(d / "wh.duckdb") == before
