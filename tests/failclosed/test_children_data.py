"""A guarded Python child is as data-aware as the kernel at its exits: values it reads from
sensitive columns of a DuckDB (or SQLite) file the kernel never opened do not reach a file, its
own children's arguments, or its output, raw. Real kernel, real warehouse, real children; each
spelling checked on the bytes on disk and on every message the kernel sent, with benign twins
(non-sensitive columns, aggregates) that write their files intact."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.enforce.test_exits import Recorder
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

EMAIL = re.compile(r"user\d+@example\.com")
SSN = re.compile(r"(?<!\d)1000\d{5}(?!\d)")   # the warehouse's SSNs: 9 digits, no detector shape

READ = "duckdb.connect('wh.duckdb', read_only=True).sql('SELECT {cols} FROM customers').fetchall()"
DUMP = f"import duckdb, json\njson.dump({READ.format(cols='email, ssn')}, open('out.json', 'w'))\n"
SCRIPTS = {
    "dump.py": DUMP,
    "dump_pd.py": "import duckdb\nduckdb.connect('wh.duckdb', read_only=True)"
                  ".sql('SELECT email, ssn FROM customers').df().to_csv('out.json')\n",
    "dump_text.py": "import duckdb\nrows = " + READ.format(cols="ssn") + "\n"
                    "with open('out.json', 'w') as f:\n"
                    "    f.write('\\n'.join(r[0] for r in rows))\n",
    "dump_polars.py": "import duckdb\nduckdb.connect('wh.duckdb', read_only=True)"
                      ".sql('SELECT email, ssn FROM customers').pl().write_csv('out.json')\n",
    "dump_np.py": "import duckdb, numpy as np\nnp.save('out.json', np.array([r[0] for r in "
                  + READ.format(cols="email") + "]))\n",
    "dump_pickle.py": "import duckdb, pickle\npickle.dump(" + READ.format(cols="ssn")
                      + ", open('out.json', 'wb'))\n",
    "dump_sqlite.py": "import sqlite3, json\nrows = sqlite3.connect('wh.sqlite').execute("
                      "'SELECT email, ssn FROM customers').fetchall()\n"
                      "json.dump(rows, open('out.json', 'w'))\n",
    "to_sqlite.py": "import duckdb, sqlite3\nrows = " + READ.format(cols="email") + "\n"
                    "con = sqlite3.connect('out.json')\ncon.execute('CREATE TABLE t (e TEXT)')\n"
                    "con.executemany('INSERT INTO t VALUES (?)', rows)\ncon.commit()\n",
    "copy_plain.py": "open('out.json', 'w').write(open('emails.txt').read())\n",
    "os_write.py": "import os\nfd = os.open('out.json', os.O_WRONLY | os.O_CREAT, 0o644)\n"
                   "os.write(fd, open('emails.txt', 'rb').read())\nos.close(fd)\n",
    "print_salary.py": "import duckdb\nfor r in duckdb.connect('staff.duckdb', read_only=True)"
                       ".sql('SELECT salary FROM staff').fetchall()[:5]:\n"
                       "    print('salary', r[0])\n",
    "print_bonus.py": "import duckdb\nfor r in duckdb.connect('staff.duckdb', read_only=True)"
                      ".sql('SELECT bonus FROM staff').fetchall()[:5]:\n"
                      "    print('bonus', r[0])\n",
    "argv.py": "import duckdb, subprocess\nrows = " + READ.format(cols="ssn") + "\n"
               "subprocess.run(['echo', ','.join(r[0] for r in rows[:20])])\n",
    "get.py": "import duckdb, sys, urllib.request\nrows = " + READ.format(cols="{col}") + "\n"
              "urllib.request.urlopen('http://127.0.0.1:' + sys.argv[1] + '/?d=' + "
              "','.join(str(r[0]) for r in rows[:20]), timeout=10).read()\nprint('sent')\n",
    "stdin.py": "import duckdb, subprocess\nrows = " + READ.format(cols="ssn") + "\n"
                "subprocess.run(['sh', '-c', 'cat > out.json'], input='\\n'.join(r[0] for r in "
                "rows), text=True)\n",
    "grandchild.py": "import subprocess, sys\nsubprocess.run([sys.executable, 'dump.py'])\n",
    "mpwork.py": "def dump(path):\n    import duckdb, json\n"
                 f"    json.dump({READ.format(cols='email')}, open(path, 'w'))\n",
    "plain.py": "import duckdb, json\njson.dump(" + READ.format(cols="id, city, amount::DOUBLE")
                + ", open('out.json', 'w'))\n",
    "count.py": "import duckdb, json\njson.dump(duckdb.connect('wh.duckdb', read_only=True).sql("
                "'SELECT city, count(*) AS n, count(DISTINCT email) AS d FROM customers "
                "GROUP BY city ORDER BY city').fetchall(), open('out.json', 'w'))\n",
    "plain_print.py": "import duckdb\nprint('cities', " + READ.format(cols="DISTINCT city")
                      + ".__len__())\n",
}


@pytest.fixture(scope="module")
def kd(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = new_workspace(work_root, data=False)
    for name, text in SCRIPTS.items():
        (d / name).write_text(text)
    with guarded_kernel(d, warehouse=300) as k:
        _sqlite_copy(d)
        _staff(d)
        (d / "emails.txt").write_text("".join(f"user{i}@example.com\n" for i in range(50)))
        yield k, d
    shutil.rmtree(d, ignore_errors=True)


def _sqlite_copy(d: Path) -> None:
    """The warehouse's customers in a SQLite file (made by the test, outside any guard)."""
    con = sqlite3.connect(d / "wh.sqlite")
    con.execute("CREATE TABLE customers (id INTEGER, email TEXT, ssn TEXT)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                    [(i, f"user{i}@example.com", str(100000000 + i)) for i in range(300)])
    con.commit()
    con.close()


def _staff(d: Path) -> None:
    """Salaries (a sensitive column whose values no detector recognises) and bonuses (plain)."""
    import duckdb

    con = duckdb.connect(str(d / "staff.duckdb"))
    con.execute("CREATE TABLE staff AS SELECT range AS id, 70000 + range * 13.37 AS salary, "
                "80000 + range * 13.37 AS bonus FROM range(50)")
    con.close()


SALARY = re.compile(r"7\d{4}\.\d\d")


def _raw(text: str) -> list[str]:
    return EMAIL.findall(text)[:3] + SSN.findall(text)[:3] + SALARY.findall(text)[:3]


def _messages(r: Reply) -> str:
    return r.everything() + "\n" + json.dumps(r.reply)


def _run(k: Kernel, d: Path, code: str) -> tuple[Reply, str]:
    out = d / "out.json"
    out.unlink(missing_ok=True)
    r = k.run(code, timeout=180)
    data = out.read_bytes().decode("latin-1") if out.exists() else ""
    out.unlink(missing_ok=True)
    return r, data


EXE = "import sys\n"
REFUSED = [
    pytest.param(EXE + '!{sys.executable} -c "' + DUMP.replace("\n", ";").rstrip(";")
                 .replace('"', "'") + '"', id="bang-python-c"),
    pytest.param(EXE + "import subprocess\nsubprocess.run([sys.executable, 'dump.py'])",
                 id="subprocess-script"),
    pytest.param(EXE + "import os\nos.system(f'{sys.executable} dump.py')", id="os-system"),
    pytest.param("%%writefile written.py\n" + DUMP, id="written-then-run"),
    pytest.param(f"%%bash\n{sys.executable} - <<'EOF'\n{DUMP}EOF\n", id="heredoc-stdin"),
    pytest.param(EXE + "import multiprocessing as mp, mpwork\n"
                 "p = mp.get_context('spawn').Process(target=mpwork.dump, args=('out.json',))\n"
                 "p.start(); p.join()", id="multiprocessing-spawn"),
    pytest.param(EXE + "!{sys.executable} dump_pd.py", id="pandas-to-csv"),
    pytest.param(EXE + "!{sys.executable} dump_text.py", id="joined-text-write"),
    pytest.param(EXE + "!{sys.executable} dump_np.py", id="numpy-save"),
    pytest.param(EXE + "!{sys.executable} dump_polars.py", id="polars-write-csv"),
    pytest.param(EXE + "!{sys.executable} dump_pickle.py", id="pickle-dump"),
    pytest.param(EXE + "!{sys.executable} dump_sqlite.py", id="sqlite3"),
    pytest.param(EXE + "!{sys.executable} to_sqlite.py", id="into-a-sqlite-file"),
    pytest.param(EXE + "!{sys.executable} grandchild.py", id="the-childs-own-child"),
    # no data library: the values come from a plain file, seen by the detectors as in the kernel
    pytest.param(EXE + "!{sys.executable} copy_plain.py", id="plain-file-copied-by-open"),
    pytest.param(EXE + "!{sys.executable} os_write.py", id="plain-file-copied-by-os-write"),
]


@pytest.mark.parametrize("code", REFUSED)
def test_a_child_writes_no_raw_sensitive_value_to_a_file(kd: tuple[Kernel, Path], code: str):
    k, d = kd
    if code.startswith("%%writefile"):
        k.ok(code)
        code = EXE + "!{sys.executable} written.py"
    r, data = _run(k, d, code)
    assert not _raw(data), (data[:300], r.everything())
    assert not _raw(_messages(r)), _messages(r)
    assert "Blocked by jupyter_guard [exfiltration]" in r.everything(), r.everything()


def test_in_kernel_run_of_the_script_writes_no_raw_value(kd: tuple[Kernel, Path]):
    k, d = kd
    r, data = _run(k, d, "%run dump.py")
    assert not _raw(data) and not _raw(_messages(r)), (data[:300], _messages(r))
    assert "[exfiltration]" in r.everything()


PRINTS = [
    pytest.param(EXE + "!{sys.executable} print_{what}.py", id="bang"),
    pytest.param(EXE + "import subprocess\nsubprocess.run([sys.executable, 'print_{what}.py'])",
                 id="inherited-stdout"),
    pytest.param(EXE + "import subprocess\nprint(subprocess.run([sys.executable, "
                 "'print_{what}.py'], capture_output=True, text=True).stdout)", id="captured"),
]


@pytest.mark.parametrize("code", PRINTS)
def test_what_a_child_prints_from_a_sensitive_column_is_masked(kd: tuple[Kernel, Path], code: str):
    k, _d = kd
    r = k.run(code.replace("{what}", "salary"), timeout=180)
    assert r.ok and r.stream.count("salary ") == 5, r.everything()
    assert not _raw(_messages(r)), _messages(r)


@pytest.mark.parametrize("code", PRINTS)
def test_what_a_child_prints_from_a_plain_column_is_shown(kd: tuple[Kernel, Path], code: str):
    k, _d = kd
    r = k.run(code.replace("{what}", "bonus"), timeout=180)
    assert r.ok and all(f"bonus {80000 + i * 13.37:.2f}" in r.stream for i in range(5)), r.stream


@pytest.fixture()
def rec() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


def test_a_child_sends_no_raw_value_in_a_request_line(kd: tuple[Kernel, Path], rec: Recorder):
    k, d = kd
    (d / "get_ssn.py").write_text(SCRIPTS["get.py"].replace("{col}", "ssn"))
    r = k.run(EXE + f"!{{sys.executable}} get_ssn.py {rec.port}", timeout=180)
    sent = bytes(rec.received).decode("latin-1")
    assert not _raw(sent) and not _raw(_messages(r)), (sent[:300], _messages(r))
    assert "Blocked by jupyter_guard [exfiltration]" in r.everything(), r.everything()
    (d / "get_plain.py").write_text(
        "import sys, urllib.request\nvals = open('emails.txt').read().split()\n"
        "urllib.request.urlopen('http://127.0.0.1:' + sys.argv[1] + '/?d=' + ','.join(vals[:20]),"
        " timeout=10).read()\nprint('sent')\n")
    r = k.run(EXE + f"!{{sys.executable}} get_plain.py {rec.port}", timeout=180)
    sent = bytes(rec.received).decode("latin-1")   # no data library: the detectors decide
    assert not _raw(sent) and not _raw(_messages(r)), (sent[:300], _messages(r))
    assert "Blocked by jupyter_guard [exfiltration]" in r.everything(), r.everything()
    (d / "get_city.py").write_text(SCRIPTS["get.py"].replace("{col}", "city"))
    r = k.run(EXE + f"!{{sys.executable}} get_city.py {rec.port}", timeout=180)
    assert "sent" in r.stream and "Blocked" not in r.everything(), r.everything()
    assert b"GET /?d=Paris,Lyon,Nice" in rec.received, bytes(rec.received)[:300]


def test_a_childs_own_child_gets_no_raw_value_on_its_stdin(kd: tuple[Kernel, Path]):
    k, d = kd
    r, data = _run(k, d, EXE + "!{sys.executable} stdin.py")
    assert not _raw(data) and not _raw(_messages(r)), (data[:300], _messages(r))
    assert "Blocked by jupyter_guard [exfiltration]" in r.everything(), r.everything()


def test_a_childs_own_child_gets_no_raw_value_on_its_command_line(kd: tuple[Kernel, Path]):
    k, _d = kd
    r = k.run(EXE + "!{sys.executable} argv.py", timeout=180)
    assert not _raw(_messages(r)), _messages(r)
    assert "Blocked by jupyter_guard [exfiltration]" in r.everything(), r.everything()


def test_a_child_reading_plain_columns_writes_its_file_intact(kd: tuple[Kernel, Path]):
    k, d = kd
    r, data = _run(k, d, EXE + "!{sys.executable} plain.py")
    assert r.ok and "Blocked" not in r.everything(), r.everything()
    rows = json.loads(data)
    assert len(rows) == 300 and rows[1] == [1, "Lyon", 1.5], rows[:3]


def test_a_child_writing_aggregates_runs(kd: tuple[Kernel, Path]):
    k, d = kd
    r, data = _run(k, d, EXE + "!{sys.executable} count.py")
    assert r.ok and "Blocked" not in r.everything(), r.everything()
    assert json.loads(data) == [["Lyon", 100, 100], ["Nice", 100, 100], ["Paris", 100, 100]]
    r = k.run(EXE + "!{sys.executable} plain_print.py", timeout=180)
    assert r.ok and "cities 3" in r.stream, r.everything()
