"""Known nine-digit values (SSNs) written after one transform shared by the whole series: a
constant added (``n + 1``, ``K - n``), a constant ratio (``n * 3.0``, ``n / 7``) or a constant
xor key (``n ^ 0x5A5A5A5A``).

The constant is found from the data: the first ``m`` distinct numbers of the series (the
*sample*) are paired with every known value, and a difference, sum, xor or ratio that at least
``SEEN`` sample numbers share is a candidate key (a key honest numbers share with random known
values by chance is rare: it takes three known values at the same distances as three sample
numbers). Each candidate key (``KEYS`` at most a transform) is then applied to the numbers *after*
the sample, and what it rebuilds is counted by the caller's tally: every number tried is a
candidate, under the same Poisson bound as every derived form (so the sample that chose the
key does not count for it), its chance weighed by how dense the known values lie around it.

What the data cannot tell is not read: a key that differs from number to number (a keyed
stream, a hash), an affine map with both a ratio and an offset, a series shorter than the
sample; a sample that is mostly a progression (``_regular``: a counter shifted is a run of
known values shifted); known sets above ``MAX_KNOWN`` values (the sample would be too small
to find a key).

>>> import numpy as np
>>> from jupyter_guard.hooks.known_binary import Tally
>>> rng = np.random.default_rng(0)
>>> known = np.unique(rng.integers(100_000_000, 1_000_000_000, 300))
>>> t = Tally(); transforms(known ^ 0x5A5A5A5A, t, known); len(t.hits)
236
>>> t = Tally(); transforms(known * 3.0, t, known); len(t.hits)
236
>>> t = Tally(); transforms(rng.integers(100_000_000, 900_000_000, 300), t, known); len(t.hits)
0
"""
from __future__ import annotations

from typing import Any

import numpy as np

from jupyter_guard.hooks.known_binary_parts import HIGH, LOW, dense

BUDGET = 50_000
"""Sample numbers times known values paired at most, per transform."""
MAX_KNOWN = 50_000
"""Known values past which no key is looked for (the sample, six numbers, would cost too much)."""
SEEN = 3
KEYS = 3
_TOL = 1e-3   # how near an integer a number divided by the ratio must be


def transforms(v: np.ndarray, t: Any, known: np.ndarray) -> None:
    """Keys shared by the series ``v`` (int64 or float64) against ``known``, counted in ``t``."""
    if len(known) > MAX_KNOWN or len(v) < 8:
        return
    m = int(min(64, max(6, BUDGET // len(known)), max(6, len(v) // 4)))
    head = v[:4096]
    if head.dtype.kind == "f":
        with np.errstate(all="ignore"):
            whole = np.isfinite(head) & (head == np.floor(head)) & (np.abs(head) < 2.0 ** 40)
        if whole.all():   # integer-valued floats: their integers too
            _series(head.astype(np.int64), v, t, known, m)
        _ratios(head, v, t, known, m)
        return
    _series(head.astype(np.int64, copy=False), v, t, known, m)


def _sample(head: np.ndarray, ok: np.ndarray, m: int) -> tuple[np.ndarray, int]:
    """The first ``m`` distinct numbers of ``head`` where ``ok``, and where the rest begins."""
    at = np.flatnonzero(ok)
    if len(at) < m:
        return head[:0], len(head)
    vals, first = np.unique(head[at], return_index=True)
    if len(vals) < m:
        return head[:0], len(head)
    order = np.sort(at[first])[:m]
    return head[order], int(order[-1]) + 1


def _keys(keys: np.ndarray, skip: float) -> list[Any]:
    """Keys seen at least ``SEEN`` times (not ``skip``: no transform), most seen first."""
    vals, counts = np.unique(keys, return_counts=True)
    many = np.flatnonzero(counts >= SEEN)
    many = many[np.argsort(-counts[many], kind="stable")]
    return [vals[i] for i in many if vals[i] != skip][:KEYS]


def _series(head: np.ndarray, v: np.ndarray, t: Any, known: np.ndarray, m: int) -> None:
    s, rest_at = _sample(head, (head != 0) & (np.abs(head) < 2 ** 40), m)
    if not len(s) or _regular(s):
        return
    rest = v[rest_at:]
    if rest.dtype.kind == "f":
        with np.errstate(all="ignore"):
            ok = np.isfinite(rest) & (np.abs(rest) < 2.0 ** 40)
            rest = np.where(ok & (rest == np.floor(rest)), rest, 0).astype(np.int64)
    col = s[:, None]
    for how, keys in (("add", col - known), ("sub", col + known), ("xor", col ^ known)):
        for key in _keys(keys.ravel(), 0):
            w = rest - key if how == "add" else key - rest if how == "sub" else rest ^ key
            _count(w[rest != 0], t, known)


def _regular(s: np.ndarray) -> bool:
    """Whether the sample is mostly a progression (a counter, a grid, timestamps at a fixed
    step): against known values that are themselves a run (``100000000 + n``) any offset lines
    up, and the numbers tell nothing."""
    _, counts = np.unique(np.diff(np.sort(s)), return_counts=True)
    return int(counts.max()) * 2 >= len(s) - 1


def _ratios(head: np.ndarray, v: np.ndarray, t: Any, known: np.ndarray, m: int) -> None:
    with np.errstate(all="ignore"):
        ok = np.isfinite(head) & (np.abs(head) > 1e-15) & (np.abs(head) < 1e18)
    s, rest_at = _sample(head, ok, m)
    if not len(s):
        return
    q = (s[:, None] / known).ravel()
    near = (q.view(np.int64) + 2048) >> 12   # the same ratio to about 12 digits
    rest = v[rest_at:]
    for key in _keys(near, (np.float64(1.0).view(np.int64) + 2048) >> 12):
        ratio = q[np.flatnonzero(near == key)[0]]
        with np.errstate(all="ignore"):
            x = rest / ratio
            r = np.rint(x)
            ok = np.isfinite(x) & (np.abs(x - r) <= _TOL)
        _count(r[ok & (r >= LOW) & (r < HIGH)].astype(np.int64), t, known)


def _count(w: np.ndarray, t: Any, known: np.ndarray) -> None:
    w = w[(w >= LOW) & (w < HIGH)]
    t.exact(w, known)
    t.near(dense(known, w), len(w), known)
