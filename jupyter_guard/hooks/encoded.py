"""Values hidden in base64 or hex on their way out (``urlopen(url + '?q=' + b64encode(vals))``).

The exits' scan decodes every run that reads as base64 or hex in a text of at most ``MAX``
characters (a URL, a header, a command line, a small file) and scans what comes out as well.
Only runs of 16+ characters that decode to mostly printable text count, so hashes, ids and
binary blobs add nothing to scan.

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

MAX = 1 << 16
"""Texts longer than this are not decoded (a large file: the detectors and known values only)."""
# each run is tried from its first character only (the look-behind), so a scan is linear
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}){8,}")
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")


def decoded(text: str) -> str:
    """What the base64 and hex runs of ``text`` decode to, where it is mostly printable text,
    one per line ('' when none, or when ``text`` is longer than ``MAX``)."""
    if len(text) > MAX:
        return ""
    out: list[str] = []
    for m in _HEX.finditer(text):
        _keep(out, bytes.fromhex(m.group()))
    for m in _B64.finditer(text):
        run = m.group().rstrip("=")
        if run.isdigit() or run.isalpha():   # a number or a word, not an encoding
            continue
        run += "=" * (-len(run) % 4)
        try:
            raw = base64.b64decode(run, altchars=b"-_" if ("-" in run or "_" in run) else None,
                                   validate=True)
        except (binascii.Error, ValueError):
            continue
        _keep(out, raw)
    return "\n".join(out)


def _keep(out: list[str], raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:   # random bytes (a hash, a blob): nothing readable to scan
        return
    if text and sum(c.isprintable() or c.isspace() for c in text) >= 0.9 * len(text):
        out.append(text)
