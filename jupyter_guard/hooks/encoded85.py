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

Runs with fewer than ``MIN_RARE`` rare characters (a short run, by chance: two e-mails in
``b85encode``; ~27% of 20-character runs) are read by ``loose`` where a value may hide,
that is once an e-mail is known (``respelt`` calls it): a base85 run holding one of its
punctuation characters but ``+-_`` (base64's and a UUID's), an Ascii85 run holding one rare
character, each tried on its first 20
characters (at up to five offsets when a query string's ``=``/``?``/``&`` may lead it) and
decoded whole when they read as text. Linear: the runs are found in one pass, each is tried on
at most 100 characters, and ``LOOSE_MAX`` characters of runs are decoded in all.

>>> loose("GET /p?d=" + b85encode(b"user1@example.com,user2@example.com").decode())
[(9, 53, 'user1@example.com,user2@example.com')]
>>> loose("x_total=compute_sum(values) if a_long_name_here==b else None")
[]
"""
from __future__ import annotations

import base64
import re
from typing import Any

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


LOOSE_MAX = 1 << 20
"""The most characters of runs ``loose`` decodes whole in one text."""
_LEAD = frozenset("=?&")
_B85_SET = r"0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~"
# a base85 run of 20+ characters and the punctuation that tells it (neither base64's ``+/``,
# its URL-safe ``-_`` nor a UUID's ``-``); an Ascii85 run and its rare characters: each run
# found by a plain character class (the fastest loop of Python's engine), then one C test
_B85_LOOSE = re.compile(rf"[{_B85_SET}]{{20,}}")
_B85_TELLS = frozenset("!#$%&()*;<=>?@^`{|}~")
_A85_LOOSE = re.compile(r"[!-u]{20,}")
_A85_TELLS = frozenset("!#$%&*;?^`()")
# both as one RE2 search: 20 characters of an alphabet in a row with a telling one among them
_WINDOWS = "|".join(rf"{a}{{{k}}}{m}{a}{{{19 - k}}}" for a, m in (
    (f"[{_B85_SET}]", "[!#$%&()*;<=>?@^`{|}~]"), ("[!-u]", "[!#$%&*;?^`()]")) for k in range(20))
try:  # google-re2: one linear pass decides for most texts (no window: no Python step)
    import re2

    _GATE: Any = re2.compile(_WINDOWS)
except ImportError:  # pragma: no cover - no wheel here: the searches themselves decide
    _GATE = None


def loose(text: str) -> list[tuple[int, int, str]]:
    """The base85 and Ascii85 runs of ``text`` holding one of their telling punctuation
    characters that decode to text, maybe after a query string's ``name=`` (which ``runs``
    does not read): start, end, and the text (see the module's note)."""
    out: list[tuple[int, int, str]] = []
    try:
        if _GATE is not None and _GATE.search(text) is None:
            return out
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): the searches decide
        pass
    budget = LOOSE_MAX
    found = [(m, _b85, _B85_DIGIT) for m in _B85_LOOSE.finditer(text)
             if not _B85_TELLS.isdisjoint(m.group())] + [
        (m, _a85, _A85_DIGIT) for m in _A85_LOOSE.finditer(text)
        if not _A85_TELLS.isdisjoint(m.group())]
    for m, decode, digit in found:
        run = m.group()
        leads = [0] + [i + 1 for i, c in enumerate(run[:8]) if c in _LEAD]
        for lead in leads[:5]:
            body = run[lead:]
            if len(body) < 20 or not _head(body, digit) or not _readable(decode(body[:20])):
                continue
            budget -= len(body)
            got = _readable(decode(body)) if budget >= 0 else ""
            if got:
                out.append((m.start() + lead, m.end(), got))
            break
    return out


_B85_DIGIT = {c: i for i, c in enumerate(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~")}
_A85_DIGIT = {chr(33 + i): i for i in range(85)}
_TEXT_BYTE = bytes(32 <= c < 127 or c in (9, 10, 13) for c in range(256))


def _head(run: str, digit: dict[str, int]) -> bool:
    """Whether the first group of ``run`` (5 characters) decodes to 4 bytes of ASCII text:
    a few integer steps that turn down ~98% of runs that are no encoding (code, identifiers)
    before the library's decoder reads 20 characters."""
    n = 0
    for c in run[:5]:
        d = digit.get(c)
        if d is None:
            return False
        n = n * 85 + d
    return n < 1 << 32 and all(_TEXT_BYTE[b] for b in n.to_bytes(4, "big"))
