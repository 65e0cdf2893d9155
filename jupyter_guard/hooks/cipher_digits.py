"""Known numbers with each digit replaced by a letter (``s.translate(str.maketrans('0123456789',
'abcdefghij'))``, or any one-to-one map of the ten digits onto letters), found on their way out.

A substitution of digits keeps a number's shape: its length and which of its digits are equal
(``100000005`` and ``baaaaaaaf`` both read ``x y y y y y y y z``). One word of that shape proves
nothing (``something`` has the shape of every known SSN with nine different digits), so a leak
is a *key*: one map from letters to digits under which at least ``MIN_TOKENS`` distinct words of
the text read as distinct known numbers. The map is started from one word and one known number
of its shape, and each further word must be read almost wholly by the map built so far (at most
one letter new to it, whose digit is then tried). Measured: no hit in 51 MB of Python sources
and documentation with 20,000 known SSNs (sequential and random).

Looked at only once a number is known (``exits.numbers``), and only in texts holding three
words of a known number's length with no letter between them (one RE2 pass, ~2.5 ms a MB:
a list, a column, a joined string; a CSV with a column of words between them is not read);
the shapes of the known numbers are indexed once per change of the known values (~3 µs a
value). Bulk leaks are what this finds: one number alone
spelt in letters, or two, are not told from words.

A stream masked line by line reads each printed line alone, so one number spelt per ``print``
is one word per piece, never a key. ``Lines`` (after the stream's masking, in
``digit_lines.Tail``) holds a run of lines that are each one word of a known number's shape (at
most ``HOLD_LINES``), reads the run joined, and masks the words a key reads; the last words a
key read are kept, so each later line is read with them (``for s in ssns:
print(s.translate(key))``: all masked, the first two held until the third comes). A run no key
reads goes out as it came, at the next line of another shape or the cell's end. The key is the
same as in one text (three distinct known numbers): holding changes when lines show, not
which are masked. Only the runs at a piece's two ends are read so (``HOLD_LINES`` each, a few
µs): lines between them are the piece's own, read by its masking (~2 ms a MB for the gate).

>>> known = {"100000005", "100000006", "100000007", "123456789"}
>>> [(a, b) for a, b, _ in spans("x baaaaaaaf baaaaaaag, baaaaaaah end", known, {9})]
[(2, 11), (12, 21), (23, 32)]
>>> spans("something different: wonderful, beautiful, excellent", known, {9})
[]
"""
from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from itertools import islice
from typing import Any

from jupyter_guard.mask.strategy import BLOCK, SPELT

MIN_TOKENS = 3
"""Distinct words read as distinct known numbers under one key before it is a leak."""
STARTS = 16
"""Words a key is started from (the most telling shapes first), each with ``MATCHES`` numbers."""
MATCHES = 64
GAP = 12
"""Characters other than letters between the words of a run the gate looks for."""
CANDIDATES = 512
"""Distinct words of a known number's length read at most per text."""
try:  # google-re2: one linear pass
    import re2 as _engine
except ImportError:  # pragma: no cover - no wheel here: Python's engine
    _engine = re
_PATTERNS: dict[frozenset[int], tuple[Any, Any, Any]] = {}
_INDEX: dict[str, Any] = {"key": None, "shapes": {}}


def _pattern(lengths: frozenset[int]) -> tuple[Any, Any, Any]:
    """A word of ``lengths`` letters (RE2's, Python's) and the runs read: three or more such
    words with at most ``GAP`` characters other than letters between them (a list, a column, a
    joined string), one RE2 pass (~2.5 ms a MB)."""
    if lengths not in _PATTERNS:
        alts = [f"[A-Za-z]{{{n}}}" for n in sorted(lengths)]
        if 9 in lengths:
            alts.append("[A-Za-z]{3}-[A-Za-z]{2}-[A-Za-z]{4}")   # an SSN's own dashes
        form = r"\b(?:" + "|".join(alts) + r")\b"
        gap = rf"[^A-Za-z]{{1,{GAP}}}"
        _PATTERNS[lengths] = (_engine.compile(form), re.compile(form),
                              _engine.compile(form + rf"(?:{gap}{form}){{2,}}"))
    return _PATTERNS[lengths]


def shape(word: str) -> tuple[int, ...]:
    """Which characters of ``word`` are equal: each as the rank of its first appearance."""
    first: dict[str, int] = {}
    return tuple(first.setdefault(c, len(first)) for c in word)


