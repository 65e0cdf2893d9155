"""Sensitive values turned into numbers or separated hex by a user loop, in a real kernel: SSNs
with dashes read as ints, phone digits as ints, card numbers as floats, e-mails as
``':'.join(f'{b:02x}' ...)`` or compressed then hex. Printed, no raw value (nor its encoding) is
in any message the kernel sends; written to a file, the write is refused and nothing raw is on
disk. The same loops over plain columns print and write as they are."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

ROWS = 30


def _luhn(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


SSNS = [f"{120 + n:03d}-{10 + n:02d}-{1000 + n:04d}" for n in range(ROWS)]
PHONES = [f"(415) 555-{1000 + n:04d}" for n in range(ROWS)]
CARDS = [_luhn(f"411111220{n:06d}") for n in range(ROWS)]
DIGITS = ([s.replace("-", "") for s in SSNS] + [p.replace("(", "").replace(")", "").replace(
    " ", "").replace("-", "") for p in PHONES] + CARDS)
EMAILS = [f"user{n}@example.com" for n in range(ROWS)]
HEXED = ([e.encode().hex(":") for e in EMAILS] + [e.encode().hex(" ") for e in EMAILS]
         + [base64.a85encode(",".join(EMAILS).encode()).decode()[:40],
            base64.b85encode(",".join(EMAILS).encode()).decode()[:40]])


def _people(path: Path) -> None:
    import duckdb

    from jupyter_guard.connections import unwrap

    con = unwrap(duckdb.connect(str(path)))   # the test's own set-up, outside any guard
    con.execute("CREATE TABLE people (id INT, ssn VARCHAR, phone VARCHAR, card_number VARCHAR, "
                "city VARCHAR)")
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)",
                    [(n, SSNS[n], PHONES[n], CARDS[n], ["Paris", "Lyon"][n % 2])
                     for n in range(ROWS)])
    con.close()


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    work = new_workspace(work_root, data=False)
    make_warehouse(work / "wh.duckdb", rows=ROWS)
    _people(work / "people.duckdb")
    with guarded_kernel(work, {"JUPYTER_GUARD_USER": "tester"}) as kernel:
        kernel.ok("import duckdb\n"
                  "df = duckdb.connect('wh.duckdb').sql('SELECT * FROM customers ORDER BY id').df()\n"
                  "p = duckdb.connect('people.duckdb').sql('SELECT * FROM people ORDER BY id').df()")
        yield kernel


def _blob(r) -> str:
    return json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply)


def _raw(text: str) -> list[str]:
    return [v for v in DIGITS + EMAILS + HEXED if v in text]


NUMBERS = [
    pytest.param("[int(s.replace('-', '')) for s in p.ssn]", id="ssn-int"),
    pytest.param("[int(''.join(c for c in x if c.isdigit())) for x in p.phone]", id="phone-int"),
    pytest.param("[float(c) for c in p.card_number]", id="card-float"),
    pytest.param("[int(c) for c in p.card_number]", id="card-int"),
]
ENCODED = [
    pytest.param("[':'.join(f'{b:02x}' for b in e.encode()) for e in df.email]", id="hex-colons"),
    pytest.param("[e.encode().hex(' ') for e in df.email]", id="hex-spaced"),
    pytest.param("base64.a85encode(','.join(df.email).encode()).decode()", id="ascii85"),
    pytest.param("base64.b85encode(','.join(df.email).encode()).decode()", id="base85"),
]


@pytest.mark.parametrize("expr", NUMBERS + ENCODED)
def test_derived_values_are_masked_when_printed(k, expr):
    r = k.ok(f"import base64\nprint({expr})")
    blob = _blob(r)
    assert not _raw(blob), blob[:400]
    assert "\\u2588" in blob or "encoded sensitive values masked" in blob, blob[:400]


@pytest.mark.parametrize("expr", NUMBERS + ENCODED + [
    pytest.param("[zlib.compress(','.join(df.email).encode()).hex()]", id="zlib-hex"),
    pytest.param("[','.join(df.email).encode('utf-16').hex()]", id="utf16-hex"),
    pytest.param("[base64.b85encode(e.encode()).decode() for e in df.email]", id="base85-each"),
])
def test_derived_values_are_refused_at_a_file(k, expr):
    target = k.workdir / "derived.txt"
    r = k.blocked(f"import base64, zlib\n"
                  f"open('derived.txt', 'w').write(str({expr}))",
                  "exfiltration")
    assert not _raw(_blob(r))
    written = target.read_text() if target.exists() else ""
    assert not _raw(written), written[:200]
    assert "user1@example.com" not in written and "75:73:65:72" not in written


def test_plain_columns_as_numbers_and_hex_print_and_write(k):
    r = k.ok("import base64\nids = [int(i) * 1000003 for i in p.id]\n"
             "cities = [':'.join(f'{b:02x}' for b in (c * 3).encode()) for c in p.city[:2]]\n"
             "print(ids[:3], [float(a) for a in df.amount[:3]], cities)\n"
             "print(base64.a85encode(','.join(p.city).encode()).decode())\n"
             "open('plain.txt', 'w').write(str(ids) + '\\n' + '\\n'.join(cities))")
    out = r.everything()
    assert "[0, 1000003, 2000006] [0.0, 1.5, 3.0]" in out, out
    paris = ":".join(f"{b:02x}" for b in b"ParisParisParis")
    assert paris in out, out
    assert (k.workdir / "plain.txt").read_text().endswith(paris + "\n" + ":".join(
        f"{b:02x}" for b in b"LyonLyonLyon"))
