"""Derived values printed raw (issue 15, found by the red teams), in a real kernel with a
300-customer warehouse: every message the kernel sends (all iopub messages and the reply) is
searched for the raw form.

- ``translate(email, '@.', '#,')`` read through DuckDB's own connection: the value holds a
  comma, where the exits cut printed text, so whole it never matched; its pieces are remembered
  too (``exits.pieces``) and masked.
- A Python loop re-spelling fetched values: the '@' as a word (``' AT '``), letters spaced out
  (``' '.join(e)``) and SSNs as hex numbers are masked on the display path as the file exits
  already refused them.

Each has a benign twin that prints unchanged: plain values with commas, honest text with
``AT``, spaced letters of ordinary words and hex of ordinary numbers."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel
ROWS = 300
SSNS = [f"{100000000 + n:09d}" for n in range(ROWS)]
HEXES = re.compile("|".join(re.escape(hex(int(s))) + r"(?![0-9a-f])" for s in SSNS))


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "shown15_derived"
    d.mkdir()
    with guarded_kernel(d, warehouse=ROWS, connect=True) as kernel:
        kernel.ok("df = con.sql('SELECT * FROM customers ORDER BY id').df()\n"
                  "ssns = list(df.ssn)")
        yield kernel


def _blob(r: Reply) -> str:
    """Every message the kernel sent for the cell, and its reply, as JSON (escapes undone for
    the mask character only)."""
    return (json.dumps([m["content"] for m in r.messages], ensure_ascii=False)
            + json.dumps(r.reply, ensure_ascii=False) + r.everything())


def test_translated_emails_are_masked_when_printed(k):
    r = k.ok("print(con.sql(\"SELECT translate(email, '@.', '#,') AS t FROM customers "
             "ORDER BY id\").fetchall())")
    blob = _blob(r)
    assert not re.search(r"user\d+#example", blob), blob[:400]
    assert "\u2588" in blob, blob[:400]


def test_values_cut_into_short_pieces_are_masked_when_printed(k):
    """``translate(ssn, '0', ',')``: every piece is too short to be known; the value is
    found whole (a known value holding a separator is looked for with the automaton)."""
    r = k.ok("print(con.sql(\"SELECT translate(ssn, '0', ',') AS t FROM customers "
             "ORDER BY id LIMIT 20\").fetchall())")
    blob = _blob(r)
    assert not re.search(r"1,,,,,,,\d", blob), blob[:400]
    assert "\u2588" in blob, blob[:400]


def test_plain_values_with_commas_print_unchanged(k):
    r = k.ok("print(con.sql(\"SELECT translate(city, 'a', ',') AS t FROM customers "
             "ORDER BY id LIMIT 3\").fetchall())\n"
             "print('Saint-Denis,Paris 1,234.50 order#12345,ok')")
    assert "[('P,ris',), ('Lyon',), ('Nice',)]" in r.stream, r.stream
    assert "Saint-Denis,Paris 1,234.50 order#12345,ok" in r.stream, r.stream


@pytest.mark.parametrize(("code", "raw"), [
    ("print([e.replace('@', ' AT ') for e in df.email])", r"user\d+ AT example"),
    ("print([e.replace('@', '[at]') for e in df.email[:50]])", r"user\d+\[at\]example"),
    ("print([' '.join(e) for e in df.email])", r"u s e r \d"),
    ("print('\\n'.join('.'.join(e) for e in df.email[:50]))", r"u\.s\.e\.r\.\d"),
])
def test_respelt_emails_are_masked_when_printed(k, code, raw):
    r = k.ok(code)
    blob = _blob(r)
    assert not re.search(raw, blob), blob[:400]
    assert "\u2588" in blob, blob[:400]


@pytest.mark.parametrize("code", [
    "print([hex(int(s.replace('-', ''))) for s in ssns])",
    "[hex(int(s)) for s in ssns[:40]]",
    "print(' '.join(oct(int(s)) + ' ' + bin(int(s)) + ' ' + hex(int(s)) for s in ssns[:40]))",
])
def test_ssns_in_hex_are_masked_when_printed(k, code):
    r = k.ok(code)
    blob = _blob(r)
    assert not HEXES.search(blob), blob[:400]
    for s in SSNS[:40]:
        assert oct(int(s)) not in blob and bin(int(s)) not in blob


def test_benign_twins_print_unchanged(k):
    code = ("print('meet AT noon; write to help AT python.org')\n"
            "print(' '.join('hello world'), '-'.join('abcdefghij'))\n"
            "print(hex(255), hex(123456789), oct(4096), bin(1000))\n"
            "print([c.replace('y', ' AT ') for c in df.city[:3]])")
    r = k.ok(code)
    assert r.stream == ("meet AT noon; write to help AT python.org\n"
                        "h e l l o   w o r l d a-b-c-d-e-f-g-h-i-j\n"
                        "0xff 0x75bcd15 0o10000 0b1111101000\n"
                        "['Paris', 'L AT on', 'Nice']\n"), r.stream


def test_respelt_emails_are_refused_at_a_file(k):
    r = k.blocked("open('at.txt', 'w').write(str([e.replace('@', ' AT ') for e in df.email]))",
                  "exfiltration")
    assert not re.search(r"user\d+ AT example", _blob(r))
    path = k.workdir / "at.txt"
    assert not path.exists() or not re.search(r"user\d+ AT example", path.read_text())
