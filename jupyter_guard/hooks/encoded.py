"""Values hidden in base64, base32 or hex on their way out
(``urlopen(url + '?q=' + b64encode(vals))``).

The exits' scan decodes every run that reads as base64, base32 or hex (a URL, a header, a command
line, a file's write) and scans what comes out as well. Only runs of 16+ characters that decode
to mostly printable text count, so hashes, ids and binary blobs add nothing to scan. The runs are
found in a few vectorised passes first (``runs``: translate, then numpy), so text with none
costs ~7 ms a MB; runs of more than ``MAX`` characters in all are not decoded.

>>> decoded("q=dXNlcjFAZXhhbXBsZS5jb20sdXNlcjJAZXhhbXBsZS5jb20=&x=1")
'user1@example.com,user2@example.com'
>>> decoded("id=313030303030303132")
'100000012'
>>> decoded("sha=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
''
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any

MAX = 1 << 22
"""Runs longer than this in all are not decoded (the detectors and known values only)."""
_RUN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_TO_SPACE = bytes(c if c in _RUN else 32 for c in range(256))
# the ASCII characters neither printable nor white space (``str.isprintable``/``isspace``)
_CONTROL = bytes(range(9)) + bytes(range(14, 28)) + b"\x7f"
# each run is tried from its first character only (the look-behind), so a scan is linear
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}){8,}")
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")


def decoded(text: str) -> str:
    """What the base64 and hex runs of ``text`` decode to, where it is mostly printable text,
    one per line ('' when none, or when the runs are longer than ``MAX`` in all)."""
    found = runs(text)
    if not found or sum(map(len, found)) > MAX:
        return ""
    out: list[str] = []
    for run in found:
        if not run.strip(B32_CHARS):   # upper-case letters and 2-7: base32 first
            _keep(out, base32(run))
        for m in _HEX.finditer(run):
            _keep(out, bytes.fromhex(m.group()))
        if run.isdigit() or run.isalpha():   # a number or a word, not an encoding
            continue
        url = "-" in run or "_" in run
        if url and ("+" in run or "/" in run):   # both alphabets: neither decodes it (a path)
            continue
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4),
                                   altchars=b"-_" if url else None, validate=True)
        except (binascii.Error, ValueError):
            continue
        _keep(out, raw)
    return "\n".join(out)


def runs(text: str, shortest: int = 16) -> list[str]:
    """The distinct runs of ``shortest`` (8 to 16) or more base64 characters in ``text``, in
    order: everything either pattern can match lies whole inside one run. Texts longer than
    ``TINY`` are read by RE2 (``mask.scan.base64_runs``) when it is installed: up to ``SMALL``
    for their runs, longer ones for whether they have any. Otherwise (and for long texts with
    runs) those up to ``SMALL`` are searched with one regex (a guarded child's first small
    write does not load numpy), longer ones in a few numpy passes.

    >>> runs("a dXNlcjFAZXhhbXBsZS5jb20= b dXNlcjFAZXhhbXBsZS5jb20 c"), runs("no run here")
    (['dXNlcjFAZXhhbXBsZS5jb20'], [])
    """
    if len(text) > TINY:   # RE2: all runs of a short text, or whether a long one has any
        from jupyter_guard.mask.scan import base64_runs

        found = base64_runs(text, shortest, first=len(text) > SMALL)
        if found is not None and (len(text) <= SMALL or not found):
            return found
    if len(text) <= SMALL:
        return list(dict.fromkeys(m.group() for m in _runs_of(shortest).finditer(text)))
    import numpy as np

    raw = text.encode("utf-8", "replace").translate(_TO_SPACE)
    inside = np.frombuffer(raw, np.uint8) != 32
    long = inside
    for step in (1, 2, 4, shortest - 8):   # long[i]: ``shortest`` characters from i are inside
        long = long[:-step] & long[step:] if step else long
    if not long.any():   # the common case, in a few vectorised passes
        return []
    edges = np.diff(inside, prepend=False, append=False)
    bounds = np.flatnonzero(edges).reshape(-1, 2)   # [start, end) of every run
    bounds = bounds[bounds[:, 1] - bounds[:, 0] >= shortest]
    return [r.decode("ascii") for r in dict.fromkeys(raw[a:b] for a, b in bounds.tolist())]


SMALL = 1 << 16
TINY = 1024
"""Texts longer than this are searched by RE2 when it is installed."""


@functools.cache
def _runs_of(shortest: int) -> re.Pattern[str]:
    return re.compile("[A-Za-z0-9+/_-]{" + str(shortest) + ",}")


def _keep(out: list[str], raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:   # random bytes (a hash, a blob): nothing readable to scan
        return
    if text and readable(text):
        out.append(text)


def readable(text: str) -> bool:
    """At least 90% of ``text`` is printable or white space."""
    if text.isprintable():
        return True
    if text.isascii():
        return len(text.encode("ascii").translate(None, _CONTROL)) >= 0.9 * len(text)
    return sum(c.isprintable() or c.isspace() for c in text) >= 0.9 * len(text)


B32_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
"""A run of only these may be base32 (``b32encode``)."""


def base32(run: str) -> bytes:
    """``run`` decoded as base32 from its first character: its padding restored, or a cut
    last quantum dropped (b'' when it does not decode).

    >>> base32("KRUGS4ZANFZSAYJAORSXG5A"), base32("GEYDAMBQGAYDAMI")
    (b'This is a test', b'100000001')
    """
    body = run + "=" * (-len(run) % 8) if len(run) % 8 in (0, 2, 4, 5, 7) else \
        run[:len(run) // 8 * 8]
    try:
        return base64.b32decode(body)
    except (binascii.Error, ValueError):
        return b""


HEX_CHARS = "0123456789abcdefABCDEF-"
"""A run of only these is read as hex (a UUID's dashes split it)."""
_URL = bytes.maketrans(b"-_", b"+/")


def plausible(found: list[str], shortest: int = 8) -> list[str]:
    """The runs of ``found`` that may decode to text: at some alignment, as hex (runs of hex
    digits) or base64, at least 80% of their bytes are printable ASCII. Decoded all at once
    (one C call per alignment) and counted in numpy: a megabyte of digests, UUIDs or ids costs
    a few passes, not a decode per run. Text with no ASCII at all is not looked for, nor runs
    that decode to fewer than ``shortest`` bytes."""
    import numpy as np

    keep: dict[str, None] = {}
    hexes = [r for r in found if not r.strip(HEX_CHARS)]
    pieces = [(r, p) for r in hexes for p in (r.split("-") if "-" in r else (r,))
              if len(p) >= 2 * shortest]
    for a in (0, 1):
        segs = [p[a:a + ((len(p) - a) & ~1)] for _, p in pieces]
        _halves(keep, [r for r, _ in pieces], bytes.fromhex("".join(segs)),
                [len(s) // 2 for s in segs], np, shortest)
    b64 = [r for r in found if r.strip(HEX_CHARS) and not (
        ("-" in r or "_" in r) and ("+" in r or "/" in r))]   # both alphabets: a path
    raw = "".join(b64).encode("ascii").translate(_URL)
    starts = np.cumsum([0] + [len(r) for r in b64]).tolist()
    for a in range(4):
        quanta = [raw[s + a:s + a + (len(r) - a) // 4 * 4] for r, s in zip(b64, starts)]
        _halves(keep, b64, binascii.a2b_base64(b"".join(quanta)),
                [len(q) // 4 * 3 for q in quanta], np, shortest)
    return list(keep)


def _halves(keep: dict[str, None], runs: list[str], blob: bytes, sizes: list[int],
            np: Any, shortest: int) -> None:
    """Add to ``keep`` each run whose decoded bytes (``sizes[i]`` of ``blob``, in order) are at
    least 80% printable ASCII, over at least ``shortest`` bytes."""
    if not blob:
        return
    arr = np.frombuffer(blob, np.uint8)
    ok = ((arr >= 32) & (arr < 127)) | (arr == 9) | (arr == 10) | (arr == 13)
    n = np.asarray(sizes)
    ends = np.cumsum(n)
    counts = np.add.reduceat(ok.astype(np.int32), np.minimum(ends - n, len(arr) - 1))
    good = (n >= shortest) & (5 * counts >= 4 * n)
    for i in np.flatnonzero(good).tolist():
        keep[runs[i]] = None
