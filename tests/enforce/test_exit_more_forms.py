"""Known sensitive values in forms a user loop makes of them, written to a file in a real kernel:
packed binary (``struct``, ``array``, ``int.to_bytes``), numbers re-spelt (thousands separators,
``hex``/``oct``/``bin``), code-point and bit lists, escapes, letters spaced out or shifted,
base32hex, uuencode, quoted-printable. Each write is refused as ``exfiltration`` and the file on
disk holds no value in the form tried; the same loops over plain columns write and read back."""
from __future__ import annotations

import base64
import binascii
import codecs
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

ROWS = 30
EMAILS = [f"user{n}@example.com" for n in range(ROWS)]
SSNS = [f"{100000000 + n:09d}" for n in range(ROWS)]


def _luhn(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


CARDS = [_luhn(f"411111330{n:06d}") for n in range(ROWS)]


def _shift(e: str, k: int) -> str:
    return "".join(chr((ord(c) - 97 + k) % 26 + 97) if c.islower() else c for c in e)


def _forms() -> list[bytes]:
    """Every form below, of every value, as the file would hold it."""
    out: list[bytes] = []
    for e in EMAILS[1:]:
        b = e.encode()
        out += [str([ord(c) for c in e]).encode(), " ".join(e).encode(), ".".join(e).encode(),
                "".join(f"\\{x:03o}" for x in b).encode(), base64.b32hexencode(b),
                binascii.b2a_uu(b).strip(), "".join(f"={x:02X}" for x in b).encode(),
                codecs.encode(e, "rot13").encode(), _shift(e, 3).encode(),
                str([format(x, "08b") for x in b]).encode()]
    for s in SSNS[1:] + CARDS:
        n = int(s)
        out += [struct.pack("<q", n), struct.pack(">q", n), struct.pack("<d", float(n)),
                f"{n:,}".encode(), hex(n).encode(), oct(n).encode(), bin(n).encode()]
    return out


FORMS = _forms()


def _card(path: Path) -> None:
    import duckdb

    from jupyter_guard.connections import unwrap

    con = unwrap(duckdb.connect(str(path)))   # the test's own set-up, outside any guard
    con.execute("CREATE TABLE cards (id INT, card_number VARCHAR, city VARCHAR)")
    con.executemany("INSERT INTO cards VALUES (?, ?, ?)",
                    [(n, CARDS[n], ["Paris", "Lyon"][n % 2]) for n in range(ROWS)])
    con.close()


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    work = new_workspace(work_root, data=False)
    make_warehouse(work / "wh.duckdb", rows=ROWS)
    _card(work / "cards.duckdb")
    with guarded_kernel(work, {"JUPYTER_GUARD_USER": "tester"}) as kernel:
        kernel.ok("import duckdb, struct, array, binascii, base64, codecs\n"
                  "df = duckdb.connect('wh.duckdb').sql('SELECT * FROM customers ORDER BY id').df()\n"
                  "c = duckdb.connect('cards.duckdb').sql('SELECT * FROM cards ORDER BY id').df()\n"
                  "ssns = [int(s) for s in df.ssn]\ncards = [int(x) for x in c.card_number]\n"
                  "def shift(e, k):\n"
                  "    return ''.join(chr((ord(ch) - 97 + k) % 26 + 97) if ch.islower() else ch"
                  " for ch in e)")
        yield kernel


def _leaked(data: bytes) -> list[bytes]:
    return [f for f in FORMS if f in data]


BINARY = [
    pytest.param("b''.join(struct.pack('<q', n) for n in ssns)", id="struct-q-ssn"),
    pytest.param("b''.join(struct.pack('>q', n) for n in cards)", id="struct-q-be-card"),
    pytest.param("array.array('q', cards).tobytes()", id="array-q-card"),
    pytest.param("b''.join(n.to_bytes(8, 'little') for n in ssns)", id="to-bytes-ssn"),
    pytest.param("b''.join(struct.pack('<d', float(n)) for n in cards)", id="struct-d-card"),
]
TEXT = [
    pytest.param("'\\n'.join(f'{n:,}' for n in ssns)", id="thousands-ssn"),
    pytest.param("'\\n'.join(f'{n:,}' for n in cards)", id="thousands-card"),
    pytest.param("'\\n'.join(hex(n) for n in cards)", id="hex-card"),
    pytest.param("'\\n'.join(oct(n) for n in ssns)", id="oct-ssn"),
    pytest.param("'\\n'.join(bin(n) for n in ssns)", id="bin-ssn"),
    pytest.param("str([[ord(ch) for ch in e] for e in df.email])", id="ord-lists"),
    pytest.param("str([[format(b, '08b') for b in e.encode()] for e in df.email])", id="bits"),
    pytest.param("'\\n'.join(''.join('\\\\%03o' % b for b in e.encode()) for e in df.email)",
                 id="octal-escapes"),
    pytest.param("'\\n'.join(base64.b32hexencode(e.encode()).decode() for e in df.email)",
                 id="base32hex"),
    pytest.param("b''.join(binascii.b2a_uu(e.encode()) for e in df.email).decode()",
                 id="uuencode"),
    pytest.param("'\\n'.join(''.join('=%02X' % b for b in e.encode()) for e in df.email)",
                 id="quoted-printable"),
    pytest.param("'\\n'.join(' '.join(e) for e in df.email)", id="spaced"),
    pytest.param("'\\n'.join('.'.join(e) for e in df.email)", id="dotted"),
    pytest.param("'\\n'.join(str(i) + s for i, s in enumerate(df.ssn))", id="glued-index"),
]


@pytest.mark.parametrize("expr", BINARY)
def test_packed_binary_is_refused_at_a_file(k, expr):
    r = k.blocked(f"open('packed.bin', 'wb').write({expr})", "exfiltration")
    assert "exfiltration" in r.everything()
    target = k.workdir / "packed.bin"
    data = target.read_bytes() if target.exists() else b""
    assert not _leaked(data), data[:80]


@pytest.mark.parametrize("expr", TEXT)
def test_re_spelt_values_are_refused_at_a_file(k, expr):
    k.blocked(f"open('forms.txt', 'w').write({expr})", "exfiltration")
    target = k.workdir / "forms.txt"
    data = target.read_bytes() if target.exists() else b""
    assert not _leaked(data), data[:80]


def test_plain_values_in_the_same_forms_write_and_read_back(k):
    """Ids, amounts, dates and words that are no known value, in every form above: written
    whole, read back equal (only values read from sensitive columns are looked for)."""
    code = (
        "ids = [int(i) * 1000003 + 123456789 for i in df.id]\n"
        "words = list(c.city) + ['PRD-000123', 'a b c d e f g h i j', '2026-11-30']\n"
        "blob = b''.join(struct.pack('<q', n) + struct.pack('>d', n * 1.5) for n in ids)\n"
        "blob += array.array('q', ids).tobytes() + b''.join(n.to_bytes(8, 'little') for n in ids)\n"
        "text = '\\n'.join([f'{n:,}' for n in ids] + [hex(n) for n in ids] + [oct(n) for n in ids]"
        " + [bin(n) for n in ids] + [str(i) + str(n) for i, n in enumerate(ids)]"
        " + [str([ord(ch) for ch in w]) for w in words]"
        " + [str([format(b, '08b') for b in w.encode()]) for w in words]"
        " + [''.join('\\\\%03o' % b for b in w.encode()) for w in words]"
        " + [base64.b32hexencode(w.encode()).decode() for w in words]"
        " + [binascii.b2a_uu(w.encode()).decode().strip() for w in words]"
        " + [''.join('=%02X' % b for b in w.encode()) for w in words]"
        " + [' '.join(w) for w in words] + ['.'.join(w) for w in words]"
        " + [codecs.encode(w, 'rot13') for w in words])\n"
        "open('plain.bin', 'wb').write(blob)\nopen('plain.txt', 'w').write(text)\n"
        "assert open('plain.bin', 'rb').read() == blob and open('plain.txt').read() == text\n"
        "print(len(blob), text.count('\\n'))")
    r = k.ok(code)
    assert "960 446" in r.everything(), r.everything()
    written = (k.workdir / "plain.txt").read_text()
    assert "P R D - 0 0 0 1 2 3" in written
    assert "P.a.r.i.s" in written and "123,456,789" in written


@pytest.mark.parametrize("n", [1, 3, 6, 9])
def test_one_e_mail_in_base85_is_refused_at_a_file(k, n):
    """A single e-mail's base85 run holds too little punctuation for the run finder: these four
    (of the first ten) went out before; the e-mail's own encodings are known now."""
    k.blocked(f"open('one85.txt', 'w').write(base64.b85encode(df.email[{n}].encode()).decode())",
              "exfiltration")
    target = k.workdir / "one85.txt"
    data = target.read_bytes() if target.exists() else b""
    assert base64.b85encode(EMAILS[n].encode()) not in data, data


def _packed_in(path: Path) -> list[bytes]:
    data = path.read_bytes() if path.exists() else b""
    return [f for f in FORMS if len(f) == 8 and f in data]


def test_memmap_flush_of_known_numbers_is_refused_and_writes_nothing(k):
    k.blocked("import numpy as np\n"
              "mm = np.memmap('mm.bin', dtype='int64', mode='w+', shape=(len(ssns),))\n"
              "mm[:] = ssns\nmm.flush()", "exfiltration")
    assert (k.workdir / "mm.bin").stat().st_size == 8 * ROWS   # created and sized as asked
    assert not _packed_in(k.workdir / "mm.bin")
    k.run("del mm\nimport gc; gc.collect()")   # (the refusal's traceback may still hold it)
    assert not _packed_in(k.workdir / "mm.bin")


def test_memmap_of_known_numbers_never_flushed_writes_nothing(k):
    r = k.run("import numpy as np\n"
              "m2 = np.memmap('mm2.bin', dtype='float64', mode='w+', shape=(len(cards),))\n"
              "m2[:] = cards\ndel m2")
    assert "exfiltration" in r.everything(), r.everything()
    assert not _packed_in(k.workdir / "mm2.bin")


def test_memmap_of_plain_numbers_writes_and_reads_back(k):
    r = k.ok("import numpy as np\nplain = np.arange(1000, dtype='int64') * 1000003 + 7\n"
             "m3 = np.memmap('plain_mm.bin', dtype='int64', mode='w+', shape=(1000,))\n"
             "m3[:] = plain\nm3.flush()\nm3[0] = 5\ndel m3\n"
             "back = np.fromfile('plain_mm.bin', dtype='int64')\n"
             "m4 = np.memmap('plain_mm.bin', dtype='int64', mode='r+', offset=8, shape=(10,))\n"
             "m4[:] = 1\nm4.flush()\n"
             "print(back[0], (back[1:] == plain[1:]).all(), m4.mode, "
             "np.fromfile('plain_mm.bin', dtype='int64')[:12].tolist())")
    assert "5 True r+ [5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 11000040]" in r.everything(), \
        r.everything()
