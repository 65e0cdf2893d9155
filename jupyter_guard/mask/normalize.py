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
# full-width ASCII (U+FF01..U+FF5E: ＠, ．, digits, letters) maps one to one onto ASCII  # noqa: RUF003
_FOLD = {**{ord(c): "-" for c in _DASHES}, **{0xFF01 + i: chr(0x21 + i) for i in range(94)}}
_FOLDED = re.compile(f"[{_DASHES}\uff01-\uff5e]")
_CHANGING = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|%[0-9A-Fa-f]{2}"
    f"|[{_ZERO_WIDTH}]+"
)
_FIRST = re.compile(f"[&%{_ZERO_WIDTH}{_DASHES}\uff01-\uff5e]")


def _decode(token: str) -> str:
    ch = token[0]
    if ch == "&":
        out = html.unescape(token)
        return out if len(out) == 1 else token
    if ch == "%":
        code = int(token[1:], 16)
        return chr(code) if 0x20 <= code < 0x7F else token
    return ""  # zero-width characters


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
    if text.isascii() and "&" not in text and "%" not in text:  # the common case, at C speed
        return Normalized(text)
    if _FIRST.search(text) is None:
        return Normalized(text)
    if _FOLDED.search(text) is not None:  # one character for one: no map needed
        text_f = text.translate(_FOLD)
    else:
        text_f = text
    tokens = [(m.start(), m.end(), m.group()) for m in _CHANGING.finditer(text_f)]
    if not tokens:
        return Normalized(text_f)
    out: list[str] = []
    norm = Normalized("")
    ns, ne, os_, oe = norm.norm_start, norm.norm_end, norm.orig_start, norm.orig_end
    cache: dict[str, str] = {}
    pos = npos = 0
    for a, b, token in tokens:
        dec = cache.get(token)
        if dec is None:
            dec = cache[token] = _decode(token)
        if dec == token:
            continue
        out.append(text_f[pos:a])
        npos += a - pos
        ns.append(npos)
        os_.append(a)
        out.append(dec)
        npos += len(dec)
        ne.append(npos)
        oe.append(b)
        pos = b
    if not ns:
        return Normalized(text_f)
    out.append(text_f[pos:])
    object.__setattr__(norm, "text", "".join(out))
    return norm
