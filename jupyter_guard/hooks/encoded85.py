"""Values hidden in Ascii85 or base85 (``base64.a85encode``, ``b85encode``) on their way out.

Both alphabets hold most of ASCII's punctuation, so almost any word is a run of either; what
tells an encoding apart is its punctuation: about one character in seven of ``a85encode`` or
``b85encode`` output is one of ``RARE`` (``! # $ % & * ; ? ^ ` ( )``), which CSV, JSON, numbers,
dates and prose rarely hold. So a text with fewer than ``MIN_RARE`` of them costs one C pass
(most texts), and only the runs of 20+ characters of an alphabet holding ``MIN_RARE`` of them
are decoded: their first 20 characters first (16 bytes, which must read as text), then whole.

>>> from base64 import a85encode, b85encode
>>> found(a85encode(b"ann@example.com,bob@example.org").decode())
['ann@example.com,bob@example.org']
>>> found("b85: " + b85encode(b"100000012,100000013,100000014").decode() + " end")
['100000012,100000013,100000014']
>>> found(str([a85encode(b"ann@example.com").decode(), a85encode(b"bob@example.org").decode()]))
['ann@example.com', 'bob@example.org']
>>> found("if (a && b) { x = y; } // 50% of $cost; is it? ok!")
[]
"""
from __future__ import annotations

import base64
import re

RARE = b"!#$%&*;?^`()"
MIN_RARE = 2
_A85 = re.compile(r"[!-u]{20,}")
_B85 = re.compile(r"[0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]{20,}")
_RARE_BYTES = frozenset(RARE)
_DROP_RARE = bytes.maketrans(b"", b"")
_A85_CHARS = "".join(map(chr, range(33, 118)))
_QUOTES = "'\",[]()"


def found(text: str) -> list[str]:
    """What the Ascii85 and base85 runs of ``text`` decode to, where it reads as text."""
    return [got for _run, got in runs(text)]


def runs(text: str) -> list[tuple[str, str]]:
    """The Ascii85 and base85 runs of ``text`` that decode to text, and that text."""
    raw = text.encode("latin-1", "replace")
    if len(raw) - len(raw.translate(_DROP_RARE, RARE)) < MIN_RARE:   # one C pass: most texts
        return []
    out: list[tuple[str, str]] = []
    if "\n" in text and len(_A85.findall(text)) > 1:   # ``a85encode(..., wrapcol=n)``: lines
        lines = [ln.strip().removeprefix("<~").removesuffix("~>") for ln in text.splitlines()]
        joined = "".join(ln for ln in lines if ln and not ln.strip(_A85_CHARS))
        got = _readable(_a85(joined[:20])) and _readable(_a85(joined))
        if got:
            out += [(ln, got) for ln in lines if ln and not ln.strip(_A85_CHARS)]
    for pattern, decode in ((_A85, _a85), (_B85, _b85)):
        for m in pattern.finditer(text):
            run = m.group()
            if sum(c in _RARE_BYTES for c in run.encode("ascii")) < MIN_RARE:
                continue
            for body in dict.fromkeys((run, run.strip(_QUOTES))):   # a repr's quotes around it
                got = _readable(decode(body[:20])) and _readable(decode(body))
                if got:
                    out.append((body, got))
                    break
    return out


def _a85(run: str) -> bytes:
    body = run[2:] if run.startswith("<~") else run
    body = body[:-2] if body.endswith("~>") else body
    try:
        return base64.a85decode(body)
    except ValueError:
        return b""


def _b85(run: str) -> bytes:
    try:
        return base64.b85decode(run)
    except ValueError:
        return b""


# the ASCII characters neither printable nor white space (``str.isprintable``/``isspace``)
_CONTROL = bytes(range(9)) + bytes(range(14, 28)) + b"\x7f"


def readable(text: str) -> bool:
    """At least 90% of ``text`` is printable or white space."""
    if text.isprintable():
        return True
    if text.isascii():
        return len(text.encode("ascii").translate(None, _CONTROL)) >= 0.9 * len(text)
    return sum(c.isprintable() or c.isspace() for c in text) >= 0.9 * len(text)


def _readable(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return text if text.strip() and readable(text) else ""
