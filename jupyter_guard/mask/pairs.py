"""``key=value`` secrets inside one run longer than a value can be (a long query string:
``password=…&token=…&…``): each value ends where the next key starts, so no pair shows past the
end of a value's ``MAX_VALUE`` cut. ``keyed_in_run`` finds the keys and values of such a run in
numpy (ASCII text): one ``re`` step per key cost ~2 µs, 120 ms for a megabyte of pairs. Where
the text is not ASCII, each key is matched by ``re`` as before; a test compares the two.
"""
from __future__ import annotations

import functools
import re
from bisect import bisect_right
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


def keyed_in_run(text: str, det: Detector, a: int, b: int,
                 cut: list[int] | None = None) -> list[Span]:
    """The ``key=value`` secrets of a run ``text[a:b]`` longer than one value, each value ending
    where the next key starts (``password=x&token=y&…``: without that cut, a pair across the end
    of one value's ``MAX_VALUE`` would show). Each key is matched once, to the next: linear.
    In ASCII text, the keys and values of ``REGION`` characters are found at once in numpy and
    each call reads its part (the last key's value by ``re``: it ends at the next key after
    ``b``). ``cut``: gets the indices of the values cut at ``MAX_VALUE``."""
    held = _LAST[-1:]  # (a copy: another thread's scan may replace or drop it meanwhile)
    last = held[0] if held else None
    if last is None or last[0] is not text or not last[1] <= a or b > last[2]:
        last = _region(text, a, min(len(text), max(b, a + REGION)))
        if last is None:
            got = keyed_by_re(text, det, a, b)
            if cut is not None:
                cut += [i for i, (x, y, _) in enumerate(got) if y - x >= MAX_VALUE]
            return got
        _LAST[:] = [last]
    _, _, _, starts, ends, v_starts, v_ends = last
    np = _np()
    lo = int(np.searchsorted(starts, a, "left"))
    hi = int(np.searchsorted(ends, b, "right"))  # (matches end by b; ends rise as starts do)
    if hi <= lo:
        return []
    final = int(starts[hi - 1])
    closing = list(det.find_at(text, final, _after(text, b, final)))  # the last key's value
    x = v_starts[lo:hi - 1]
    y = _joined(x, v_ends[lo:hi - 1], closing[0][1] if closing else -1)
    keep = y > x  # (a value cut under 4 characters too: ``password=ab&token=…``)
    name = det.name
    out: list[Span] = list(zip(x[keep].tolist(), y[keep].tolist(), repeat(name)))
    if cut is not None:  # (the values cut at ``MAX_VALUE``, by index: for ``inside``)
        cut += np.flatnonzero(y[keep] - x[keep] >= MAX_VALUE).tolist()
    for p, q in closing:
        if cut is not None and q - p >= MAX_VALUE:
            cut.append(len(out))
        out.append((p, q, name))
    return out


KEPT = 16
"""``copies`` drops a run's first values only where at least this many are left: the next
chunk reads the last 16 values found (where the last search ended), which are then the same."""


def copies(before: list[Span] | tuple[()], keyed: list[Span]) -> int:
    """How many of ``keyed``'s first values are the last ones found before (``before``: the
    chunks before this one), in the same order (but for its last one, which may differ): the
    chunk before read the same run of pairs
    up to its window's end, ``MAX_VALUE`` past its own (a quarter more spans, each resolved,
    copied and masked after the scan). Only exact copies are counted (a list compared in C),
    and none where fewer than ``KEPT`` values would be left."""
    if not before or len(keyed) <= KEPT:
        return 0
    m = bisect_right(keyed, before[-1])  # (a run's values rise, each past the one before)
    # the chunk before's last value may run to the next key after its window (``_after``)
    # where this chunk's ends at a stop: then both are kept, the copies before it dropped
    last = 0 if keyed[m - 1: m] == before[-1:] else 1
    n = m - last
    if n <= 0 or len(keyed) - n < KEPT:
        return 0
    return n if list(before[len(before) - n - last:len(before) - last]) == keyed[:n] else 0


