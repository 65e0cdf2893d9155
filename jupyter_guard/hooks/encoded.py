"""Values hidden in base64, base32 (also its extended hex alphabet), hex (also with separators
between its bytes, or over a compressed or UTF-16 text; Ascii85 and base85 in ``encoded85``) or
bytes written as one big decimal number on their way out
(``urlopen(url + '?q=' + b64encode(vals))``, ``str(int.from_bytes(data, 'big'))``).

The exits' scan decodes every run that reads as base64, base32 or hex (a URL, a header, a command
line, a file's write) and scans what comes out as well. Only runs of 16+ characters that decode
to mostly printable text count, so hashes, ids and binary blobs add nothing to scan. The runs are
found in a few vectorised passes first (``runs``: translate, then numpy), so text with none
costs ~7 ms a MB; runs of more than ``MAX`` characters in all are not decoded.

>>> decoded("q=dXNlcjFAZXhhbXBsZS5jb20sdXNlcjJAZXhhbXBsZS5jb20=&x=1")
'user1@example.com,user2@example.com'
>>> decoded("id=313030303030303132")
'100000012'
>>> decoded(str(int.from_bytes(b"user1@example.com,user2@example.com", "big")))
'user1@example.com,user2@example.com'
>>> decoded("sha=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
''
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any

from jupyter_guard.hooks import encoded85
from jupyter_guard.hooks.encoded85 import readable as readable  # used here and re-exported

MAX = 1 << 22
"""Runs longer than this in all are not decoded (the detectors and known values only)."""
_RUN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_TO_SPACE = bytes(c if c in _RUN else 32 for c in range(256))
# each run is tried from its first character only (the look-behind), so a scan is linear
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}){8,}")
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")


def decoded(text: str, *, gated: bool = False) -> str:
    """What the base64 and hex runs of ``text`` decode to, where it is mostly printable text,
    one per line ('' when none, or when the runs are longer than ``MAX`` in all). ``gated``:
    ``may_hold(text)`` was found to hold already (``exit_bytes.candidates`` asked it)."""
    if not gated and not may_hold(text):   # one RE2 pass: no run to decode (most data)
        return ""
    out: list[str] = encoded85.found(text)
    for _run, raw in separated(text):
        _keep(out, raw)
    found = runs(text)
    if not found or sum(map(len, found)) > MAX:
        return "\n".join(out)
    for run in found:
        if not run.strip(B32_CHARS):   # upper-case letters and 2-7: base32 first
            _keep(out, base32(run))
        if not run.strip(B32HEX_CHARS) and not run.isdigit():   # ``b32hexencode``
            _keep(out, base32(run, extended=True))
        for m in _HEX.finditer(run):
            _keep(out, bytes.fromhex(m.group()))
        if BIG_DIGITS[0] <= len(run) <= BIG_DIGITS[1] and run.isdigit():
            _keep(out, _big(run))   # bytes read as one number (``int.from_bytes(b, 'big')``)
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


BIG_DIGITS = (30, 4300)
"""Runs of digits read as the bytes of one big number (``str(int.from_bytes(data, 'big'))``):
from 30 digits (12+ bytes; shorter numbers are ids and amounts) to Python's default limit on
converting digits to an int (a longer run costs quadratic time to convert; not read)."""


def _big(run: str) -> bytes:
    n = int(run)
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


# Supersets of what ``separated`` (``PAIRS`` hex bytes with separators; ``0x`` is read with its
# ``0`` as a separator character) and, with it, ``runs`` (16+ base64 characters) and
# ``encoded85.runs`` (``MIN_RARE`` of its rare characters; a character past Latin-1 counts, as
# its latin-1 encoding makes it a '?') look for: one RE2 pass each (~1.5 ms a MB; the searches
# they stand for cost ~6.5 ms a MB on dates and numbers)
_HEX_GATE = "(?:[0-9a-fA-F]{2}[ :,.;'\"|\\\\x0-]+){%d}[0-9a-fA-F]{2}"
_RARE = "[" + "".join("\\" + c for c in encoded85.RARE.decode()) + "\u0100-\U0010ffff]"
_RARE_NOT = "[^" + _RARE[1:]
_ANY_GATE = (f"[A-Za-z0-9+/_-]{{16}}|{_RARE}(?:{_RARE_NOT}*{_RARE}){{{encoded85.MIN_RARE - 1}}}|")
_gates: dict[bool, Any] = {}


def _gate(text: str, hex_only: bool) -> bool:
    """Whether the gate lets ``text`` through (always, without RE2)."""
    gate = _gates.get(hex_only, ())
    if gate == ():
        try:
            import re2
        except ImportError:   # pragma: no cover - depends on the environment
            gate = None
        else:
            form = _HEX_GATE % (PAIRS - 1) if hex_only else gate_pattern()
            gate = (re2.compile(form)._regexp.Match,
                    re2._re2.RE2.Anchor.UNANCHORED)
        _gates[hex_only] = gate
    if gate is None:   # pragma: no cover - without RE2 the searches themselves decide
        return True
    data = text.encode("utf-8", "replace")   # non-ASCII ends a run, as in both searches
    return gate[0](gate[1], data, 0, len(data))[0][0] >= 0


def gate_pattern() -> str:
    """The pattern ``may_hold`` searches for (RE2 syntax)."""
    return _ANY_GATE + _HEX_GATE % (PAIRS - 1)


def may_hold(text: str) -> bool:
    """Whether ``text`` may hold a base64 run (``runs``), separated hex bytes (``separated``) or
    an Ascii85/base85 run (``encoded85``): False only when none of them can find anything (one
    RE2 pass; True without RE2).

    >>> may_hold("2026-01-01 00:00:00,PRD-000001,12.5"), may_hold("x 75:73:65:72:40:65:78:2e y")
    (False, True)
    >>> may_hold("0x75, 0x73, 0x65, 0x72, 0x40, 0x65, 0x78, 0x2e"), may_hold("dXNlcjFAZXhhbXBs")
    (True, True)
    """
    return _gate(text, False)


# hex bytes with a separator between them (``':'.join(f'{b:02x}' ...)``, ``bytes.hex(' ')``,
# ``'\\x75\\x73'``, ``str([hex(b) ...])``): which bytes are hex digits, which separators
_IS_HEX = bytes(c in b"0123456789abcdefABCDEF" for c in range(256))
_SEPS = bytes(c in b" :,.;'\"|-\\x" for c in range(256))
_HEXVAL = bytes(int(chr(c), 16) if chr(c) in "0123456789abcdefABCDEF" else 0 for c in range(256))
PAIRS = 8
"""The fewest hex bytes in a row that count as a run."""


def separated(text: str) -> list[tuple[str, bytes]]:
    """The runs of ``text`` that are ``PAIRS`` or more hex bytes with the same separator (one to
    six of `` :,.;'"|-\\x``, ``0x``) between each two, and their bytes. In numpy over the whole
    text: the exact pairs of hex digits, the separator after each as one number, the stretches
    where it stays the same (a regex over a MB of digits costs ~60 ms). A MAC address, a date or
    a timestamp is too short or mixes separators.

    >>> separated("a 75:73:65:72:40:65:78:2e:63:6f b 10:30:00")
    [('75:73:65:72:40:65:78:2e:63:6f', b'user@ex.co')]
    >>> separated("2024-01-15 10:30:00.123, 10.20.30.40")
    []
    >>> [r for _, r in separated(str([hex(b) for b in b"user@example.com"]))]
    [b'user@example.com']
    >>> [r for _, r in separated(str([b"ann@example.com".hex(" "), b"bob@example.org".hex(" ")]))]
    [b'ann@example.com', b'bob@example.org']
    """
    if len(text) < 3 * PAIRS - 1 or not _gate(text, True):   # one RE2 pass: most texts
        return []
    import numpy as np

    raw = text.encode("latin-1", "replace")   # one byte a character
    if b"x" in raw and b"0x" in raw:   # memchr first: searching for ``0x`` costs more
        raw = raw.replace(b"0x", b"\\x")
    h = np.frombuffer(b"\0" + raw.translate(_IS_HEX) + b"\0\0\0", np.uint8)   # 1: hex digit
    n = len(raw)
    # two hex digits, none on either side (uint8 operations: the fewest passes over the text)
    at = np.flatnonzero((h[1:n + 1] & h[2:n + 2]) > (h[:n] | h[3:n + 3]))
    if len(at) < PAIRS:
        return []
    gap = np.diff(at)
    near = np.concatenate(([0], ((gap >= 3) & (gap <= 8)).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(near)).reshape(-1, 2)   # stretches of pairs close together
    edges = edges[edges[:, 1] - edges[:, 0] >= PAIRS - 1]
    if not len(edges):
        return []
    lens = edges[:, 1] - edges[:, 0]   # the links inside those stretches, all at once
    link = np.arange(int(lens.sum())) + np.repeat(edges[:, 0] - np.cumsum(lens) + lens, lens)
    chars = np.frombuffer(raw + b"\0" * 8, np.uint8)
    is_sep = np.frombuffer(_SEPS, np.bool_)
    step, start = gap[link], at[link]
    good = np.ones(len(link), bool)
    key = step.astype(np.int64) << 48   # the separator after a pair: its length and its bytes
    for j in range(6):
        inside = j < step - 2
        where = start + 2 + j
        key |= np.where(inside, chars[where].astype(np.int64) << (8 * j), 0)
        good &= ~inside | is_sep[chars[where]]
    runs_of = np.where(good, key, -1)
    cut = np.flatnonzero((np.diff(runs_of) != 0) | (np.diff(link) != 1)) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [len(link)]))
    keep = (ends - starts >= PAIRS - 1) & (runs_of[starts] >= 0)
    out: list[tuple[str, bytes]] = []
    hexval = np.frombuffer(_HEXVAL, np.uint8)
    for s0, e0 in zip(starts[keep].tolist(), ends[keep].tolist()):
        idx = np.append(start[s0:e0], start[e0 - 1] + step[e0 - 1])   # its pairs
        digits = hexval[chars[np.stack((idx, idx + 1))]]
        out.append((text[int(idx[0]):int(idx[-1]) + 2], (digits[0] * 16 + digits[1]).tobytes()))
    return out


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
    if raw[:2] in _DEFLATE:   # a compressed stream, then encoded (``b64encode(zlib.compress())``)
        raw = _inflate(raw) or raw
    if raw.count(0) * 3 > len(raw):   # UTF-16 or UTF-32 (``s.encode('utf-16').hex()``)
        raw = raw.replace(b"\x00", b"").removeprefix(b"\xff\xfe").removeprefix(b"\xfe\xff")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:   # random bytes (a hash, a blob): nothing readable to scan
        return
    if text and readable(text):
        out.append(text)


_DEFLATE = frozenset((b"\x1f\x8b", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"))


def _inflate(raw: bytes) -> bytes:
    """A zlib or gzip stream's first ``MAX`` bytes, inflated (b'' when it is none)."""
    import zlib

    try:
        return zlib.decompressobj(47).decompress(raw, MAX)   # 47: either header
    except zlib.error:
        return b""


B32_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
"""A run of only these may be base32 (``b32encode``)."""
B32HEX_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
"""A run of only these may be base32 with the extended hex alphabet (``b32hexencode``)."""


def base32(run: str, *, extended: bool = False) -> bytes:
    """``run`` decoded as base32 (``extended``: its hex alphabet) from its first character:
    its padding restored, or a cut last quantum dropped (b'' when it does not decode).

    >>> base32("KRUGS4ZANFZSAYJAORSXG5A"), base32("GEYDAMBQGAYDAMI")
    (b'This is a test', b'100000001')
    >>> base32("ELPMASHH81INGOBDE1M6ABJ3DTMG", extended=True)
    b'user1@example.com'
    """
    body = run + "=" * (-len(run) % 8) if len(run) % 8 in (0, 2, 4, 5, 7) else \
        run[:len(run) // 8 * 8]
    try:
        return base64.b32hexdecode(body) if extended else base64.b32decode(body)
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