def _shapes(known: AbstractSet[str], lengths: frozenset[int]) -> dict[tuple[int, ...], list[str]]:
    """The known numbers of ``lengths`` digits by shape (rebuilt when ``known`` changed)."""
    key = (id(known), getattr(known, "resets", 0), len(known), lengths)
    if _INDEX["key"] != key:
        shapes: dict[tuple[int, ...], list[str]] = {}
        for v in known:
            if len(v) in lengths and v.isdigit():
                shapes.setdefault(shape(v), []).append(v)
        _INDEX.update(key=key, shapes=shapes)
    return _INDEX["shapes"]  # type: ignore[no-any-return,unused-ignore]


def spans(text: str, known: AbstractSet[str], lengths: AbstractSet[int]
          ) -> list[tuple[int, int, str]]:
    """Where ``text`` holds known numbers of ``lengths`` digits spelt in letters under one key
    (see the module's note); [] when fewer than ``MIN_TOKENS`` such words read as known."""
    wanted = frozenset(n for n in lengths if 7 <= n <= 19)
    if not wanted:
        return []
    return woven(text, known, wanted) + _keyed(text, known, wanted)


_LONG = _engine.compile(r"\d{14,38}")
_LONG_PY = re.compile(r"(?<!\d)\d{14,38}(?!\d)")


def woven(text: str, known: AbstractSet[str], lengths: AbstractSet[int]
          ) -> list[tuple[int, int, str]]:
    """Where two known numbers of ``lengths`` digits are interleaved digit by digit
    (``''.join(a + b for a, b in zip(x, y))``): a run of twice as many digits whose even or
    odd digits are a known number (one RE2 pass finds whether a run of 14+ digits is there).

    >>> woven("id 110000000000001178 x", {"100000017", "100000018"}, {9})
    [(3, 21, 'known-spelt')]
    """
    try:
        if _LONG.search(text) is None:
            return []
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        pass
    out = []
    for m in _LONG_PY.finditer(text):
        w = m.group()
        if len(w) // 2 in lengths and (w[0::2] in known or w[1::2] in known):
            out.append((m.start(), m.end(), SPELT))
    return out


def _keyed(text: str, known: AbstractSet[str], wanted: frozenset[int]
           ) -> list[tuple[int, int, str]]:
    """``spans``' words read under one key."""
    pat = _pattern(wanted)
    try:   # only the runs of three words are read (prose holds few)
        runs = [m.group() for m in islice(pat[2].finditer(text), CANDIDATES)]
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        runs = [text]
    found = [w for run in runs for w in pat[1].findall(run)]
    words = list(dict.fromkeys(w.replace("-", "") for w in found))
    if len(words) < MIN_TOKENS:
        return []
    shapes = _shapes(known, wanted)
    cands = [(w, shapes[s]) for w in words[:CANDIDATES] if (s := shape(w)) in shapes]
    if len(cands) < MIN_TOKENS:
        return []
    cands.sort(key=lambda c: len(c[1]))
    every, hits = {w for w, _ in cands}, set[str]()   # the words of every key that reads 3+
    for start, numbers in cands[:STARTS]:
        if start in hits or not _letters_chain(start, cands):
            continue
        for number in numbers[:MATCHES]:
            read = _chain(start, number, cands, known)
            if len(read) >= MIN_TOKENS:
                hits |= read
                if hits == every:
                    break
    return _where(text, pat, hits) if hits else []


def _letters_chain(start: str, cands: list[tuple[str, list[str]]]) -> bool:
    """Whether ``MIN_TOKENS`` words share one alphabet of ten letters at most, each new to it
    by one letter at most (a key's necessary condition; C set operations, no number tried)."""
    alphabet, count = set(start), 1
    for word, _numbers in cands:
        new = set(word).difference(alphabet)
        if len(new) <= 1 and len(alphabet) + len(new) <= 10 and word != start:
            alphabet |= new
            count += 1
            if count >= MIN_TOKENS:
                return True
    return False


def _chain(start: str, number: str, cands: list[tuple[str, list[str]]],
           known: AbstractSet[str]) -> set[str]:
    """The words read as distinct known numbers by the key that reads ``start`` as ``number``
    and grows by one letter at most per word (two passes: a word may need a later one's)."""
    key = dict(zip(start, number))
    if len(set(key.values())) != len(key):
        return set()
    read, values = {start}, {number}
    for _ in range(3):
        for word, _numbers in cands:
            if word in read:
                continue
            new = {c for c in word if c not in key}
            if len(new) > 1:
                continue
            used = set(key.values())
            for d in ("0123456789" if new else "-"):
                if new and d in used:
                    continue
                trial = {**key, **dict.fromkeys(new, d)}
                got = "".join(trial[c] for c in word)
                if got in known and got not in values:
                    key, read = trial, read | {word}
                    values.add(got)
                    break
    return read


