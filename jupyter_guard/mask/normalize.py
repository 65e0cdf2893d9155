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

import functools
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from . import tokens
from .tokens import (  # noqa: F401 - (the spellings are named here too)
    _CHANGING,
    _DASHES,
    _FIRST,
    _FOLD,
    _FOLDED,
    _SPLIT,
    _ZERO_WIDTH,
    FOLD_BULK,
    _decode,
    _dropped_map,
    _one_token,
    _pieces,
    _token_arrays,
    fold,
)

try:  # long texts are searched for tokens by RE2 first (see ``scan``)
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None


@dataclass(frozen=True)
class Normalized:
    """``text`` for the detectors; ``span`` maps a span of it back onto the original.

    ``source`` is the text the tokens were decoded from ('' when ``text`` is the original,
    one character for one). The map is built only when a span is mapped (most texts have no
    value in them): ``source`` cut into pieces alternating between kept text and tokens (even
    and odd indices), where each piece starts in ``text`` and in ``source``. A token whose
    decoding has another length was changed."""

    text: str
    source: str = ""
    uniform: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    """The tokens of ``source`` when every ``&`` or ``%`` in it that starts one starts the same
    one (``_uniform``): the map is then read from where those characters are, in numpy."""
    found: tuple[Any, Any, Any] | None = field(default=None, compare=False, repr=False)
    """The tokens of a long ``source`` as ``tokens.bulk`` read them (starts, sizes, decoded
    lengths): the map is built from them, in numpy."""

    @functools.cached_property
    def _map(self) -> tuple[list[int], list[int]]:
        if self._leads is not None or self.found is not None:
            norm_at, orig_at = self.arrays
            return norm_at.tolist(), orig_at.tolist()
        pieces = _pieces(self.source)
        tokens = pieces[1::2]
        decoded = {t: _decode(t) for t in set(tokens)}
        orig_at = list(accumulate(map(len, pieces), initial=0))
        pieces[1::2] = map(decoded.__getitem__, tokens)
        norm_at = list(accumulate(map(len, pieces), initial=0))
        return norm_at[:-1], orig_at[:-1]

    @property
    def _leads(self) -> tuple[str, ...] | None:
        """The tokens besides zero-width runs, when the map is read in numpy (a long source
        where they are known), else None."""
        if len(self.source) < FOLD_BULK:
            return None
        if self.uniform is not None:
            return self.uniform
        return None if "&" in self.source or "%" in self.source else ()

    @functools.cached_property
    def arrays(self) -> tuple[Any, Any]:
        """``pieces`` as two numpy arrays (64-bit), built in numpy where the tokens are known
        (runs of zero-width characters, and ``uniform``'s), without cutting the text."""
        import numpy as np  # (a dependency; loaded for long texts only)

        if self.found is not None:
            return tokens.piece_arrays(*self.found)
        if self._leads is not None:
            return _token_arrays(self.source, self._leads)
        return tuple(np.array(p, dtype=np.int64) for p in self._map)  # type: ignore[return-value]

    @property
    def pieces(self) -> tuple[list[int], list[int]]:
        """Where each piece (kept text and tokens, alternating) starts in ``text`` and in the
        original."""
        return self._map

    def _piece(self, i: int) -> tuple[int, int, int, int]:
        """Start and end of piece ``i`` in ``text``, then in the original."""
        norm_at, orig_at = self._map
        ns, os_ = norm_at[i], orig_at[i]
        if i + 1 == len(norm_at):
            return ns, len(self.text), os_, os_ + (len(self.text) - ns)
        return ns, norm_at[i + 1], os_, orig_at[i + 1]

    def _start(self, x: int, lo: int = 0) -> tuple[int, int]:
        """The original position of ``x`` as a start, and the piece it is in."""
        i = max(bisect_right(self._map[0], x, lo) - 1, 0)
        ns, ne, os_, oe = self._piece(i)
        if oe - os_ == ne - ns:  # kept text, or a token left as it was
            return os_ + (x - ns), i
        return (os_ if x < ne else oe + (x - ne)), i  # inside a decoded token: from its start

    def _end(self, y: int, lo: int = 0) -> int:
        ns, ne, os_, oe = self._piece(max(bisect_left(self._map[0], y, lo) - 1, 0))
        if oe - os_ == ne - ns:
            return os_ + (y - ns)
        return oe if y <= ne else oe + (y - ne)  # ends inside a decoded token: to its end

    def start(self, x: int) -> int:
        return self._start(x)[0]

    def end(self, y: int) -> int:
        return self._end(y)

    def span(self, a: int, b: int) -> tuple[int, int]:
        """The original span of the normalised span ``(a, b)``."""
        return (self.start(a), self.end(b)) if self.source else (a, b)

    def spans(self, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """``span`` of each of ``spans`` (ordered by start; the name is kept), each search
        starting where the previous one ended."""
        if not self.source:
            return spans
        out, lo = [], 0
        for a, b, name in spans:
            x, lo = self._start(a, lo)
            out.append((x, self._end(b, lo), name))
        return out


def _found(text: str) -> bool:
    """Whether ``text`` may hold a token to decode (RE2 reads long texts many times faster)."""
    if _re2 is not None and len(text) >= 2048:
        try:
            return _changing_re2().search(text) is not None
        except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only; ``re`` reads any str
            pass
    return _CHANGING.search(text) is not None


@functools.lru_cache(maxsize=1)
def _changing_re2() -> Any:
    return _re2.compile(_CHANGING.pattern)


def normalize(text: str) -> Normalized:
    """``text`` with hiding spellings undone (the same object when there are none)."""
    if text.isascii() and "&" not in text and "%" not in text:  # the common case, at C speed
        return Normalized(text)
    if _FIRST.search(text) is None:
        return Normalized(text)
    if _FOLDED.search(text) is not None:  # one character for one: no map needed
        text_f = fold(text)
    else:
        text_f = text
    if not _found(text_f):
        return Normalized(text_f)
    fast = _uniform(text_f)
    if fast is not None:
        return fast
    got = tokens.bulk(text_f) if len(text_f) >= FOLD_BULK else None
    if got is not None:  # (read in numpy: no piece cut out of a long text)
        return Normalized(text_f) if got[0] is text_f else Normalized(got[0], text_f,
                                                                      found=got[1])
    pieces = _SPLIT.split(text_f)  # kept text and tokens alternate
    spelt = pieces[1::2]
    decoded = {t: _decode(t) for t in set(spelt)}
    if all(d == t for t, d in decoded.items()):
        return Normalized(text_f)
    pieces[1::2] = map(decoded.__getitem__, spelt)
    return Normalized("".join(pieces), text_f)


def _uniform(text: str) -> Normalized | None:
    """``normalize``'s result from a few ``str`` passes in C, when every ``%`` starts the same
    URL escape and every ``&`` the same entity (zero-width characters may be anywhere): text
    dense with one spelling. None otherwise (then token by token).

    The tokens are then exactly those copies and the zero-width runs (no token holds another's
    first character), so they are dropped and replaced in place. Each pass finds only tokens of
    the original: zero-width characters go first (so no decoded one is dropped), and the entity
    before the escape unless it decodes to ``%`` (that would make an escape no token was)."""
    pct, amp = _one_token(text, "%"), _one_token(text, "&")
    if pct is None or amp is None:
        return None
    out = text
    for ch in _ZERO_WIDTH:
        if ch in out:
            out = out.replace(ch, "")
    swaps = [(t, _decode(t)) for t in (amp, pct) if t]
    if len(swaps) == 2 and swaps[0][1] == "%":
        if swaps[1][1] == "&":
            return None  # each would make a token of the other kind: token by token
        swaps.reverse()
    for token, decoded in swaps:
        out = out.replace(token, decoded)
    if out == text:
        return Normalized(text)
    return Normalized(out, text, tuple(t for t in (amp, pct) if t))
