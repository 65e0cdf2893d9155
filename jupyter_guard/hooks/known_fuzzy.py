"""Known numbers respelt in plain Python: one character inserted, deleted or replaced
(``s[:5] + '~' + s[5:]``), their digit groups reordered (``s[7:] + '-' + s[4:6] + '-' + s[:3]``,
``s[4:] + ' ' + s[:4]``), every character shifted by one constant (``chr(ord(c) + 1)``), split
into two quoted pieces of a repr (``('332-2', '0-6469')``), or with a zero-width character or
soft hyphen written as its escape inside a repr (``'332-2\\u200b0-6469'``).

Only values read from sensitive columns that are numbers (9 to 19 digits, at most 4 other
characters: SSNs, phones, cards) are looked for; each form is read as their digits:

- a token (between whitespace, quotes, brackets, commas, ``; = & ?``) with a character no
  honest number holds (a letter, ``~``, ``|``, an escape) *inside* its digits, a digit on each
  side (letters glued to a number's ends, ``SKU100000999X``, are a product code's), whose
  digits are a known number's or one inserted, deleted or replaced digit away (a
  symmetric-delete index: each known number's single deletions, each token's looked up);
- three digit groups side by side (one to three characters between, no line break) whose
  lengths are a known number's groups (3-2-4) in any order;
- a token of a known number's shape with its characters (or digits) shifted by ``|k| <= SHIFT``;
- two adjacent quoted pieces of a repr that, joined, are a known value.

They are fuzzy, so none alone decides: a text counts only when ``MIN_HITS`` distinct known
numbers are found in it *and* more than chance explains (``ALPHA``, the rule of ``known_cut``:
each candidate matches by chance with the probability that random digits would, given how
dense the known numbers are around it: ``Index.chance_at``), so a near miss never fires alone.

>>> k = {"332-20-6469", "332206469", "123-45-6789", "123456789"}
>>> [t[:2] for t in spans("'332-2~0-6469' '123-45-6x789'", k)]
[(1, 13), (16, 28)]
>>> spans("order 332-20-6468 only", k)     # one near miss: honest
[]
>>> [t[:2] for t in spans("6469-20-332 45 6789-123", k)]
[(0, 11), (12, 23)]
>>> [t[:2] for t in spans("[('332-2', '0-6469'), ('123-4', '5-6789')]", k)]
[(3, 18), (24, 39)]
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from jupyter_guard.mask.strategy import SPELT

MIN_HITS = 2
"""Distinct known numbers a text must hold in these forms."""
ALPHA = 1e-5
"""The chance of so many coincidences below which they count (``known_cut.ALPHA``)."""
SHIFT = 16
"""The largest constant shift of characters read back."""
NEAR_MAX = 50_000
"""Known numbers whose single deletions are indexed (past it: their exact digits only)."""
NAME = "fuzzy"
"""This reader's name in ``Values.readers``."""
_FILL = "\x1a"   # an escape's place (positions kept): neither a digit nor a separator
_ESCAPES = re.compile(r"\\(?:u200[bcd]|u2060|ufeff|xad|u00ad|u201[01]|u2212|[ntr])")
_NUM = re.compile(r"[0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]")


