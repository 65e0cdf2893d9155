"""``key=value`` secrets inside one run longer than a value can be (a long query string:
``password=…&token=…&…``): each value ends where the next key starts, so no pair shows past the
end of a value's ``MAX_VALUE`` cut. ``keyed_in_run`` finds the keys and values of such a run in
numpy (ASCII text): one ``re`` step per key cost ~2 µs, 120 ms for a megabyte of pairs. Where
the text is not ASCII, each key is matched by ``re`` as before; a test compares the two.
"""
from __future__ import annotations

import re
from itertools import repeat
from typing import Any

from .detect import Detector
from .native import _np, _table  # numpy loaded only for long runs of pairs
from .patterns import MAX_VALUE, SECRET_KEYS

Span = tuple[int, int, str]

KEYED = re.compile(r"(?<![\w])" + SECRET_KEYS + r"[\"']?\s*[:=]", re.ASCII | re.IGNORECASE)
"""Where a ``key=value`` secret can start again inside a run: a value is at most ``MAX_VALUE``
long, and a run of pairs joined by ``&`` (a long query string) holds key words past it."""

WORDS = (b"password", b"passwd", b"pwd", b"secret", b"token", b"apikey", b"api_key", b"api-key",
         b"accesskey", b"access_key", b"access-key", b"auth")
"""``SECRET_KEYS`` spelt out (lower case): a test checks they are the words it matches."""


REGION = 1 << 18
"""How far past a run's start its keys and values are found at once: the scan asks for each
chunk's part of a run in turn, and reads them from the same arrays."""

_LAST: list[tuple[str, int, int, Any, Any, Any, Any]] = []
"""The last region read: ``(text, start, end, key starts, key ends, value starts, value
ends)``, each value ending at the next key (the region's last key's value is not known)."""


def forget() -> None:
    """Drop the last region read (the scan calls this when it is done with a text)."""
    _LAST.clear()


def keyed_in_run(text: str, det: Detector, a: int, b: int) -> list[Span]:
    """The ``key=value`` secrets of a run ``text[a:b]`` longer than one value, each value ending
    where the next key starts (``password=x&token=y&…``: without that cut, a pair across the end
    of one value's ``MAX_VALUE`` would show). Each key is matched once, to the next: linear.
    In ASCII text, the keys and values of ``REGION`` characters are found at once in numpy and
    each call reads its part (the last key's value by ``re``: it ends at the next key after
    ``b``)."""
    held = _LAST[-1:]  # (a copy: another thread's scan may replace or drop it meanwhile)
    last = held[0] if held else None
    if last is None or last[0] is not text or not last[1] <= a or b > last[2]:
        last = _region(text, a, min(len(text), max(b, a + REGION)))
        if last is None:
            return keyed_by_re(text, det, a, b)
        _LAST[:] = [last]
    _, _, _, starts, ends, v_starts, v_ends = last
    np = _np()
    lo = int(np.searchsorted(starts, a, "left"))
    hi = int(np.searchsorted(ends, b, "right"))  # (matches end by b; ends rise as starts do)
    if hi <= lo:
        return []
    final = int(starts[hi - 1])
    x, y = v_starts[lo:hi - 1], v_ends[lo:hi - 1]
    keep = y - x >= 4
    name = det.name
    out: list[Span] = list(zip(x[keep].tolist(), y[keep].tolist(), repeat(name)))
    out += [(p, q, name) for p, q in det.find_at(text, final, _after(text, b, final))]
    return out


def keyed_by_re(text: str, det: Detector, a: int, b: int) -> list[Span]:
    """``keyed_in_run`` by ``re``: each key matched by the precise pattern, to the next key."""
    keys = [k.start() for k in KEYED.finditer(text, a, b)]
    if not keys:
        return []
    stops = [*keys[1:], _after(text, b, keys[-1])]
    return [(x, y, det.name) for p, stop in zip(keys, stops) for x, y in det.find_at(text, p, stop)]