def _joined(x: Any, y: Any, after: int) -> Any:
    """The ends of values ``x``/``y`` cut at the next key, where an empty one (the next key
    starts right where it would: ``pwd=token=hunter22``) ends with the next value that is not
    empty (or at ``after``, the end of the value of the key after them all, if > 0), as the
    precise pattern takes the key word after it into its value."""
    np = _np()
    empty = y <= x
    if not empty.any():
        return y
    nxt = np.where(empty, len(x), np.arange(len(x)))
    nxt = np.minimum.accumulate(nxt[::-1])[::-1]  # the next value not empty, from each one
    ok = empty & (nxt < len(x))
    y = y.copy()
    y[ok] = y[nxt[ok]]
    if after > 0:
        y[empty & ~ok] = after
    return y


def keyed_by_re(text: str, det: Detector, a: int, b: int) -> list[Span]:
    """``keyed_in_run`` by ``re``: each key matched by the precise pattern, to the next key."""
    found = list(KEYED.finditer(text, a, b))
    if not found:
        return []
    keys = [k.start() for k in found]
    stops = [*keys[1:], _after(text, b, keys[-1])]
    last = list(det.find_at(text, keys[-1], stops[-1]))
    xs, ys = [], []
    for k, stop in zip(found[:-1], stops):  # (a value under 4 characters too, or empty)
        got = list(det.find_at(text, k.start(), stop))
        if not got:
            v = _VALUE.match(text, k.end(), stop)
            got = [v.span(1) if v else (stop, stop)]
        xs += [p for p, _ in got]
        ys += [q for _, q in got]
    np = _np()
    x = np.array(xs, dtype=np.int64)
    y = _joined(x, np.array(ys, dtype=np.int64), last[0][1] if last else -1)
    keep = y > x
    return [*zip(x[keep].tolist(), y[keep].tolist(), repeat(det.name)),
            *((p, q, det.name) for p, q in last)]


_VALUE = re.compile(r"\s*+[\"']?([^\s\"',;]{0," + str(MAX_VALUE) + "}+)")
"""A key's value from the end of its ``KEYED`` match, as ``_region`` reads it (white space, a
quote, then what a value holds), where the precise pattern finds none (under 4 characters)."""


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


_TOKEN_STARTS = (r"[^A-Za-z0-9_/+-](?:sk[-_]|rk_|gh[pousr]_|github_|glpat|xox|AKIA|ASIA"
                 r"|AIza|eyJ|-----BEGIN|[A-Za-z0-9_+/-]{32})")
_STARTS = r"[^A-Za-z0-9_](?i:" + SECRET_KEYS + ")|" + _TOKEN_STARTS
"""The character before a place where a secret can start inside a run (the secret pattern's
left boundaries, then its key words, prefixes or a bare token's first 32 characters): a
necessary condition, for RE2 (no look-behinds) over the run's characters. In a run whose
keys ``keyed_in_run`` reads, the tokens' alone (a key per pair found again cost ~1.5 ms a
chunk)."""


@functools.lru_cache(maxsize=2)
def _starts(keys: bool) -> Any:
    import re2  # (the scan calls this only when RE2 is installed)

    options = re2.Options()
    options.max_mem = 64 << 20  # (the counted run's states are kept, as ``scan`` keeps them)
    return re2.compile(_STARTS if keys else _TOKEN_STARTS, options=options)._regexp.Match


