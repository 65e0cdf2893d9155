"""The red team readers themselves (``test_red15e_network.decoded`` then
``test_red15c_corpus.raw_in``): a raw e-mail or SSN written each way they undo is found, and
the same ways of writing a value that is not sensitive find nothing. They judge the red team
corpora, so a reader made faster must still see every form it saw before."""
from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import gzip
import html
import io
import lzma
import pickle
import struct
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable

import pytest

from tests.enforce.test_red15c_corpus import EMAILS, RAW, SSNS, missing, raw_in, recover
from tests.enforce.test_red15e_network import decoded

HEAD = b"POST /in HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
_LETTERS = str.maketrans("0123456789", "abcdefghij")


def _chunked(b: bytes) -> bytes:
    return HEAD + b"".join(b"%x\r\n%s\r\n" % (len(b[i:i + 3]), b[i:i + 3])
                           for i in range(0, len(b), 3)) + b"0\r\n\r\n"


def _raw_deflate(b: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return HEAD + c.compress(b) + c.flush()


def _zip(b: bytes, method: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as z:
        z.writestr("d.txt", b)
    return HEAD + out.getvalue()


def _quoted(n: int) -> Callable[[str], bytes]:
    def f(v: str) -> bytes:
        for _ in range(n):
            v = urllib.parse.quote(v, safe="")
        return b"GET /?d=" + v.encode() + b" HTTP/1.1"
    return f


# each way of writing one value ``v`` that the readers undo (a name and the capture)
FORMS: dict[str, Callable[[str], bytes]] = {
    "plain": lambda v: b"GET /?d=" + v.encode(),
    "chunked": lambda v: _chunked(b"d=" + v.encode()),
    "gzip": lambda v: HEAD + gzip.compress(v.encode()),
    "zlib": lambda v: HEAD + zlib.compress(v.encode()),
    "bz2": lambda v: HEAD + bz2.compress(v.encode()),
    "xz": lambda v: HEAD + lzma.compress(v.encode()),
    "raw-deflate": lambda v: _raw_deflate(v.encode()),
    "zip-stored": lambda v: _zip(v.encode(), zipfile.ZIP_STORED),
    "zip-deflated": lambda v: _zip(v.encode(), zipfile.ZIP_DEFLATED),
    "zip-bzip2": lambda v: _zip(v.encode(), zipfile.ZIP_BZIP2),
    "zip-lzma": lambda v: _zip(v.encode(), zipfile.ZIP_LZMA),
    "url-quoted": _quoted(1),
    "url-quoted-twice": _quoted(2),
    "url-quoted-thrice": _quoted(3),
    "url-plus": lambda v: b"d=" + urllib.parse.quote_plus("x " + v).encode(),
    "base64": lambda v: b"d=" + base64.b64encode(b"<" + v.encode() + b">"),
    "base64-urlsafe": lambda v: b"d=" + base64.urlsafe_b64encode(b"?>" + v.encode()),
    "base64-gzip": lambda v: b"d=" + base64.b64encode(gzip.compress(v.encode())),
    "hex": lambda v: b"d=" + v.encode().hex().encode(),
    "pickle-chars": lambda v: b"\n--listener--\n" + pickle.dumps(list(v)),
    "reversed": lambda v: b"d=" + v[::-1].encode(),
    "utf-16-le": lambda v: HEAD + v.encode("utf-16-le"),
    "utf-16-be-odd": lambda v: HEAD + b"x" + v.encode("utf-16-be"),
    "utf-32-le": lambda v: HEAD + v.encode("utf-32-le"),
    "utf-32-be": lambda v: HEAD + b"xy" + v.encode("utf-32-be"),
    "rot13": lambda v: b"d=" + codecs.encode(v, "rot13").encode(),
    "html-escaped": lambda v: html.escape(v).replace("@", "&#64;").replace("1", "&#49;").encode(),
    "json-u-escaped": lambda v: "".join(f"\\u{ord(c):04x}" for c in v).encode(),
    "one-char-a-line": lambda v: "\n".join(v).encode(),
    "series-of-chars": lambda v: "\n".join(f"{i}    {c}" for i, c in enumerate(v)).encode(),
    "uuencoded": lambda v: binascii.b2a_uu(v.encode()),
    "upper-case": lambda v: v.upper().encode(),
    "int-list": lambda v: str(list(v.encode())).encode(),
    "spaced-digits": lambda v: " ".join(v).encode(),
}
EMAIL_FORMS = {
    "local-part-reversed": lambda v: (v.split("@")[0][::-1] + "@" + v.split("@")[1]).encode(),
    "at-dropped": lambda v: v.replace("@", "").encode(),
    "at-as-word": lambda v: v.replace("@", " at ").encode(),
    "woven": lambda v: "".join(a + b for a, b in zip(v, "abcdefghijklmnopqrstuvwxyz")).encode(),
    "big-int": lambda v: str(int.from_bytes(v.encode(), "big")).encode(),
}
SSN_FORMS = {
    "digits-as-letters": lambda v: v.translate(_LETTERS).encode(),
    "dashed": lambda v: f"{v[:3]}-{v[3:5]}-{v[5:]}".encode(),
    "packed-int64": lambda v: struct.pack("<3q", 1, int(v), 2),
}


def _cases(email: str, ssn: str) -> list[object]:
    return ([pytest.param(email, f, id=f"email-{n}") for n, f in {**FORMS, **EMAIL_FORMS}.items()]
            + [pytest.param(ssn, f, id=f"ssn-{n}") for n, f in {**FORMS, **SSN_FORMS}.items()])


@pytest.mark.parametrize(("value", "form"), _cases(EMAILS[7], SSNS[7]))
def test_each_form_of_a_raw_value_is_found(value: str, form: Callable[[str], bytes]) -> None:
    assert value in RAW
    assert raw_in(decoded(form(value))) == [value]


@pytest.mark.parametrize(("value", "form"), _cases(EMAILS[2], SSNS[2]))
def test_a_value_not_sensitive_is_not_found(value: str, form: Callable[[str], bytes]) -> None:
    """``EMAILS[:5]``/``SSNS[:5]`` are not in ``RAW``: the same forms find nothing, and the
    twins' reader (``missing``) still finds the value itself."""
    assert value not in RAW
    assert raw_in(decoded(form(value))) == []
    if form in (FORMS["plain"], FORMS["hex"], FORMS["gzip"], FORMS["rot13"]):
        assert missing([value], decoded(form(value))) == []


def test_missing_is_a_search_of_every_part_recovered_and_joined() -> None:
    """The twins' reader answers as searching ``recover`` of every part joined by newlines:
    a value in a late part, one spanning two pieces or two parts, one nowhere."""
    parts = decoded(_raw_deflate(b"d=" + EMAILS[9].encode())) * 2 + [b"tail-end", b"zz"]
    whole = "\n".join(recover(p) for p in parts)
    cuts = [i for i, c in enumerate(whole) if c == "\n"]
    spanning = [whole[i - 4:i + 5] for i in (cuts[0], cuts[len(cuts) // 2], cuts[-1],
                                             whole.index("tail-end") - 1)]
    expect = [EMAILS[9], *spanning, "absent", "", whole[:40], whole[-30:]]
    assert missing(expect, parts) == [e for e in expect if e not in whole]
    assert missing(expect, parts) == ["absent"]
    assert missing(["absent"], []) == ["absent"]
