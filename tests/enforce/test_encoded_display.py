"""Base64 and hex of sensitive values printed or displayed in the notebook are masked whole (a
marker stands for the run), on every display path: ``print``, ``sys.stdout``/``stderr`` writes
in pieces, the cell's result, ``display`` of HTML and Markdown, a DataFrame of hexlified values,
and an error message. Every message the kernel sent (but the echo of the cell) is searched, with
every base64 and hex run in it decoded at every alignment. The warehouse's SSNs are bare 9-digit
numbers: only the known values find them. Benign twins (pictures, UUIDs, digests, git ids,
encoded plain text) are shown unchanged."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

MARKER = "[encoded sensitive values masked]"
RAW = re.compile(r"user\d+@example\.com|1000000\d\d")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "encoded_display"
    d.mkdir()
    with guarded_kernel(d, warehouse=300, connect=True) as kernel:
        kernel.ok("import base64, binascii, sys\nimport pandas as pd\n"
                  "from IPython.display import HTML, Markdown, display\n"
                  "rows = con.sql('SELECT email, ssn FROM customers ORDER BY id').fetchall()\n"
                  "df = con.sql('SELECT email, ssn FROM customers ORDER BY id').df()\n"
                  "ssns = [r[1] for r in rows]\n"
                  "b64 = base64.b64encode(str(rows).encode()).decode()")
        yield kernel


def _sent(r: Reply) -> str:
    """Every string of every message the kernel sent for the cell, but the echo of its code."""
    return json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply])


def _decoded(text: str) -> str:
    """``text`` and what each of its base64 and hex runs decodes to, at every alignment."""
    out = [text]
    for run in re.findall(r"[A-Za-z0-9+/_-]{16,}", text.replace("\\n", " ")):
        for a in range(4):
            for alt in (None, b"-_"):
                body = run[a:]
                body = body[:-1] if len(body) % 4 == 1 else body + "=" * (-len(body) % 4)
                try:
                    out.append(base64.b64decode(body, altchars=alt).decode("latin-1"))
                except (binascii.Error, ValueError):
                    pass
        for a in range(8):   # base32, at every alignment
            body = run[a:][: (len(run) - a) // 8 * 8]
            try:
                out.append(base64.b32decode(body).decode("latin-1"))
            except (binascii.Error, ValueError):
                pass
        for a in range(2):
            body = run[a:][: (len(run) - a) // 2 * 2]
            try:
                out.append(bytes.fromhex(body).decode("latin-1"))
            except ValueError:
                pass
    return "\n".join(out)


def _clean(r: Reply) -> None:
    found = RAW.search(_decoded(_sent(r)))
    assert found is None, found.group()


ENCODED = [
    pytest.param("print(str(rows).encode().hex())", id="print-hex"),
    pytest.param("print(base64.b64encode(str(rows).encode()))", id="print-b64-bytes"),
    pytest.param("print(base64.b32encode(str(rows).encode()).decode())", id="print-b32"),
    pytest.param("print([base64.b32encode(s.encode()).decode() for s in ssns[:40]])",
                 id="b32-of-each-ssn"),
    pytest.param("print(b64)", id="print-b64-long-line"),
    pytest.param("print('x' + b64[:3000])", id="glued-misaligned"),
    pytest.param("print(base64.encodebytes(str(rows).encode()).decode())", id="encodebytes"),
    pytest.param("for e, s in rows[:50]: print(base64.urlsafe_b64encode((e + s).encode()).decode())",
                 id="urlsafe-per-line"),
    pytest.param("print(','.join(ssns).encode().hex())", id="ssn-hex-known-only"),
    pytest.param("print(base64.b64encode(','.join(ssns[:3]).encode()).decode())",
                 id="ssn-b64-short"),
    pytest.param("print([base64.b64encode(s.encode()).decode() for s in ssns[:40]])",
                 id="ssn-b64-each-12-characters"),
    pytest.param("for s in ssns[:5]: print(base64.b64encode(s.encode()).decode())",
                 id="ssn-b64-one-per-line"),
    pytest.param("sys.stdout.write(b64)", id="stdout-write-no-newline"),
    pytest.param("sys.stderr.write(str(rows).encode().hex())", id="stderr-hex"),
    pytest.param("for i in range(0, len(b64), 700):\n"
                 "    sys.stdout.write(b64[i:i + 700]); sys.stdout.flush()", id="pieces-flushed"),
    pytest.param("for i in range(0, len(b64), 5):\n    sys.stdout.write(b64[i:i + 5])",
                 id="pieces-tiny"),
    pytest.param("b64", id="cell-result"),
    pytest.param("display(HTML('<p>' + b64 + '</p>'))", id="display-html"),
    pytest.param("display(Markdown('`' + str(rows[:40]).encode().hex() + '`'))",
                 id="display-markdown"),
    pytest.param("pd.DataFrame({'h': [e.encode().hex() for e in df.email],\n"
                 "              's': [s.encode().hex() for s in df.ssn]})", id="frame-of-hex"),
    pytest.param("print(pd.DataFrame({'h': [base64.b64encode(e.encode()).decode()"
                 " for e in df.email]}))", id="printed-frame-of-b64"),
    pytest.param("raise ValueError(str(rows[:30]).encode().hex())", id="error-hex"),
    pytest.param("raise ValueError(b64[:2000])", id="error-b64"),
    pytest.param("import json; print(json.dumps({'d': str(rows[:60]).encode().hex()}))",
                 id="json-hex"),
]


@pytest.mark.parametrize("code", ENCODED)
def test_encoded_values_are_not_shown(k: Kernel, code: str) -> None:
    r = k.run(code)
    _clean(r)
    shown = json.dumps([m["content"] for m in r.outputs])
    assert MARKER in shown or "\\u2588" in shown, shown[:500]   # masked, not dropped


def _png() -> bytes:
    """A real 64x64 greyscale PNG (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    pixels = b"".join(b"\x00" + bytes((x * y) % 256 for x in range(64)) for y in range(64))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b""))


