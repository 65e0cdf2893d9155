"""Known numbers written in groups: an SSN, phone or card number read from a sensitive column,
printed again with its digits cut by separators of the user's choosing.

A value read as ``100000058`` (or ``123-45-6789``, whose digits alone are a known form too) is
one token when printed as it was read. Spelt ``100-00-0058``, ``100 00 0058``,
``1 0 0 0 0 0 0 5 8``, ``1,0,0,0,0,0,0,5,8``, as a list of its digits (``list(ssn)`` printed:
``'1', '0', …``) or, with Unicode dashes (folded to ``-`` first), it is a run of digit groups no
token check finds. Here each run of three or more digit groups joined by one same separator of
one to ``GAP_MAX`` separator characters (space, no-break space, tab, line breaks, ``-``,
``.``, ``/``, ``_``, ``,``, ``;``, ``:``, ``|``, quotes: ``print(*ssn, sep='\\n')`` too) is
read for its digits: where
they are a known value of ``SHORTEST`` digits or more, the run is a span to mask or refuse
(a known value inside a longer run, glued to other groups, is not one: that is how honest
longer numbers look). A known number glued to letters
(``'x' + ssn`` in an error, a name made with ``setattr``) is one too; glued to other digits it
is not (that is how honest longer numbers look).

Only known values are matched, so honest grouped numbers (dates, IP addresses, amounts with
thousands separators) are left alone unless their digits are exactly a value read from a
sensitive column.

A run that ends in a group of four digits or more shows the value's own last four under the
``partial`` mask (``████0058``); any other (``1 0 0 0 0 0 0 5 8``, ``','.join(ssn)``, a list
of its digits) is named ``SPELT`` and masked whole.

>>> known = {"100000058", "123456789"}
>>> grouped("ssn 100-00-0058 and 123 45 6789.", known)
[(4, 15, 'known'), (20, 31, 'known')]
>>> grouped("[1, 0, 0, 0, 0, 0, 0, 5, 8] 1,0,0,0,0,0,0,5,8 and [1, 2, 3, 4]", known)
[(1, 26, 'known-spelt'), (28, 45, 'known-spelt')]
>>> grouped("0  1  0  0  0  0  0  0  5  8  7", known)   # a frame's row: index, digits
[(3, 28, 'known-spelt')]
>>> grouped("'1\\\\n0\\\\n0\\\\n0\\\\n0\\\\n0\\\\n0\\\\n5\\\\n8'", known)
[(1, 26, 'known-spelt')]
>>> grouped("on 2024-01-15 at 10.0.0.1", known)
[]
>>> grouped("X100000058: bad, 9100000058 fine", known)
[(1, 10, 'known')]
"""
from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import Any

from jupyter_guard.mask.normalize import normalize
from jupyter_guard.mask.strategy import KEEP, SPELT

SHORTEST = 9
"""The fewest digits a grouped value needs (an SSN has 9; shorter numbers are too common)."""
WIDEST = 19
"""The most digits one value has (a card number)."""
_SEPARATORS = [ord(c) for c in " \u00a0-./_,;:|'\"\t\n\r"]
_DROP = str.maketrans("", "", " \u00a0-./_,;:|'\"\t\n\r")
GAP_MAX = 4
"""The longest separator between two groups (``', '`` in ``str(list(ssn))``)."""
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_LETTER_CODES = sorted(map(ord, _LETTERS))
"""What a run of digits glued to (``'x' + ssn``, a class or attribute name made of one) hides
a known value: no token check finds it there, and it is no chance."""


def grouped(text: str, known: AbstractSet[str],
            sizes: AbstractSet[int] | None = None) -> list[tuple[int, int, str]]:
    """Spans of ``text`` whose digit groups, joined, are a value in ``known`` (``sizes``: the
    lengths of its values made of digits, if known: other chains are not read). The chains of
    groups are found in numpy (``_chains``), their digits joined in C and tested in one set
    operation; spans only on a hit."""
    out: list[tuple[int, int, str]] = []
    if not known:
        return out
    if "\\" in text:   # a repr's escapes (``'1\\n0\\n0…'``): separators, the length kept
        text = text.replace("\\n", "  ").replace("\\t", "  ").replace("\\r", "  ")
    starts, ends, long, singles = _chains(text, sizes)
    if starts:
        runs = list(map(text.__getitem__, map(slice, starts, ends)))
        # their digits: one ``translate`` of them all (a call per run costs 4x as much)
        digits = "\x00".join(runs).translate(_DROP).split("\x00")
        if not known.isdisjoint(digits):
            out = [(a, b, "known" if run[-KEEP:].isdigit() else SPELT)
                   for a, b, run, d in zip(starts, ends, runs, digits)
                   if d in known and _alone(text, a, b)]
    if singles:   # digits one by one, in a longer run (a frame's index before them)
        out += _windows(text, singles, known, sizes)
    if _word_gate(text):   # digits as words (``one two three …``)
        out += worded(text, known, sizes)
    found = set(out)
    out += [j for j in joined(text, known) if j not in found]
    for a, b in long:   # one group of 9-19 digits: glued to a letter (no token check finds it)
        if text[a:b] in known and ((a and text[a - 1] in _LETTERS)
                                   or (b < len(text) and text[b] in _LETTERS)):
            out.append((a, b, "known"))
    if sizes is None or SHORTEST in sizes:   # cut at an end, a decimal, filler (``known_cut``)
        from jupyter_guard.hooks import known_cut  # (numpy: not for a child's first write)

        found = set(out)
        out += [c for c in known_cut.spans(text, known) if c not in found]
    return out


