"""The forms a known value takes once a user loop turns it into a number.

A value read from a sensitive column is known (``exits.known``) as it was read:
``'123-45-6789'``, ``'(415) 555-0100'``, ``'4111111111111111'``. Cut into a number by hand
(``int(s.replace('-', ''))``, ``float(card)``, the digits of a phone), it is another string when
printed or written: ``123456789``, ``4111111111111111.0``, ``4.111111111111111000e+15``. Such
values are numbers made only of the value's digits, so their forms are known too, worked out once
when the value is first remembered:

- the digits alone (an SSN's dashes, a phone's brackets and spaces dropped) and, where it starts
  with a zero, without its leading zeros (what ``int`` keeps);
- the digits backwards (``s.replace('-', '')[::-1]``; a value backwards as read is known
  beside it, ``exits.remember``), a zero at either end kept (``100000010`` reads
  ``010000001``; not one starting with two zeros, as zero-padded counters and UUIDs do), and,
  when it then starts with a zero, without it as ``int`` prints it (8+ digits left): as
  likely an honest number as the digits themselves (one of 65,000 random 9-digit numbers
  against 10,000 SSNs known, none of the 65,000 plain values of the exits' corpus);
- the number as Python prints a float (``repr``: ``json.dump``, ``str(list)``, pandas' CSV) and
  as numpy's ``savetxt`` does by default (``%.18e``); a number past 2**53 printed as a float is
  the float's own digits, which differ from the value's last digits (a card's check digit can be
  worked out again from the rest), so those are known too.

Only values made of digits and the separators of SSNs, phones and card numbers, with at least
``DIGITS`` digits, have numeric forms: shorter numbers are too common in honest data to be found
by value. The number spelt otherwise is known too: with thousands separators (``f'{n:,}'``,
``f'{n:_}'``) and, from 12 hex digits (a card number), in bare hex (``f'{n:x}'``; a shorter one is
as likely a piece of a UUID or a hash). ``hex``, ``oct`` and ``bin`` with their prefix are read
back at the exit instead (``radix_values``: a form per base made the known-value automaton
slower to build by half). Other changes to a number (arithmetic, a slice of its digits) are not
followed.

``pieces`` gives the pieces of a value holding a separator printed text is cut at
(``translate(email, '@.', '#,')``), known beside it.

``packed_forms`` gives the bytes the number becomes once packed (``struct.pack('<q', n)``,
``array('q')``, ``n.to_bytes(8, 'little')``, a float64): 8 bytes each way round, found at
any offset in binary written out (``known_match.Packed``). Only 8-byte forms: 4 random bytes would
match one of 10,000 values about twice a megabyte of compressed data.

>>> sorted(numeric_forms(["123-45-6789", "user@example.com", "12"]))
['1.234567890000000000e+08', '123,456,789', '123456789', '123456789.0', '123_456_789', '987654321']
>>> sorted(numeric_forms(["012-34-5678"]))[:3]
['012345678', '1.234567800000000000e+07', '12,345,678']
>>> card, ssn = numeric_forms(["4111111111111111"]), numeric_forms(["123456789"])
>>> "e9b08a568f1c7" in card, "75bcd15" in ssn
(True, False)
>>> radix_values("id=0x75bcd15, 0o726746425 0b111010110111100110100010101 0xZZ 10x5")
['123456789', '123456789', '123456789']
>>> sorted(f.hex() for f in packed_forms(["100000001"]))
['0000000005f5e101', '0000000484d79741', '01e1f50500000000', '4197d78404000000']
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from itertools import compress, filterfalse, repeat
from operator import itemgetter
from typing import Any

from jupyter_guard.hooks import cipher_digits
from jupyter_guard.hooks.known_numbers import printed_forms
from jupyter_guard.mask.strategy import SPELT
from jupyter_guard.mask.strategy import canonical as _canonical

DIGITS = 9
"""The fewest digits a value needs for its numeric forms to be known (an SSN has 9)."""
_SEPARATORS = " -().+/"
_NOT_NUMBER = str.maketrans("", "", "0123456789" + _SEPARATORS)
_ONLY_DIGITS = str.maketrans("", "", _SEPARATORS)


_RADIX = re.compile(r"(?<![0-9A-Za-z])0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)(?![0-9A-Za-z])")


def radix_values(text: str) -> list[str]:
    """The numbers ``text`` writes in hex, octal or binary with their prefix (``hex(n)``,
    ``oct(n)``, ``bin(n)``), in decimal; [] without a prefix in it (a few C searches)."""
    if not ("0x" in text or "0X" in text or "0o" in text or "0b" in text):
        return []
    return [str(int(m.group(), 0)) for m in _RADIX.finditer(text) if len(m.group()) <= _WIDEST]


_WIDEST = 72
"""The longest prefixed number read back (a card number in binary is 66 characters; a longer
run is no one value, and its decimal form would cost time quadratic in its length)."""


def radix_spans(text: str, known: AbstractSet[str],
                lengths: AbstractSet[int] = frozenset(range(DIGITS, 20))
                ) -> list[tuple[int, int, str]]:
    """Where ``text`` writes a ``known`` number in hex, octal or binary with its prefix (for
    masking printed text). Only numbers as long as a known number of ``lengths`` digits can be
    are read: one RE2 pass (``0xff`` costs nothing more; ``"0x" in text`` is slower on text
    dense with zeros).

    >>> radix_spans("ids 0x75bcd15 and 0xff", {"123456789"}, {9})
    [(4, 13, 'known-spelt')]
    """
    pattern = _radix_pattern(frozenset(n for n in lengths if n >= DIGITS))
    if pattern is None:
        return []
    try:   # one RE2 pass (Python's engine tries every '0' of a UUID-laden text)
        found = list(pattern[0].finditer(text))
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8)
        found = list(pattern[1].finditer(text))
    return [(m.start(), m.end(), SPELT) for m in found if str(int(m.group(), 0)) in known
            ] + cipher_digits.spans(text, known, lengths)   # digits as letters, one key


_PATTERNS: dict[frozenset[int], tuple[Any, Any] | None] = {}


def _radix_pattern(lengths: frozenset[int]) -> tuple[Any, Any] | None:
    """The RE2 (and Python) patterns of the prefixed numbers of ``lengths`` decimal digits."""
    if lengths not in _PATTERNS:
        if not lengths:
            _PATTERNS[lengths] = None
            return None
        low, high = 10 ** (min(lengths) - 1), 10 ** max(lengths) - 1
        span = {b: f"{{{len(format(low, b))},{len(format(high, b))}}}" for b in "xob"}
        form = (rf"\b0(?:[xX][0-9a-fA-F]{span['x']}|[oO][0-7]{span['o']}"
                rf"|[bB][01]{span['b']})\b")
        try:
            import re2
            fast: Any = re2.compile(form)
        except ImportError:  # pragma: no cover - no wheel: Python's engine
            fast = re.compile(form, re.ASCII)
        _PATTERNS[lengths] = (fast, re.compile(form, re.ASCII))
    return _PATTERNS[lengths]


def number_digits(values: Iterable[str]) -> set[str]:
    """The digits of those ``values`` that are numbers written with separators (an SSN, a
    phone, a card number) of ``DIGITS`` digits or more; each test a C call.

    >>> sorted(number_digits(["123-45-6789", "(415) 555-0100", "user@x.io", "12-34"]))
    ['123456789', '4155550100']
    """
    values = values if isinstance(values, (set, frozenset)) else set(values)
    plain = list(filter(str.isascii, filter(str.isdigit, values)))   # most: digits alone
    out = set(compress(plain, map(_FITS.__contains__, map(len, plain))))   # (C, not a loop)
    rest = values.difference(plain)
    joined = "\n".join(rest)   # one C search over them all, when no value holds a newline
    numbers = _NUMBER_LINE.findall(joined) if joined.count("\n") == len(rest) - 1 else [
        v for v in rest if DIGITS <= len(v) <= 40 and not v.translate(_NOT_NUMBER)]
    out.update(d for d in map(str.translate, numbers, repeat(_ONLY_DIGITS)) if len(d) >= DIGITS)
    return out


_FITS = range(DIGITS, 41)
_NUMBER_LINE = re.compile(rf"^[0-9{re.escape(_SEPARATORS)}]{{{DIGITS},40}}$", re.MULTILINE)


def numeric_forms(values: Iterable[str], spelt: set[str] | None = None,
                  digits: set[str] | None = None, lengths: set[int] | None = None,
                  ints: list[int] | None = None) -> set[str]:
    """The numeric forms of those ``values`` that are numbers written with separators, other
    than the values themselves; ``spelt``, if given, gets those that are not the value's digits
    (a float, thousands separators, hex: their tail is not the value's last four digits).
    ``digits``: ``number_digits(values)``, where the caller has it; ``lengths``, if given, gets
    the lengths of the forms made of digits alone (one that is a value too included); ``ints``,
    if given, gets the numbers (for ``packed_array``). Each form
    is made for all the values at once (``map`` of a C method: 250,000 SSNs in ~0.3 s, not 2).

    >>> spelt = set()
    >>> sorted(numeric_forms(["123-45-6789"], spelt)) == sorted(spelt | {"123456789"})
    True
    """
    values = values if isinstance(values, (set, frozenset)) else set(values)
    digits = number_digits(values) if digits is None else digits
    out: set[str] = set(digits)
    # ``int`` drops leading zeros: 012-34-5678 -> 12345678
    out.update(b for b in map(str.lstrip, (d for d in digits if d[0] == "0"), repeat("0"))
               if len(b) >= DIGITS - 1)
    canonical = set(out)
    numbers = list(map(int, digits))
    if ints is not None:
        ints += numbers
    floats = list(map(float, numbers))
    for printed in printed_forms(numbers):   # float, ``%.18e``, ``{:,}``, ``{:_}`` (numpy)
        out.update(printed)
    # past 2**53: the float's own digits
    exact = [str(int(f)) for n, f in zip(numbers, floats) if n > 1 << 53 and int(f) != n]
    out.update(exact)
    # backwards (``ssn[::-1]``), all 9+ digits, a zero at either end kept (``'100000010'``
    # reads ``'010000001'``); one that starts with a zero also without it, as ``int`` prints
    # it, when 8+ digits are left (as the value's own leading zeros above). Not one that
    # starts with two zeros: ``'000000001'`` is how zero-padded counters and UUIDs look
    backwards = [b for b in map(_BACKWARDS, digits) if not b.startswith("00")]
    out.update(backwards)
    short = [b for b in map(str.lstrip, (d for d in backwards if d[0] == "0"), repeat("0"))
             if len(b) >= DIGITS - 1]
    out.update(short)
    big = [n for n in numbers if n >= 1 << 48]   # bare hex of 12+ digits (shorter: a UUID's or a
    hexes = [*map("{:x}".format, big), *map("{:X}".format, big)]   # hash's piece)
    out.update(hexes)
    if lengths is not None:   # (a reversed form is as long as its digits)
        lengths.update(map(len, canonical))
        lengths.update(map(len, exact))
        lengths.update(map(len, short))
        lengths.update(map(len, filter(str.isdigit, hexes)))
        lengths.update(len(str(n)) for n in numbers if n < 1000)   # '0', no comma
    out.difference_update(values)
    if spelt is not None:
        spelt.update(out - canonical)
    return out


_BACKWARDS = itemgetter(slice(None, None, -1))


def packed_forms(values: Iterable[str], digits: set[str] | None = None) -> set[bytes]:
    """The 8-byte forms (int64 and float64, little- and big-endian: ``struct.pack`` with
    ``<q >q <d >d``) of those ``values`` that are numbers of ``DIGITS`` digits or more
    (``numeric_forms``'s); ``digits`` as there. As bytes: ``packed_array`` is what the exits
    keep."""
    raw = packed_array(list(map(int, number_digits(values) if digits is None else digits)))
    data = raw.tobytes()
    return {data[i:i + 8] for i in range(0, len(data), 8)}


def packed_array(ints: list[int]) -> Any:
    """``packed_forms`` of the numbers ``ints`` as a uint64 array (each form's 8 bytes read
    little-endian): four numpy casts (``struct.pack`` per form cost ~0.45 s for 250,000 SSNs,
    their ``bytes`` in a set as much again). Numbers of 2**63 or more have none."""
    import numpy as np

    n = np.fromiter(filter((1 << 63).__gt__, ints), dtype="<i8")
    f = n.astype("<f8")   # (rounded to nearest, as ``float(n)``)
    return np.concatenate((n.view("<u8"), n.astype(">i8").view("<u8"),
                           f.view("<u8"), f.astype(">f8").view("<u8")))


def encoded_forms(values: Iterable[str]) -> set[str]:
    """Each e-mail of ``values`` in Ascii85 and base85 (``b85encode(e.encode())``): a single
    value's run is too short to hold the punctuation the run finder (``encoded85``) needs.
    (``exits`` looks for them as whole words of short texts; ``encode85`` makes them in numpy.)

    >>> sorted(encoded_forms(["user1@example.com", "123456789"]))
    ['F`V,70gK;p@;Tt"AM.J2D#', 'b#rBMF+gQ_VQp}1WiDfHZ2']
    """
    from jupyter_guard.hooks.encode85 import encode85

    raws = [v.encode("utf-8", "surrogatepass") for v in values if "@" in v and len(v) <= 320]
    if not raws:
        return set()
    b85, a85 = encode85(raws)
    return b85 | a85


# the separators the exits cut printed text at (``exits._CUT``, control bytes aside)
_CUT = str.maketrans(dict.fromkeys(",;|\"'<>()[]{}=&?/\\:\x00\x7f", " "))
_CUT_CHAR = re.compile(r"[,;|\"'<>()\[\]{}=&?/\\:\x00]")
CUT_ANY = re.compile(r"[\s,;|\"'<>()\[\]{}=&?/\\:\x00]")
"""A value ``pieces`` may cut (a separator or a space in it)."""
PIECE_MIN = 5
"""The shortest piece of a value that is remembered on its own (``pieces``)."""
_WORDY = str.maketrans("", "", "-.'_")
_NUMERIC = str.maketrans("", "", "0123456789 -.+")
_STRIP = ".+@$#%*!~^`-"


def pieces(values: Iterable[str]) -> set[str]:
    """The pieces of ``values`` holding a separator the exits cut printed text at
    (``translate(email, '@.', '#,')`` prints ``user1#example,com``, read as ``user1#example``
    and ``com``) or a space: whole, such a value never matches a print. A piece has
    ``PIECE_MIN`` characters or more and is no plain word (letters, maybe with ``-.'_``: a city
    or a name, which would then be masked everywhere). It is kept when it is an identifier:
    6 digits or an ``@`` in it (also between words: ``ref 100000003 lyon``); cut by a separator,
    a letter besides digits (``user1#example``); or 5 digits alone when no piece of the value
    is a plain word (``12345,67890``, ``AB12;34567``: a number made of numbers, where a ZIP
    code beside a city name or an amount's ``234.50`` is no identifier of its own).

    >>> sorted(pieces(["user1#example,com", "Saint-Denis,Paris", "(415) 555-0100", "1,234.50"]))
    ['555-0100', 'user1#example']
    >>> sorted(pieces(["12345,67890", "AB12;34567", "ref 100000003 lyon", "1 Elm St, Oslo 12345"]))
    ['100000003', '12345', '34567', '67890']
    """
    out: set[str] = set()
    for v in filter(CUT_ANY.search, values):
        parts = list(map(str.strip, v.translate(_CUT).split(), repeat(_STRIP)))
        wordy = None   # (worked out only for a piece of 5 digits alone)
        for t in parts:
            if len(t) < PIECE_MIN or t == v or t.translate(_WORDY).isalpha():
                continue
            digits = sum(map(str.isdigit, t))
            if digits >= 6 or "@" in t or (_CUT_CHAR.search(v) and t.translate(_NUMERIC)):
                out.add(t)   # an identifier, or a piece of one
            elif digits >= PIECE_MIN and t.isdigit():
                if wordy is None:
                    wordy = any(map(str.isalpha, map(str.translate, parts, repeat(_WORDY))))
                if not wordy:
                    out.add(t)
    return out


def local_parts(values: Iterable[str]) -> set[str]:
    """The local parts of the e-mails among ``values`` that are no plain word (``user5``,
    ``jane.doe``: a digit or a ``.``, ``_``, ``+`` or ``-`` in it) and have ``PIECE_MIN``
    characters or more: printed alone (``e.split('@')[0]``) they name the person as the whole
    address does. A plain word (``sales``, ``john``) is left out: it would be masked in honest
    text. Such an e-mail with its '@' dropped (``e.replace('@', '')``: ``user5example.com``)
    is given too: it names the person as well, and no honest token is spelt so.

    >>> sorted(local_parts(["user5@example.com", "jane.doe@x.io", "john@x.io", "a1@x.io", "12"]))
    ['jane.doe', 'jane.doex.io', 'user5', 'user5example.com']
    """
    out: set[str] = set()
    for v in values:
        at = v.rfind("@")
        local = v[:at]
        if at >= PIECE_MIN and not local.isalpha() and local.split() == [local] and (
                not local.isdigit() or len(local) >= 6):
            out.add(local.strip(".+-_"))
            out.add(local + v[at + 1:])
    out.discard("")
    return {t for t in out if len(t) >= PIECE_MIN}


# an e-mail ``strategy.canonical`` passes, in ASCII: a local part without whitespace or '@', a
# host name of letter labels with a TLD of letters (``'a@b.c' || ssn`` is none)
_CANONICAL_EMAIL = re.compile(r"^[^\s@]+@(?:[A-Za-z]+(?:-[A-Za-z]+)*\.)+[A-Za-z]{2,}$", re.M)


def not_canonical(values: Iterable[str]) -> list[str]:
    """Those ``values`` whose masked form is no canonical one (``strategy.canonical`` False).
    E-mails are read in one regex pass over them all where they are plain ASCII ones (a call
    per value cost ~0.4 s for 250,000); the others, one call each.

    >>> sorted(not_canonical(["user1@example.com", "a b@x.io", "x@.io", "0x75bcd15", "1234"]))
    ['0x75bcd15', 'a b@x.io', 'x@.io']
    """
    values = list(values)
    joined = "\n".join(values)
    fast: set[str] = set()
    if "@" in joined and joined.count("\n") == len(values) - 1:   # (no value holds a newline)
        fast = set(_CANONICAL_EMAIL.findall(joined))
    return list(filterfalse(_canonical, filterfalse(fast.__contains__, values)))
