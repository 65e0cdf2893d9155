"""Values from sensitive columns spelt backwards by a Python loop (``[e[::-1] for e in
df.email]``), in a real kernel: printed, they are masked in every message the kernel sends;
written to a file, they are refused with nothing raw on disk. Plain values reversed the same
way print and write as they are."""
from __future__ import annotations

import json

import pytest

from tests.conftest import make_warehouse

pytestmark = pytest.mark.kernel

EMAILS = [f"user{n}@example.com" for n in range(40)]
SSNS = [f"{100000000 + n:09d}" for n in range(40)]
BACKWARDS = [v[::-1] for v in EMAILS]   # bare digit strings are not kept reversed


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb", rows=40)
    kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


def _blob(r) -> str:
    return json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply)


@pytest.mark.parametrize("code", [
    "print([e[::-1] for e in df.email])",
    "print(' '.join(s[::-1] for s in df.email))",
    "[''.join(reversed(e)) for e in df.email]",
])
def test_reversed_values_are_masked_when_printed(k, code):
    r = k.ok(code)
    blob = _blob(r)
    assert not [v for v in BACKWARDS if v in blob], blob[:300]
    assert "\\u2588" in blob, blob[:300]   # the mask character, JSON-escaped


def test_reversed_values_are_refused_at_a_file(k):
    r = k.blocked("open('rev.txt', 'w').write(','.join(s[::-1] for s in df.email))",
                  "exfiltration")
    assert not [v for v in BACKWARDS if v in _blob(r)]
    written = (k.workdir / "rev.txt").read_text() if (k.workdir / "rev.txt").exists() else ""
    assert not [v for v in BACKWARDS if v in written], written[:200]


def test_plain_values_reversed_print_and_write(k):
    r = k.ok("print([c[::-1] for c in df.city[:3]])\n"
             "open('cities.txt', 'w').write(','.join(c[::-1] for c in df.city[:3]))")
    assert "['siraP', 'noyL', 'eciN']" in r.everything(), r.everything()
    assert (k.workdir / "cities.txt").read_text() == "siraP,noyL,eciN"
