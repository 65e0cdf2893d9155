"""Small writes are held per file and scanned in batches, in a real kernel: a value split over
writes, sent by a flush, a ``print``, ``writelines`` or a descriptor write is refused, and the
file on disk holds nothing of the refused batch; plain files written line by line read back
byte for byte; a killed kernel writes nothing it had not scanned."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import guarded_kernel

pytestmark = pytest.mark.kernel

SSNS = [f"{100000000 + n:09d}" for n in range(5000)]
EMAILS = [f"user{n}@example.com" for n in range(5000)]


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import os, duckdb\n"
              "con = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers').df()\n"
              "ssn, email = df.ssn.tolist(), df.email.tolist()")
    return kernel


def _no_raw(path: Path) -> bytes:
    data = path.read_bytes() if path.exists() else b""
    text = data.decode("latin-1")
    hits = [v for v in SSNS[:300] + EMAILS[:300] if v in text]
    assert not hits, hits[:3]
    return data


def _events(audit: Path) -> list[dict[str, Any]]:
    from jupyter_guard.record import ingest

    ingest(str(audit))
    con = duckdb.connect(str(audit), read_only=True)
    try:
        cur = con.execute("SELECT code, decision, rule_id FROM events ORDER BY seq")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


# (cells before the refusal, the refused cell): the file must stay empty (the whole batch held
# the plain marker line too)
SPLIT = [
    pytest.param("", "with open(F, 'w') as fh:\n    fh.write('MARK ' + ssn[7][:5])\n"
                 "    fh.write(ssn[7][5:] + '\\n')", id="ssn-split-over-two-writes"),
    pytest.param("", "with open(F, 'w') as fh:\n    fh.write('MARK ' + email[7][:6])\n"
                 "    fh.write(email[7][6:] + '\\n')", id="email-split-over-two-writes"),
    pytest.param("fh = open(F, 'w')\nfh.write('MARK,')\nfh.write(ssn[8])",
                 "fh.flush()", id="written-then-flushed"),
    pytest.param("fh = open(F, 'w')\nprint('MARK', file=fh)\nprint(email[9], file=fh)",
                 "fh.close()", id="print-file"),
    pytest.param("", "fh = open(F, 'w')\nprint('MARK', file=fh)\nprint(ssn[9], file=fh, flush=True)",
                 id="print-flush"),
    pytest.param("fh = open(F, 'w')\nfh.write('MARK\\n')",
                 "fh.writelines([ssn[10], '\\n'])\nfh.close()", id="writelines"),
    pytest.param("fh = open(F, 'w')\nfh.write('MARK\\n')\nfh.write(email[11])",
                 "os.write(fh.fileno(), b'tail')", id="os-write-after-buffered-write"),
    pytest.param("", "with open(F, 'wb') as fh:\n    fh.write(b'MARK ')\n"
                 "    fh.write(bytearray(ssn[12].encode()))", id="binary-bytearray"),
    pytest.param("import csv\nfh = open(F, 'w', newline='')\nw = csv.writer(fh)\n"
                 "w.writerow(['MARK'])\nw.writerow([ssn[19]])", "fh.close()", id="csv-writer"),
    pytest.param("", "fh = open(F, 'w')\nfh.buffer.write(ssn[20].encode())", id="text-buffer"),
    pytest.param("", "fh = open(F, 'wb')\nfh.raw.write(email[20].encode())", id="binary-raw"),
    pytest.param("fh = open(F, 'w+')\nfh.write('MARK ')\n"
                 "fh.write(ssn[13])", "fh.seek(0)\nfh.read()", id="read-back-after-write"),
    pytest.param("fh = open(F, 'w')\nfh.write('MARK ')\nfh.write(ssn[14])", "fh.tell()",
                 id="tell"),
]


@pytest.mark.parametrize(("before", "refused"), SPLIT)
def test_a_held_batch_is_refused_whole_and_nothing_of_it_reaches_the_file(k, before, refused,
                                                                          request):
    name = f"batch_{request.node.callspec.id}.out"
    k.ok(f"F = {name!r}\n{before}")
    r = k.blocked(refused, "exfiltration")
    assert "MARK" not in r.text
    k.ok("try:\n    fh.close()\nexcept NameError:\n    pass")   # closing later sends nothing
    data = _no_raw(k.workdir / name)
    assert b"MARK" not in data, data[:200]


def test_a_refusal_at_a_full_batch_keeps_only_the_batches_sent_before(k):
    name = "batch_full.out"
    code = (f"F = {name!r}\nlines = [f'{{i}},Paris,{{i * 1.5:.2f}}\\n' for i in range(20000)]\n"
            "with open(F, 'w') as fh:\n    for i, line in enumerate(lines):\n"
            "        fh.write(line)\n        if i == 15000:\n            fh.write(ssn[15] + '\\n')")
    k.blocked(code, "exfiltration")
    data = _no_raw(k.workdir / name)
    lines = [f"{i},Paris,{i * 1.5:.2f}\n" for i in range(20000)]
    text = data.decode()
    assert text == "".join(lines)[:len(text)]           # whole earlier batches, in order
    assert len(text) < len("".join(lines[:15001]))      # and not the batch with the value


def test_a_value_cut_by_a_batch_boundary_is_seen_whole(k):
    name = "batch_boundary.out"
    k.ok(f"F = {name!r}\nfrom jupyter_guard.hooks.file_batch import BATCH\n"
         "fh = open(F, 'w')\nfh.write('row\\n')\nfh.write('x' * (BATCH - 8) + ' ' + ssn[18][:3])")
    assert (k.workdir / name).stat().st_size > 60_000      # the first batch was sent
    k.blocked("fh.write(ssn[18][3:] + '\\n')\nfh.close()", "exfiltration")
    text = _no_raw(k.workdir / name).decode()
    assert text.endswith(" " + SSNS[18][:3])             # the batch sent before, and nothing after


def test_a_file_dropped_unclosed_refuses_at_collection_and_the_audit_names_file_and_rule(k):
    name = "batch_dropped.out"
    r = k.ok(f"F = {name!r}\nfh = open(F, 'w')\nfh.write('MARK ')\nfh.write(email[16])\ndel fh")
    assert f"nothing was written to {name}" in r.text and "[exfiltration]" in r.text
    assert b"MARK" not in _no_raw(k.workdir / name)
    rows = [e for e in _events(k.workdir / "audit.duckdb")
            if e["rule_id"] == "exfiltration" and name in (e["code"] or "")]
    assert rows and rows[-1]["decision"] == "block", rows


# benign twins: plain files written piece by piece read back exactly as plain Python writes them
def test_a_log_written_line_by_line_reads_back_byte_identical(k):
    name = "log_lines.out"
    lines = [f"2026-11-30T02:{i % 60:02d}:00 INFO order {i} total {i * 2.5:.2f} EUR — ok\n"
             for i in range(30000)]
    k.ok(f"F = {name!r}\nimport random\n"
         "with open(F, 'w', encoding='utf-8') as fh:\n"
         "    for i in range(30000):\n"
         "        fh.write(f'2026-11-30T02:{i % 60:02d}:00 INFO order {i} total {i * 2.5:.2f} "
         "EUR — ok\\n')")
    assert (k.workdir / name).read_bytes() == "".join(lines).encode("utf-8")


def test_plain_files_behave_as_plain_python_files(k):
    r = k.ok("F = 'plain_rw.out'\n"
             "fh = open(F, 'w+')\nn = fh.write('abc')\nm = fh.write('def\\n')\n"
             "pos = fh.tell()\nfh.seek(0)\nback = fh.read()\nfh.close()\n"
             "open('plain_once.out', 'w').write('hello')\nonce = open('plain_once.out').read()\n"
             "with open('plain_b.out', 'wb') as b:\n    b.write(b'x' * 10)\n"
             "    print('a', 1, file=open('plain_p.out', 'w'))\n"
             "    b.writelines([b'1', bytearray(b'2'), memoryview(b'3')])\n"
             "try:\n    open('plain_t.out', 'w').write(b'bytes')\nexcept TypeError as e:\n"
             "    err = 'TypeError'\n"
             "try:\n    fh.write('after close')\nexcept ValueError:\n    err += ',ValueError'\n"
             "print(n, m, pos, repr(back), once, open('plain_b.out', 'rb').read(), err,"
             " repr(open('plain_p.out').read()))")
    assert r.text.strip() == ("3 4 7 'abcdef\\n' hello b'xxxxxxxxxx123' TypeError,ValueError 'a 1\\n'")


def test_print_to_a_kept_file_shows_up_after_flush(k):
    r = k.ok("fh = open('plain_flush.out', 'w')\nprint('line one', file=fh)\nfh.flush()\n"
             "print(repr(open('plain_flush.out').read()))\nfh.close()")
    assert r.text.strip() == "'line one\\n'"


def test_a_killed_kernel_writes_nothing_it_held(work_root: Path):
    d = work_root / "batch_killed"
    d.mkdir()
    with guarded_kernel(d) as kk:
        r = kk.ok("fh = open('held.out', 'w')\nfh.write('a plain line held\\n' * 2000)\n"
                  "import os\nprint(os.path.getsize('held.out'))")
        assert r.text.strip() == "0"   # 36 KB: past Python's own buffer, held by the guard
        pid = kk.km.provisioner.process.pid
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while _alive(pid):
            assert time.monotonic() < deadline, "the killed kernel is still running"
            time.sleep(0.05)
    assert (d / "held.out").read_bytes() == b""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_kernel_shut_down_sends_what_it_held(work_root: Path):
    d = work_root / "batch_exit"
    d.mkdir()
    with guarded_kernel(d) as k2:
        r = k2.ok("fh = open('exit.out', 'w')\nfh.write('kept until exit\\n')\n"
                  "import os\nprint(os.path.getsize('exit.out'))")
        assert r.text.strip() == "0"
    # the shutdown ends the interpreter, whose exit scans and sends the held batch
    assert (d / "exit.out").read_text() == "kept until exit\n"
