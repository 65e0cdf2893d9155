"""Masking strategies: how a sensitive value is shown. Pure, vectorised over the rows given.

>>> mask_value("jane@example.com", "partial")
'█████@example.com'
>>> mask_value("4111 1111 1111 1111", "partial")
'████1111'
>>> mask_value("123-45-6789", "redact")
'████'
>>> h = mask_value("jane@example.com", "hash", salt="s")
>>> h == mask_value("jane@example.com", "hash", salt="s")
True

``partial`` keeps a tail only of a value written as it was read (its canonical form): a known
value spelt otherwise (span kind ``SPELT``: digits spaced out or joined with commas, in hex,
spelt backwards, an e-mail's letters spaced out) is masked whole, as its tail would show other
characters than the canonical last four (``hex(ssn)`` ends in hex digits, a reversed e-mail in
its first letters) or pieces of them:

>>> mask_value("1 2 3 4 5 6 7 8 9", "partial", kind=SPELT), mask_value("0x75bcd15", "hash",
...                                                                      kind=SPELT)[:2]
('████', 'h:')
>>> [canonical(v) for v in ("123-45-6789", "jane@example.com", "moc.elpmaxe@enaj", "0x75bcd15",
...                         "1,2,3,4,5,6,7,8,9", "j a n e @ x . i o")]
[True, True, False, False, False, False]
"""
from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterable
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    import pandas as pd

