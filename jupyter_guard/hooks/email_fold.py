"""The normal form (skeleton) of e-mails and of printed text, for ``known_emails``.

Each character is folded to its letters and digits (NFKC, ``casefold``, a few Cyrillic and
Greek look-alike letters to their Latin twin) or a space, a word edge; the '@' and '.' written
as entities or escapes (``%40``, ``&#64;``, ``\\u0040``) and the words ``at`` and ``dot``
standing alone become spaces too. ASCII text is folded in bytes (a few C passes); other text
one code point at a time through a table filled as characters are met.
"""
from __future__ import annotations

import re
import unicodedata

# the '@' and '.' as entities or escapes, in lower-case text (dropped before the skeleton)
_CODED = r"%(?:40|2e)|&#0*(?:64|46);|&#x0*(?:40|2e);|&(?:commat|period);|\\(?:u0040|u002e|x40|x2e)"
_CODED_B = re.compile(_CODED.encode())
_CODED_S = re.compile(_CODED, re.IGNORECASE)
_ASCII = bytes(c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122) else 32
               for c in range(256))
_ASCII_NL = _ASCII[:10] + b"\n" + _ASCII[11:]
# letters of other scripts that look Latin (Cyrillic, Greek), after casefold
_LOOKALIKE = dict(zip("асеорхуіјѕԁһӏԛԝɑνοαρτυχκιε", "aceopxyijsdhlqwavoaptuxkie"))


class _Fold(dict):  # type: ignore[type-arg]  # code point -> its skeleton text ('' or ' ')
    """Each code point's place in the skeleton, worked out once: letters and digits folded
    (NFKC, casefold, look-alikes), anything else a space (a word edge)."""

    def __missing__(self, c: int) -> str:
        if len(self) >= 1 << 16:   # bounded (text of every script)
            self.clear()
        s = "".join(_LOOKALIKE.get(x, x) for x in unicodedata.normalize("NFKC", chr(c)).casefold())
        s = "".join(x for x in s if x.isalnum()) or " "
        self[c] = s
        return s


FOLD = _Fold()


def folded(text: str, as_read: bool = False) -> str:
    """``text`` with each character folded to its skeleton letters or a space (word edges
    kept; entities of '@' and '.' and the words ``at`` and ``dot`` made spaces). ``as_read``:
    e-mails written as read in lower case made spaces first (``_AS_READ``).

    >>> folded("User0 (AT) Ex&#64;mple[dot]com")
    'user0      ex     mple     com'
    """
    if text.isascii():
        return folded_ascii(text.encode("ascii"), as_read).decode("ascii")
    if as_read and "@" in text:
        text = _AS_READ.sub(lambda m: " " * len(m.group()), text)
    if "%" in text or "&" in text or "\\" in text:
        text = _CODED_S.sub(lambda m: " " * len(m.group()), text)
    return _words_dropped(text.translate(FOLD))


def folded_ascii(raw: bytes, as_read: bool) -> bytes:
    """``folded`` of ASCII text, as bytes (C passes over bytes: ~2.5 times faster than str)."""
    if as_read and b"@" in raw:
        raw = AS_READ_B.sub(_blank, raw)
    if b"%" in raw or b"&" in raw or b"\\" in raw:
        raw = _CODED_B.sub(_blank, raw.lower())
    return _words_dropped_b(raw.translate(_ASCII))


# an e-mail written as read, in lower case: the token check finds a known one (and the e-mail
# detector any), so ``Index.found`` leaves it out (a print of 10,000 of them cost ~15 ms of
# automaton hits, each then found to be as read)
_AS_READ_PATTERN = r"[a-z0-9._+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
_AS_READ = re.compile(_AS_READ_PATTERN)
AS_READ_B = re.compile(_AS_READ_PATTERN.encode())


def _words_dropped(f: str) -> str:
    """``f`` (letters, digits, spaces) with the words ``at`` and ``dot`` made spaces: C
    replaces (a regex with look-arounds cost ~50 ms a MB), twice for words side by side."""
    padded = " " + f + " "
    for word in (" at ", " dot "):
        if word in padded:
            for _ in range(2):
                padded = padded.replace(word, " " * len(word))
    return padded[1:-1]


def _words_dropped_b(f: bytes) -> bytes:
    """``_words_dropped`` of bytes."""
    padded = b" " + f + b" "
    for word in (b" at ", b" dot "):
        if word in padded:
            for _ in range(2):
                padded = padded.replace(word, b" " * len(word))
    return padded[1:-1]


def _blank(m: re.Match[bytes]) -> bytes:
    return b" " * len(m[0])


def skeleton(value: str) -> str:
    """The letters and digits of ``value`` as ``folded`` keeps them.

    >>> skeleton("User.0@Example.COM"), skeleton("".join(chr(ord(c) + 0xFEE0) for c in "jane@x.io"))
    ('user0examplecom', 'janexio')
    """
    return folded(value).replace(" ", "")


def words_all(values: list[str]) -> list[list[str]]:
    """``folded(v).split()`` of each of ``values``: one pass over them joined where they are
    ASCII (the fold keeps their newlines there, each made a word edge)."""
    joined = "\n".join(values)
    if "\n" in joined.replace("\n", "", len(values) - 1) or not joined.isascii():
        return [folded(v).split() for v in values]   # (a value holds a newline)
    raw = joined.encode("ascii")
    if b"%" in raw or b"&" in raw or b"\\" in raw:
        raw = _CODED_B.sub(_blank, raw.lower())
    f = _words_dropped_b(raw.translate(_ASCII_NL).replace(b"\n", b" \n ")).decode("ascii")
    return [x.split() for x in f.split("\n")]
