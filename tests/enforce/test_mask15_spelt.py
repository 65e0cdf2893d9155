"""Known values printed spelt otherwise than they were read (issue 15), in a real kernel with a
300-customer warehouse: every message the kernel sends for the cell (all iopub messages and the
reply) is searched for the value and for its digits with anything short between them.

- The ``partial`` mask keeps the last four characters of a value as it was read; a value spelt
  otherwise (digits spaced out or joined with commas, a list of its digits, hex, digit words,
  an e-mail spelt out or backwards, an e-mail's local part alone) is masked whole, so the mask
  shows no piece of the spelling (``████ 0 5`` and ``████e105`` before).
- The same spellings are refused at a file, as the exits read them the same way.

Benign twins print unchanged: spaced words, small hex numbers, comma lists of small numbers,
digit words of a number no column holds, and the plain SSN still shows its last four."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel
ROWS = 300
SSN = f"{100000000 + 5:09d}"   # row 5's (``ssns[5]``)
EMAIL = "user5@example.com"
SPACED = re.compile(r"\D{0,6}".join(SSN))   # its digits, anything short between them
DASHED = f"{SSN[:3]}-{SSN[3:5]}-{SSN[5:]}"


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "mask15_spelt"
    d.mkdir()
    with guarded_kernel(d, warehouse=ROWS, connect=True) as kernel:
        kernel.ok("df = con.sql('SELECT * FROM customers ORDER BY id').df()\n"
                  "ssns, emails = list(df.ssn), list(df.email)\n"
                  "dashed = [r[0] for r in con.sql(\"SELECT substr(ssn, 1, 3) || '-' || "
                  "substr(ssn, 4, 2) || '-' || substr(ssn, 6) FROM customers ORDER BY id\")"
                  ".fetchall()]\n"
                  "WORDS = 'zero one two three four five six seven eight nine'.split()")
        yield kernel


def _blob(r: Reply) -> str:
    """Every message the kernel sent for the cell, and its reply, as JSON."""
    return (json.dumps([m["content"] for m in r.messages], ensure_ascii=False)
            + json.dumps(r.reply, ensure_ascii=False) + r.everything())


def _leaks(blob: str) -> list[str]:
    found = [p for p in (SSN, DASHED, EMAIL, "user5", "5resu", hex(int(SSN)),
                         hex(int(SSN))[2:])
             if p in blob]
    found += [m.group() for m in SPACED.finditer(blob)]
    return found + re.findall(r"one (?:zero )+five", blob)


@pytest.mark.parametrize(("code", "shown"), [
    pytest.param("print(' '.join(ssns[5]))", "████", id="spaced"),
    pytest.param("print(','.join(ssns[5]))", "████", id="comma-join"),
    pytest.param("print('-'.join(ssns[5]))", "████", id="dash-join"),
    pytest.param("print(', '.join(ssns[5]))", "████", id="comma-space-join"),
    pytest.param("print(list(ssns[5]))", "['████']", id="list"),
    pytest.param("print([int(c) for c in ssns[5]])", "[████]", id="digits"),
    pytest.param("print(hex(int(ssns[5])))", "████", id="hex"),
    pytest.param("print(' '.join(WORDS[int(c)] for c in ssns[5]))", "████", id="words"),
    pytest.param("print(' '.join(emails[5]))", "████", id="spaced-email"),
    pytest.param("print(emails[5][::-1])", "████", id="reversed-email"),
    pytest.param("print(','.join(dashed[5]))", "████", id="dashed-comma-join"),
    pytest.param("print(' '.join(dashed[5]))", "████", id="dashed-spaced"),
    pytest.param("print(list(dashed[5]))", "[████]", id="dashed-list"),
    pytest.param("print(list(emails[5]))", "[████]", id="email-letters-list"),
    pytest.param("print(', '.join(emails[5]))", "████", id="email-comma-space"),
    pytest.param("print(emails[5].split('@')[0])", "████", id="local-part"),
    pytest.param("print([9, 8] + [int(c) for c in ssns[5]] + [7])", "[9, 8, ████, 7]",
                 id="in-digits"),
])
def test_a_spelt_value_is_masked_whole(k: Kernel, code: str, shown: str) -> None:
    r = k.ok(code)
    assert not _leaks(_blob(r)), _blob(r)[:600]
    assert r.stream == shown + "\n", r.stream   # no piece of the spelling beside the mask


@pytest.mark.parametrize("code", [
    pytest.param("list(ssns[5])", id="result"),
    pytest.param("from IPython.display import HTML\n"
                 "HTML('<b>' + ','.join(ssns[5]) + '</b>')", id="html"),
    pytest.param("raise ValueError(','.join(ssns[5]))", id="error"),
    pytest.param("raise KeyError(' '.join(WORDS[int(c)] for c in ssns[5]))", id="error-words"),
    pytest.param("'\\n'.join(ssns[5])", id="result-lines"),
])
def test_displays_and_errors_agree(k: Kernel, code: str) -> None:
    r = k.run(code)
    blob = _blob(r)
    assert "\u2588" in blob, blob[:600]
    assert not _leaks(blob), blob[:600]


def test_the_value_as_read_keeps_its_last_four(k: Kernel) -> None:
    r = k.ok("print(ssns[5], emails[5])\nprint(', '.join(ssns[:3]))")
    assert r.stream == ("████0005 █████@example.com\n"
                        "████0000, ████0001, ████0002\n"), r.stream


def test_benign_twins_print_unchanged(k: Kernel) -> None:
    code = ("print(' '.join('hello world'), hex(255), ','.join('123456780'))\n"
            "print([1, 2, 3, 4, 5, 6, 7, 8, 9], ', '.join(map(str, range(12))))\n"
            "print(list('2024'), 'one two three four five six seven eight nine')\n"
            "print('jane.doe', 'user', [0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 6, 1])")
    r = k.ok(code)
    assert r.stream == (
        "h e l l o   w o r l d 0xff 1,2,3,4,5,6,7,8,0\n"
        "[1, 2, 3, 4, 5, 6, 7, 8, 9] 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11\n"
        "['2', '0', '2', '4'] one two three four five six seven eight nine\n"
        "jane.doe user [0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 6, 1]\n"), r.stream


@pytest.mark.parametrize("code", [
    pytest.param("open('s.txt', 'w').write(','.join(ssns[5]))", id="comma-join"),
    pytest.param("open('s.txt', 'w').write(str(list(ssns[5])))", id="list"),
    pytest.param("open('s.txt', 'w').write(' '.join(WORDS[int(c)] for c in ssns[5]))",
                 id="words"),
    pytest.param("open('s.txt', 'w').write(emails[5].split('@')[0])", id="local-part"),
    pytest.param("open('s.txt', 'w').write('\\n'.join(ssns[5]))", id="lines"),
    pytest.param("open('s.txt', 'w').write(','.join(dashed[5]))", id="dashed-comma-join"),
    pytest.param("open('s.txt', 'w').write(str(list(emails[5])))", id="email-letters"),
])
def test_spelt_values_are_refused_at_a_file(k: Kernel, code: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert not _leaks(_blob(r)), _blob(r)[:600]
    path = k.workdir / "s.txt"
    assert not path.exists() or not _leaks(path.read_text())