_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_WORDS = rf"(?:{'|'.join(_DIGIT_WORDS)}|oh)"
_WORDED = rf"(?i)\b{_WORDS}(?:[ ,;:/|_-]{{1,3}}{_WORDS}){{{SHORTEST - 1},{WIDEST - 1}}}\b"
try:  # google-re2: one linear pass; Python's engine tries every word of a long text
    import re2 as _engine
except ImportError:  # pragma: no cover - no wheel here: the same pattern in Python's re
    import re as _engine
_WORDED_RE = re.compile(_WORDED)
_WORD_GATE_RE = _engine.compile(_WORDED)
_VALUE_OF = {w: str(i) for i, w in enumerate(_DIGIT_WORDS)} | {"oh": "0"}
_WORD = re.compile(_WORDS, re.IGNORECASE)


def _word_gate(text: str) -> bool:
    """Whether ``text`` holds a run of ``SHORTEST``+ digit words (one RE2 pass)."""
    try:
        return _WORD_GATE_RE.search(text) is not None
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        return _WORDED_RE.search(text) is not None


def worded(text: str, known: AbstractSet[str],
           sizes: AbstractSet[int] | None = None) -> list[tuple[int, int, str]]:
    """Spans of ``text`` where a ``known`` number is written as digit words, ``SPELT``.

    >>> worded("SSN: one zero zero, zero zero, zero zero five eight. one two three", {"100000058"})
    [(5, 51, 'known-spelt')]
    """
    out = []
    for m in _WORDED_RE.finditer(text):
        digits = "".join(_VALUE_OF[w.lower()] for w in _WORD.findall(m.group()))
        if digits in known and (sizes is None or len(digits) in sizes):
            out.append((m.start(), m.end(), SPELT))
    return out


WINDOWS_MAX = 1 << 16
"""The most digits of runs of single digits read window by window in one text."""


def _windows(text: str, singles: list[tuple[int, int, int]], known: AbstractSet[str],
             sizes: AbstractSet[int] | None) -> list[tuple[int, int, str]]:
    """Known numbers inside runs of single digits joined by one separator (``[int(c) for c in
    ssn]`` after other digits, a frame's index before a row of them): each window of a known
    number's length read (``singles``: each run's start, end and separator width)."""
    lengths = sorted(n for n in (sizes or range(SHORTEST, WIDEST + 1))
                     if SHORTEST <= n <= WIDEST)
    out: list[tuple[int, int, str]] = []
    for a, b, width in singles:
        digits = text[a:b:width + 1]
        for n in lengths:
            cuts = list(map(slice, range(len(digits) - n + 1), range(n, len(digits) + 1)))
            if known.isdisjoint(map(digits.__getitem__, cuts)):
                continue
            step = width + 1
            out += [(a + c.start * step, a + (c.stop - 1) * step + 1, SPELT)
                    for c in cuts if digits[c] in known]
    return out


_JOIN_SEP = r"[ .,;:|_/\t-]"
# characters each followed by a separator of 1-2 characters, one of them a letter or the
# punctuation of a number (``-``, brackets, ``+``) with two or more on each side (a space
# spelt out is three separator characters: ``' '.join('Jane Doe')``'s words of four letters
# or fewer make one run): one RE2 pass
# finds such runs (RE2 has no backreference; digits alone are the digit chains' and cost no
# Python step here); each is then read with the one-separator pattern in Python
_JOIN_GATE = (rf"(?:\S{_JOIN_SEP}{{1,3}}){{2,}}[A-Za-z()+-]{_JOIN_SEP}{{1,3}}"
              rf"(?:\S{_JOIN_SEP}{{1,3}}){{1,}}\S"
              r"|'[^'\\]'(?:, '[^'\\]'){2,}, '[A-Za-z()+-]'(?:, '[^'\\]'){2,}")
