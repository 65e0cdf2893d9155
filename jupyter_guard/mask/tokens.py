"""The spellings normalisation undoes (entities, URL escapes, zero-width characters, Unicode
dashes and full-width forms), and the numpy passes that find them in long texts: the fold
table, the pieces of a text cut at its tokens and their map arrays, and the decoded text of a
long text whose tokens are read from where their first characters are (``bulk``). Used by
``normalize``.
"""
from __future__ import annotations

import functools
import html
import re
from typing import Any

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
        return piece_arrays(starts[0], sizes[0], kept[0])
    start = np.concatenate(starts)
    order = np.argsort(start, kind="stable")
    return piece_arrays(start[order], np.concatenate(sizes)[order],
                        np.concatenate(kept)[order])


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


BULK_AMP = 16
"""A long text with more than one '&' in this many characters (starting entities of more than
one kind) is cut at its tokens by ``_SPLIT`` rather than matched at each '&' in Python."""


def bulk(text: str) -> tuple[str, tuple[Any, Any, Any]] | None:
    """``normalize``'s decoded text of a long ``text`` and its tokens (starts, sizes, decoded
    lengths), read in numpy from where '%', '&' and zero-width characters are: no piece is
    cut out of the text (``_SPLIT.split`` reads every character: ~90 ms per MB of '%'
    alternating with '%41'). None where its '&'s start entities of several kinds and are
    many (then ``_SPLIT`` cuts it).

    The three kinds of token never overlap (none holds another's first character), and one
    kind's never overlap each other, so the tokens are exactly each kind's matches at each of
    its first characters, as ``_SPLIT`` finds them from left to right."""
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = len(codes)
    amp = _entities(text, codes)
    if amp is None:
        return None
    kinds: list[tuple[Any, Any, Any]] = []  # (starts, sizes, decoded lengths) of each kind
    out, keep = codes, np.ones(n, dtype=bool)
    far = np.flatnonzero(codes >= 0xAD)
    at = far[np.isin(codes[far], _ZERO_WIDTH_CODES)]
    if len(at):  # runs of zero-width characters: dropped
        new = np.concatenate(([True], np.diff(at) != 1))
        first = at[new]
        last = np.append(at[np.flatnonzero(new)[1:] - 1], at[-1]) + 1
        kinds.append((first, last - first, np.zeros(len(first), dtype=np.int64)))
        keep[at] = False
    pct = np.flatnonzero(codes[: max(n - 2, 0)] == 37)  # '%' and two hex digits
    if len(pct):
        high, low = _hex(codes[pct + 1]), _hex(codes[pct + 2])
        ok = (high < 16) & (low < 16)
        pct, value = pct[ok], high[ok] * 16 + low[ok]
        shown = (value >= 0x20) & (value < 0x7F)  # (``_decode``: others stay as they are)
        kinds.append((pct, np.full(len(pct), 3, dtype=np.int64), np.where(shown, 1, 3)))
        if shown.any():
            out = codes.copy()
            out[pct[shown]] = value[shown]
            keep[pct[shown] + 1] = keep[pct[shown] + 2] = False
    if len(amp[0]):
        start, size, kept, char = amp
        kinds.append((start, size, kept))
        one = kept == 1
        if one.any():
            out = codes.copy() if out is codes else out
            out[start[one]] = char[one]
            drop = size[one] - 1
            offsets = np.cumsum(drop) - drop
            keep[np.repeat(start[one] + 1 - offsets, drop) + np.arange(int(drop.sum()))] = False
    if keep.all():  # (no token changes: the text as it is)
        return text, _empty()
    if len(kinds) == 1:
        found = kinds[0]
    else:
        start = np.concatenate([k[0] for k in kinds]).astype(np.int64)
        order = np.argsort(start, kind="stable")
        found = (start[order], np.concatenate([k[1] for k in kinds]).astype(np.int64)[order],
                 np.concatenate([k[2] for k in kinds]).astype(np.int64)[order])
    out = out[keep]
    if text.isascii() and not (out >= 128).any():  # (one byte a character: decoded faster)
        return out.astype(np.uint8).tobytes().decode("ascii"), found
    return out.tobytes().decode("utf-32-le", "surrogatepass"), found


def _hex(codes: Any) -> Any:
    """Each code's hex digit value, 16 or more for a code that is none."""
    import numpy as np

    digit = codes - np.uint32(48)  # (unsigned: codes below '0' wrap to large numbers)
    letter = (codes | np.uint32(32)) - np.uint32(97)  # 'a'-'f', either case
    return np.where(digit < 10, digit, np.where(letter < 6, letter + np.uint32(10), 16))


def _entities(text: str, codes: Any) -> tuple[Any, Any, Any, Any] | None:
    """Each entity's start, size, decoded length (1, or its size where it stays as it is) and
    decoded character: at each '&' where few (one ``match`` each), or at every '&' where all
    start the same one; None where many start several kinds (or some none)."""
    import numpy as np

    amp = np.flatnonzero(codes == 38)
    if len(amp) * BULK_AMP > len(codes):
        token = _one_token(text, "&")
        if token is None:
            return _many_entities(text, codes, amp)
        if not token:
            amp = amp[:0]
        dec = _decode(token) if token else ""
        same = dec == token
        return (amp, np.full(len(amp), len(token), dtype=np.int64),
                np.full(len(amp), len(token) if same else 1, dtype=np.int64),
                np.full(len(amp), 0 if same else ord(dec), dtype=np.uint32))
    found, match = [], _LEAD_TOKEN["&"].match
    for a in amp.tolist():
        m = match(text, a)
        if m is not None:
            token = m.group()
            dec = _decode(token)
            found.append((a, len(token), len(token) if dec == token else 1,
                          0 if dec == token else ord(dec)))
    if not found:
        none = np.zeros(0, dtype=np.int64)
        return none, none, none, np.zeros(0, dtype=np.uint32)
    a_, s_, k_, c_ = zip(*found)
    return (np.array(a_, dtype=np.int64), np.array(s_, dtype=np.int64),
            np.array(k_, dtype=np.int64), np.array(c_, dtype=np.uint32))


