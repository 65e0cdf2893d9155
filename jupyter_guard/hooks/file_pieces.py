"""Known nine-digit values (SSNs) cut into numeric pieces on their way into a file, whatever
the library: ``pickle.dump([[int(s[:5]), int(s[5:])] for s in ssns], f)``, ``np.save`` of an
int array of pieces, ``dbm`` records written one by one, ``yaml.safe_dump`` and CSV text of
piece columns, ``ndarray.tofile`` of a unicode array (UTF-32) or of character codes.

Judged by effect on the bytes that reach the file (``carries(data, path)``, from the file exit)
and on the rows a pandas or Arrow writer writes (``in_frame(frame)``):

- the bytes are read as a sequence of numbers, in order: runs of digits in the text as written
  (UTF-8 or Latin-1) and, for binary data, in the text its 2-, 4- and 8-byte units spell read
  little- and big-endian (UTF-16/32, arrays of character codes); the integers of a pickle's
  opcodes; the values of an ``.npy`` array in row order; a frame's integer and digit columns
  row by row (a row ends a run);
- every two or three adjacent numbers are joined as the pieces of a nine-digit value would be,
  any split, leading zeros of a piece possibly lost (``[1000, 5]`` is ``100000005``), and every
  nine digits of a longer run are read as one value; each is looked up among the known nine-digit
  values (``exits.known``: only values read from sensitive columns count);
- a write is refused when more values are rebuilt than a uniform chance explains (``ALPHA``,
  the known values taken as random: with 10,000 SSNs known, a 1 MB CSV of number pairs needs
  ~9), and one way of cutting (split and pieces' lengths) rebuilds values in ``RATE`` of its
  candidates, once where the pieces hold every digit, twice where lost zeros were restored
  (clustered known values, such as ``100000000 + n``, are spelt by honest small numbers now and
  then, in no particular way: pieces spell them row after row);
- the last numbers of each file's previous write, and its counts, are kept (``TAIL``, ``PATHS``
  files): pieces written by separate opens (``dbm.dumb``'s records) or across batches are joined
  too.

Cost: numpy over the bytes (~6 passes of the data for binary, one for text), nothing until a
nine-digit value is known; ``LIMIT`` bytes of a write read at most.

>>> from jupyter_guard.hooks import exits
>>> import pickle
>>> saved = set(exits.known)
>>> exits.known.clear(); exits.remember(["100000012", "100000013"])
>>> found(pickle.dumps([[10000, 12], [10000, 13]]))
['100000012', '100000013']
>>> found(b"zip,year\\n10000,2024\\n"), found("1000\\n00012\\n".encode("utf-32"))
([], ['100000012'])
>>> exits.known.clear(); exits.known.update(saved)
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np

from jupyter_guard.hooks import exits, file_numbers, known_ints
from jupyter_guard.hooks.file_numbers import BREAK as _BREAK
from jupyter_guard.hooks.file_numbers import DIGITS, LIMIT
from jupyter_guard.hooks.file_numbers import POW as _POW

SIGNIFICANT = 5
"""The fewest digits pieces must hold together to be joined: ``[1000, 5]`` is joined (a piece's
lost zeros restored), ``[1, 23]`` is not (a value so cut holds 6 zeros: a random SSN seldom
does, and small numbers side by side are everywhere)."""
EXACT = 100_000_000
"""Marks a way of cutting whose pieces hold every digit (no lost zero): one value rebuilt so is
enough; a way that restores lost zeros needs two (``[1000, 5]`` is ordinary text too)."""
RATE = 0.25
WAYS = 64
"""Ways of cutting counted per file at most."""
"""The share of a way of cutting's candidates that must rebuild known values."""
ALPHA = 1e-5
"""The chance that a write's numbers rebuild that many known values by coincidence below which
the write is refused (the known values taken as random nine-digit numbers)."""
SAMPLE = 1_000
"""Values of a frame's text column looked at first: one holds digits only, or it is skipped."""
TAIL, PATHS = 4, 256
"""Numbers kept of each file's last write, and files remembered."""
REASON = "values read from a sensitive column, cut into numeric pieces"
_files: OrderedDict[str, Any] = OrderedDict()   # path -> ``_File``