_JOIN_GATE_RE = _engine.compile(_JOIN_GATE)
_JOIN_GATE_PY = re.compile(_JOIN_GATE)
# (a character may be a space: ``' '.join('Jane Doe')``; the gate's run is read with
# ``JOIN_AROUND`` characters around it, where a space cut the gate's run)
_JOINED = re.compile(rf"(\S)({_JOIN_SEP}{{1,2}})(?:.\2){{6,}}\S|'[^'\\]'(?:, '[^'\\]'){{7,}}")
JOIN_AROUND = 64


def read(text: str, known: AbstractSet[str], sizes: AbstractSet[int] | None) -> bool:
    """Whether ``text`` holds a ``known`` value at the exits: numbers of ``sizes`` digits in
    digit groups, read on the normalised text (``grouped``, which reads spelt values too), or,
    with no number known (``sizes`` None), values spelt one character at a time (``joined``,
    as the print path reads them: ``' '.join(name)``)."""
    if sizes is None:
        return bool(joined(text, known))
    return bool(grouped(normalize(text).text, known, sizes))


def joined(text: str, known: AbstractSet[str]) -> list[tuple[int, int, str]]:
    """Spans of ``text`` where a ``known`` value is spelt one character at a time with one
    separator (``','.join(ssn)`` of ``123-45-6789``, ``' '.join(phone)``) or as a printed list
    of its characters (``list(ssn)``), ``SPELT``: the characters, punctuation included, are the
    value as it was read.

    >>> joined("1,2,3,-,4,5,-,6,7,8,9 and ['4', '1', '5', '-', '5', '5', '5', '-', '0', '1']",
    ...        {"123-45-6789", "415-555-01"})
    [(0, 21, 'known-spelt'), (27, 75, 'known-spelt')]
    >>> joined("(,4,1,5,), ,5,5,5,-,0,1,0,0 J a n e   D o e", {"(415) 555-0100", "Jane Doe"})
    [(0, 27, 'known-spelt'), (28, 43, 'known-spelt')]
    >>> joined("J a n e   D o e", {"Jane Doe"}), joined("h e l l o   w o r l d", {"Jane Doe"})
    ([(0, 15, 'known-spelt')], [])
    >>> joined("name = J a n e   D o e .", {"Jane Doe"})
    [(7, 22, 'known-spelt')]
    """
    out: list[tuple[int, int, str]] = []
    try:
        runs = [m.span() for m in _JOIN_GATE_RE.finditer(text)]
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        runs = [m.span() for m in _JOIN_GATE_PY.finditer(text)]
    windows: list[list[int]] = []   # each run with ``JOIN_AROUND`` around it, overlaps merged
    for a, b in runs:               # (a window cut inside a spelt value would read a part)
        a, b = max(a - JOIN_AROUND, 0), min(b + JOIN_AROUND, len(text))
        if windows and a <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], b)
        else:
            windows.append([a, b])
    for a, b in windows:
        for m in _JOINED.finditer(text, a, b):
            value = m.group()[1::5] if m.group(2) is None else m.group()[::1 + len(m.group(2))]
            if value in known:
                out.append((m.start(), m.end(), SPELT))
                continue
            inner = _inside(value, known)   # ``x = J a n e   D o e``: spelt with its neighbours
            if inner is not None:
                step = 5 if m.group(2) is None else 1 + len(m.group(2))
                last = 3 if m.group(2) is None else 1
                out.append((m.start() + inner[0] * step, m.start() + (inner[1] - 1) * step + last,
                            SPELT))
    return out


INSIDE_MAX = 96
"""The longest run of spelt characters read for a known value inside it."""


def _inside(value: str, known: AbstractSet[str]) -> tuple[int, int] | None:
    """Where in ``value`` (characters spelt one at a time with what stood around the value)
    a ``known`` value of 4+ characters is, cut from the rest where a character that is no
    letter or digit stands (a space, ``=``, ``.``), the longest first; None if none or too long.
    (Cuts, not every offset: a megabyte of spaced-out words is read in linear time.)

    >>> _inside("x=Jane Doe.", {"Jane Doe"}), _inside("hello world", {"Jane Doe"})
    ((2, 10), None)
    """
    if len(value) > INSIDE_MAX:
        return None
    cuts = [i for i, c in enumerate(value) if not c.isalnum()]
    starts, ends = [0, *(i + 1 for i in cuts)], [*cuts, len(value)]
    found = [(e - a, a, e) for a in starts for e in ends if e - a >= 4 and value[a:e] in known]
    if not found:
        return None
    _, a, e = max(found)
    return a, e
    for n in range(len(value) - 1, 3, -1):
        for i in range(len(value) - n + 1):
            if value[i:i + n] in known:
                return i, i + n
    return None


