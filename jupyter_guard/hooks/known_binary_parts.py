"""Known nine-digit values (SSNs) written in parts: each value split at a decimal boundary
(``[n // 100000, n % 100000]``, ``[n // 10**6, n // 10**4 % 100, n % 10**4]``) or a byte
boundary (``[n >> 16, n & 0xFFFF]``), the parts side by side in the file as integers of any
width or as integer-valued floats (float32 too); and the series a write may hold, read where
the bytes may lay them out: 2-, 4- and 8-byte words and float32/float64 in both byte orders, a
structured array field by field.

For each two and three adjacent numbers of a series (parts are positive) the values of nine
digits they may spell (eight and seven too where a known value has fewer): ``hi * 10**k + lo``
where ``lo`` takes the ``k`` digits ``hi`` leaves, up to two of them leading zeros, likewise
for three parts, and
``hi << b | lo`` for ``b`` in 8, 16, 24. Each is a candidate counted by the caller's tally (the
same Poisson bound as every derived form), its chance weighed by how dense the known values
lie around it (``dense``): known values that are themselves a run (a test warehouse's
``100000000 + n``) are not taken for random ones.

>>> import numpy as np
>>> from jupyter_guard.hooks.known_binary import Tally
>>> known = np.array([123456789, 564726205, 735319555, 901020304], dtype=np.int64)
>>> t = Tally()
>>> parts(np.array([1234, 56789, 7353, 19555, 5, 7], dtype=np.int64), t, known)
>>> sorted(t.hits)
[123456789, 735319555]
>>> t = Tally()
>>> parts(np.array([901, 2, 304], dtype=np.int64), t, known)   # zeros cut in the middle part
>>> sorted(t.hits)
[901020304]
>>> len(views(bytes(64)))   # int64, uint32, uint16, float32, float64: both byte orders
10
"""
from __future__ import annotations

from typing import Any

import numpy as np

LOW, HIGH = 1_000_000, 1_000_000_000
"""Candidates kept: values of seven to nine digits (an SSN whose area starts with zeros)."""
_POW = np.array([10 ** k for k in range(10)], dtype=np.int64)
WIDTHS = (8, 64, 512, 4096)
"""Half spans around a candidate over which the known values' density is measured, the
densest taken: a run of 60 known values must not be read as a few in a wide span."""
CHUNK = 1 << 18
"""Numbers of a series read at a time."""


def dense(known: np.ndarray, cands: np.ndarray) -> float:
    """How many of ``cands`` chance alone would make known, where the known values lie as
    they do around each (the densest count within one of ``WIDTHS``), not spread evenly."""
    if not len(cands) or not runs(known):
        return 0.0
    step = max(1, len(cands) >> 14)   # (a sample of them: the sum scaled back)
    full, cands = len(cands), cands[::step]
    at = np.minimum(np.searchsorted(known, cands), len(known) - 1)
    own = known[at] == cands   # (not itself: a hit is no measure of the chance of one)
    most = np.zeros(len(cands))
    for w in WIDTHS:
        near = np.searchsorted(known, cands + w, "right") - np.searchsorted(known, cands - w)
        np.maximum(most, (near - own) / (2 * w), out=most)
    return float(most.sum()) * full / len(cands)


_RUNS: list[Any] = [None, False]   # (the known array, whether it holds runs)


def runs(known: np.ndarray) -> bool:
    """Whether more than 1% of the known values lie within 8 of the next (a run, as a test
    warehouse's ``100000000 + n``): only then is the chance weighed where they lie (a random
    set's is the even spread; weighed, values written beside each hit would buy chance)."""
    if _RUNS[0] is not known:
        _RUNS[:] = [known, bool(np.count_nonzero(np.diff(known) <= 8) * 100 > len(known))]
    return bool(_RUNS[1])


def _ndigits(v: np.ndarray) -> np.ndarray:
    """Digits of each number in 1..HIGH-1 (0: none of them, a part cannot be 0 or negative)."""
    d = np.searchsorted(_POW, v, "right").astype(np.int8)
    d[(v <= 0) | (v >= HIGH)] = 0
    return d


def parts(v: np.ndarray, t: Any, known: np.ndarray, width: int = 8) -> None:
    """Values spelt by two or three adjacent numbers of ``v`` (int64, read from numbers of
    ``width`` bytes: two hold a part of 16 bits at most), counted in ``t``."""
    bits = (16,) if width <= 2 else (8, 16, 24)
    # the digits a value spells: nine; eight and seven too where some known value has fewer
    # (an area with leading zeros)
    total = tuple(n for n in (9, 8, 7) if known[0] < 10 ** n)
    for at in range(0, len(v), CHUNK):
        _parts(v[at:at + CHUNK + 2], t, known, bits, total)


