"""How much of a value a text pattern fixes (issue 15, item 3; red team 20): the letters and
digits a LIKE pattern or a regular expression matches literally, read token by token rather
than by stripping what looks like a count (``[{8}]`` is the class of ``{``, ``8`` and ``}``,
not a repeat). Escapes (``\\d``, ``\\.``), classes made only of full ranges or escapes
(``[0-9]``, ``[^@]``) and counts after something they repeat fix nothing; any other letter or
digit, inside a class too, is a guess.

Pure: strings in, numbers out.
"""
from __future__ import annotations

import re

_CLASS_ESCAPES = frozenset("dDwWsSbBAzZ")   # ``\\d``: a class or an anchor, no character
_COUNT = re.compile(r"\{\d*,?\d*\}")


def literal_chars(text: str) -> int:
    """How many letters and digits ``text`` fixes, read as a LIKE pattern or a regular
    expression: escapes (``\\d``, ``\\.``), classes made only of full ranges or escapes
    (``[0-9]``, ``[^@]``) and counts after something they repeat (``\\d{3}``) fix none; every
    other letter or digit does, one inside a class too (``[8]``, ``[{8}]``, ``[0-4]``)."""
    n, k, repeatable = 0, 0, False
    while k < len(text):
        ch = text[k]
        if ch == "\\" and k + 1 < len(text):
            nxt = text[k + 1]
            n += nxt.isalnum() and nxt not in _CLASS_ESCAPES
            k, repeatable = k + 2, True
            continue
        if ch == "[":
            end = _class_end(text, k)
            if end > 0:
                body = text[k + 1:end].removeprefix("^")
                body = re.sub(r"0-9|a-z|A-Z|\\[dDwWsS]|\\[^0-9A-Za-z]", "", body)
                n += sum(c.isalnum() for c in body)
                k, repeatable = end + 1, True
                continue
        if ch == "{" and repeatable:
            count = _COUNT.match(text, k)
            if count:
                k, repeatable = count.end(), False
                continue
        n += ch.isalnum()
        repeatable = ch not in "(|^"
        k += 1
    return n


def _class_end(text: str, start: int) -> int:
    """Where the class opened at ``start`` closes (-1: no class)."""
    k = start + 1 + (text[start + 1:start + 2] == "^")
    k += text[k:k + 1] == "]"   # a ``]`` first is a member
    while k < len(text):
        if text[k] == "\\":
            k += 2
            continue
        if text[k] == "]":
            return k
        k += 1
    return -1


def format_only(text: str) -> bool:
    """No letter or digit once escapes, full classes and counts are taken out.

    >>> format_only(r'^\\d{3}-\\d{2}-\\d{4}$'), format_only('^[^@]+@[^@]+$'), format_only('')
    (True, True, True)
    >>> format_only('^123-45'), format_only('[1]'), format_only(r'\\x31'), format_only('1%')
    (False, False, False, False)
    >>> format_only('^[{8}][{9}]-'), format_only('^{8}'), format_only('[0-4]')
    (False, False, False)
    >>> format_only('[0-9]{3}'), format_only(r'[\\d.]+')
    (True, True)
    """
    return literal_chars(text) == 0


_ANYTHING = re.compile(r"\^?(?:%|\.\*|\.\+)*")
"""What may stand before a domain pattern's ``@``: nothing, or "any text"."""


def domain_only(text: str) -> bool:
    """A pattern whose letters and digits all follow an ``@`` that only format precedes: it
    fixes an e-mail's domain, not its local part, when it is matched against the bare e-mail
    column (``domain_pattern``).

    >>> domain_only('%@example.com'), domain_only('@example.com'), domain_only('jane%@x.org')
    (True, True, False)
    >>> domain_only('@x[.]org|^jane'), domain_only('@(?<=jane@)x.org')   # the local part
    (False, False)
    >>> domain_only('_________@%.%'), domain_only('%.%@x.org'), domain_only('^.*@x\\.org$')
    (False, False, True)

    Before the ``@`` only "anything" may stand (``%``, ``.*``, ``.+``): a length
    (``'_________@%'``) or a shape (``'%.%@%'``) of the local part is more than ``partial``
    masking shows (red team 21).
    """
    head, at, tail = text.partition("@")
    return bool(at) and "|" not in text and "(" not in text and "@" not in tail and \
        format_only(head) and _ANYTHING.fullmatch(head) is not None


__all__ = ["domain_only", "format_only", "literal_chars"]
