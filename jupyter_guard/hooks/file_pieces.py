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
- a write is refused when more values are rebuilt than chance explains: when ``candidates *
  known / 10**9`` coincidences are expected, the chance of as many hits must be below
  ``ALPHA`` (a 1 MB CSV of two numbers a row joins ~10^5 candidates: with 10,000 SSNs known,
  about one coincidence is expected in it, and 8 values rebuilt are needed to refuse it; a
  write of 25 rows with 60 known needs one);
- the last numbers of each file's previous write are kept (``TAIL``, ``PATHS`` files): pieces
  written by separate opens (``dbm.dumb``'s records) or across batches are joined too.

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

import ast
import math
import re
from collections import OrderedDict
from typing import Any

import numpy as np

from jupyter_guard.hooks import exits

DIGITS = 9
"""The length of the known values rebuilt from pieces (SSNs)."""
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
LIMIT = 16 << 20
"""Bytes of one write read at most (a cost bound; the rest is not joined)."""
SAMPLE = 1_000
"""Values of a frame's text column looked at first: one holds digits only, or it is skipped."""
TAIL, PATHS = 4, 256
"""Numbers kept of each file's last write, and files remembered."""
REASON = "values read from a sensitive column, cut into numeric pieces"
_BREAK = -1
_SSN = re.compile(r"[0-9]{9}|[0-9]{3}-[0-9]{2}-[0-9]{4}")
_files: OrderedDict[str, Any] = OrderedDict()   # path -> ``_File``
_KNOWN: list[Any] = [-1, -1, None]   # (``known.resets``, its size, sorted int64 array)
_POW = np.array([10 ** k for k in range(19)], dtype=np.int64)


def _known() -> np.ndarray | None:
    """The known values of ``DIGITS`` digits as sorted integers (None when there are none)."""
    known = exits.known
    resets, size = getattr(known, "resets", 0), len(known)
    if _KNOWN[:2] != [resets, size]:
        spelt = exits.spelt   # (forms of values, such as a number backwards: not read)
        ints = sorted({int(v.replace("-", "")) for v in known if _SSN.fullmatch(v)
                       and v not in spelt})
        _KNOWN[:] = [resets, size, np.array(ints, dtype=np.int64) if ints else None]
    return _KNOWN[2]


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
    seqs, first = _sequences(data, st is not None and st.pickled)
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
            vals, lens = zip(*(_column(c) for c in cols[i:j]))
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


def _column(col: Any) -> tuple[np.ndarray, np.ndarray]:
    """A column's values as numbers and their digit counts (``_BREAK`` where none)."""
    n = len(col)
    lens = np.zeros(n, dtype=np.int64)
    if getattr(col.dtype, "kind", "O") in "iu":
        v = col.to_numpy(dtype=np.int64, na_value=_BREAK)
        ok = (v >= 0) & (v < _POW[DIGITS])
        return np.where(ok, v, _BREAK), np.where(ok, _lengths(np.where(ok, v, 0)), 0)
    text = col.astype(str)
    digits = text.str.fullmatch(r"\d{1,8}").fillna(False).to_numpy(dtype=bool)
    v = np.full(n, _BREAK, dtype=np.int64)
    v[digits] = text[digits].astype(np.int64).to_numpy()
    lens[digits] = text[digits].str.len().to_numpy()
    return v, lens


def _lengths(v: np.ndarray) -> np.ndarray:
    return np.searchsorted(_POW[1:], v, side="right") + 1


# -- reading the bytes as numbers ------------------------------------------------------------
_MEMO = re.compile(rb"\n[pg][0-9]+\n")   # a protocol 0 pickle's memo indices: no values
_PROTO = re.compile(rb"\x80[\x02-\x05]")
_NPY = re.compile(rb"\x93NUMPY[\x01-\x03]\x00")


def _sequences(data: bytes, pickled: bool = False
               ) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """The numbers ``data`` holds, as sequences (values, digit counts; ``_BREAK`` between),
    and which of them a later write to the same file continues (a pickle's, else the text's).
    A pickle is read when ``data`` starts as one (after a ``dbm`` record's padding of NULs) or
    continues one (``pickled``: the file's earlier write was)."""
    text = _MEMO.sub(b"\n", data) if data[:1] in (b"(", b"]", b"}") else data
    out = [_digit_runs(np.frombuffer(text, dtype=np.uint8))]
    first = 0
    body = data.lstrip(b"\x00")
    if _PROTO.match(body) or pickled or (data[:1] in (b"(", b"]", b"}") and data[-1:] == b"."):
        out.append(_pickle_ints(body if _PROTO.match(body) else data))
        first = 1
    if b"\x00" in data:   # binary: the text of its wider units, an array's numbers
        for width in (2, 4, 8):
            for order in "<>":
                for at in range(width):
                    n = (len(data) - at) // width
                    if n < 2:
                        continue
                    units = np.frombuffer(data, dtype=f"{order}u{width}", count=n, offset=at)
                    out.append(_digit_runs(np.where(units < 128, units, 1).astype(np.uint8)))
        npy = _NPY.search(data)
        if npy is not None:
            out.append(_npy(data, npy.start()))
    return out, first


# what ends a run of adjacent numbers: control characters but NUL, tab and line breaks, and
# anything past ASCII (binary bytes, or a wide unit that is no ASCII character)
_ENDS = np.zeros(256, dtype=bool)
_ENDS[[*range(1, 9), 11, 12, *range(14, 32), *range(127, 256)]] = True


def _digit_runs(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of ASCII digits in ``chars``: each of 1-18 digits as one number, and every
    ``DIGITS`` digits of a longer run as a value of its own (then a break)."""
    digit = (chars >= 48) & (chars <= 57)
    if not digit.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    edge = np.diff(digit.view(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    lens = ends - starts
    short = lens <= 18
    idx = np.flatnonzero(digit)
    power = np.repeat(ends, lens) - idx - 1   # each digit's place in its run
    np.minimum(power, 18, out=power)   # (a longer run's value is dropped below)
    weighted = (chars[idx] - 48).astype(np.int64) * _POW[power]
    vals = np.add.reduceat(weighted, np.concatenate(([0], np.cumsum(lens)[:-1])))
    vals = np.where(short, vals, _BREAK)
    lens = np.where(short, lens, 0)
    ending = _ENDS[chars]   # a binary byte between two runs: not adjacent
    cut = np.zeros(0, dtype=bool)
    if ending.any():
        ended = np.cumsum(ending, dtype=np.int32)
        cut = ended[starts[1:]] != ended[ends[:-1] - 1]
    if cut.any():
        at = np.flatnonzero(cut) + 1
        vals = np.insert(vals, at, _BREAK)
        lens = np.insert(lens, at, 0)
    if (ends - starts > DIGITS).any():   # every nine digits of a long run (character codes)
        wins = _windows(np.where(digit, chars.astype(np.int64) - 48, 0), digit)
        vals = np.concatenate([vals, [_BREAK], wins])
        lens = np.concatenate([lens, [0], np.where(wins >= 0, DIGITS, 0)])
    return vals, lens


def _windows(d: np.ndarray, digit: np.ndarray) -> np.ndarray:
    n = len(d) - DIGITS + 1
    if n <= 0:
        return np.empty(0, np.int64)
    v = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    for j in range(DIGITS):
        v = v * 10 + d[j:j + n]
        ok &= digit[j:j + n]
    return v[ok] if ok.any() else np.empty(0, np.int64)


def _pickle_ints(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A pickle's integers (BININT1, BININT2, BININT) and short strings (digits: a number;
    others: a break) in order, wherever it starts; its structure between them skipped. One
    pass in C (``_OPS``), the tokens then read by numpy (``VALUES`` at most)."""
    toks = _OPS.findall(data, 0, LIMIT)[:VALUES]
    if not toks:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    size = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    blob = np.frombuffer(b"".join(toks) + bytes(10), dtype=np.uint8).astype(np.int64)
    at = np.concatenate(([0], np.cumsum(size)[:-1]))
    op = blob[at]
    arg = [blob[at + i] for i in range(1, 10)]
    j = arg[0] | arg[1] << 8 | arg[2] << 16 | arg[3] << 24
    vals = np.where(op == 0x4B, arg[0], np.where(op == 0x4D, arg[0] | arg[1] << 8,
                                                 np.where(j >= 1 << 31, j - (1 << 32), j)))
    digits = size - 2   # a string's: its size byte said as many
    text = (op == 0x8C) & (digits > 0) & (digits == arg[0])
    number = np.zeros(len(toks), dtype=np.int64)
    for i in range(1, 9):   # the digits after the size byte, as a number
        number = np.where(digits >= i, number * 10 + arg[i] - 48, number)
    ok = (op != 0x8C) & (vals >= 0) & (vals < _POW[DIGITS])
    vals = np.where(text, number, np.where(ok, vals, _BREAK))
    lens = np.where(text, digits, np.where(ok, _lengths(np.where(ok, vals, 0)), 0))
    return vals, lens


_OPS = re.compile(rb"K.|M..|J....|\x8c[\x01-\x08][0-9]{1,8}(?![0-9])|\x8c.", re.S)
VALUES = 1_000_000
"""Values read at most from one write's pickles (a cost bound)."""


def _npy(data: bytes, at: int) -> tuple[np.ndarray, np.ndarray]:
    """An ``.npy`` array's integers in row order (its header read, never its objects)."""
    empty = (np.empty(0, np.int64), np.empty(0, np.int64))
    try:
        major = data[at + 6]
        size_at, size_len = at + 8, (2 if major == 1 else 4)
        hlen = int.from_bytes(data[size_at:size_at + size_len], "little")
        body = size_at + size_len + hlen
        head = ast.literal_eval(data[size_at + size_len:body].decode("latin-1"))
        dtype = np.dtype(head["descr"])
        if dtype.kind not in "iuUS":
            return empty
        n = min((len(data) - body) // dtype.itemsize, VALUES)
        arr = np.frombuffer(data, dtype=dtype, count=n, offset=body)
        shape = tuple(head.get("shape", ()))
        if head.get("fortran_order") and len(shape) == 2 and n == shape[0] * shape[1]:
            arr = arr.reshape(shape, order="F").ravel()
        if dtype.kind in "US":   # fixed-width text: each element a number, or a break
            import pandas as pd

            text = pd.Series(arr.tolist(), dtype=object)
            if dtype.kind == "S":
                text = text.str.decode("latin-1")
            return _column(text)
        arr = arr.astype(np.int64)
    except Exception:  # noqa: BLE001 - no readable header: the bytes are read as they are
        return empty
    ok = (arr >= 0) & (arr < _POW[DIGITS])
    return np.where(ok, arr, _BREAK), np.where(ok, _lengths(np.where(ok, arr, 0)), 0)


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
