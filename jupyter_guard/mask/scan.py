"""One scan of a text by every enabled detector, in time linear in the text.

Long texts are first read by RE2 (``google-re2``, a linear-time engine, much faster than
``re`` on text without candidates), chunk by chunk: chunks without any candidate shape are
skipped; in the others each candidate is confirmed by its detector's precise pattern
(look-arounds, validators) on a short window. Short texts, and
every text when RE2 is not installed, are scanned by the precise patterns directly, which are
linear too (see ``patterns``). Both give the same spans (a test compares them).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

from . import bulk
from .cover import dense_all
from .detect import Detector
from .pairs import KEYED, copies, forget, inside, keyed_in_run
from .patterns import MAX_VALUE, PREFILTER

try:  # google-re2 ships wheels; without it the precise patterns scan (slower, still linear)
    import re2 as _re2

    _UNANCHORED = _re2._re2.RE2.Anchor.UNANCHORED
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

RE2_MIN = 2048
"""Texts at least this long are scanned by RE2 (below, the per-call cost of RE2 dominates)."""

FEW = 16
"""Up to this many candidates of a detector in a chunk are confirmed one by one."""
LONG = 256
"""A candidate longer than this is a run (of key or address characters): it is confirmed
where it starts only (inside a run every left boundary fails)."""
_LOOKAHEAD = 8
"""How far past a candidate's end its confirming window reaches (for right boundaries)."""
CHUNK = 16384
"""Text is judged in chunks of this size: a chunk without any candidate of a detector is
skipped by that detector."""
SPAN = 4 * CHUNK
"""Chunks are first read in groups this long: a group without any candidate is skipped in one
set pass (its windows overlap less than the chunks' would: plain text is read ~1.06 times,
not 1.25)."""

Span = tuple[int, int, str]
_RUN = re.compile(r"\S*")
_KEYED_RUN = re.compile(r"\S*\s*\S*\s*\S*")
"""A secret candidate may end inside its key (``pwd": value``: a token candidate took the key
word): its value is then past white space, a ':' or '=' and white space again."""
_REACH = 64


MAX_MEM = 64 << 20
"""RE2's memory budget for one candidate pattern (its lazy DFA's states). With the default
(8 MB) the secret candidate's DFA (two counted runs of overlapping classes) filled up and was
rebuilt over and over on text dense with key-like tokens: ~40 ms a MB to find the candidates of
its chunks, against ~3 ms once its states are kept. Memory is taken as states are built."""


@functools.lru_cache(maxsize=64)
def _compiled(candidate: str) -> Any:
    options = _re2.Options()
    options.max_mem = MAX_MEM
    return _re2.compile(candidate, options=options)


def _candidates(candidate: str, window: Any) -> Iterator[tuple[int, int]]:
    """Spans of ``candidate`` in ``window``, left to right. ASCII text comes as bytes, where
    offsets need no decoding: RE2 is called directly, without the wrapper's match objects."""
    regex = _compiled(candidate)
    if not isinstance(window, bytes):
        yield from (m.span() for m in regex.finditer(window))
        return
    match, anchor, pos, end = regex._regexp.Match, _UNANCHORED, 0, len(window)
    while True:
        a, b = match(anchor, window, pos, end)[0]
        if a < 0:
            return
        yield a, b
        pos = b if b > pos else pos + 1  # (candidates are never empty; this guards progress)
        if pos > end:
            return


@functools.lru_cache(maxsize=8)
def _run_of(shortest: int, first: bool = False) -> Any:
    return _re2.compile("[A-Za-z0-9+/_-]{" + str(shortest) + ("}" if first else ",}"))


