"""``_secret_ok`` over many candidate tokens at once, in numpy: text dense with key-like tokens
(base64 blobs, hashes, random ids side by side) validated one by one cost ~60 µs a token in
Python (1.5 s per MB). Two histograms per batch of tokens answer every test of ``_secret_ok``:
one of (token, character) gives the counts of lower case, upper case, digits and '/' and the
entropy; one of (token, what changes between neighbours) the case switches and digit runs.
The entropy is summed in another order than ``detect.entropy`` sums it, so a token within
``NEAR`` of its threshold is judged by ``_secret_ok`` itself: every answer is the same.
"""
from __future__ import annotations

import functools
from itertools import compress, repeat
from operator import is_not, not_, or_
from typing import Any

from .detect import _KEY_PREFIX, _secret_ok

NEAR = 1e-9
"""Entropies this close to a threshold are recomputed by ``detect.entropy`` (float sums in
another order differ in their last bits; an entropy can be exactly 4.5)."""
BATCH = 256
"""Tokens per batch: the histograms (``BATCH`` x 128 counts) stay in the cache, and numpy's
fresh large arrays (page faults) are avoided."""
LONGEST = 4200
"""Longer tokens are judged by ``_secret_ok`` (bare tokens are at most ``MAX_VALUE`` long)."""


def secrets_ok(values: list[str]) -> list[bool]:
    """``_secret_ok`` of each value (``_secret_ok`` itself for values not ASCII, holding a
    line break or longer than ``LONGEST``)."""
    distinct = dict.fromkeys(values)
    if len(distinct) < len(values) // 2:  # tokens repeated: each distinct one judged once
        judged = dict(zip(distinct, secrets_ok(list(distinct))))
        return list(map(judged.__getitem__, values))
    joined = "\n".join(values)
    if not joined.isascii() or joined.count("\n") != len(values) - 1:
        return list(map(_secret_ok, values))
    # a known prefix passes; one case, or no digit (a UUID, a digest) fails: ``_secret_ok``
    # asks these first, in C here
    out = list(map(is_not, map(_KEY_PREFIX.match, values), repeat(None)))
    plain = map(or_, map(or_, map(str.islower, values), map(str.isupper, values)),
                map(str.isalpha, values))
    rest = list(compress(range(len(values)), map(not_, map(or_, out, plain))))
    if not rest:
        return out
    import numpy as np  # (loaded by the bulk path already)

    for lo in range(0, len(rest), BATCH):
        part = rest[lo:lo + BATCH]
        for i, ok in zip(part, _batch(np, [values[i] for i in part])):
            out[i] = ok
    return out


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[Any, Any, Any]:
    """Each byte's kind (1 lower, 2 upper, 0 other), whether it is a digit, and ``c log2 c``
    for each count a token can hold."""
    import numpy as np

    kind = np.zeros(256, dtype=np.uint8)
    kind[97:123], kind[65:91] = 1, 2
    digit = np.zeros(256, dtype=np.uint8)
    digit[48:58] = 1
    c = np.arange(LONGEST + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xlogx = np.where(c > 0, c * np.log2(c), 0.0)
    return kind, digit, xlogx


def _batch(np: Any, values: list[str]) -> list[bool]:
    m = len(values)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=m)
    if not ((lengths > 0) & (lengths <= LONGEST)).all():
        return list(map(_secret_ok, values))
    prefixed = np.fromiter(map(is_not, map(_KEY_PREFIX.match, values), repeat(None)), bool,
                           count=m)
    # each token preceded by a line break, which is counted as its own (then left out)
    data = np.frombuffer(("\n" + "\n".join(values)).encode("ascii"), dtype=np.uint8)
    token = np.repeat(np.arange(m), lengths + 1)
    hist = np.bincount(token * 128 + data, minlength=m * 128).reshape(m, 128)
    hist[:, 10] = 0
    kind_of, digit_of, xlogx = _tables()
    kind, digit, line = kind_of.take(data), digit_of.take(data), data != 10
    # between neighbours in a token: a case switch (not to or from a line break) and a digit
    # run's start (its first character's, after the line break, too)
    switch = (kind[1:] != kind[:-1]) & line[:-1] & line[1:]
    run = digit[1:] > digit[:-1]
    pairs = np.bincount(token[1:] * 4 + switch + 2 * run, minlength=m * 4).reshape(m, 4)
    switches, runs = pairs[:, 1] + pairs[:, 3], pairs[:, 2] + pairs[:, 3]
    n_lower = hist[:, 97:123].sum(axis=1)
    n_upper = hist[:, 65:91].sum(axis=1)
    n_digit = hist[:, 48:58].sum(axis=1)
    # two lower, two upper and two digits rule out ``islower``, ``isupper`` and ``isalpha``
    ok = (n_lower >= 2) & (n_upper >= 2) & (n_digit >= 2)
    ok &= (switches >= 0.4 * lengths) & (runs >= 3)
    want = np.where(hist[:, 47] > 0, 4.5, 4.2)
    h = np.log2(lengths) - xlogx[hist].sum(axis=1) / lengths
    close = np.flatnonzero(ok & ~prefixed & (np.abs(h - want) < NEAR)).tolist()
    ok &= h >= want
    for i in close:
        ok[i] = _secret_ok(values[i])
    return [bool(x) for x in (prefixed | ok).tolist()]