class Index:
    """What the fuzzy reading needs of the known numbers, kept up to date batch by batch."""

    def __init__(self) -> None:
        self.state: tuple[int, int] = (0, -1)
        self.clear()

    def clear(self) -> None:
        self.keys: set[str] = set()   # the known numbers' digits
        self.near: dict[str, str] = {}   # a single deletion of one -> its digits
        self.by_len: dict[int, int] = {}   # digits -> how many known numbers have as many
        self.groups: dict[tuple[int, ...], set[str]] = {}   # sorted group lengths -> keys
        self.shapes: dict[str, set[str]] = {}   # ``ddd-dd-dddd`` -> the values of that shape
        self.lengths: set[int] = set()   # of the values as written
        self.values: set[str] = set()   # as written
        self.ints: dict[int, list[int]] = {}   # digits -> the known numbers, sorted

    def of(self, values: Any, spelt: AbstractSet[str]) -> Index:
        readers = getattr(values, "readers", None)
        state = (id(values), getattr(values, "resets", 0))
        if readers is None:   # a plain set (a doctest's): the whole of it, each time
            self.clear()
            self._add(values, spelt)
        elif state != self.state or readers.get(NAME) is None:
            readers[NAME] = []   # (first: a batch added meanwhile is read twice, not lost)
            self.clear()
            self.state = state
            self._add(list(values), spelt)
        elif readers[NAME]:
            batches, readers[NAME] = readers[NAME], []
            self._add([v for batch in batches for v in batch], spelt)
        return self

    def _add(self, batch: Any, spelt: AbstractSet[str]) -> None:
        for v in batch:
            if not isinstance(v, str) or not 9 <= len(v) <= 24 or v in spelt:
                continue
            digits = _NOT_DIGIT.sub("", v)
            if not 9 <= len(digits) <= 19 or len(v) - len(digits) > 4:
                continue
            shape = _NUM.sub("d", v)
            self.shapes.setdefault(shape, set()).add(v)
            self.lengths.add(len(v))
            self.values.add(v)
            parts = re.findall("[0-9]+", v)
            lens = tuple(sorted(map(len, parts)))
            if len(parts) == 3 and len(set(lens)) == 3:
                self.groups.setdefault(lens, set()).add(_by_len(parts))
            if digits in self.keys:
                continue
            self.keys.add(digits)
            self.by_len[len(digits)] = self.by_len.get(len(digits), 0) + 1
            self.ints.setdefault(len(digits), []).append(int(digits))
            if len(self.keys) <= NEAR_MAX:
                for i in range(len(digits)):
                    self.near.setdefault(digits[:i] + digits[i + 1:], digits)
        for known in self.ints.values():
            known.sort()   # (sorted already but for the batch's end: one linear pass)

    def nearest(self, digits: str) -> str | None:
        """The known number ``digits`` are, or are one digit away from."""
        if digits in self.keys:
            return digits
        hit = self.near.get(digits)   # one digit deleted
        if hit is not None:
            return hit
        for i in range(len(digits)):
            cut = digits[:i] + digits[i + 1:]
            if cut in self.keys:   # one inserted
                return cut
            hit = self.near.get(cut)   # one replaced (or two neighbours swapped)
            if hit is not None:
                return hit
        return None

    def chance(self, d: int) -> float:
        """The probability that ``d`` random digits are one digit from some known number."""
        return sum(k * (d + 1) * (n + 1) / 10.0 ** max(d, n)
                   for n, k in self.by_len.items() if abs(n - d) <= 1)

    def chance_at(self, digits: str, key: str | None, exact: bool = False) -> float:
        """The probability that a number where ``digits`` are is one digit from a known one
        other than ``key`` (the one it matched): in each block of numbers sharing all but
        their last ``j`` digits (1..6) with it, the known ones there over the block's size,
        times the ``10 j`` numbers one digit away in it. Clustered known numbers (``100000000
        + i``) make a one-digit neighbour likely: a match there is no evidence.

        >>> ix = Index().of({str(100000000 + i) for i in range(200)}, frozenset())
        >>> ix.chance_at("100000999", "100000199") > 0.5
        True
        >>> ix.chance_at("900000999", None) < 1e-4
        True
        """
        local, d = 0.0, len(digits)
        for n in (d,) if exact else range(d - 1, d + 2):   # (``exact``: the value itself)
            known = self.ints.get(n)
            if not known:
                continue
            ref = key if key is not None and len(key) == n else digits
            for j in range(1, min(7, n)):
                lo = int(ref[:n - j]) * 10 ** j
                c = bisect_left(known, lo + 10 ** j) - bisect_left(known, lo)
                c -= ref is key   # the match itself is no neighbour
                local = max(local, (1 if exact else 10 * j) * c / 10.0 ** j)
        return min(1.0, (self.by_len.get(d, 0) / 10.0 ** d if exact else self.chance(d)) + local)


INDEX = Index()


def _by_len(parts: list[str]) -> str:
    return "-".join(sorted(parts, key=len))