SHORT_ENTITY = 9
"""Entities up to this long (``&amp;``, ``&#64;``, ``&#x40;``, ``&nbsp;``) are told apart by
the eight characters after their '&', read as one 64-bit number."""


def _many_entities(text: str, codes: Any, amp: Any) -> tuple[Any, Any, Any, Any] | None:
    """``_entities`` where many '&'s start entities of several kinds (or none), in numpy: the
    characters after each '&' up to its first ';' (an entity holds none) read as one number
    (8 bits each), each distinct one matched by ``_LEAD_TOKEN['&']`` and decoded once, each
    kind found by one comparison (``_SPLIT`` cut 1 MB of '&' and '&amp;' alternating into
    350,000 pieces). None where an entity is longer than ``SHORT_ENTITY``, or there are more
    than ``MANY_KINDS`` kinds of '&' and what follows it."""
    import numpy as np

    n = len(codes)
    semi = np.flatnonzero(codes == 59)
    end = np.append(semi, n)[np.searchsorted(semi, amp)]
    size = end + 1 - amp
    far = amp[(end < n) & (size > SHORT_ENTITY) & (size <= 34)].tolist()
    at = _LEAD_TOKEN["&"].match  # (an entity ends at the first ';': these are long ones)
    if _LONG_ENTITY.search(text) if len(far) > 64 else any(at(text, a) for a in far):
        return None
    match = _LEAD_TOKEN["&"].fullmatch
    short = (end < n) & (size >= 4) & (size <= SHORT_ENTITY)
    amp, size = amp[short], size[short]
    # the eight characters after each '&' (a character past ASCII read as 128: in no class
    # of an entity, as any other), those past its ';' left out
    raw = (text.encode("ascii") if text.isascii()
           else np.minimum(codes, 128).astype(np.uint8).tobytes()) + bytes(8)
    eights = np.ndarray((n + 1,), dtype="<u8", buffer=raw, strides=(1,))
    mask = np.array([(1 << 8 * max(k - 1, 0)) - 1 for k in range(SHORT_ENTITY + 1)],
                    dtype=np.uint64)
    key = eights.take(amp + 1) & mask.take(size)
    which, first = np.full(len(amp), -1, dtype=np.int64), list[int]()
    rest = np.arange(len(amp))
    while len(rest) and len(first) < FEW_KINDS:
        same = key.take(rest) == key[rest[0]]
        which[rest[same]] = len(first)
        first.append(int(rest[0]))
        rest = rest[~same]
    if len(rest):  # many kinds: sorted once
        _, seen, which = np.unique(key, return_index=True, return_inverse=True)
        if len(seen) > MANY_KINDS:
            return None
        first, which = seen.tolist(), which.reshape(-1)
    valid, kept, char = (np.zeros(len(first), dtype=t) for t in (bool, np.int64, np.uint32))
    for k, i in enumerate(first):
        token = text[int(amp[i]):int(amp[i] + size[i])]
        if match(token) is not None:
            dec = _decode(token)
            valid[k] = True
            kept[k], char[k] = (len(token), 0) if dec == token else (1, ord(dec))
    ok = valid.take(which)
    which = which[ok]
    return amp[ok], size[ok], kept.take(which), char.take(which)


_LONG_ENTITY = re.compile(r"&(?:#[0-9]{7}|#[xX][0-9A-Fa-f]{6}|[A-Za-z][A-Za-z0-9]{7,31});")
"""The entities ``_LEAD_TOKEN['&']`` matches that are longer than ``SHORT_ENTITY``."""
FEW_KINDS = 32
"""``_many_entities`` tells apart up to this many kinds of '&' by one comparison each (more are
sorted), and matches at most ``MANY_KINDS`` (else ``_SPLIT`` cuts the text)."""
MANY_KINDS = 4096


def _empty() -> tuple[Any, Any, Any]:
    import numpy as np

    none = np.zeros(0, dtype=np.int64)
    return none, none, none


@functools.lru_cache(maxsize=1)
def _hex_table() -> Any:
    """Each ASCII code's hex digit value (-1 for other characters; 128 stands for any
    character past ASCII)."""
    import numpy as np

    table = np.full(129, -1, dtype=np.int64)
    for k, ch in enumerate("0123456789abcdef"):
        table[ord(ch)] = table[ord(ch.upper())] = k
    return table


def piece_arrays(start: Any, size: Any, kept: Any) -> tuple[Any, Any]:
    """Where each piece (kept text and tokens, alternating) starts in the decoded text and in
    the original, for tokens at ``start`` (ascending) of ``size`` characters decoded to
    ``kept``."""
    import numpy as np

    if not len(start):
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    lost = np.concatenate(([0], np.cumsum(size - kept)))
    orig_at = np.empty(2 * len(start) + 1, dtype=np.int64)
    orig_at[0], orig_at[1::2], orig_at[2::2] = 0, start, start + size
    norm_at = np.empty_like(orig_at)
    norm_at[0], norm_at[1::2], norm_at[2::2] = 0, start - lost[:-1], start + size - lost[1:]
    return norm_at, orig_at
