"""The masking path as it was before the fast paths (per-token normalisation, one precise
pass per detector, a Python merge and per-value masking), kept as the reference that the
differential tests compare the fast paths with, span for span and byte for byte."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from jupyter_guard.mask.normalize import _CHANGING, _FIRST, _FOLD, _FOLDED, _decode
from jupyter_guard.mask.scan import scan_precise
from jupyter_guard.mask.strategy import SPELT, mask_value
from jupyter_guard.mask.text import MaskSettings, hinted

Finders = Sequence[Callable[[str], list[tuple[int, int, str]]]]


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


def normalize(text: str) -> Normalized:  # the previous single-loop form
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


def norm_spans(text: str, settings: MaskSettings, known: Finders = ()
               ) -> tuple[Normalized, list[tuple[int, int, str]]]:
    norm = normalize(text)
    found = [s for find in known for s in find(norm.text)]
    if not found and len(norm.text) < 2048 and not hinted(norm.text):
        return norm, []
    spelt = [s for s in found if s[2] == SPELT]   # (a tie: a known value spelt otherwise)
    spans = spelt + scan_precise(norm.text, settings.enabled) + found
    spans.sort(key=lambda s: (s[0], s[0] - s[1]))
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return norm, kept


def find_spans(text: str, settings: MaskSettings, known: Finders = ()
               ) -> list[tuple[int, int, str]]:
    norm, spans = norm_spans(text, settings, known)
    return spans if norm.text is text else [(*norm.span(a, b), n) for a, b, n in spans]


def mask_text(text: str, settings: MaskSettings, known: Finders = ()) -> str:
    """``known``: finders of known values, as ``text.KNOWN`` holds them."""
    if not settings.active or not text:
        return text
    norm, spans = norm_spans(text, settings, known)
    out, pos = [], 0
    for a, b, name in spans:
        value = norm.text[a:b]
        a, b = norm.span(a, b)
        if a < pos:
            continue
        out += [text[pos:a], mask_value(value, settings.strategy_for(detector=name),
                                        settings.salt, kind=name)]
        pos = b
    out.append(text[pos:])
    return "".join(out)
