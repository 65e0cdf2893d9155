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
    """Keep an email's domain, or the last ``KEEP`` characters of a long enough value."""
    at = value.rfind("@")
    if at > 0 and "." in value[at:]:
        return EMAIL_BLOCK + value[at:]
    stripped = value.strip()
    if len(stripped) < MIN_PARTIAL:
        return BLOCK
    return BLOCK + stripped[-KEEP:]


_HOST = str.maketrans("", "", "-.")   # a host name: letters and digits (any script) besides
_RADIX = ("0x", "0X", "0o", "0O", "0b", "0B")


def canonical(value: str) -> bool:
    """Whether ``partial_value`` of ``value`` keeps only what it keeps of a value as it was read:
    an e-mail's domain (a host name after its last '@', a local part before it with no
    whitespace), or the last ``KEEP`` characters where they are letters or digits and the value
    is no prefixed hex, octal or binary number. Values too short to keep anything are canonical.
    The finders of known values name the spans of values that are not ``SPELT``."""
    at = value.rfind("@")
    if at >= 0:
        domain = value[at + 1:]
        return (at > 0 and "." in domain and not domain.startswith(".")
                and not domain.endswith(".") and domain.translate(_HOST).isalnum()
                and value[:at].split() == [value[:at]])
    stripped = value.strip()
    return len(stripped) < MIN_PARTIAL or (stripped[-KEEP:].isalnum()
                                           and not stripped.startswith(_RADIX))


def mask_value(value: str, strategy: str, salt: str = "", kind: str = "") -> str:
    """Mask one value found in free text (``null`` leaves an empty string); ``kind``: the
    span's, where ``SPELT`` makes ``partial`` mask it whole."""
    if strategy == "partial":
        return BLOCK if kind == SPELT else partial_value(value)
    if strategy == "hash":
        return hash_value(value, salt)
    if strategy == "null":
        return ""
    return BLOCK


def masker(strategy: str, salt: str = "", kind: str = "") -> Callable[[str], str]:
    """``mask_value`` with the strategy chosen once (for many values of one ``kind``)."""
    if strategy == "partial":
        return partial_value if kind != SPELT else lambda v: BLOCK
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
    return [v if is_null(v) else BLOCK if isinstance(v, float) else _partial_whole(str(v))
            for v in items]


def _partial_whole(value: str) -> str:
    """``partial_value`` of a whole cell of a sensitive column. A cell that holds an e-mail among
    other values (a row's text, ``(1,x,a@b.com,100000001,Lyon)``) keeps nothing: what follows
    its '@' is no host name, and would show the values after the e-mail.

    >>> _partial_whole("a@b.com"), _partial_whole("(1,a@b.com,100000001,Lyon)")
    ('█████@b.com', '████')
    """
    at = value.rfind("@")
    if at > 0 and "." in value[at:] and not value[at + 1:].translate(_HOST).isalnum():
        return BLOCK
    return partial_value(value)


def apply_strategy(values: pd.Series, strategy: str, salt: str = "") -> pd.Series:
    """Mask every non-null value of ``values`` (only the rows to be shown: keep it small).

    Returns an object Series with the same index and name; nulls stay as they were. The
    displayed rows are a few dozen values, where a list comprehension beats ``Series.str``
    (which loops in Python for object data anyway) by an order of magnitude.
    """
    import pandas as pd

    out = strategy_list(values.tolist(), strategy, salt)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)