class _Found:
    """Hits (known number -> spans) and the expected number of coincidences."""

    def __init__(self) -> None:
        self.hits: dict[str, list[tuple[int, int]]] = {}
        self.expected = 0.0

    def hit(self, key: str, a: int, b: int) -> None:
        self.hits.setdefault(key, []).append((a, b))

    def spans(self) -> list[tuple[int, int, str]]:
        from jupyter_guard.hooks.known_cut import _chance
        if len(self.hits) < MIN_HITS or _chance(len(self.hits), self.expected) >= ALPHA:
            return []
        return sorted({(a, b, SPELT) for found in self.hits.values() for a, b in found})


def spans(text: str, known: AbstractSet[str],
          spelt: AbstractSet[str] = frozenset()) -> list[tuple[int, int, str]]:
    """Where ``text`` writes known numbers in the forms above (none unless enough of them)."""
    if len(text) < 9 or not known:
        return []
    ix = INDEX.of(known, spelt)
    if not ix.keys:
        return []
    if "\\" in text:   # escapes in a repr: their place kept, read as nothing (or a dash)
        text = _ESCAPES.sub(lambda m: _FILL * len(m.group()), text)
    if not text.isascii():   # invisible characters and Unicode dashes, also as UTF-8 bytes
        text = _MOJIBAKE.sub(_unbake, text).translate(_INVISIBLE)   # read as Latin-1
    if text.isascii():   # one byte a character; the classes in one C ``translate``
        raw = text.encode("ascii")
        code = np.frombuffer(raw, dtype=np.uint8)
        cls = np.frombuffer(raw.translate(_CLS_BYTES), dtype=np.uint8)
    else:
        code = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        cls = np.where(code < 128, _CLS[np.minimum(code, 127)], _ODD).astype(np.uint8)
    found = _Found()
    dense = _dense(cls)
    cuts = np.concatenate([[-1], np.flatnonzero(cls == _CUT), [len(cls)]])   # tokens between
    if dense:
        _tokens(text, cls, cuts, known, ix, found)
    _shifted(text, code, cuts, ix, found)
    if dense and ix.groups:
        _groups(text, code, cls, ix, found)
    if dense and ("'" in text or '"' in text):
        _pieces(text, code, known, ix, found)
    return found.spans()


def _dense(cls: np.ndarray, chunk: int = 1 << 16) -> bool:
    """Eight digits within 32 characters somewhere (else only a shifted value is read)."""
    return any(len(d) >= 8 and (d[7:] - d[:-7] < 32).any() for d in (
        np.flatnonzero(cls[a:a + chunk + 31] == _DIGIT) for a in range(0, len(cls), chunk)))


_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_INVISIBLE = str.maketrans({**dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\xad"),
                                             _FILL), **dict.fromkeys(map(ord, _DASHES), "-")})
_MOJIBAKE = re.compile("\xe2\x80[\x8b-\x8d\x90-\x95]|\xc2\xad|\xef\xbb\xbf|\xe2\x81\xa0"
                       "|\xe2\x88\x92")


def _unbake(m: re.Match[str]) -> str:
    """A zero-width character or a dash whose UTF-8 bytes were read as Latin-1, in place."""
    char = m.group().encode("latin-1").decode("utf-8")
    return ("-" if char in _DASHES else _FILL) + _FILL * (len(m.group()) - 1)


_CUT, _DIGIT, _SEP, _ODD, _ESC = range(5)   # cuts tokens, a digit, cuts an honest number's
# groups, a character no honest number holds (a letter, ``~``, ``|``), an escape's place
_CLS = np.full(256, _ODD, dtype=np.uint8)
_CLS[[ord(c) for c in " \t\n\r\f\v'\",;()[]{}<>=&?"]] = _CUT
_CLS[48:58] = _DIGIT
_CLS[ord(_FILL)] = _ESC
_CLS[[ord(c) for c in "-./:_"]] = _SEP
_CLS_BYTES = _CLS.tobytes()
_WIDTH = 32   # the longest token read