def _known() -> np.ndarray | None:
    """The known values of ``DIGITS`` digits as sorted integers (None when there are none):
    merged batch by batch as the set grows (``known_ints``), not sorted again at each write."""
    return known_ints.known(exits.known, exits.spelt)   # (spelt: a number backwards, not read)


def carries(data: Any, path: str = "") -> str:
    """Why a write of ``data`` to ``path`` holds known values cut into numeric pieces ('')."""
    if _known() is None:
        return ""
    return REASON if found(data, path) else ""


def found(data: Any, path: str = "") -> list[str]:
    """The known values that numbers written in ``data`` spell as pieces (``path``: numbers of
    that file's last write are joined with these)."""
    known = _known()
    if known is None:
        return []
    if isinstance(data, str):
        data = data[:LIMIT].encode("utf-8", "replace")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data[:LIMIT])
    else:
        return []
    st = _files.pop(path, None) if path else None
    seqs, first = file_numbers.sequences(data, st is not None and st.pickled)
    if st is not None:   # the numbers this file's last write ended with
        seqs[first] = (np.concatenate([st.vals, seqs[first][0]]),
                       np.concatenate([st.lens, seqs[first][1]]))
    else:
        st = _File()
    if path:
        st.vals, st.lens = seqs[first][0][-TAIL:].copy(), seqs[first][1][-TAIL:].copy()
        st.pickled = first == 1
        _files[path] = st
        while len(_files) > PATHS:
            _files.popitem(last=False)
    return _judged(seqs, known, st)


def in_frame(frame: Any, rows: int = 2_000_000) -> list[str]:
    """The known values that adjacent integer or digit columns of a frame (its index first,
    unless the default one) spell, row by row (``rows`` read at most)."""
    import pandas as pd

    known = _known()
    if known is None or not len(frame.columns):
        return []
    part = frame.iloc[:rows]
    if not isinstance(part.index, pd.RangeIndex):   # an index is written before the columns
        part = part.reset_index(allow_duplicates=True)
    cols = [part.iloc[:, i] for i in range(part.shape[1])]
    able = [_pieceable(c) for c in cols]
    seqs = []
    i = 0
    while i < len(cols):   # each run of 2+ adjacent columns that may hold pieces
        j = i
        while j < len(cols) and able[j]:
            j += 1
        if j - i >= 2:
            vals, lens = zip(*(file_numbers.column(c) for c in cols[i:j]))
            brk = np.full(len(part), _BREAK, dtype=np.int64)   # a row ends a run
            seqs.append((np.stack([*vals, brk], axis=1).ravel(),
                         np.stack([*lens, np.zeros_like(brk)], axis=1).ravel()))
        i = j + 1
    return _judged(seqs, known) if seqs else []


