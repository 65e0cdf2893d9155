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
import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

try:  # long texts are searched for tokens by RE2 first (see ``scan``)
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

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
_LEAD_TOKEN = {"&": re.compile(_CHANGING.pattern.split("|%")[0]),
               "%": re.compile(r"%[0-9A-Fa-f]{2}")}
"""The tokens ``&`` and ``%`` start (``_CHANGING``'s first two alternatives)."""
_SPLIT = re.compile(f"({_CHANGING.pattern})")
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

    @functools.cached_property
    def _map(self) -> tuple[list[int], list[int]]:
        if self._leads is not None:
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


FEW_LEADS = 16
"""A text with fewer than one character in this many that could start a token is cut at its
tokens one token at a time (``_SPLIT.split`` reads every character: ~25 ms per MB; one step
per token costs about as much at one token in 16 characters, and 10 ms per MB at one a row)."""


def _pieces(text: str) -> list[str]:
    """``_SPLIT.split(text)``: kept text and tokens, alternating."""
    if len(text) < FOLD_BULK:
        return _SPLIT.split(text)
    import numpy as np  # (a dependency; loaded for long texts only)

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lead = (codes == 38) | (codes == 37)  # '&', '%'
    far = np.flatnonzero(codes >= 0xAD)
    lead[far[np.isin(codes[far], _ZERO_WIDTH_CODES)]] = True
    leads = np.flatnonzero(lead)
    if len(leads) * FEW_LEADS > len(text):
        return _SPLIT.split(text)
    out, end, match = [], 0, _CHANGING.match
    for at in leads.tolist():  # a token starts only at a lead character
        m = None if at < end else match(text, at)
        if m is not None:
            out += [text[end:at], m.group()]
            end = m.end()
    out.append(text[end:])
    return out


_ZERO_WIDTH_CODES = [ord(c) for c in _ZERO_WIDTH]


def _dropped_map(source: str) -> tuple[list[int], list[int]]:
    """``Normalized._map`` of a long ``source`` whose only tokens are runs of zero-width
    characters (no ``&`` nor ``%``: each token decodes to nothing)."""
    norm_at, orig_at = _token_arrays(source, ())
    return norm_at.tolist(), orig_at.tolist()


def _token_arrays(source: str, leads: tuple[str, ...]) -> tuple[Any, Any]:
    """``Normalized.arrays`` of ``source`` whose tokens are its runs of zero-width characters
    and a copy of each of ``leads`` at every place its first character is (``_uniform``
    checked that each such character starts one), from those places in numpy: no piece is
    cut out of the text (one step per token cost ~40 ms per MB of rows with a zero-width
    character or an entity in each)."""
    import numpy as np

    codes = np.frombuffer(source.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    far = np.flatnonzero(codes >= 0xAD)
    at = far[np.isin(codes[far], _ZERO_WIDTH_CODES)]
    starts, sizes, kept = [], [], []
    if len(at):
        new = np.concatenate(([True], np.diff(at) != 1))   # each run's first character
        first = at[new]
        last = np.append(at[np.flatnonzero(new)[1:] - 1], at[-1]) + 1
        starts.append(first)
        sizes.append(last - first)
        kept.append(np.zeros(len(first), dtype=np.int64))   # (a run decodes to nothing)
    for token in leads:
        where = np.flatnonzero(codes == ord(token[0]))
        starts.append(where)
        sizes.append(np.full(len(where), len(token), dtype=np.int64))
        kept.append(np.full(len(where), len(_decode(token)), dtype=np.int64))
    if not starts or not sum(map(len, starts)):
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    if len(starts) == 1:  # (one kind of token: in order already)
        start, size, lost = starts[0], sizes[0], sizes[0] - kept[0]
    else:
        start = np.concatenate(starts)
        order = np.argsort(start, kind="stable")
        start, size = start[order], np.concatenate(sizes)[order]
        lost = size - np.concatenate(kept)[order]
    lost = np.concatenate(([0], np.cumsum(lost)))
    orig_at = np.empty(2 * len(start) + 1, dtype=np.int64)
    orig_at[0], orig_at[1::2], orig_at[2::2] = 0, start, start + size
    norm_at = np.empty_like(orig_at)
    norm_at[0], norm_at[1::2], norm_at[2::2] = 0, start - lost[:-1], start + size - lost[1:]
    return norm_at, orig_at


def _found(text: str) -> bool:
    """Whether ``text`` may hold a token to decode (RE2 reads long texts many times faster)."""
    if _re2 is not None and len(text) >= 2048:
        try:
            return _changing_re2().search(text) is not None
        except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only; ``re`` reads any str
            pass
    return _CHANGING.search(text) is not None


FOLD_BULK = 1 << 14
"""Texts at least this long are folded through a table in numpy (``str.translate`` with a
dict looks every character up: ~60 ms per MB)."""


def fold(text: str) -> str:
    """``text.translate(_FOLD)``: dashes and full-width forms to ASCII, one for one. A long
    text goes as UTF-16 code units through a table of all 65,536; one holding surrogates (a
    character past U+FFFF, or a lone surrogate that decoding could pair) goes by ``translate``."""
    if len(text) < FOLD_BULK:
        return text.translate(_FOLD)
    import numpy as np  # (a dependency; loaded for long texts only)

    codes = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    if ((codes >= 0xD800) & (codes <= 0xDFFF)).any():
        return text.translate(_FOLD)
    return str(_fold_table().take(codes).tobytes().decode("utf-16-le"))


@functools.lru_cache(maxsize=1)
def _fold_table() -> Any:
    import numpy as np

    table = np.arange(1 << 16, dtype=np.uint16)
    for code, ch in _FOLD.items():
        table[code] = ord(ch)
    return table


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
    pieces = _SPLIT.split(text_f)  # kept text and tokens alternate
    tokens = pieces[1::2]
    decoded = {t: _decode(t) for t in set(tokens)}
    if all(d == t for t, d in decoded.items()):
        return Normalized(text_f)
    pieces[1::2] = map(decoded.__getitem__, tokens)
    return Normalized("".join(pieces), text_f)


def _one_token(text: str, lead: str) -> str | None:
    """The token every ``lead`` character of ``text`` starts ('' when there is none), or None
    when they start different tokens (or some start none)."""
    at = text.find(lead)
    if at < 0:
        return ""
    m = _CHANGING.match(text, at)
    if m is None:  # the first starts none: '' if none does ('&' and '%' as plain text)
        return "" if _LEAD_TOKEN[lead].search(text) is None else None
    token = m.group()
    # a token holds one lead character, so as many copies as leads means each lead starts one
    return token if text.count(token) == text.count(lead) else None


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
