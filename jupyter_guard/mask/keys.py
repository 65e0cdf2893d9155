"""``_secret_ok`` over many candidate tokens at once, in numpy: text dense with key-like tokens
(base64 blobs, hashes, random ids side by side) validated one by one cost ~60 µs a token in
Python (1.5 s per MB). Per batch of tokens, a histogram of (token, character) gives the counts
of lower case, upper case, digits and '/' (sums of ranges of it: the characters of most tokens
are numbered so that each class is one range) and the entropy; what changes between neighbours,
summed per token (``reduceat``), the case switches and digit runs: every test of
``_secret_ok``. Kinds and digits are read by ``bytes.translate`` over all tokens at once.
The entropy is summed in another order than ``detect.entropy`` sums it, so a token within
``NEAR`` of its threshold is judged by ``_secret_ok`` itself: every answer is the same.
All tokens are joined into one array once and read a batch at a time; the tests ``_secret_ok``
asks first in Python (a known prefix, one case, no digit) are the counts here too (two of each
kind rule them out), and only tokens that start as a prefix does are asked for one: those
per-token calls cost as much as the histograms (1 MB of letter-and-digit tokens: 55 -> 37 ms).
"""
from __future__ import annotations

import functools
from typing import Any, cast

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
    # tokens repeated: each distinct one judged once (asked where the first ``BATCH`` repeat:
    # hashing every token cost 2.5 ms a megabyte of distinct ones)
    repeated = len(set(values[:BATCH])) < min(len(values), BATCH) * 3 // 4
    distinct = dict.fromkeys(values) if repeated else {}
    if repeated and len(distinct) < len(values) // 2:
        judged = dict(zip(distinct, secrets_ok(list(distinct))))
        return list(map(judged.__getitem__, values))
    joined = "\n".join(values)
    if not joined.isascii() or joined.count("\n") != len(values) - 1:
        return list(map(_secret_ok, values))
    import numpy as np  # (loaded by the bulk path already)

    return _judge(np, values, joined)


_ALPHABET = b"\nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+=_-.:"
"""The characters of most tokens, numbered for a narrow histogram (the line break first; lower
case, upper case, digits and '/' each together: their counts are sums of ranges)."""
_NARROW = bytes(_ALPHABET.index(c) if c in _ALPHABET else 255 for c in range(256))
_KIND = bytes(1 if 97 <= c < 123 else 2 if 65 <= c < 91 else 0 for c in range(256))
_DIGIT = bytes(1 if 48 <= c < 58 else 0 for c in range(256))
"""``bytes.translate`` tables: each byte's place in ``_ALPHABET`` (255: not in it), its kind
(1 lower, 2 upper, 0 other), whether it is a digit."""
_CUTS = ((1, 27, 27, 53, 53, 63, 63, 64), (97, 123, 65, 91, 48, 58, 47, 48))
"""Where lower case, upper case, digits and '/' start and end in a narrow and a wide row
(pairs for ``reduceat``: every other sum is theirs)."""


@functools.lru_cache(maxsize=1)
def _xlogx() -> Any:
    """``c log2 c`` for each count a token can hold."""
    import numpy as np

    c = np.arange(LONGEST + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, c * np.log2(c), 0.0)


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
    raw = ("\n" + joined).encode("ascii")
    data = np.frombuffer(raw, dtype=np.uint8)
    narrow = raw.translate(_NARROW)  # (all 128 characters where another one occurs)
    wide = b"\xff" in narrow
    width = 128 if wide else len(_ALPHABET)
    read = (np.frombuffer(raw if wide else narrow, dtype=np.uint8),
            np.frombuffer(raw.translate(_KIND), dtype=np.uint8),
            np.frombuffer(raw.translate(_DIGIT), dtype=np.uint8))
    ends = np.cumsum(lengths + 1)
    counts = np.empty((m, 6), dtype=np.int64)  # lower, upper, digits, '/', switches, runs
    h = np.empty(m, dtype=np.float64)
    for t0 in range(0, m, BATCH):
        t1 = min(m, t0 + BATCH)
        lo = int(ends[t0] - lengths[t0] - 1)
        _batch(np, [a[lo:int(ends[t1 - 1])] for a in read], width, lengths[t0:t1],
               counts[t0:t1], h[t0:t1])
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
    return cast("list[bool]", (prefixed | ok).tolist())  # (Python's bools, made in C)


@functools.lru_cache(maxsize=1)
def _starts() -> Any:
    """Whether each byte is the first character of one of ``_KEY_PREFIX``'s prefixes."""
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[list(b"srgxAe-")] = True
    return table


def _batch(np: Any, read: list[Any], width: int, lengths: Any, counts: Any, h: Any) -> None:
    """Fill ``counts`` (lower, upper, digits, '/', case switches, digit runs) and ``h`` (the
    entropy) of the tokens (each after a line break) of ``lengths``: ``read`` holds their
    characters (places in ``_ALPHABET``, or bytes for a ``width`` of 128), kinds and digits."""
    data, kind, digit = read
    m, line = len(lengths), 0 if width < 128 else 10
    token = np.repeat(np.arange(m) * width, lengths + 1)
    hist = np.bincount(token + data, minlength=m * width).reshape(m, width)
    hist[:, line] = 0
    counts[:, :4] = np.add.reduceat(hist, _CUTS[width == 128], axis=1)[:, ::2]
    # between neighbours in a token: a case switch (not to or from a line break) and a digit
    # run's start (its first character's, after the line break, too), summed per token
    first, between, marks = np.cumsum(lengths + 1) - lengths - 1, data != line, \
        np.zeros(len(data), dtype=bool)
    np.not_equal(kind[1:], kind[:-1], out=marks[1:])
    marks[1:] &= between[:-1]
    marks[1:] &= between[1:]
    counts[:, 4] = np.add.reduceat(marks, first, dtype=np.int64)
    np.greater(digit[1:], digit[:-1], out=marks[1:])
    counts[:, 5] = np.add.reduceat(marks, first, dtype=np.int64)
    h[:] = np.log2(lengths) - _xlogx().take(hist).sum(axis=1) / lengths