def _after(text: str, b: int, last_key: int) -> int:
    """Where the last key's value must stop: the run may go on past ``b`` (the chunk's window
    ends there), so at the next key after it, or at its full length."""
    last = min(len(text), last_key + MAX_VALUE + 64)
    after = KEYED.search(text, max(b, last_key + 1), last)
    return after.start() if after else last


_SPACE = b" \t\n\r\f\v"
"""``\\s`` in ASCII."""
_STOPS = _SPACE + b"\"',;"
"""What a value (``[^\\s\"',;]``) does not hold."""
_IS_SPACE = bytes(c in _SPACE for c in range(256))
_IS_STOP = bytes(c in _STOPS for c in range(256))
"""Tables for ``bytes.translate``: 1 for the bytes of each class, else 0 (read as booleans)."""
_WORD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"


def _region(text: str, a: int, b: int) -> tuple[str, int, int, Any, Any, Any, Any] | None:
    """``_LAST``'s entry for ``text[a:b]``: ``KEYED``'s matches there (as ``finditer`` finds
    them) and each one's value to the next; None where the text there is not ASCII. A match
    ends with its first ':' or '=': from each of those, back over white space and a quote, a
    key word must end there, not after a word character."""
    base = max(a - 1, 0)
    part = text[base:b]
    if not part.isascii():
        return None
    np = _np()
    pad = a == 0  # (no character before the text: a key may start at 0)
    raw = (b"\0" if pad else b"") + part.encode("ascii")
    base -= pad
    d = np.frombuffer(raw, dtype=np.uint8)
    n = len(d)
    i = np.flatnonzero((d == 61) | (d == 58))
    i = i[i >= 2]
    space = np.frombuffer(raw.translate(_IS_SPACE), dtype=bool)
    j = i - 1  # the last character before the ':' or '=' that is not white space
    spaced = np.flatnonzero(space.take(j))
    if len(spaced):
        solid = np.flatnonzero(~space)
        at = np.searchsorted(solid, j[spaced], "right") - 1
        j[spaced] = np.where(at >= 0, solid[np.maximum(at, 0)], 0)
    kend = j + ~_table(b"\"'").take(d.take(j))  # a quote right after the key word
    # the eight bytes before each key word's end, lower case, as one number: a key word is
    # its last eight letters (and the two before them for the longer ones)
    low = b"\0" * 16 + raw.lower()
    eights = np.ndarray((len(low) - 7,), dtype="<u8", buffer=low, strides=(1,))
    last8, before8 = eights.take(kend + 8), eights.take(kend)
    start = np.full(len(i), -1, dtype=np.int64)
    for w in WORDS:
        tail, head = w[-8:], w[:-8]
        same = last8 >> np.uint64(64 - 8 * len(tail)) == int.from_bytes(tail, "little")
        if head:
            same &= before8 >> np.uint64(64 - 8 * len(head)) == int.from_bytes(head, "little")
        start[same] = kend[same] - len(w)
    word_char = _table(_WORD)
    start[(start >= 1) & word_char.take(d.take(np.maximum(start - 1, 0)))] = -1
    hit = start >= 1
    starts, e = start[hit], i[hit] + 1
    # each value: past white space (not beyond the next key) and a quote, up to what ends
    # a value, the next key or ``MAX_VALUE`` characters
    stop = np.append(starts[1:], n)
    vs = e.copy()
    spaced = np.flatnonzero(space.take(np.minimum(e, n - 1)) & (e < n))
    if len(spaced):
        solid = np.append(np.flatnonzero(~space), n)
        vs[spaced] = solid[np.searchsorted(solid, e[spaced], "left")]
    vs = np.minimum(vs, stop)
    vs += (vs < stop) & _table(b"\"'").take(d.take(np.minimum(vs, n - 1)))
    ends_at = np.append(np.flatnonzero(np.frombuffer(raw.translate(_IS_STOP), dtype=bool)), n)
    end = np.minimum(np.minimum(ends_at[np.searchsorted(ends_at, vs, "left")], stop),
                     vs + MAX_VALUE)
    return text, a, b, starts + base, e + base, vs + base, end + base