def _parts(v: np.ndarray, t: Any, known: np.ndarray, bits: tuple[int, ...],
           total: tuple[int, ...]) -> None:
    ok = (v > 0) & (v < HIGH)
    at = np.flatnonzero(ok[:-1] & ok[1:])   # a part beside another
    if not len(at):
        return
    if len(at) * 4 < len(v):   # few: those runs only, a 0 between two (no part)
        keep = np.unique(np.concatenate([at, at + 1]))
        v = v[keep]
        gaps = np.flatnonzero(np.diff(keep) > 1) + 1
        if len(gaps):
            v = np.insert(v, gaps, 0)
    d = _ndigits(v)
    out: list[np.ndarray] = []
    hi, lo, dh, dl = v[:-1], v[1:], d[:-1], d[1:]
    ok = (dh > 0) & (dl > 0) & (dh + dl <= 9)
    if ok.any():
        h, lw, dd, dk = hi[ok], lo[ok], dl[ok], dh[ok]
        for n in total:   # ``lo`` takes the digits ``hi`` leaves: 0-2 leading zeros cut
            k = n - dk
            fit = (k >= dd) & (k <= dd + 2)
            out.append(h[fit] * _POW[k[fit]] + lw[fit])
    for b in bits:   # byte boundaries
        ok = (hi > 0) & (hi < (HIGH >> b) + 1) & (lo >= 0) & (lo < (1 << b))
        if ok.any():
            out.append((hi[ok] << b) | lo[ok])
    if len(v) >= 3:
        x, y, z = v[:-2], v[1:-1], v[2:]
        dx, dy, dz = d[:-2], d[1:-1], d[2:]
        ok = (dx > 0) & (dy > 0) & (dz > 0) & (dx + dy + dz <= 9)
        if ok.any():
            x, y, z, dx, dy, dz = x[ok], y[ok], z[ok], dx[ok], dy[ok], dz[ok]
            for n in total:
                for ey in range(3):   # the digits y takes (0-2 leading zeros); z the rest
                    ky = dy + ey
                    kz = n - dx - ky
                    fit = (kz >= dz) & (kz <= dz + 2)
                    out.append((x[fit] * _POW[ky[fit]] + y[fit]) * _POW[kz[fit]] + z[fit])
    if out:
        c = np.concatenate(out)
        c = c[(c >= LOW) & (c < HIGH)]
        t.exact(c, known)
        t.near(dense(known, c), len(c), known)


def as_ints(arr: np.ndarray) -> np.ndarray:
    """A numeric array's numbers as int64 (a float that is no integer, or out of range: 0)."""
    flat = arr.ravel()
    if flat.dtype.kind in "iu":
        if flat.dtype.itemsize == 8 and flat.dtype.kind == "u":
            return np.where(flat < HIGH, flat, 0).astype(np.int64)
        return flat.astype(np.int64, copy=False)
    with np.errstate(all="ignore"):
        f = flat.astype(np.float64, copy=False)
        i = f.astype(np.int64)   # (NaN, inf, out of range: no integer, a value of its own)
        i[(i != f) | (i >= HIGH) | (i <= -HIGH)] = 0
        return i


def fields(arr: np.ndarray) -> np.ndarray | None:
    """A structured array's numeric fields, record by record, as one int64 series."""
    types: Any = arr.dtype.fields or {}
    names = [n for n in (arr.dtype.names or ())
             if types[n][0].kind in "iuf" and not types[n][0].shape]
    if not names:
        return None
    flat = arr.ravel()
    return np.stack([as_ints(flat[n]) for n in names], axis=1).ravel()


_VIEWS = ("<i8", ">i8", "<u4", ">u4", "<u2", ">u2", "<f4", ">f4", "<f8", ">f8")


RAW = 1 << 18
"""Bytes of a write of no known type read in parts (each of ten ways: a cost bound; an array
written by its type, ``np.save``, ``tofile``, a table, is read whole)."""


def views(data: bytes) -> list[tuple[np.ndarray, int]]:
    """The series the first ``RAW`` bytes of ``data`` may hold: words and floats, both byte
    orders (each as int64, see ``as_ints``), with the width they were read at."""
    out = []
    for kind in _VIEWS:
        n = min(len(data), RAW) // int(kind[2])
        if n >= 2:
            w = np.frombuffer(data, dtype=kind, count=n)
            out.append((as_ints(w) if kind[1] == "f" or kind[2] != "8" else
                        w.astype("<i8", copy=False), int(kind[2])))
    return out
