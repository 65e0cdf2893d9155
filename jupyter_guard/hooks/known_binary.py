"""Known nine-digit values (SSNs) written as binary numbers, derived so that no digit run and no
whole integer shows them (red team 19): ``int(s) / 1e9`` and ``int(s[1:])`` (one end digit cut)
as float64/int64/int32 words in ``pickle``, ``np.save``/``savez``, ``ndarray.tofile``, a pickled
frame; each digit as a small integer (``np.array([int(c) for c in s], dtype=np.int8)``); and the
same numbers in the columns of a table handed to pyarrow's writers (parquet and feather compress
their pages: the bytes show nothing, so the table is read before it is written).

The numbers are read as a file format lays them out, without decoding the format: every
little-endian int64, int32 and float64 word at every byte offset (a header of any length before
the array), big-endian float64 too where the bytes look like a pickle's floats (opcode ``G``
before each), and runs of 1-, 2-, 4- and 8-byte units that hold 0-9 (digits). Each number gives
the nine-digit values it may stand for:

- an integer of eight digits (an integer-valued float too): a known value with one end digit
  cut (``known_cut``'s cut rule: 20 values per candidate);
- an integer of nine digits: a whole value (counted, not alone: whole values are
  ``file_pieces``' already);
- a float whose first nine significant digits are an integer with at least seven significant
  digits (``0.100000005``, ``1000000.05``, ``0.5816134``): that integer, and a tenth of it
  where it ends in zero (a value with a leading zero, ``0.012888033``);
- nine adjacent digit units: their number.

The same numbers are also read in two or three adjacent parts and in big-endian words
(``known_binary_parts``: any width, float32 too, a structured array field by field, a table's
columns side by side) and after one offset, xor or ratio shared by the series
(``known_binary_affine``). A write is refused when at least ``MIN_HITS`` distinct known
values are rebuilt and more than chance explains (``ALPHA``, Poisson: every candidate counted,
the known values taken as random, as ``known_cut`` counts text; for parts and transforms,
weighed where known values lie in runs), so files of ordinary numbers (random floats, amounts,
ids below ten million, dates) pass.

>>> import numpy as np
>>> known = np.array([100000005, 564726205, 581613400, 735319555], dtype=np.int64)
>>> found(np.array([0.100000005, 0.735319555, 0.5]).tobytes(), known)
[100000005, 735319555]
>>> found(np.array([35319555, 10000000, 7], dtype=np.int64).tobytes(), known)
[100000005, 735319555]
>>> found(np.array([0.25, 12.5, 3.0]).tobytes(), known)
[]
>>> found(np.array([int(c) for c in "735319555564726205"], np.int8).tobytes(), known)
[564726205, 735319555]
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from jupyter_guard.hooks import known_binary_affine, known_binary_parts, known_ints

MIN_HITS = 2
ALPHA = 1e-5
LIMIT = 16 << 20
"""Bytes of one write read at most (a cost bound)."""
REASON = "values read from a sensitive column, written as derived binary numbers"
_EMPTY = np.empty(0, np.int64)
_TOL = 1e-3   # how near an integer a float's nine significant digits must be


class Tally:
    """Candidates tried and distinct known values rebuilt."""

    __slots__ = ("excess", "hits", "tried")

    def __init__(self) -> None:
        self.hits: set[int] = set()
        self.tried = 0.0
        self.excess = 0.0   # chance hits beyond the even spread (known values in runs)

    def near(self, local: float, n: int, known: np.ndarray) -> None:
        """``n`` candidates expected to meet ``local`` known values by chance where they lie
        (``known_binary_parts.dense``): what that adds to the even spread's count."""
        self.excess += max(0.0, local - n * len(known) / 1e9)

    def exact(self, cands: np.ndarray, known: np.ndarray) -> None:
        if len(cands):
            self.tried += len(cands)
            self.hits.update(cands[_has(known, cands)].tolist())

    def cut(self, cands: np.ndarray, known: np.ndarray) -> None:
        """Eight-digit numbers: a known value less its first or last digit."""
        if not len(cands):
            return
        self.tried += 20 * len(cands)
        at = np.searchsorted(known, cands * 10)
        at[at == len(known)] = len(known) - 1
        last = known[at]
        self.hits.update(last[(last >= cands * 10) & (last <= cands * 10 + 9)].tolist())
        for d in range(10):
            c = cands + d * 100_000_000
            self.hits.update(c[_has(known, c)].tolist())

    def judged(self, known: np.ndarray) -> list[int]:
        from jupyter_guard.hooks.known_cut import _chance

        if len(self.hits) < MIN_HITS or _chance(
                len(self.hits), self.tried * len(known) / 1e9 + self.excess) >= ALPHA:
            return []
        return sorted(self.hits)