def _tokens(text: str, cls: np.ndarray, cuts: np.ndarray, known: AbstractSet[str], ix: Index,
            found: _Found) -> None:
    """Tokens with an odd character (or an escape's place) inside their digits (``332-2~0-6469``)
    whose digits are a known number's or one digit away; with letters glued to its ends only
    (``SKU100000999X``, ``id9100000005``), only a known value itself (``s + 'x'``). Digits alone
    or cut by separators (a phone, a date, an IP) are honest and never looked up."""
    # first, in a few C passes: an odd character next to a digit or to separators next to
    # one (a superset of the tokens that hold one inside or at an end of their digits)
    num, sep = cls == _DIGIT, cls == _SEP
    reach, ds = num.copy(), num | sep
    reach[1:-1] |= sep[1:-1] & (ds[:-2] | ds[2:])
    odd = cls >= _ODD
    touch = np.zeros(len(cls), dtype=bool)
    touch[1:] |= odd[1:] & reach[:-1]
    touch[:-1] |= odd[:-1] & reach[1:]
    if not touch.any():
        return
    starts, tlen = cuts[:-1] + 1, np.diff(cuts) - 1   # the tokens that hold one, short ones
    has = np.logical_or.reduceat(touch, np.minimum(starts, len(cls) - 1))
    tok = np.flatnonzero(has & (tlen >= min(ix.by_len)) & (tlen <= _WIDTH))   # (a UUID: 36)
    s, e = starts[tok], cuts[tok + 1]
    # each token's classes in a row of a small table: its digits, their first and last place
    pos = np.arange(_WIDTH)
    win = sliding_window_view(np.concatenate([cls, np.zeros(_WIDTH, np.uint8)]), _WIDTH)[s]
    inside = pos < (e - s)[:, None]
    dig = (win == _DIGIT) & inside
    d = dig.sum(axis=1)
    lens = sorted(ix.by_len)
    keep = (d >= lens[0] - 1) & (d <= lens[-1] + 1)
    s, e, d, win, dig = s[keep], e[keep], d[keep], win[keep], dig[keep]
    first = dig.argmax(axis=1)
    last = _WIDTH - dig[:, ::-1].argmax(axis=1)   # past the last digit
    core = (pos >= first[:, None]) & (pos < last[:, None])   # the digit run
    inner = ((win >= _ODD) & core).any(axis=1)   # inside it, not glued at an end
    n_fill = ((win == _ESC) & core).sum(axis=1)
    want = (last - first) - d - n_fill <= 4
    first, last = s + first, s + last
    glued = want & ~inner   # read only as a known value itself, of a known length
    glued &= np.isin(last - first, np.array(sorted(ix.lengths)))
    by_d = np.bincount(d[glued], minlength=21)
    found.expected += sum(k * int(by_d[n]) / 10.0 ** n for n, k in ix.by_len.items() if n <= 20)
    rows = np.flatnonzero(want & inner)
    if glued.any():
        rows = np.union1d(rows, np.flatnonzero(glued)[[text[x:y] in known for x, y in zip(
            first[glued].tolist(), last[glued].tolist())]])
    for a, b, x, y, i in zip(s[rows].tolist(), e[rows].tolist(), first[rows].tolist(),
                             last[rows].tolist(), inner[rows].tolist()):
        number = _NOT_DIGIT.sub("", text[x:y])
        key = ix.nearest(number) if i else number if number in ix.keys else None
        found.expected += ix.chance_at(number, key, exact=not i)
        if key is not None and text[a:b] not in known:   # (a known value: other readers')
            found.hit(key, a, b)


def _shifted(text: str, code: np.ndarray, cuts: np.ndarray, ix: Index, found: _Found) -> None:
    """Tokens of a known shape once every character (or every digit) is shifted back by one
    ``k``: the digits' places span ten characters, ``k`` is what maps the lowest to a digit."""
    starts, tlen = cuts[:-1] + 1, np.diff(cuts) - 1
    for shape, values in ix.shapes.items():
        rows = starts[tlen == len(shape)]
        if not len(rows):
            continue
        dpos = np.array([c == "d" for c in shape])
        m = code[rows[:, None] + np.flatnonzero(dpos)].astype(np.int64)
        hi, lo = m.max(axis=1), m.min(axis=1)
        ok = hi - lo <= 9
        found.expected += len(rows) * 2 * SHIFT * len(values) / 10.0 ** int(dpos.sum())
        for i in np.flatnonzero(ok).tolist():
            a = int(rows[i])
            token = text[a:a + len(shape)]
            for k in range(int(hi[i]) - 57, int(lo[i]) - 47):
                if k == 0 or abs(k) > SHIFT:
                    continue
                value = "".join(chr(ord(c) - k) if x == "d" else x
                                for c, x in zip(token, shape))
                if value in values and all(x == "d" or c in (x, chr(ord(x) + k))
                                           for c, x in zip(token, shape)):
                    found.hit(_NOT_DIGIT.sub("", value), a, a + len(shape))