def _alone(text: str, a: int, b: int) -> bool:
    """No letter or digit right before ``a`` or right after ``b``."""
    return not (a and text[a - 1].isalnum()) and not (b < len(text) and text[b].isalnum())


def _chains(text: str, sizes: AbstractSet[int] | None = None
            ) -> tuple[list[int], list[int], list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Starts and ends of the chains of 3+ digit groups joined by one same separator of 1 to
    ``GAP_MAX`` separator characters that hold ``SHORTEST`` to ``WIDEST`` digits, and the
    single groups of that many digits glued to a letter (numpy passes: Python's regex engine
    looks at every place of the text, several times slower). Where the separator changes a
    chain ends and another
    may begin at the same group (``100-00-0058, 42``: the SSN is one chain). Fourth: the
    chains of single digits holding more digits than the shortest of ``sizes`` (start, end,
    separator width), at most ``WINDOWS_MAX`` digits of them, to be read window by window."""
    import numpy as np  # (a dependency; loaded by the exits already)

    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        sep: Any = np.zeros(256, dtype=bool)
        sep[[c for c in _SEPARATORS if c < 128]] = True
    else:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        sep = None
    digit = (codes - codes.dtype.type(48)) < 10
    change = np.flatnonzero(digit[1:] != digit[:-1]) + 1
    if len(digit) and digit[0]:
        change = np.concatenate(([0], change))
    if len(digit) and digit[-1]:
        change = np.concatenate((change, [len(digit)]))
    first, last = change[0::2], change[1::2]   # digit groups [first, last)
    size = last - first
    fits = list(range(SHORTEST, WIDEST + 1)) if sizes is None else \
        [n for n in sizes if SHORTEST <= n <= WIDEST]
    wide = np.flatnonzero(np.isin(size, fits))
    if len(wide):   # only those glued to a letter (one test each here, not a Python step)
        before = codes[np.maximum(first[wide] - 1, 0)]
        after = codes[np.minimum(last[wide], len(codes) - 1)]
        glued = ((first[wide] > 0) & np.isin(before, _LETTER_CODES)) | (
            (last[wide] < len(codes)) & np.isin(after, _LETTER_CODES))
        wide = wide[glued]
    long = list(zip(first[wide].tolist(), last[wide].tolist()))
    if len(first) < 3:
        return [], [], long, []
    gap, width = last[:-1], first[1:] - last[:-1]   # the text between two groups
    head = codes[gap]
    idx = np.flatnonzero((width <= GAP_MAX) & (sep[head] if sep is not None
                                               else np.isin(head, _SEPARATORS)))
    wide_gap = width[idx]
    sig = head[idx].astype(np.int64) + (wide_gap << 40)   # the separator, as one number
    good = np.ones(len(idx), dtype=bool)
    for k in range(1, GAP_MAX):   # its other characters (only gaps that long: few)
        inside = np.flatnonzero(k < wide_gap)
        if not len(inside):
            break
        c = codes[gap[idx[inside]] + k]
        good[inside] &= sep[c] if sep is not None else np.isin(c, _SEPARATORS)
        sig[inside] = sig[inside] * 1_114_112 + c   # (wraps: a collision only joins runs)
    valid = np.zeros(len(width), dtype=bool)
    valid[idx[good]] = True
    sigs = np.full(len(width), -1, dtype=np.int64)
    sigs[idx] = sig
    same = sigs[1:] == sigs[:-1]   # a gap and the next one: one separator
    # runs of valid gaps, each equal to the one before: one chain each (2+ gaps: 3+ groups)
    linked = np.concatenate(([False], valid[1:] & valid[:-1] & same))
    begin = np.flatnonzero(valid & ~linked)
    stop = np.flatnonzero(valid & ~np.concatenate((linked[1:], [False])))   # each run's last
    total = np.concatenate(([0], np.cumsum(size)))
    digits = total[stop + 2] - total[begin]   # the groups begin .. stop + 1
    keep = (stop > begin) & np.isin(digits, fits)
    # (as many digits as groups: each group one digit)
    single = (stop > begin) & (stop + 2 - begin == digits) & (digits > min(fits, default=WIDEST))
    single &= np.cumsum(np.where(single, digits, 0)) <= WINDOWS_MAX
    singles = list(zip(first[begin[single]].tolist(), last[stop[single] + 1].tolist(),
                       width[begin[single]].tolist()))
    return first[begin[keep]].tolist(), last[stop[keep] + 1].tolist(), long, singles
