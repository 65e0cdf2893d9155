"""Values hidden in base64 or hex on their way out (``urlopen(url + '?q=' + b64encode(vals))``).

The exits' scan decodes every run that reads as base64 or hex (a URL, a header, a command
line, a file's write) and scans what comes out as well. Only runs of 16+ characters that decode
to mostly printable text count, so hashes, ids and binary blobs add nothing to scan. The runs are
found in a few vectorised passes first (``_runs``: translate, then numpy), so text with none
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
import re

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
    runs = _runs(text)
    if not runs or sum(map(len, runs)) > MAX:
        return ""
    out: list[str] = []
    for run in runs:
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


def _runs(text: str) -> list[str]:
    """The distinct runs of 16+ base64 characters in ``text``, in order: everything either
    pattern can match lies whole inside one run."""
    import numpy as np

    raw = text.encode("utf-8", "replace").translate(_TO_SPACE)
    inside = np.frombuffer(raw, np.uint8) != 32
    long = inside
    for step in (1, 2, 4, 8):   # long[i]: the 2 * step characters from i are all inside a run
        long = long[:-step] & long[step:]
    if not long.any():   # the common case, in a few vectorised passes
        return []
    edges = np.diff(inside, prepend=False, append=False)
    bounds = np.flatnonzero(edges).reshape(-1, 2)   # [start, end) of every run
    bounds = bounds[bounds[:, 1] - bounds[:, 0] >= 16]
    return [r.decode("ascii") for r in dict.fromkeys(raw[a:b] for a, b in bounds.tolist())]


def _keep(out: list[str], raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:   # random bytes (a hash, a blob): nothing readable to scan
        return
    if text and _readable(text):
        out.append(text)


def _readable(text: str) -> bool:
    """At least 90% of ``text`` is printable or white space."""
    if text.isprintable():
        return True
    if text.isascii():
        return len(text.encode("ascii").translate(None, _CONTROL)) >= 0.9 * len(text)
    return sum(c.isprintable() or c.isspace() for c in text) >= 0.9 * len(text)