Strategy = Literal["redact", "partial", "hash", "null"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

BLOCK = "████"
EMAIL_BLOCK = "█████"
KEEP = 4
"""``partial`` keeps the last ``KEEP`` characters of values at least ``MIN_PARTIAL`` long."""
MIN_PARTIAL = 8
HASH_CHARS = 8
SPELT = "known-spelt"
"""The span kind of a value known to be sensitive found spelt otherwise than it was read (the
finders of known values name such spans so): ``partial`` masks it whole."""


def check_strategy(name: str) -> str:
    """Return ``name`` if it is a strategy, else raise ``ValueError`` listing them."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown masking strategy {name!r}; use one of {', '.join(STRATEGIES)}")
    return name


def hash_value(value: str, salt: str = "") -> str:
    """Salted SHA-256 prefix: equal values look equal, so masked columns still group by eye
    (a lone surrogate is hashed as its code unit, not refused)."""
    digest = hashlib.sha256(f"{salt}\x00{value}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"h:{digest[:HASH_CHARS]}"


HASHED_MAX = 1 << 17
"""Digests remembered between calls (a printed table is often printed again); past this many
the memory is emptied and starts over."""
_hashed: dict[str, dict[str, str]] = {}


def hash_values(values: list[str], salt: str = "", distinct: bool = False) -> list[str]:
    """``hash_value`` of each of ``values``: one digest per distinct value, remembered (bounded)
    for the next call (a printed table is often printed again). ``distinct``: the caller knows
    no value is repeated (not looked for again)."""
    known = _hashed.setdefault(salt, {})
    if known:
        out = list(map(known.get, values))
        if None not in out:
            return out  # type: ignore[return-value]  # (no None in it)
        fresh = compress(values, map(is_, out, repeat(None)))  # (in C)
        new = list(fresh) if distinct else list(dict.fromkeys(fresh))
    else:
        new = values if distinct else list(dict.fromkeys(values))
    if sum(map(len, _hashed.values())) + len(new) > HASHED_MAX:
        _hashed.clear()  # (then every value is new: those known a moment ago too)
        known = _hashed.setdefault(salt, {})
        new = values if distinct else list(dict.fromkeys(values))
    made = digests(new, salt)
    known.update(zip(new, made))
    if len(new) == len(values):  # every value new and distinct: ``new`` is ``values``
        return made
    return list(map(known.__getitem__, values))


def digests(values: list[str], salt: str = "") -> list[str]:
    """``hash_value`` of each of ``values``, every step in C (no Python code per value): the
    salted values encoded in one piece and split, hashed, their heads in hex."""
    prefix = f"{salt}\x00"
    joined = ("\n" + prefix).join(values)
    data: Iterable[bytes]
    if "\n" not in prefix and joined.count("\n") == len(values) - 1:  # (no '\n' in a value)
        data = (prefix + joined).encode("utf-8", "surrogatepass").split(b"\n")
    else:
        data = map(str.encode, map(prefix.__add__, values), repeat("utf-8"),
                   repeat("surrogatepass"))
    heads = map(_HEAD, map(_DIGEST, map(_sha256, data)))
    return list(map("h:".__add__, map(bytes.hex, heads)))


try:  # the same SHA-256 as ``hashlib.sha256`` (OpenSSL's), without its per-object set-up:
    from _sha256 import sha256 as _sha256  # ~0.3 µs less a value (Python 3.11)
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha2 import sha256 as _sha256  # (Python 3.12 on)
    except ImportError:
        _sha256 = hashlib.sha256
_DIGEST = type(_sha256()).digest
_HEAD = itemgetter(slice(0, HASH_CHARS // 2))
"""A digest's first ``HASH_CHARS // 2`` bytes: their hex is the hex digest's first
``HASH_CHARS`` characters (``HASH_CHARS`` is even)."""


def partial_value(value: str) -> str:
    """Keep an e-mail's domain, or the last ``KEEP`` characters of a long enough number, where
    the value is written as its column holds it (``_EMAIL``, ``_NUMBER``); any other value, and a
    whole cell that holds an e-mail among other values, is masked whole.

    >>> [partial_value(v) != BLOCK for v in ("123-45-6789", "jane@example.com",
    ...  "a@b.c332-20-6469", "9876-54-321", "123-45-6", "moc.elpmaxe@enaj", "a@b.ckim.ana75")]
    [True, True, False, False, False, False, False]
    >>> partial_value("a@b.com"), partial_value("(1,a@b.com,100000001,Lyon)")
    ('█████@b.com', '████')
    """
    at = value.rfind("@")
    if at >= 0:
        return EMAIL_BLOCK + value[at:] if _EMAIL.fullmatch(value) else BLOCK
    stripped = value.strip()
    if len(stripped) < MIN_PARTIAL or not _number(stripped):
        return BLOCK
    return BLOCK + stripped[-KEEP:]


_LETTERS = r"[^\W\d_]+"
_EMAIL = re.compile(rf"[^\s@]+@(?:{_LETTERS}(?:-{_LETTERS})*\.)+[^\W\d_]{{2,}}")
"""An e-mail as an e-mail column holds it: a local part, and a host name of letter labels with
a TLD of letters. A derived value (``'a@b.c' || ssn``, ``reverse(email)``) shows digits or
other values after its '@' and keeps no "domain"."""
_NUMBER = re.compile(r"\+?(?:[0-9]{1,3} ?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]+(?:[ .-][0-9]+)*"
                     r"|[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4})+(?: ?[A-Z0-9]{1,3})?")
"""A number as an SSN, card, phone or IBAN column holds it: digit groups with single spaces,
dots or dashes between them (an area code in parentheses); or an IBAN. Its last ``KEEP``
characters must be letters or digits (``_number``).
A piece (``left(ssn, 8)``), a reversed value or one glued to other text ends otherwise."""


def _number(stripped: str) -> bool:
    return stripped[-KEEP:].isalnum() and _NUMBER.fullmatch(stripped) is not None


def canonical(value: str) -> bool:
    """Whether ``partial_value`` of ``value`` keeps only what it keeps of a value as it was read:
    an e-mail's domain (``_EMAIL``), or the last ``KEEP`` characters of a number written as its
    column holds it (``_NUMBER``). Values too short to keep anything are canonical. The finders
    of known values name the spans of values that are not ``SPELT``."""
    if "@" in value:
        return _EMAIL.fullmatch(value) is not None
    stripped = value.strip()
    return len(stripped) < MIN_PARTIAL or _number(stripped)


STRICT = frozenset({""})
"""Span kinds whose values ``partial`` shows only where they have their kind's shape
(``partial_value``): a whole cell of a sensitive column. A detector's match is of its kind by
construction (an e-mail's pattern, Luhn, the IBAN checksum, a secret's key word), and a known
value without its kind's shape is named ``SPELT`` by its finder (``canonical``): these keep
their domain or last ``KEEP`` characters as found (``_found_tail``)."""


def _found_tail(value: str) -> str:
    at = value.rfind("@")
    if at > 0 and "." in value[at:]:
        return EMAIL_BLOCK + value[at:]
    stripped = value.strip()
    return BLOCK + stripped[-KEEP:] if len(stripped) >= MIN_PARTIAL else BLOCK


def mask_value(value: str, strategy: str, salt: str = "", kind: str = "") -> str:
    """Mask one value found in free text (``null`` leaves an empty string); ``kind``: the
    span's, where ``SPELT`` makes ``partial`` mask it whole."""
    if strategy == "partial":
        return BLOCK if kind == SPELT else partial_value(value) if kind in STRICT else \
            _found_tail(value)
    if strategy == "hash":
        return hash_value(value, salt)
    if strategy == "null":
        return ""
    return BLOCK


def masker(strategy: str, salt: str = "", kind: str = "") -> Callable[[str], str]:
    """``mask_value`` with the strategy chosen once (for many values of one ``kind``)."""
    if strategy == "partial":
        return partial_value if kind in STRICT else _found_tail if kind != SPELT else \
            lambda v: BLOCK
    if strategy == "hash":
        return lambda v: hash_value(v, salt)
    if strategy == "null":
        return lambda v: ""
    return lambda v: BLOCK


def is_null(v: object) -> bool:
    """None, NaN, ``pd.NA`` and ``NaT`` (fast for the common cases)."""
    if v is None or (isinstance(v, float) and v != v):
        return True
    pd = sys.modules.get("pandas")  # pd.NA and NaT exist only once pandas is loaded
    return pd is not None and (v is pd.NA or v is pd.NaT)


def strategy_list(items: list[Any], strategy: str, salt: str = "") -> list[Any]:
    """The list form of ``apply_strategy`` (no pandas overhead for a few dozen values)."""
    if strategy == "redact":
        return [v if is_null(v) else BLOCK for v in items]
    if strategy == "null":
        return [v if is_null(v) else None for v in items]
    if strategy == "hash":
        cache: dict[str, str] = {}
        return [v if is_null(v) else cache.get(str(v)) or cache.setdefault(str(v), hash_value(
            str(v), salt)) for v in items]
    return [v if is_null(v) else BLOCK if isinstance(v, float) else partial_value(str(v))
            for v in items]


def apply_strategy(values: pd.Series, strategy: str, salt: str = "") -> pd.Series:
    """Mask every non-null value of ``values`` (only the rows to be shown: keep it small).

    Returns an object Series with the same index and name; nulls stay as they were. The
    displayed rows are a few dozen values, where a list comprehension beats ``Series.str``
    (which loops in Python for object data anyway) by an order of magnitude.
    """
    import pandas as pd

    out = strategy_list(values.tolist(), strategy, salt)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)