def base64_runs(text: str, shortest: int, first: bool = False) -> list[str] | None:
    """The distinct maximal runs of ``shortest`` or more base64 characters in ``text``, in
    order, found by RE2 in one pass (text without any costs ~1.5 ms a MB); None when RE2 is not
    installed. Non-ASCII characters and lone surrogates end a run, as in the numpy form.
    ``first``: only whether there is any (``[its first shortest characters]`` or ``[]``;
    numpy reads many runs faster).

    >>> base64_runs("a dXNlcjFAZXhhbXBsZS5jb20= b é dXNlcjFAZXhhbXBsZS5jb20", 16) in (
    ...     ["dXNlcjFAZXhhbXBsZS5jb20"], None)
    True
    """
    if _re2 is None:
        return None
    if first:   # block by block (each encoded as it is read), overlapping by a run's length
        match = _run_of(shortest, True)._regexp.Match
        for top in range(0, len(text), SPAN):
            block = text[top:top + SPAN + shortest - 1].encode("utf-8", "replace")
            a, b = match(_UNANCHORED, block, 0, len(block))[0]
            if a >= 0:   # (the pattern stops after ``shortest`` characters)
                return [block[a:b].decode("ascii")]
        return []
    data = text.encode("utf-8", "replace")
    match, pos, end = _run_of(shortest)._regexp.Match, 0, len(data)
    found: dict[bytes, None] = {}
    while pos < end:
        a, b = match(_UNANCHORED, data, pos, end)[0]
        if a < 0:
            break
        found[data[a:b]] = None
        pos = b
    return [r.decode("ascii") for r in found]


def engine() -> str:
    """``"re2"`` or ``"re"``: what scans long texts."""
    return "re2" if _re2 is not None else "re"


def scan_precise(text: str, detectors: Sequence[Detector]) -> list[Span]:
    """Every detector's precise pattern over the whole text."""
    return [(a, b, d.name) for d in detectors for a, b in d.find(text)]


def scan_short(text: str, detectors: Sequence[Detector]) -> list[Span]:
    """``scan_precise``'s spans, in bulk (one pass in C while the values hold) where the text
    is long enough to hold several."""
    if len(text) < BULK_MIN:
        return scan_precise(text, detectors)
    n = len(text)
    return [(a, b, d.name) for d in detectors for a, b in bulk.spans(d, text, 0, n)]


BULK_MIN = 256
"""Texts at least this long are read by ``bulk.spans`` (below, its set-up costs more)."""


@functools.lru_cache(maxsize=32)
def _which(candidates: tuple[str, ...]) -> Any:
    """An RE2 set: one pass over a chunk tells which candidate shapes occur in it."""
    options = _re2.Options()
    options.max_mem = 64 << 20
    found = _re2.Set.SearchSet(options)
    for c in candidates:
        found.Add(c)
    found.Compile()
    return found.Match


_SETS: dict[int, tuple[Sequence[Detector], Any, Any]] = {}


def _sets_for(detectors: Sequence[Detector]) -> tuple[Sequence[Detector], Any, Any]:
    """``(detectors, set match, raw set match)`` of the detectors' prefilters, looked up by the
    identity of the sequence (a settings object keeps its tuple of detectors; the entry keeps it
    alive, so ids stay theirs). The raw match takes UTF-8 bytes and skips the wrapper."""
    entry = _SETS.get(id(detectors))
    if entry is None or entry[0] is not detectors:
        if len(_SETS) > 64:
            _SETS.clear()
        match = _which(tuple(PREFILTER.get(d.name, d.candidate) for d in detectors))
        entry = (detectors, match, match.__self__._set.Match)
        _SETS[id(detectors)] = entry
    return entry


def _which_for(detectors: Sequence[Detector]) -> Any:
    return _sets_for(detectors)[1]


def _present(text: str, detectors: Sequence[Detector]) -> Sequence[Detector]:
    """The detectors with a candidate in a short ``text``: one RE2 set call (~1 µs) instead of
    every precise pattern (~1.5 µs each); a prefilter matches wherever its detector does."""
    hits = _sets_for(detectors)[2](text.encode("utf-8", "surrogatepass"))
    if not hits:
        return ()
    return [detectors[i] for i in sorted(hits)]   # detector order: ties resolve as before


def present(text: str, detectors: Sequence[Detector]) -> Sequence[Detector]:
    """The detectors that may have a value in ``text`` (in their order): those with a
    candidate, or all of them when RE2 is not installed."""
    return detectors if _re2 is None or not detectors else _present(text, detectors)


