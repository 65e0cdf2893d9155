"""Normalised text for the detectors, with a map back to the original text.

Values hidden by spelling are found in the normalised form and masked in the original:
HTML entities (``jane&#64;example.com``) and URL escapes (``a%40b.com``) are decoded,
zero-width characters and soft hyphens dropped, Unicode dashes folded to ``-``, full-width
digits to ASCII. One linear pass over the special characters only; text without any is
returned as it is.

>>> n = normalize("mail jane&#64;example.com")
>>> n.text
'mail jane@example.com'
>>> n.span(5, 21)
(5, 25)
"""
from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

_ZERO_WIDTH = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SPECIAL = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|%[0-9A-Fa-f]{2}"
    f"|[{_ZERO_WIDTH}{_DASHES}\uff10-\uff19]"
)
_FIRST = re.compile(f"[&%{_ZERO_WIDTH}{_DASHES}\uff10-\uff19]")


def _decode(token: str) -> str:
    ch = token[0]
    if ch == "&":
        out = html.unescape(token)
        return out if len(out) == 1 else token
    if ch == "%":
        code = int(token[1:], 16)
        return chr(code) if 0x20 <= code < 0x7F else token
    if ch in _ZERO_WIDTH:
        return ""
    if ch in _DASHES:
        return "-"
    return chr(ord(ch) - 0xFF10 + 48)  # full-width digit


@dataclass(frozen=True)
class Normalized:
    """``text`` for the detectors; ``span`` maps a span of it back onto the original."""

    text: str
    # one entry per changed token: start and end in ``text``, start and end in the original
    norm_start: list[int] = field(default_factory=list)
    norm_end: list[int] = field(default_factory=list)
    orig_start: list[int] = field(default_factory=list)
    orig_end: list[int] = field(default_factory=list)

    def start(self, x: int) -> int:
        i = bisect_right(self.norm_start, x) - 1
        if i < 0:
            return x
        if x < self.norm_end[i]:
            return self.orig_start[i]  # inside a decoded token: from its start
        return self.orig_end[i] + (x - self.norm_end[i])

    def end(self, y: int) -> int:
        i = bisect_left(self.norm_start, y) - 1
        if i < 0:
            return y
        if y <= self.norm_end[i]:
            return self.orig_end[i]  # ends inside a decoded token: to its end
        return self.orig_end[i] + (y - self.norm_end[i])

    def span(self, a: int, b: int) -> tuple[int, int]:
        """The original span of the normalised span ``(a, b)``."""
        return (self.start(a), self.end(b)) if self.norm_start else (a, b)


def normalize(text: str) -> Normalized:
    """``text`` with hiding spellings undone (the same object when there are none)."""
    if _FIRST.search(text) is None:
        return Normalized(text)
    out: list[str] = []
    norm = Normalized("")
    pos = npos = 0
    for m in _SPECIAL.finditer(text):
        a, b = m.span()
        dec = _decode(m.group())
        if dec == m.group():
            continue
        out.append(text[pos:a])
        npos += a - pos
        norm.norm_start.append(npos)
        norm.orig_start.append(a)
        out.append(dec)
        npos += len(dec)
        norm.norm_end.append(npos)
        norm.orig_end.append(b)
        pos = b
    if not norm.norm_start:
        return Normalized(text)
    out.append(text[pos:])
    object.__setattr__(norm, "text", "".join(out))
    return norm
