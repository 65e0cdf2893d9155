"""Dense runs of values in bulk: one C-level ``split`` finds every match of a detector, its
validator runs over all of them at once (numpy for the checksums), and offsets come from the
pieces' lengths, so no Python code runs per match. The result equals ``Detector.spans_in``
(a test compares them); where it could differ (a key word names the value, a rejected match
may hide a value inside it, a match at the run's first character) that path is used instead.
"""
from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterator
from itertools import accumulate, compress, repeat
from typing import Any

from . import bank as _bank  # noqa: F401 - registers the IBAN finder in shapes
from . import native, shapes
from .detect import Detector, _card_ok, _iban_ok, _ipv6_ok, _phone_ok, _secret_ok
from .keys import secrets_ok
from .patterns import FLAGS, IBAN_LENGTHS
from .splits import _split, drop_space, layered, named_values, unbound
from .strategy import BLOCK, EMAIL_BLOCK, KEEP, MIN_PARTIAL, hash_values, masker

Spans = list[tuple[int, int]]
Pieces = tuple[int, list[str], list[str], list[bool] | None]
Parts = tuple[int, list[str], list[list[str]], list[str], list[bool] | None]

LAST4 = frozenset({"ssn", "phone", "card", "iban"})
"""Values these detectors find never hold an '@' nor surrounding spaces and are at least
MIN_PARTIAL long, so ``partial_value`` of them is the mask and their last four characters."""


def _numpy() -> Any:
    import numpy as np  # a pandas dependency; loaded only for text dense with values

    return np


def _digit_rows(strings: list[str]) -> tuple[Any, Any, Any, Any] | None:
    """ASCII digit strings (not empty) as one array of their digits, each digit's place from
    the right of its string, each string's first index and length; None if any holds another
    character."""
    joined = "".join(strings)
    if not (joined.isascii() and joined.isdigit()):
        return None
    np = _numpy()
    flat = np.frombuffer(joined.encode("ascii"), dtype=np.uint8) - 48
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    place = np.repeat(ends - 1, lengths) - np.arange(len(flat))
    return flat, place, starts, lengths


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def cards_ok(values: list[str]) -> list[bool]:
    """``_card_ok`` of each value: length 13-19, a network's prefix, the Luhn checksum."""
    digits = "\n".join(values).replace(" ", "").replace("-", "").split("\n")
    rows = _digit_rows(digits)
    if rows is None:
        return list(map(_card_ok, values))
    np = _numpy()
    flat, place, starts, lengths = rows
    if not (lengths >= 4).all():
        return list(map(_card_ok, values))
    summed = np.where(place % 2 == 1, np.asarray(_DOUBLED, dtype=np.uint8)[flat], flat)
    luhn = np.add.reduceat(summed.astype(np.int64), starts) % 10 == 0
    first4 = flat[starts[:, None] + np.arange(4)].astype(np.int64) @ np.array([1000, 100, 10, 1])
    ok = luhn & (lengths >= 13) & (lengths <= 19) & native.card_prefixes()[first4]
    return list(ok.tolist())


def phones_ok(values: list[str]) -> list[bool]:
    """``_phone_ok`` of each value: the US form always; ``+`` forms are counted one by one."""
    return [v[0] != "+" or _phone_ok(v) for v in values]


@functools.lru_cache(maxsize=1)
def _iban_lengths() -> Any:
    """An IBAN's length by its country code's two letters (as ``(a - 65) * 26 + b - 65``);
    0 for a code that is none."""
    table = _numpy().zeros(26 * 26, dtype=_numpy().int64)
    for cc, n in IBAN_LENGTHS.items():
        table[(ord(cc[0]) - 65) * 26 + ord(cc[1]) - 65] = n
    return table


def ibans_ok(values: list[str]) -> list[bool]:
    """``_iban_ok`` of each value: its country's length, then mod 97 of the number its moved
    characters spell (first four last; a letter is two digits, A = 10), for all values at
    once: each character's part is its code times a power of ten mod 97."""
    rows = "\n".join(values).replace(" ", "").upper().split("\n")
    flat_text = "".join(rows)
    if not flat_text.isascii() or not flat_text.isalnum():
        return list(map(_iban_ok, values))
    np = _numpy()
    flat = np.frombuffer(flat_text.encode("ascii"), dtype=np.uint8).astype(np.int32)
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max(initial=0))
    if width > 64 or not (lengths >= 4).all():
        return list(map(_iban_ok, values))
    starts = np.cumsum(lengths) - lengths
    cols = np.arange(width)
    live = cols < lengths[:, None]
    moved = flat[starts[:, None] + (cols + 4) % lengths[:, None]]  # first four last
    letter = moved >= 65
    code = np.where(letter, moved - 55, moved - 48)
    places = (letter + 1) * live
    after = places.sum(axis=1)[:, None] - places.cumsum(axis=1)  # digits to its right
    rest = (code * live * _pow10()[after]).sum(axis=1) % 97
    first, second = flat[starts], flat[starts + 1]
    letters = (first >= 65) & (second >= 65)
    want = _iban_lengths()[np.where(letters, (first - 65) * 26 + second - 65, 0)]
    return list((letters & (want == lengths) & (rest == 1)).tolist())


