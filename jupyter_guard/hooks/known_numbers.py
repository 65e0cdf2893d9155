"""Four printed forms of many whole numbers at once, in numpy: ``repr(float(n))``,
``f'{float(n):.18e}'``, ``f'{n:,}'`` and ``f'{n:_}'``, the same text as Python's (the numeric
forms of ``known_forms.numeric_forms``).

A number below 2**53 is a float exactly, so its float forms are its own digits: ``123456789.0``
and ``1.234567890000000000e+08``. Each form is then the digits with characters put in fixed
places for a given number of digits: the numbers are grouped by length, their digits laid out
as a matrix of code points, and each form is one copy into a wider matrix read back as strings.
Formatting each of 250,000 numbers four times in Python cost ~0.5 s; this, ~0.1. Numbers of
2**53 and more (their float rounds) are formatted by Python.

>>> n = [123456789, 9, 0, 4111111111111111, 2**53 + 1]
>>> forms = printed_forms(n)
>>> [sorted(f) for f in forms] == [sorted(f) for f in ([repr(float(x)) for x in n],
...     [f"{float(x):.18e}" for x in n], [f"{x:,}" for x in n], [f"{x:_}" for x in n])]
True
"""
from __future__ import annotations

from typing import Any

EXACT = 1 << 53
"""Numbers below this are floats exactly."""
_DOT, _ZERO, _E, _PLUS = map(ord, ".0e+")


def printed_forms(numbers: list[int]) -> tuple[list[str], list[str], list[str], list[str]]:
    """``repr(float(n))``, ``f'{float(n):.18e}'``, ``f'{n:,}'`` and ``f'{n:_}'`` of each of
    ``numbers`` (whole numbers), each list in an order of its own (by length)."""
    import numpy as np

    exact = [n for n in numbers if 0 <= n < EXACT]
    rest = [n for n in numbers if not 0 <= n < EXACT]
    floats = list(map(float, rest))
    out: tuple[list[str], list[str], list[str], list[str]] = (
        list(map(repr, floats)), list(map("{:.18e}".format, floats)),
        list(map("{:,}".format, rest)), list(map("{:_}".format, rest)))
    if not exact:
        return out
    texts = list(map(str, exact))
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    widest = int(sizes.max())
    codes = np.array(texts, dtype=f"U{widest}").view(np.uint32).reshape(len(texts), widest)
    for size in np.unique(sizes).tolist():
        digits = codes[sizes == size, :size]
        out[0].extend(_strings(_repr(digits)))
        out[1].extend(_strings(_e18(digits)))
        out[2].extend(_strings(_grouped(digits, ",")))
        out[3].extend(_strings(_grouped(digits, "_")))
    return out


def _strings(matrix: Any) -> list[str]:
    """Each row of code points as a string (no row holds a NUL: none is cut short)."""
    import numpy as np

    return list(np.ascontiguousarray(matrix).view(f"U{matrix.shape[1]}").ravel().tolist())


def _repr(digits: Any) -> Any:
    """``123456789.0``."""
    import numpy as np

    out = np.empty((digits.shape[0], digits.shape[1] + 2), dtype=np.uint32)
    out[:, :-2] = digits
    out[:, -2], out[:, -1] = _DOT, _ZERO
    return out


def _e18(digits: Any) -> Any:
    """``1.234567890000000000e+08``: the first digit, a dot, 18 more (the rest of the digits,
    then zeros), ``e+`` and the exponent in two digits (a number below 2**53 has 16 at most)."""
    import numpy as np

    size = digits.shape[1]
    out = np.full((digits.shape[0], 24), _ZERO, dtype=np.uint32)
    out[:, 0] = digits[:, 0]
    out[:, 1] = _DOT
    out[:, 2:1 + size] = digits[:, 1:]
    out[:, 20], out[:, 21] = _E, _PLUS
    out[:, 22], out[:, 23] = _ZERO + (size - 1) // 10, _ZERO + (size - 1) % 10
    return out


def _grouped(digits: Any, sep: str) -> Any:
    """``123,456,789``: ``sep`` between groups of three digits from the right."""
    import numpy as np

    size = digits.shape[1]
    width = size + (size - 1) // 3
    out = np.full((digits.shape[0], width), ord(sep), dtype=np.uint32)
    right = np.arange(size)[::-1]   # each digit's place from the right
    out[:, width - 1 - right - right // 3] = digits
    return out