def _groups(text: str, code: np.ndarray, cls: np.ndarray, ix: Index, found: _Found) -> None:
    """Three digit groups side by side whose lengths are a known number's in any order, none
    glued to a letter (a UUID's or a hex string's digits are no groups)."""
    isd = (cls == _DIGIT).view(np.int8)
    edge = np.concatenate([[0] if isd[0] else [], np.flatnonzero(isd[1:] != isd[:-1]) + 1,
                           [len(cls)] if isd[-1] else []]).astype(np.int64)
    rs, re_ = edge[0::2], edge[1::2]   # where each run of digits starts and ends
    if len(rs) < 3:
        return
    ln = re_ - rs
    # runs of a known group's length, each at most three characters from the next
    fits = np.isin(ln, np.array(sorted({n for sig in ix.groups for n in sig})))
    near = (rs[1:] - re_[:-1] <= 3) & fits[:-1]
    trio = np.flatnonzero(near[:-1] & near[1:] & fits[2:])
    if not len(trio):
        return

    def glued(at: np.ndarray) -> np.ndarray:   # a letter there (``| 32``: lower case)
        x = code[np.clip(at, 0, len(code) - 1)].astype(np.int64) | 32
        return (x >= 97) & (x <= 122) & (at >= 0) & (at < len(code))

    l0, l1, l2 = ln[trio], ln[trio + 1], ln[trio + 2]
    for sig, keys in ix.groups.items():
        a_, b_, c_ = sig
        at = trio[(l0 + l1 + l2 == a_ + b_ + c_) & (l0 * l1 * l2 == a_ * b_ * c_) & (
            l0 * l0 + l1 * l1 + l2 * l2 == a_ * a_ + b_ * b_ + c_ * c_)]
        at = at[~(glued(rs[at] - 1) | glued(re_[at]) | glued(re_[at + 1]) | glued(re_[at + 2])
                  | glued(rs[at + 1] - 1) | glued(rs[at + 2] - 1))]
        if not len(at):
            continue
        found.expected += len(at) * 6 * len(keys) / 10.0 ** sum(sig)
        for i in at.tolist():
            a, b = int(rs[i]), int(re_[i + 2])
            if "\n" in text[a:b] or "\r" in text[a:b]:
                continue
            key = _by_len([text[int(rs[j]):int(re_[j])] for j in (i, i + 1, i + 2)])
            if key in keys and text[a:b] not in ix.values:
                found.hit(key.replace("-", ""), a, b)


def _pieces(text: str, code: np.ndarray, known: AbstractSet[str], ix: Index,
            found: _Found) -> None:
    """Two adjacent quoted pieces of a repr (``'332-2', '0-6469'``) joined."""
    for q in (39, 34):
        quotes = np.flatnonzero(code == q)
        if len(quotes) < 4:
            continue
        # a closing quote, ``, `` and an opening one: pieces on both sides
        j = np.flatnonzero(quotes[1:] - quotes[:-1] == 3)
        j = j[(j >= 1) & (j + 2 < len(quotes))]
        if not len(j):
            continue
        at = quotes[j]
        j = j[(code[at + 1] == 44) & (code[at + 2] == 32)]
        la = quotes[j] - quotes[j - 1] - 1
        lb = quotes[j + 2] - quotes[j + 1] - 1
        fits = np.isin(la + lb, np.array(sorted(ix.lengths))) & (la >= 1) & (lb >= 1)
        for i in j[fits].tolist():
            a0, a1 = int(quotes[i - 1]) + 1, int(quotes[i])
            b0, b1 = int(quotes[i + 1]) + 1, int(quotes[i + 2])
            found.expected += sum(ix.by_len.values()) / 1e9
            joined = text[a0:a1] + text[b0:b1]
            if joined in known and text[a0:a1] not in known:
                found.hit(_NOT_DIGIT.sub("", joined), a0, b1)
