"""Known numbers written in groups: an SSN, phone or card number read from a sensitive column,
printed again with its digits cut by separators of the user's choosing.

A value read as ``100000058`` (or ``123-45-6789``, whose digits alone are a known form too) is
one token when printed as it was read. Spelt ``100-00-0058``, ``100 00 0058``,
``1 0 0 0 0 0 0 5 8`` or, with Unicode dashes (folded to ``-`` first), it is a run of digit
groups no token check finds. Here each run of three or more digit groups joined by single
separators (space, no-break space, ``-``, ``.``, ``/``, ``_``) is read for its digits: where
they, or the digits of a few neighbouring groups, are a known value of ``SHORTEST`` digits or
more, that stretch of the run is a span to mask or refuse. A known number glued to letters
(``'x' + ssn`` in an error, a name made with ``setattr``) is one too; glued to other digits it
is not (that is how honest longer numbers look).

Only known values are matched, so honest grouped numbers (dates, IP addresses, amounts with
thousands separators) are left alone unless their digits are exactly a value read from a
sensitive column.

>>> known = {"100000058", "123456789"}
>>> grouped("ssn 100-00-0058 and 123 45 6789.", known)
[(4, 15, 'known'), (20, 31, 'known')]
>>> grouped("on 2024-01-15 at 10.0.0.1", known)
[]
>>> grouped("X100000058: bad, 9100000058 fine", known)
[(1, 10, 'known')]
"""
from __future__ import annotations

import re
from collections.abc import Container

SHORTEST = 9
"""The fewest digits a grouped value needs (an SSN has 9; shorter numbers are too common)."""
WIDEST = 19
"""The most digits one value has (a card number)."""
_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:[ \u00a0\-./_][0-9]+){2,}(?![0-9A-Za-z])")
_GROUP = re.compile(r"[0-9]+")
_GLUED = re.compile(r"(?<=[A-Za-z_])[0-9]{9,19}(?![0-9])|(?<![0-9])[0-9]{9,19}(?=[A-Za-z_])")
"""A run of digits glued to letters (``'x' + ssn``, a class or attribute name made of one):
no token check finds it, and a known value there is no chance."""


def grouped(text: str, known: Container[str]) -> list[tuple[int, int, str]]:
    """Spans of ``text`` whose digit groups, joined, are a value in ``known``."""
    out: list[tuple[int, int, str]] = []
    for run in _RUN.finditer(text):
        groups = [(g.start(), g.end(), g.group()) for g in _GROUP.finditer(run.group())]
        base, i = run.start(), 0
        while i < len(groups):
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > WIDEST:
                    break
                if len(digits) >= SHORTEST and j > i and digits in known:
                    out.append((base + groups[i][0], base + groups[j][1], "known"))
                    i = j
                    break
            i += 1
    out.extend((m.start(), m.end(), "known") for m in _GLUED.finditer(text)
               if m.group() in known)
    return out