def _has(known: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Which of ``vals`` are known: a table of which 4,096-wide buckets hold a known value
    first (one look-up each), the sorted values searched only for those in such a bucket."""
    if len(vals) < 4096:
        at = np.searchsorted(known, vals)
        at[at == len(known)] = 0
        return known[at] == vals
    table = _buckets(known)
    b = vals >> 12
    inside = (b >= 0) & (b < len(table))
    out = np.zeros(len(vals), dtype=bool)
    idx = np.flatnonzero(inside)
    idx = idx[table[b[idx]]]
    if len(idx):
        at = np.searchsorted(known, vals[idx])
        at[at == len(known)] = 0
        out[idx] = known[at] == vals[idx]
    return out


_TABLE: list[Any] = [None, None]   # (the known array, its buckets)


def _buckets(known: np.ndarray) -> np.ndarray:
    if _TABLE[0] is not known:
        table = np.zeros((int(known[-1]) >> 12) + 1, dtype=bool)
        table[known[known >= 0] >> 12] = True
        _TABLE[:] = [known, table]
    return _TABLE[1]


def ints(v: np.ndarray, t: Tally, known: np.ndarray) -> None:
    """Integers: eight digits (a cut value) and nine (a whole one)."""
    v = v[(v >= 10_000_000) & (v < 1_000_000_000)]
    if len(v):
        v = v.astype(np.int64, copy=False)
        t.cut(v[v < 100_000_000], known)
        t.exact(v[v >= 100_000_000], known)


CHUNK = 1 << 16
"""Floats read at a time (a pass of several numpy steps stays in the CPU's cache)."""
_POW10 = 10.0 ** np.arange(-4, 22)   # 10 ** (8 - e) for e in -13..12


def floats(f: np.ndarray, t: Tally, known: np.ndarray) -> None:
    """Floats whose nine significant digits may be a value (see above); integer-valued ones of
    eight or nine digits as integers."""
    for at in range(0, len(f), CHUNK):
        _floats(f[at:at + CHUNK], t, known)


def _floats(f: np.ndarray, t: Tally, known: np.ndarray) -> None:
    with np.errstate(all="ignore"):   # (NaN, inf, zero, negatives: no candidate)
        k = (np.log10(f) + 20).astype(np.int64)   # the decimal exponent e, plus 20
        np.clip(k, 7, 32, out=k)   # e in -13..12: outside, m is out of range below
        m = f * _POW10[32 - k]   # the nine significant digits before the point
        r = np.rint(m)
        ok = np.abs(m - r) <= _TOL
        if not ok.any():
            return
        f, r = f[ok], r[ok]
        f, r = f[(r >= 1e8) & (r < 1e9)], r[(r >= 1e8) & (r < 1e9)].astype(np.int64)
    ints(f[(f >= 1e7) & (f < 1e9) & (f == np.floor(f))].astype(np.int64), t, known)
    r = r[r % 1000 != 0]   # seven significant digits at least
    if len(r):
        t.exact(np.concatenate([r, r[r % 10 == 0] // 10]), known)


WINDOWS = 1_000_000
"""Windows of nine digit units read at most per write (a cost bound)."""


def digits(units: np.ndarray, t: Tally, known: np.ndarray, least: int = 2) -> None:
    """Every nine adjacent units that each hold 0-9, read as a number (most significant first),
    with at least ``least`` digits other than 0: bytes of unknown type (``_aligned``) ask for
    five, since small integers in wider words spell ``1000000020000000…`` (runs of zeros only,
    padding, are skipped)."""
    if units.dtype.itemsize > 1 or units.dtype.kind != "u":
        units = np.where((units >= 0) & (units < 10), units, 255).astype(np.uint8)
    d = units < 10
    if len(units) < 9 or not d.any():
        return
    change = np.flatnonzero(d[1:] != d[:-1]) + 1
    s = change[d[change]]
    e = change[~d[change]]
    if d[0]:
        s = np.concatenate(([0], s))
    if d[-1]:
        e = np.concatenate((e, [len(d)]))
    long = e - s >= 9
    s, e = s[long], e[long]
    if not len(s):
        return
    # digits other than 0 in each run (what follows a run up to the next is no digit)
    busy = np.add.reduceat(d & (units != 0), s, dtype=np.int64) >= 2   # (zeros only: padding)
    s, e = s[busy], e[busy]
    n = e - s - 8
    keep = np.cumsum(n) <= WINDOWS
    s, n = s[keep], n[keep]
    if not len(s):
        return
    starts = np.repeat(s - np.concatenate(([0], np.cumsum(n)[:-1])), n) + np.arange(n.sum())
    v = np.zeros(len(starts), dtype=np.int64)
    nz = np.zeros(len(starts), dtype=np.int8)
    for j in range(9):
        d = units[starts + j]
        v = v * 10 + d.astype(np.int64)
        nz += d != 0
    t.exact(v[nz >= least], known)


_NPY = re.compile(rb"\x93NUMPY[\x01-\x03]\x00")
# a pickle's binary payloads (``pickle`` of an array, a frame's blocks): the opcode and the size
_PAYLOAD = re.compile(rb"(?:\x96|\x8e)(.{8})|B(.{4})|C(.)", re.S)


def words(data: bytes, t: Tally, known: np.ndarray) -> None:
    """The numbers of ``data`` as its format lays them out: each ``.npy`` array by its header's
    type; a pickle's floats (``G`` and eight big-endian bytes), integers (``J``) and binary
    payloads (read as words from their start); else words from the write's start."""
    arrays = [m.start() for m in _NPY.finditer(data, 0, LIMIT)]
    for at in arrays[:64]:
        arr = _npy(data, at)
        if arr is not None:
            array(arr, t, known)
    if arrays:
        return
    if data[:1] == b"\x80" or data.count(b"G") * 32 >= len(data) or b"\x95" in data[:16]:
        _pickle(data, t, known)
    _aligned(data, t, known)


def array(arr: np.ndarray, t: Tally, known: np.ndarray) -> None:
    """An array's numbers by its own type (a structured one field by field), whole, in parts
    and after one shared transform (``known_binary_parts``, ``known_binary_affine``)."""
    kind = arr.dtype.kind
    if kind == "V":
        series = known_binary_parts.fields(arr)
        if series is not None:
            ints(series, t, known)
            known_binary_parts.parts(series, t, known)
            known_binary_affine.transforms(series, t, known)
        return
    if kind not in "iuf":
        return
    flat = arr.ravel()
    if kind == "f" and arr.dtype.itemsize >= 8:
        floats(flat.astype(np.float64, copy=False), t, known)
    elif kind in "iu":
        ints(flat, t, known)
        if arr.dtype.itemsize <= 2:
            digits(flat, t, known)
    if arr.dtype.itemsize >= 2:   # (bytes: too narrow for two or three parts)
        series = known_binary_parts.as_ints(flat)
        known_binary_parts.parts(series, t, known, arr.dtype.itemsize)
        known_binary_affine.transforms(
            flat.astype(np.float64, copy=False) if kind == "f" else series, t, known)


def _aligned(data: bytes, t: Tally, known: np.ndarray, deep: bool = True) -> None:
    """Words from the start of ``data``; ``deep``: also in parts and transformed (a pickle's
    small payloads, and those of bytes that only look like a pickle, are not)."""
    digits(np.frombuffer(data, dtype=np.uint8), t, known, 5)   # ``int8`` digits
    for kind in ("<i8", "<f8", "<i4", ">i8", ">f8", ">u4"):
        n = len(data) // int(kind[2])
        if n:
            w = np.frombuffer(data, dtype=kind, count=n)
            (floats if kind[1] == "f" else ints)(w.astype(kind[1:]), t, known)
            if deep and kind[0] == "<":
                known_binary_affine.transforms(w.astype(kind[1:]), t, known)
    for w, width in known_binary_parts.views(data) if deep else ():
        known_binary_parts.parts(w, t, known, width)


def _pickle(data: bytes, t: Tally, known: np.ndarray) -> None:
    ends = np.array([m.end() for m in re.finditer(rb"G(?=.{8})", data, re.S)], dtype=np.int64)
    if len(ends):
        raw = np.frombuffer(data, dtype=np.uint8)
        f = np.zeros(len(ends), dtype=np.uint64)
        for j in range(8):
            f = (f << np.uint64(8)) | raw[ends + j].astype(np.uint64)
        floats(f.view(np.float64), t, known)
    deep = 16 if data[:1] == b"\x80" else 0   # payloads read in parts: of a pickle, 16 at most
    for m in _PAYLOAD.finditer(data):
        size = int.from_bytes(m.group(m.lastindex or 1), "little")
        if size >= 16 and m.end() + size <= len(data):
            _aligned(data[m.end():m.end() + size], t, known, deep > 0 and size >= 64)
            deep -= size >= 64


def _npy(data: bytes, at: int) -> np.ndarray | None:
    """The array of an ``.npy`` header at ``at`` (None: no readable header, or objects)."""
    import ast

    try:
        major = data[at + 6]
        size_len = 2 if major == 1 else 4
        hlen = int.from_bytes(data[at + 8:at + 8 + size_len], "little")
        body = at + 8 + size_len + hlen
        head = ast.literal_eval(data[at + 8 + size_len:body].decode("latin-1"))
        dtype = np.dtype(head["descr"])
        if dtype.kind not in "iuf" and not dtype.names:
            return None
        n = (len(data) - body) // dtype.itemsize
        return np.frombuffer(data, dtype=dtype, count=n, offset=body)
    except Exception:  # noqa: BLE001 - no readable header: the bytes are read from the start
        return None


def found(data: Any, known: np.ndarray | None = None) -> list[int]:
    """The known values the binary numbers of ``data`` rebuild beyond chance ([]: none)."""
    known = _known() if known is None else known
    if known is None or not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < 16:
        return []
    t = Tally()
    words(bytes(data[:LIMIT]), t, known)
    return t.judged(known)


def carries(data: Any) -> str:
    """Why a binary write holds known values as derived numbers ('' when it does not)."""
    from jupyter_guard.hooks.exit_bytes import control

    if not control(data):   # text: its numbers are ``known_cut``'s
        return ""
    known = _known()
    return REASON if known is not None and found(data, known) else ""


def in_array(arr: Any) -> str:
    """Why an array about to be written (``ndarray.tofile``) holds known values as derived
    numbers, read by its own type ('' when it does not)."""
    known = _known()
    if known is None or getattr(getattr(arr, "dtype", None), "kind", "") not in "fiuV":
        return ""
    t = Tally()
    array(np.asarray(arr).ravel()[:LIMIT // max(1, arr.dtype.itemsize)], t, known)
    return REASON if t.judged(known) else ""


def in_table(table: Any, rows: int = 4_000_000) -> str:
    """Why a table (pyarrow ``Table``/``RecordBatch`` or pandas frame) about to be written holds
    known values as derived numbers: its numeric columns read as above ('' when none)."""
    known = _known()
    if known is None:
        return ""
    t = Tally()
    cols = _columns(table, rows)
    for col in cols:
        array(col, t, known)
    if 1 < len(cols) <= 16 and len({len(c) for c in cols}) == 1:   # parts in columns side by side
        series = np.stack([known_binary_parts.as_ints(c) for c in cols], axis=1).ravel()
        known_binary_parts.parts(series, t, known)
    return REASON if t.judged(known) else ""


def _columns(table: Any, rows: int) -> list[np.ndarray]:
    out = []
    if hasattr(table, "iloc"):   # pandas
        for i in range(table.shape[1]):
            col = table.iloc[:rows, i]
            if getattr(col.dtype, "kind", "O") in "fiu":
                out.append(col.to_numpy())
        return out
    for col in getattr(table, "columns", ()):
        try:
            arr = col.slice(0, rows).to_numpy(zero_copy_only=False)
        except Exception:  # noqa: BLE001 - a nested or foreign column: its numbers are not read; the sample check still applies
            continue
        if arr.dtype.kind in "fiu":
            out.append(arr)
    return out


def _known() -> np.ndarray | None:
    from jupyter_guard.hooks import exits

    if not len(exits.known):
        return None
    return known_ints.known(exits.known, exits.spelt)