PLAIN = [
    pytest.param([str(uuid.UUID(int=n * 7919)) for n in range(1, 40)], id="uuids"),
    pytest.param([uuid.UUID(int=n * 7919).hex for n in range(1, 40)], id="uuid-hex"),
    pytest.param([hashlib.sha256(str(n).encode()).hexdigest() for n in range(30)],
                 id="sha256"),
    pytest.param([hashlib.sha1(str(n).encode()).hexdigest() for n in range(30)], id="git-ids"),
    pytest.param([base64.b64encode(c.encode()).decode() for c in
                  ("Paris, Lyon", "Nice and Lille", "order 1234 shipped")], id="b64-plain-text"),
    pytest.param([", ".join(["Paris", "Lyon", "Nice"] * 40).encode().hex()], id="hex-plain-text"),
]


@pytest.mark.parametrize("values", PLAIN)
def test_encoded_plain_data_is_shown_unchanged(k: Kernel, values: list[str]) -> None:
    text = "\n".join(values)
    r = k.ok(f"print({text!r})")
    assert r.stream == text + "\n"
    r = k.ok(f"{values!r}")
    assert MARKER not in r.everything()
    assert values[0][:30] in r.everything()


def test_pictures_are_shown_whole(k: Kernel) -> None:
    png = _png()
    b = base64.b64encode(png).decode()
    r = k.ok(f"from IPython.display import Image\nimport base64\n"
             f"display(Image(data=base64.b64decode({b!r})))")
    assert base64.b64decode(r.mimes()["image/png"]) == png
    html = f'<img src="data:image/png;base64,{b}"/>'
    r = k.ok(f"display(HTML({html!r}))")
    assert r.mimes()["text/html"] == html