def _confirm(text: str, det: Detector, window: Any, lo: int, hi: int,
             before: list[Span] | tuple[()] = ()) -> list[Span] | None:
    """``det``'s values starting in ``text[lo:hi]`` (``window`` is ``text[lo:hi + MAX_VALUE]``,
    as bytes when the text is ASCII: offsets are the same, and RE2 need not encode it again),
    or None when the chunk has so many candidates that one precise pass over it is cheaper.
    ``before``: the values found in the chunks before (one may reach into this chunk)."""
    n, ends = len(text), []
    for a, b in _candidates(det.candidate, window):
        if lo + a >= hi:
            break
        ends.append((lo + a, lo + b))
        if len(ends) > FEW:
            return None
    out: list[Span] = []
    # a secret is searched for where the last one ended, as ``finditer`` does: a match may run
    # past its candidate (a token candidate 'glpat-…' whose match takes a key word after it)
    cur = max((y for x, y, _ in before[-16:] if x < lo), default=0) if det.name == "secret" \
        else 0
    for a, b in ends:
        if b - a > LONG:  # a long run: confirmed where it starts (a secret: and inside)
            many = det.name == "secret" and b - a > MAX_VALUE
            cut: list[int] = []
            keyed = keyed_in_run(text, det, a, b, cut) if many else []
            head: list[Span] = []
            if a >= cur and (not keyed or KEYED.match(text, a) is None):  # else a key at a
                head = [(x, y, det.name) for x, y in det.find_at(text, a, min(n, b + _LOOKAHEAD))]
            if det.name == "secret":
                near = sorted([(x, y) for x, y, _ in (*before[-16:], *out[-16:])]
                              + [(a, y) for _, y, _ in head])
                found = inside(text, det, a, min(b, hi), near, keyed, cut, b if many else -1)
                cur = max(cur, *(y for _, y, _ in (*head, *found)), keyed[-1][1] if keyed else 0)
                out += found
            out += head + keyed[copies(before, keyed):]  # (not those found already)
            continue
        # A candidate may end earlier than the precise match that starts there (an alternative
        # with a right boundary fails, and a longer one takes the whole run: 'AKIA…' followed
        # by more key characters), so the window reaches the end of the run it is in.
        # A value that starts inside a rejected candidate (a card after other digits) may end
        # past it: _REACH covers every detector of bounded length, the run covers the others.
        run = (_KEYED_RUN if det.name == "secret" else _RUN).match(  # (always matches)
            text, b, min(n, b + MAX_VALUE + _REACH))
        end = max(b + _REACH, run.end() if run else b)
        if cur >= min(b, hi):
            continue
        got = [(x, y, det.name) for s, x, y in det.matches_in(
            text, max(a, cur), min(n, end + _LOOKAHEAD)) if s < min(b, hi)]  # (later values
        # have candidates of their own)
        out += got
        if got and det.name == "secret":
            cur = max(cur, got[-1][1])
    return out


def _dense(text: str, det: Detector, ranges: list[tuple[int, int]],
           spans_of: Callable[..., list[tuple[int, int]]] = bulk.spans) -> list[Span]:
    """One precise pass per run of adjacent dense chunks (values starting in the run)."""
    n, out, name = len(text), [], det.name
    runs: list[list[int]] = []
    for lo, hi in ranges:
        if runs and runs[-1][1] == lo:
            runs[-1][1] = hi
        else:
            runs.append([lo, hi])
    for lo, hi in runs:
        spans = spans_of(det, text, lo, min(n, hi + MAX_VALUE))
        past = []
        while spans and spans[-1][0] >= hi:  # starts past the run: its own chunk finds it
            past.append(spans.pop())
        out += [(a, b, name) for a, b in spans]
        if past and name == "secret":  # unless its key is in the run (``pwd: |value``)
            out += _keyed_past(text, det, hi, past[-1][0])
    return out


def _keyed_past(text: str, det: Detector, hi: int, x: int) -> list[Span]:
    """The value starting at ``x`` (at or past ``hi``) when its key word starts before ``hi``."""
    for key in KEYED.finditer(text, max(0, x - _REACH), x):
        if key.start() >= hi:
            break
        got = list(det.find_at(text, key.start(), len(text)))
        if got and got[0][0] == x:
            return [(x, got[0][1], det.name)]
    return []