def inside(text: str, det: Detector, a: int, stop: int, near: list[tuple[int, int]],
           keyed: list[Span], cut: list[int], run_end: int = -1) -> list[Span]:
    """The secrets that start in ``text[a + 1:stop]`` (a run of the secret candidate longer
    than ``scan.LONG``, confirmed from its start ``a``) outside the matches already found
    there (``near`` and ``keyed``), as the precise pattern's ``finditer`` finds them: each
    search goes on where the last match ended. Without this, a token after a key word's value
    cut at ``MAX_VALUE`` (``pwd=<4,100 characters>&ghp_…``), or after a key word whose value
    does not match, showed. ``keyed``: ``keyed_in_run``'s values of the run (``run_end``:
    its end, -1 where the run is not read by it), each running to the next key unless cut at
    ``MAX_VALUE`` (``cut``: their indices): only before the first, past a cut one and after
    the last is there anything to find (no step per value), and keys ending by ``run_end``
    are its own (values under 4 characters dropped), not matched again.
    One RE2 pass over those parts (one byte per character: a non-ASCII one is in none of the
    pattern's classes, as '?' is not), one anchored match per place it finds."""
    taken = [t for t in near if t[1] > a and t[0] < stop]
    parts = [(a + 1, stop)]  # (the caller tried ``a`` itself)
    if keyed:
        parts = [(a + 1, keyed[0][0])]
        for i in cut:
            if i + 1 < len(keyed):  # (the last one's part is the last part)
                parts.append((keyed[i][1], keyed[i + 1][0]))
                taken.append(keyed[i + 1][:2])
        parts.append((keyed[-1][1], stop))
        taken.append(keyed[0][:2])
    taken.sort()
    out: list[Span] = []
    cur = a
    for lo, hi in parts:
        lo, hi = max(lo, a, cur), min(hi, stop)
        if hi > lo:
            cur = _inside(text, det, lo, hi, taken, run_end, out, lo)
    if run_end >= 0:  # a key across the run's end is not ``keyed_in_run``'s
        out += _across(text, det, max(a + 1, cur, run_end - 64), stop, run_end, taken)
    return out


def _across(text: str, det: Detector, lo: int, stop: int, run_end: int,
            taken: list[tuple[int, int]]) -> list[Span]:
    """The value of a key that starts in ``text[lo:stop]`` and ends past ``run_end``."""
    for key in KEYED.finditer(text, lo, min(len(text), run_end + 64)):
        p = key.start()
        if p >= stop:
            break
        if key.end() <= run_end or any(x <= p < y for x, y in taken):
            continue
        got = list(det.find_at(text, p, len(text)))
        if got and not any(p < x < got[0][1] for x, _ in taken):
            return [(x, y, det.name) for x, y in got]
    return []


def _inside(text: str, det: Detector, a: int, stop: int, taken: list[tuple[int, int]],
            keyed: int, out: list[Span], cur: int) -> int:
    """``inside`` over ``text[a:stop]``, searching from ``cur``; returns where the next search
    goes on."""
    import re2

    match, anchor, n = _starts(keyed < 0), re2._re2.RE2.Anchor.UNANCHORED, len(text)
    base = max(a - 1, 0)
    data = text[base:stop + 64].encode("ascii", "replace")
    end, k = len(data), 0
    pos = cur - 1 - base if cur else 0  # (a start at ``p`` is found at the character before)
    if not data[pos:stop - base].translate(None, _WORD):
        return cur  # (word characters only: nothing starts inside a token's run)
    while pos < end:
        hit = match(anchor, data, pos, end)[0][0]
        if hit < 0:
            break
        p, pos = base + hit + 1, hit + 1
        if p >= stop:
            break
        while k < len(taken) and taken[k][1] <= p:
            k += 1
        if k < len(taken) and taken[k][0] <= p:  # inside a match taken: go on past it
            cur = max(cur, taken[k][1])
            pos = max(pos, cur - 1 - base)
            continue
        if p < cur:
            continue
        got = list(det.find_at(text, p, n))
        if not got or (k < len(taken) and got[0][1] > taken[k][0]):
            continue  # (none, or one running into a match taken: that one is kept)
        out += [(x, y, det.name) for x, y in got]
        cur = got[0][1]
        pos = max(pos, cur - 1 - base)
    return cur