def _pieceable(col: Any) -> bool:
    """Whether a column may hold pieces: integers, or text whose sampled values (``SAMPLE``)
    include one of digits only."""
    import pandas as pd

    kind = getattr(col.dtype, "kind", "O")
    if kind in "iu":
        return True
    if kind in "OSU" or isinstance(col.dtype, pd.StringDtype):
        sample = col.iloc[::max(1, len(col) // SAMPLE)].astype(str)
        return bool(sample.str.fullmatch(r"\d{1,8}").fillna(False).any())
    return False


# -- joining ---------------------------------------------------------------------------------
def _judged(seqs: list[tuple[np.ndarray, np.ndarray]], known: np.ndarray,
            state: _File | None = None) -> list[str]:
    """The known values rebuilt, if more than chance explains (else []): more than a uniform
    chance (``ALPHA``) and, in one way of cutting (split and pieces' lengths), at least ``RATE``
    of the candidates, and two values where lost zeros were restored (honest numbers spell
    clustered known values now and then, in no particular way; pieces spell them row after
    row). ``state``: a file's counts so far."""
    st = state if state is not None else _File()
    for vals, lens in seqs:
        _rebuilt(vals, lens, known, st)
    if not st.hits or _chance(len(st.hits), st.tried * len(known) / 10 ** DIGITS) >= ALPHA:
        return []
    if not any(h >= (1 if key >= EXACT else 2) and h >= RATE * c
               for key, (c, h) in st.ways.items()):
        return []
    return sorted(f"{v:0{DIGITS}d}" for v in st.hits)


class _File:
    """What a file's writes rebuilt so far: distinct values, candidates, and per way of cutting
    (candidates, hits); its last numbers and whether it is a pickle."""

    __slots__ = ("hits", "lens", "pickled", "tried", "vals", "ways")

    def __init__(self) -> None:
        self.hits: set[int] = set()
        self.tried = 0
        self.ways: dict[int, list[int]] = {}
        self.vals = self.lens = np.empty(0, np.int64)
        self.pickled = False


def _chance(hits: int, expected: float) -> float:
    """The probability that ``hits`` or more values are rebuilt by chance (Poisson, with
    ``expected`` coincidences: candidates times the share of nine-digit numbers known)."""
    term = total = math.exp(-expected)
    for i in range(1, hits):
        term *= expected / i
        total += term
    return max(0.0, 1.0 - total) if expected > 1e-3 else expected ** hits / math.factorial(hits)


def _rebuilt(vals: np.ndarray, lens: np.ndarray, known: np.ndarray, st: _File) -> None:
    """Count into ``st`` the known values that 2 or 3 adjacent numbers spell (any split of
    ``DIGITS`` digits, a piece's leading zeros possibly lost), or that nine digits of a run are,
    the candidates looked up, and both per way of cutting."""
    whole = np.flatnonzero((lens == DIGITS) & (vals >= 0))
    cands, ways = [vals[whole]], [whole % DIGITS + EXACT + 10_000_000]   # (a run's phase)
    if len(vals) >= 2:
        a, b = vals[:-1], vals[1:]
        la, lb = lens[:-1], lens[1:]
        ok = (a >= 0) & (b >= 0) & (la + lb <= DIGITS) & (la + lb >= SIGNIFICANT)
        a, b, la, lb = a[ok], b[ok], la[ok], lb[ok]
        for k in range(1, DIGITS):
            m = (lb <= k) & (la + k <= DIGITS)
            if m.any():
                cands.append(a[m] * _POW[k] + b[m])
                ways.append(2_000_000 + k * 10_000 + la[m] * 100 + lb[m] * 10
                            + EXACT * ((lb[m] == k) & (la[m] + k == DIGITS)))
    if len(vals) >= 3:
        a, b, c = vals[:-2], vals[1:-1], vals[2:]
        la, lb, lc = lens[:-2], lens[1:-1], lens[2:]
        ok = (a >= 0) & (b >= 0) & (c >= 0) & (la + lb + lc <= DIGITS) \
            & (la + lb + lc >= SIGNIFICANT)
        a, b, c, la, lb, lc = a[ok], b[ok], c[ok], la[ok], lb[ok], lc[ok]
        for k1 in range(1, DIGITS - 1):
            for k2 in range(1, DIGITS - k1):
                m = (lb <= k1) & (lc <= k2) & (la + k1 + k2 <= DIGITS)
                if m.any():
                    cands.append(a[m] * _POW[k1 + k2] + b[m] * _POW[k2] + c[m])
                    ways.append(3_000_000 + k1 * 100_000 + k2 * 10_000 + la[m] * 100
                                + lb[m] * 10 + lc[m] + EXACT * (
                                    (lb[m] == k1) & (lc[m] == k2) & (la[m] + k1 + k2 == DIGITS)))
    every = np.concatenate(cands)
    if not len(every):
        return
    way = np.concatenate(ways)
    at = np.searchsorted(known, every)
    at[at == len(known)] = 0
    hit = known[at] == every
    st.tried += len(every)
    if hit.any():
        st.hits.update(every[hit].tolist())
    elif not st.ways:
        return   # (no way of cutting has rebuilt anything in this file: none to count)
    hit_ways = way[hit]
    for key in set(hit_ways.tolist()) | set(st.ways):   # (a few: those that rebuilt a value)
        c_h = st.ways.setdefault(key, [0, 0])
        c_h[0] += int(np.count_nonzero(way == key))
        c_h[1] += int(np.count_nonzero(hit_ways == key))
    if len(st.ways) > WAYS:   # (a bound: the ways that rebuilt the most kept)
        for key in sorted(st.ways, key=lambda k: st.ways[k][1])[:len(st.ways) - WAYS]:
            del st.ways[key]
