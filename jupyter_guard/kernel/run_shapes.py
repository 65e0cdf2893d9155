"""Which of the encoded-run passes a text needs, from one RE2 pass over it.

``encoded_runs.mask_runs`` reads every printed or displayed text three ways: separated hex
bytes (``encoded.separated``, a dozen numpy passes), Ascii85/base85 (``encoded85.runs``, which
needs two of its rare punctuation characters) and base64/base32/hex runs (``encoded.runs``).
Most text holds none of them. One ``re2.Set`` pass finds whether each shape occurs at all
(~1.3 ms a MB, and a few µs on a 16 KB piece a stream emits), so a text skips the passes that
cannot find anything in it: 1 MB of prose costs ~1.3 ms there instead of ~6.5.

Each shape is a superset of what its pass finds (tests compare on generated texts); without
RE2, or for short texts (where the passes cost a few µs), every pass runs.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

try:  # google-re2, as ``mask.scan`` uses it
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

PAIRS = 8
"""``encoded.PAIRS``: the fewest hex bytes in a row that count as a run (a test checks)."""
SEPARATED = (r"[0-9a-fA-F]{2}(?:(?:[ :,.;'\"|\\x-]|0x){1,6}[0-9a-fA-F]{2})"
             + "{" + str(PAIRS - 1) + "}")
"""What every run ``encoded.separated`` finds matches (``PAIRS`` pairs of hex digits, one to six
separator characters between each two, ``0x`` read as ``\\x`` as there); the look-arounds and
the sameness of the separators are left to it."""
RARE = r"[!#$%&*;?^`()\x{100}-\x{10FFFF}]"
"""``encoded85.RARE``, and every character Latin-1 cannot spell (``encoded85`` reads the text
as Latin-1 with ``?``, one of them, in their place)."""
SHORT = 64
"""Texts shorter than this go through every pass (a set pass costs more than theirs)."""


class Shapes(NamedTuple):
    separated: bool   # may hold separated hex bytes
    base64: bool      # holds a run of ``shortest`` base64 characters
    ascii85: bool     # holds two or more of Ascii85's rare characters


EVERY = Shapes(True, True, True)
_NO_SEPARATED = Shapes(False, True, True)


@functools.lru_cache(maxsize=4)
def _set(shortest: int) -> Any:
    found = _re2.Set.SearchSet()
    for pattern in (SEPARATED, "[A-Za-z0-9+/_-]{" + str(shortest) + "}",
                    RARE + "(?s:.)*" + RARE):
        found.Add(pattern)
    found.Compile()
    return found


def shapes(text: str, shortest: int) -> Shapes:
    """Which shapes ``text`` holds (without RE2, or for a short text, every one but separated
    hex, which ``may_hold_separated`` tells).

    >>> shapes("a 75:73:65:72:40:65:78:2e:63:6f b and some more words, to be long enough", 12)
    Shapes(separated=True, base64=False, ascii85=False)
    >>> shapes("plain words (and one bracket) and dXNlckBleGFtcGxlLmNvbQ== spelt in base64", 12)
    Shapes(separated=False, base64=True, ascii85=True)
    """
    if _re2 is None or len(text) < SHORT:
        return EVERY if may_hold_separated(text) else _NO_SEPARATED
    found = _set(shortest).Match(text.encode("utf-8", "replace")) or ()
    return Shapes(0 in found, 1 in found, 2 in found)


def may_hold_separated(text: str) -> bool:
    """Whether ``text`` may hold a run of separated hex bytes (False: ``separated`` finds none).

    >>> may_hold_separated(str([hex(b) for b in b"user@example.com"])), may_hold_separated("ab cd")
    (True, False)
    """
    return len(text) >= 3 * PAIRS - 1 and (_re2 is None or _gate().search(text) is not None)


@functools.cache
def _gate() -> Any:
    return _re2.compile(SEPARATED)