def _where(text: str, pat: tuple[Any, Any, Any], read: set[str]) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), SPELT) for m in pat[1].finditer(text)
            if m.group().replace("-", "") in read]


HOLD_LINES = 64
"""Lines of one word held back at most (then the oldest go out, read first)."""
KEEP_READ = 16
"""Words a key read kept to read later lines with."""
_LINE = re.compile(r"[ \t]*([A-Za-z]{7,19}|[A-Za-z]{3}-[A-Za-z]{2}-[A-Za-z]{4})[ \t]*\r?\n")
"""A line that is one word of a known number's length (or an SSN's dashed form)."""
_GATE = _engine.compile(r"(?:^|\n)[ \t]*(?:[A-Za-z]{7,19}|[A-Za-z]{3}-[A-Za-z]{2}-[A-Za-z]{4})"
                        r"[ \t]*\r?\n")


def _may_hold(piece: str) -> bool:
    """Whether ``piece`` holds a line of one such word (one RE2 pass)."""
    if "\n" not in piece:
        return False
    try:
        return _GATE.search(piece) is not None
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        return re.search(_GATE.pattern, piece) is not None


def _edge(text: str, shapes: dict[tuple[int, ...], list[str]], wanted: frozenset[int], *,
          backwards: bool) -> list[tuple[str, str]]:
    """The run of whole lines of one such word (and the word) at the start or at the end of
    ``text``, ``HOLD_LINES`` at most (the lines between are read by the piece's own masking)."""
    out: list[tuple[str, str]] = []
    at = len(text) if backwards else 0
    while len(out) < HOLD_LINES:
        if backwards:
            if at == 0 or text[at - 1] != "\n":
                break
            a, b = text.rfind("\n", 0, at - 1) + 1, at
        else:
            nl = text.find("\n", at)
            if nl < 0:
                break
            a, b = at, nl + 1
        m = _LINE.fullmatch(text, a, b)
        word = m.group(1).replace("-", "") if m else ""
        if m is None or len(word) not in wanted or shape(word) not in shapes:
            break
        out.append((text[a:b], word))
        at = a if backwards else b
    return out[::-1] if backwards else out


class Lines:
    """One stream's held lines of one word each (see the module's note)."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.read: list[str] = []

    def take(self, piece: str, known: AbstractSet[str], lengths: AbstractSet[int], *,
             end: bool = False) -> str:
        """What to emit of ``piece`` (masked already); ``end``: the cell is over."""
        wanted = frozenset(n for n in lengths if 7 <= n <= 19)
        if not self.held and (not wanted or not _may_hold(piece)):
            return piece
        held = bool(self.held)
        text = "".join(self.held) + piece if held else piece
        self.held = []
        if not wanted:
            return text
        shapes = _shapes(known, wanted)
        lines = _edge(text, shapes, wanted, backwards=False) if self.read or held else []
        trail = _edge(text, shapes, wanted, backwards=True)
        start = len(text) - sum(len(ln) for ln, _ in trail)
        head = 0
        for i, (ln, _w) in enumerate(lines):   # the lines at the start that end before it
            if head + len(ln) > start:
                lines = lines[:i]
                break
            head += len(ln)
        out = self._settle(lines, known, wanted, final=True) if lines else ""
        out += text[head:start]   # read by the piece's own masking (a run of 3+ words)
        return out + (self._settle(trail, known, wanted, final=end) if trail else "")

    def _settle(self, run: list[tuple[str, str]], known: AbstractSet[str],
                wanted: frozenset[int], *, final: bool) -> str:
        """The lines of ``run`` to emit now, masked where a key reads them; the rest held."""
        words = [w for _, w in run]
        context = [w for w in self.read if w not in words]
        joined = "\n".join(context + words)
        hits = {joined[a:b].replace("-", "") for a, b, _ in spans(joined, known, wanted)}
        hits.difference_update(context)
        if hits:
            self.read = (self.read + [w for w in words if w in hits])[-KEEP_READ:]
        last = max((i for i, w in enumerate(words) if w in hits), default=-1)
        cut = len(run) if final else max(last + 1, len(run) - HOLD_LINES)
        self.held = [ln for ln, _ in run[cut:]]
        return "".join(BLOCK + "\n" if w in hits else ln for ln, w in run[:cut])