@functools.lru_cache(maxsize=1)
def _pow10() -> Any:
    """``10 ** k % 97`` for every place a value of at most 64 characters has."""
    return _numpy().array([pow(10, k, 97) for k in range(2 * 64)], dtype=_numpy().int32)


_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = re.compile(f"(?m)^(?:(?:{_H}(?::{_H})*)?::(?:{_H}(?::{_H})*)?|(?:{_H}:){{7}}{_H})$")
"""The shapes ``ipaddress.IPv6Address`` reads of hex digits and colons, group counts aside
(one a line): groups of one to four hex digits around one '::', or eight groups. With at most
seven colons not in a leading or trailing '::' (seven groups around '::', at least one left to
it), these are exactly the addresses it reads."""
_HEX_COLONS = re.compile(r"[0-9A-Fa-f:\n]*")


def ipv6s_ok(values: list[str]) -> list[bool]:
    """``_ipv6_ok`` of each value (an address ``ipaddress`` reads, with four letters or digits)
    from one ``sub`` pass over them all (a line it empties has the shape) and a few counts, in C
    and numpy; values with other characters (none the pattern matches) one by one."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) < len(values) // 2:  # addresses repeated: each distinct one read once
        ok = dict(zip(distinct, ipv6s_ok(distinct)))
        return list(map(ok.__getitem__, values))
    joined = "\n".join(values)
    if _HEX_COLONS.fullmatch(joined) is None:
        return list(map(_ipv6_ok, values))
    np, n = _numpy(), len(values)
    shaped = np.fromiter(map(operator.not_, _IPV6.sub("", joined).split("\n")), bool, count=n)
    colons = np.fromiter(map(str.count, values, repeat(":")), np.int64, count=n)
    lead = np.fromiter(map(str.startswith, values, repeat("::")), np.int64, count=n)
    trail = np.fromiter(map(str.endswith, values, repeat("::")), np.int64, count=n)
    size = np.fromiter(map(len, values), np.int64, count=n)
    return list((shaped & (colons - lead - trail <= 7) & (size - colons >= 4)).tolist())


BULK: dict[Callable[[str], bool], Callable[[list[str]], list[bool]]] = {
    _card_ok: cards_ok, _phone_ok: phones_ok, _iban_ok: ibans_ok, _secret_ok: secrets_ok,
    _ipv6_ok: ipv6s_ok,
}
"""Validators over many values at once, by the validator they stand for."""

BULK_VALUES = 32
"""Fewer values are validated one by one (numpy's set-up costs more; a short text does not load
numpy)."""

_INNER: dict[str, re.Pattern[str]] = {
    # a second value may start inside a rejected match only where its left boundary holds
    # and its first character follows (the precise pattern's start, read inside the match)
    "card": re.compile(r"[^\w.,-]\d", FLAGS),
    "phone": re.compile(r"[^\w.+/:-][+(\d]", FLAGS),
    "iban": re.compile(r"[^\w-][A-Z]", FLAGS),
    # only bare tokens are rejected ([A-Za-z0-9_+/-], '=' padding at the end): inside one, the
    # token alternatives' left boundary fails; a key word's holds after '/', '+' or '-'
    "secret": re.compile(r"(?i:[/+-](?:pass|pwd|secret|token|api|access|auth))", FLAGS),
}
"""Per detector: a pattern found in a rejected match wherever a value could start inside it
(after its first character). Without one, a rejected match ends the bulk pass."""


_LETTER = re.compile("[A-Za-z]")
"""Every secret ``_secret_ok`` accepts holds an ASCII letter (a key word, a prefix, or two of
each case in a bare token; the patterns are ASCII-only), and so does each one a rejected match
could hide: text without one (digit groups, dates, numbers) has no secret, unsplit."""


def pieces(det: Detector, text: str, pos: int, endpos: int, hidden: bool = False
           ) -> Pieces | None:
    """``det``'s matches in ``text[pos:endpos]`` from one ``split`` pass: the offset of the
    first piece, the text between matches, the matches and which of them are values (all
    such that ``spans_in`` would keep exactly these). None where ``spans_in`` must decide.
    ``hidden``: also where a value may start inside a rejected match (the caller then shows
    that no such value could be kept)."""
    got = parts(det, text, pos, endpos, hidden)
    if got is None:
        return None
    between = got[1]
    for head in got[2]:
        between = [*map(operator.add, between, head), between[-1]]
    return got[0], between, got[3], got[4]


def parts(det: Detector, text: str, pos: int, endpos: int, hidden: bool = False
          ) -> Parts | None:
    """``pieces`` with the text before each value in parts (``splits.layered``'s heads)."""
    pattern = det.pattern
    if det.lean is not None:  # as spans_in: the lean pattern where no key word occurs
        lower = text[max(pos - 1, 0):endpos].lower()
        if any(w in lower for w in det.words):
            return None
        pattern = det.lean
    if det.name == "secret" and _LETTER.search(text, pos, endpos) is None:
        return max(pos - 1, 0), [text[max(pos - 1, 0):endpos]], [], [], None  # (_LETTER)
    inner = _INNER.get(det.name)
    if det.validate is not None and not hidden:  # a first match rejected, a value inside?
        m = pattern.search(text, pos, endpos)
        if m is None:  # no match in the range (spans_in finds none): no second pass over it
            return max(pos - 1, 0), [text[max(pos - 1, 0):endpos]], [], [], None
        if not _named(det, m) and not det.validate(m.group()) and (
                inner is None or inner.search(m.group()) is not None):
            return None
    # one character before pos: the look-behinds (one character wide) see it, as in spans_in
    base = max(pos - 1, 0)
    found, splitter, bound = _split(pattern, text[base:endpos])
    stride = splitter.groups + 1
    if base < pos and found[0] == "" and len(found) > 1:  # a match at base: spans_in starts
        return None  # one character later
    values, between = found[1::stride], found[0::stride]
    heads: list[list[str]] = []  # (see ``splits.layered``)
    if "k" in splitter.groupindex:  # (``_layered``: keys and values apart, the space off)
        between, heads, values, named = layered(found, splitter)
    else:
        named = [] if det.group is None else found[splitter.groupindex[det.group]::stride]
        if any(named):  # a key word names a value: the value alone is masked, unvalidated
            if det.name not in GROUP_LAST:
                return None
            heads, values = named_values(values, named, bound)
        elif bound:  # each match's boundary character before it
            heads, values = unbound(values)
        if bound:
            drop_space(between, heads)
    if det.validate is None or not values:
        return base, between, heads, values, None
    if named and all(named):  # (every value a key word's: none is validated)
        return base, between, heads, values, None
    if any(named):
        ok = [True] * len(values)
        rest = list(compress(range(len(named)), map(operator.not_, named)))
        if rest:
            rest_values = [values[i] for i in rest]
            checker = BULK.get(det.validate) if len(rest) >= BULK_VALUES else None
            rest_ok = checker(rest_values) if checker is not None else list(
                map(det.validate, rest_values))
            for i, good in zip(rest, rest_ok):
                ok[i] = good
    else:
        checker = BULK.get(det.validate) if len(values) >= BULK_VALUES else None
        ok = checker(values) if checker is not None else list(map(det.validate, values))
    if all(ok):
        return base, between, heads, values, None
    if hidden:
        return base, between, heads, values, ok
    if inner is None or any(map(inner.search, compress(values, map(operator.not_, ok)))):
        return None  # a value may start inside a rejected match: spans_in searches again
    return base, between, heads, values, ok


GROUP_LAST = frozenset({"secret", "ssn"})
"""Detectors whose value group, where it matches, ends the match (``PRECISE``: the key-word
alternative ends with it; a test checks it): the key word and what joins it to the value are
then text between values."""


def _named(det: Detector, m: re.Match[str]) -> bool:
    """Whether a key word names the value of ``m`` (``spans_in`` then keeps it unvalidated)."""
    return det.group is not None and m.group(det.group) is not None


NATIVE = frozenset({"email", "ssn", "phone"})
"""Detectors whose dense runs RE2 reads first (``native``); for cards the ``re`` split and
numpy's Luhn measured as fast, and RE2 declines wherever IBANs hold card look-alikes."""


SHAPED = frozenset({"iban", "ssn", "ipv4", "ipv6"})
"""Detectors whose dense runs their numpy finder reads (``shapes``): IBAN look-alikes the
validator rejects (else match by match, as a rejected match may hide a value), SSNs after key
words (``spans_in`` steps through them in Python), IP addresses (``re`` reads every digit)."""
SHAPED_MIN = 4096
"""Shorter ranges are left to ``re`` (a short text does not load numpy)."""


def spans(det: Detector, text: str, pos: int, endpos: int) -> Spans:
    """``det.spans_in(text, pos, endpos)``, in bulk where that gives the same spans."""
    found = native.spans(det.name, det.words, text, pos, endpos) if det.name in NATIVE else None
    if found is None and det.name in SHAPED and endpos - pos >= SHAPED_MIN:
        found = shapes.spans_within(det.name, text, pos, endpos)
    if found is not None:
        return found
    got = None if det.validate is None else parts(det, text, pos, endpos)
    if got is None:  # (without a validator spans_in is one finditer pass in C already)
        return det.spans_in(text, pos, endpos)
    return _spans_of(got)


def _offsets(got: Pieces) -> Spans:
    """The spans of the values of ``pieces``' result."""
    return _spans_of((got[0], got[1], [], got[2], got[3]))


def _gaps(between: list[str], heads: list[list[str]]) -> Iterator[int]:
    """The length of the text before each value (``parts``), in C."""
    return functools.reduce(lambda gaps, head: map(operator.add, gaps, map(len, head)), heads,
                            map(len, between[:-1]))


def _spans_of(got: Parts) -> Spans:
    """The spans of the values of ``parts``' result."""
    base, between, heads, values, ok = got
    if not values:
        return []
    lengths = [0] * (2 * len(values))
    lengths[0::2] = _gaps(between, heads)
    lengths[1::2] = map(len, values)
    offsets = list(accumulate(lengths, initial=base))
    found = zip(offsets[1::2], offsets[2::2])
    return list(found if ok is None else compress(found, ok))


def arrays(det: Detector, text: str) -> tuple[Any, Any] | None:
    """Starts and ends of ``det``'s values in ``text`` when it is the only detector with values
    (``mask_alone``'s values), as arrays; None where ``spans_in`` must decide."""
    got = parts(det, text, 0, len(text))
    if got is None:
        return None
    np = _numpy()
    base, between, heads, values, ok = got
    sizes = np.empty(2 * len(values), dtype=np.int64)
    sizes[0::2] = np.fromiter(_gaps(between, heads), np.int64, count=len(values))
    sizes[1::2] = np.fromiter(map(len, values), np.int64, count=len(values))
    offsets = base + np.cumsum(sizes)
    starts, ends = offsets[0::2], offsets[1::2]
    if ok is not None:
        keep = np.fromiter(ok, bool, count=len(values))
        starts, ends = starts[keep], ends[keep]
    return starts, ends


def masked_values(values: list[str], name: str, settings: Any) -> list[str]:
    """The masked form of each value of one kind (``text._masked``'s rules); where the first
    ``SAMPLE`` values repeat, each distinct value is masked once (a value's mask depends on it
    alone): 1 MB of ``password=…`` pairs of a few values, 10.5 -> 2 ms."""
    sample = values[:SAMPLE]
    if len(values) > SAMPLE and len(set(sample)) < len(sample) * 3 // 4:
        distinct = dict.fromkeys(values)
        if len(distinct) < len(values) // 2:
            shown = dict(zip(distinct, _masked_values(list(distinct), name, settings)))
            return list(map(shown.__getitem__, values))
    return _masked_values(values, name, settings)


SAMPLE = 256
"""Values looked at to tell whether a list repeats them (hashing all of a list of distinct
values to find out cost ~2.5 ms a MB)."""


def _masked_values(values: list[str], name: str, settings: Any) -> list[str]:
    strategy = settings.strategy_for(detector=name)
    if strategy == "partial" and name in LAST4:
        return [BLOCK + v[-KEEP:] for v in values]
    if strategy == "partial" and name == "email":
        return [EMAIL_BLOCK + v[v.rfind("@"):] for v in values]
    if strategy == "partial" and "@" not in "".join(values) and list(
            map(str.strip, values)) == values:  # (``partial_value`` without its Python call)
        if min(map(len, values)) >= MIN_PARTIAL:  # (in C)
            tails: Iterator[str] = map(operator.getitem, values, repeat(slice(-KEEP, None)))
            return list(map(BLOCK.__add__, tails))
        return [BLOCK + v[-KEEP:] if len(v) >= MIN_PARTIAL else BLOCK for v in values]
    if strategy == "hash":  # (a digest per distinct value, remembered)
        return hash_values(values, settings.salt)
    return list(map(masker(strategy, settings.salt, name), values))


def mask_alone(det: Detector, text: str, settings: Any) -> str | None:
    """``text`` with every value of ``det`` masked, when it is the only detector with values
    (then no other kind's spans compete: the values are its matches in order); None where
    ``spans_in`` must decide."""
    got = parts(det, text, 0, len(text))
    if got is None:
        return None
    _, between, heads, values, ok = got
    if not values:
        return text
    shown = masked_values(values, det.name, settings)
    if ok is not None:  # rejected matches stay as they are (a pair's item by a bool: in C)
        shown = list(map(operator.getitem, zip(values, shown), ok))
    step = 2 + len(heads)  # the text between values, then each of their heads, then the mask
    out = [""] * (step * len(values) + 1)
    out[0::step] = between
    for j, head in enumerate(heads):
        out[1 + j::step] = head
    out[step - 1::step] = shown
    return "".join(out)
