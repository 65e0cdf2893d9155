"""``_secret_ok`` over many candidate tokens at once, in numpy: text dense with key-like tokens
(base64 blobs, hashes, random ids side by side) validated one by one cost ~60 µs a token in
Python (1.5 s per MB). Two histograms per batch of tokens answer every test of ``_secret_ok``:
one of (token, character) gives the counts of lower case, upper case, digits and '/' and the
entropy; one of (token, what changes between neighbours) the case switches and digit runs.
The entropy is summed in another order than ``detect.entropy`` sums it, so a token within
``NEAR`` of its threshold is judged by ``_secret_ok`` itself: every answer is the same.
All tokens are joined into one array once and read a batch at a time; the tests ``_secret_ok``
asks first in Python (a known prefix, one case, no digit) are the counts here too (two of each
kind rule them out), and only tokens that start as a prefix does are asked for one: those
per-token calls cost as much as the histograms (1 MB of letter-and-digit tokens: 55 -> 37 ms).
"""
from __future__ import annotations

import functools
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
    import numpy as np  # (loaded by the bulk path already)

    return _judge(np, values, joined)


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


def _judge(np: Any, values: list[str], joined: str) -> list[bool]:
    """The answers for ASCII tokens without a line break (``joined``: them joined by line
    breaks), read as one array and counted ``BATCH`` tokens at a time."""
    m = len(values)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=m)
    odd = (lengths == 0) | (lengths > LONGEST)
    if odd.any():  # (empty or too long: ``_secret_ok`` itself, the others counted here)
        out = list(map(_secret_ok, values)) if odd.all() else [False] * m
        if not odd.all():
            rest = np.flatnonzero(~odd).tolist()
            part = [values[i] for i in rest]
            for i, ok in zip(rest, _judge(np, part, "\n".join(part))):
                out[i] = ok
            for i in np.flatnonzero(odd).tolist():
                out[i] = _secret_ok(values[i])
        return out
    # each token preceded by a line break, which is counted as its own (then left out)
    data = np.frombuffer(("\n" + joined).encode("ascii"), dtype=np.uint8)
    ends = np.cumsum(lengths + 1)
    counts = np.empty((m, 6), dtype=np.int64)  # lower, upper, digits, '/', switches, runs
    h = np.empty(m, dtype=np.float64)
    for t0 in range(0, m, BATCH):
        t1 = min(m, t0 + BATCH)
        lo = int(ends[t0] - lengths[t0] - 1)
        _batch(np, data[lo:int(ends[t1 - 1])], lengths[t0:t1], counts[t0:t1], h[t0:t1])
    n_lower, n_upper, n_digit, slash, switches, runs = counts.T
    # a known prefix passes (asked only of tokens that start as one of them does); then two
    # lower, two upper and two digits (ruling out ``islower``, ``isupper``, ``isalpha``) ...
    prefixed = np.zeros(m, dtype=bool)
    for i in np.flatnonzero(_starts()[data.take(ends - lengths)]).tolist():
        prefixed[i] = _KEY_PREFIX.match(values[i]) is not None
    ok = (n_lower >= 2) & (n_upper >= 2) & (n_digit >= 2)
    ok &= (switches >= 0.4 * lengths) & (runs >= 3)  # ... case switches, digit runs, entropy
    want = np.where(slash > 0, 4.5, 4.2)
    close = np.flatnonzero(ok & ~prefixed & (np.abs(h - want) < NEAR)).tolist()
    ok &= h >= want
    for i in close:
        ok[i] = _secret_ok(values[i])
    return [bool(x) for x in (prefixed | ok).tolist()]


@functools.lru_cache(maxsize=1)
def _starts() -> Any:
    """Whether each byte is the first character of one of ``_KEY_PREFIX``'s prefixes."""
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[list(b"srgxAe-")] = True
    return table


def _batch(np: Any, data: Any, lengths: Any, counts: Any, h: Any) -> None:
    """Fill ``counts`` (lower, upper, digits, '/', case switches, digit runs) and ``h`` (the
    entropy) of the tokens in ``data`` (each after a line break) of ``lengths``."""
    m = len(lengths)
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
    counts[:, 4], counts[:, 5] = pairs[:, 1] + pairs[:, 3], pairs[:, 2] + pairs[:, 3]
    counts[:, 0] = hist[:, 97:123].sum(axis=1)
    counts[:, 1] = hist[:, 65:91].sum(axis=1)
    counts[:, 2] = hist[:, 48:58].sum(axis=1)
    counts[:, 3] = hist[:, 47]
    h[:] = np.log2(lengths) - xlogx[hist].sum(axis=1) / lengths
