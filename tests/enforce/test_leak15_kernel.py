"""Leaks issue 15's last stop measured and left, closed as classes (leak15), in a real kernel on
a real DuckDB file: every message the kernel sent for a cell (iopub and the ``execute_reply``)
holds no raw value and no digit run of it; files written hold none either. Each has a benign
twin that runs with its output unchanged.

- a sensitive value holding a comma (``12345,67890``): its 5-digit pieces are known;
- two known e-mails in one base85 run (``b85encode(b'a@x.com,b@x.com')``): decoded, found;
- a known SSN printed one digit per line (``print(*ssn, sep='\\n')``): the stream's tail of
  single-digit lines is read joined;
- a known name spelt out (``' '.join(name)``) at the file and network exits with no number known.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

COMPOSITE = "12345,67890"
SSN = "100000005"           # customers.ssn of id 5 (``make_warehouse``)
EMAILS = ("user1@example.com", "user2@example.com")


def _sent(r: Reply) -> str:
    """Every message the kernel sent for the cell (iopub, the reply), as JSON text."""
    return json.dumps([m["content"] for m in r.messages] + [r.reply])


def _digit_runs(r: Reply, value: str) -> bool:
    """Whether ``value``'s digits occur as one run in the stream text as a frontend shows it
    (every piece joined, everything but digits dropped), or in any message with escapes and
    separators between single digits dropped (``1\\n0\\n0``)."""
    digits = re.sub(r"\D", "", value)
    flat = re.sub(r"\\[nrt]|[\s,'\"\[\]-]", "", _sent(r))
    return digits in flat or digits in re.sub(r"\D", "", r.stream)


def _accounts(path: Path) -> None:
    import duckdb

    from jupyter_guard.connections import unwrap

    con = unwrap(duckdb.connect(str(path)))   # the test's own set-up, outside any guard
    con.execute("CREATE TABLE accounts (id INT, ssn VARCHAR, code VARCHAR)")
    con.execute(f"INSERT INTO accounts VALUES (1, '{COMPOSITE}', '11111,22222')")
    con.close()


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    work = new_workspace(work_root, data=False)
    make_warehouse(work / "wh.duckdb", rows=20)
    _accounts(work / "acc.duckdb")
    with guarded_kernel(work, {"JUPYTER_GUARD_USER": "tester"}) as kernel:
        kernel.ok("import duckdb, base64\n"
                  "acc = duckdb.connect('acc.duckdb')\ncon = duckdb.connect('wh.duckdb')\n"
                  "v = acc.sql('SELECT ssn FROM accounts').fetchall()[0][0]\n"
                  "emails = [e for (e,) in con.sql('SELECT email FROM customers ORDER BY id')"
                  ".fetchall()]\n"
                  "ssns = [s for (s,) in con.sql('SELECT ssn FROM customers ORDER BY id')"
                  ".fetchall()]")
        yield kernel


COMPOSITE_PRINTS = [
    pytest.param("print(v)", id="print"),
    pytest.param("v", id="result"),
    pytest.param("print(v.split(','))", id="split"),
    pytest.param("print(v.replace(',', ' '))", id="spaced"),
    pytest.param("raise ValueError(v)", id="error"),
]


@pytest.mark.parametrize("code", COMPOSITE_PRINTS)
def test_a_value_holding_a_comma_is_not_shown(k: Kernel, code: str) -> None:
    r = k.run(code)
    sent = _sent(r)
    assert "12345" not in sent and "67890" not in sent, sent[-600:]


def test_a_value_holding_a_comma_is_not_written(k: Kernel) -> None:
    k.blocked("open('acc.txt', 'w').write(v.split(',')[1])", "exfiltration")
    assert "67890" not in (k.workdir / "acc.txt").read_text() if (
        k.workdir / "acc.txt").exists() else True


def test_a_plain_value_holding_a_comma_prints(k: Kernel) -> None:
    r = k.ok("print(acc.sql('SELECT code FROM accounts').fetchall()[0][0].split(','))")
    assert "['11111', '22222']" in r.stream


B85 = "base64.b85encode(','.join(emails[1:3]).encode())"


@pytest.mark.parametrize("how", ["b85encode", "a85encode"])
def test_two_emails_in_one_base85_run_are_not_shown(k: Kernel, how: str) -> None:
    r = k.run(f"print(base64.{how}(','.join(emails[1:3]).encode()))")
    import base64

    raw = getattr(base64, how)(",".join(EMAILS).encode()).decode()
    assert raw[:20] not in _sent(r).replace("\\\\", "\\"), _sent(r)[-600:]


@pytest.mark.parametrize("how", ["b85encode", "a85encode"])
def test_two_emails_in_one_base85_run_are_not_written(k: Kernel, how: str) -> None:
    k.blocked(f"open('b85.txt', 'wb').write(base64.{how}(','.join(emails[1:3]).encode()))",
              "exfiltration")
    path = k.workdir / "b85.txt"
    assert not path.exists() or path.read_bytes() == b""


def test_plain_text_in_base85_is_written(k: Kernel) -> None:
    k.ok("open('plain85.txt', 'wb').write(base64.b85encode(b'Paris,Lyon,Nice and 42 more'))")
    import base64

    assert base64.b85decode((k.workdir / "plain85.txt").read_bytes()) == \
        b"Paris,Lyon,Nice and 42 more"


DIGIT_LINES = [
    pytest.param("print(*ssns[5], sep='\\n')", id="sep-newline"),
    pytest.param("for c in ssns[5]:\n    print(c)", id="loop"),
    pytest.param("for c in ssns[5]:\n    print(c, flush=True)", id="loop-flush"),
    pytest.param("import sys\nfor c in ssns[5]:\n    sys.stdout.write(c + '\\n')", id="write"),
    pytest.param("print('\\n'.join(ssns[5]))", id="joined"),
]


@pytest.mark.parametrize("code", DIGIT_LINES)
def test_digits_one_per_line_are_not_shown(k: Kernel, code: str) -> None:
    r = k.run(code)
    assert not _digit_runs(r, SSN), _sent(r)[-600:]


def test_digits_of_a_plain_number_print_one_per_line(k: Kernel) -> None:
    r = k.ok("print(*'987654321', sep='\\n')\nfor c in '2026':\n    print(c)")
    assert r.stream == "\n".join("987654321") + "\n" + "\n".join("2026") + "\n"


REVERSED = [
    pytest.param("print(ssns[5][::-1])", id="print"),
    pytest.param("print([s[::-1] for s in ssns[4:7]])", id="list"),
    pytest.param("print(int(ssns[5][::-1]))", id="int"),
]


@pytest.mark.parametrize("code", REVERSED)
def test_reversed_ssn_digits_are_not_shown(k: Kernel, code: str) -> None:
    r = k.run(code)
    assert SSN[::-1] not in _sent(r), _sent(r)[-600:]


def test_reversed_ssn_digits_are_not_written(k: Kernel) -> None:
    k.blocked("open('rev.txt', 'w').write(ssns[5][::-1])", "exfiltration")
    path = k.workdir / "rev.txt"
    assert not path.exists() or SSN[::-1] not in path.read_text()


def test_a_plain_number_backwards_prints_and_is_written(k: Kernel) -> None:
    r = k.ok("print('123456789'[::-1])\nopen('plainrev.txt', 'w').write('123456789'[::-1])")
    assert "987654321" in r.stream
    assert (k.workdir / "plainrev.txt").read_text() == "987654321"