class _Ascii:
    """An ASCII text whose slices are read as bytes (RE2 reads bytes without encoding them
    again; each window is encoded as it is read, not the whole text at once: no copy of a
    50 MB text, and the window stays in the cache)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, cut: slice) -> bytes:
        return self.text[cut].encode("ascii")


def _chunks(data: Any, which: Any) -> Iterator[tuple[int, int, Any, Any]]:
    """``(lo, hi, window, detectors with candidates)`` of each chunk that has any candidate:
    ``window`` is ``data[lo:hi + MAX_VALUE]``. A group of chunks is read once by the set first,
    and its chunks only when it holds a candidate; after a group with candidates the next one
    goes straight to its chunks (text full of candidates is not read twice)."""
    n, busy = len(data), False
    for top in range(0, n, SPAN):
        if not busy and not which(data[top:min(n, top + SPAN + MAX_VALUE)]):
            continue
        busy = False
        for lo in range(top, min(n, top + SPAN), CHUNK):
            hi = min(n, lo + CHUNK)
            window = data[lo:min(n, hi + MAX_VALUE)]
            found = which(window)
            if found:
                busy = True
                yield lo, hi, window, found


def scan_re2(text: str, detectors: Sequence[Detector], distinct: bool = True) -> list[Span]:
    """Chunk by chunk: one RE2 set pass tells which detectors have candidates there; their
    candidates are confirmed one by one on short windows. A detector with many candidates in
    a chunk (text dense with values) instead gets one precise pass over each run of such
    chunks. Each chunk is read a bounded number of times: linear. ``distinct``: see ``scan``.
    """
    found: list[list[Span]] = [[] for _ in detectors]  # by detector: ties resolve as precise
    which = _which_for(detectors)
    data: Any = _Ascii(text) if text.isascii() else text
    dense: dict[int, list[tuple[int, int]]] = {}
    for lo, hi, window, hits in _chunks(data, which):
        for i in hits:
            spans = _confirm(text, detectors[i], window, lo, hi, found[i])
            if spans is None:
                dense.setdefault(i, []).append((lo, hi))
            else:
                found[i] += spans
    dense_all(text, detectors, dense, found, _dense)
    out = list(chain.from_iterable(found))
    if distinct or len(out) < DISTINCT_MIN:  # two candidates in one run (two chunks' windows
        return list(dict.fromkeys(out))  # over a run of pairs) confirm the same value once
    return out


DISTINCT_MIN = 4096
"""``scan(..., distinct=False)`` keeps exact copies of a span only in lists this long or longer
(below, dropping them is cheap, and a caller's threshold on a count sees distinct spans)."""


def scan(text: str, detectors: Sequence[Detector], distinct: bool = True) -> list[Span]:
    """``(start, end, detector)`` of every detected value (may overlap; callers resolve), each
    once; ``distinct=False``: a long list may hold exact copies of a span, for callers whose
    resolving drops them (an exact copy overlaps its twin; copies keep the order of first
    sight): ~5 ms less a MB of ``key=value`` pairs."""
    if _re2 is None or not detectors:
        return scan_precise(text, detectors)
    if len(text) >= RE2_MIN:
        try:
            return scan_re2(text, detectors, distinct)
        except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only, the precise
            return scan_precise(text, detectors)  # patterns read any str (slower, still linear)
        finally:
            forget()  # (the pairs of this text's long runs: the text is not kept)
    return scan_short(text, _present(text, detectors))


def first(text: str, detectors: Sequence[Detector]) -> str:
    """The name of a detector with a value in ``text`` ('' if none): ``scan`` that stops at the
    first chunk holding a value (an exit refuses on one value; it need not find them all)."""
    if _re2 is None or len(text) < RE2_MIN or not detectors:
        for d in (detectors if _re2 is None or not detectors else _present(text, detectors)):
            if next(iter(d.find(text)), None) is not None:
                return d.name
        return ""
    try:
        return _first_re2(text, detectors)
    except UnicodeEncodeError:  # a lone surrogate (see ``scan``): every precise pattern instead
        return next((d.name for d in detectors if next(iter(d.find(text)), None) is not None), "")


def _first_re2(text: str, detectors: Sequence[Detector]) -> str:
    try:
        return _first_chunks(text, detectors)
    finally:
        forget()  # (the pairs of this text's long runs)


def _first_chunks(text: str, detectors: Sequence[Detector]) -> str:
    which = _which_for(detectors)
    data: Any = _Ascii(text) if text.isascii() else text
    for lo, hi, window, hits in _chunks(data, which):
        for i in hits:
            found = _confirm(text, detectors[i], window, lo, hi)
            if found is None:
                found = _dense(text, detectors[i], [(lo, hi)])
            if found:
                return str(detectors[i].name)
    return ""
