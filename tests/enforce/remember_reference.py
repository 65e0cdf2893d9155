"""The ``exits.remember`` of commit b3f4560 and the forms it used, kept as the reference
``test_remember_batch`` compares the batch version with (same values, forms and side sets).
Changed only to keep its state in a namespace instead of module globals."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from jupyter_guard.hooks import exits, respelt
from jupyter_guard.hooks.exits import _flat  # unchanged since: not copied
from jupyter_guard.hooks.known_forms import _NOT_NUMBER, _ONLY_DIGITS, DIGITS, local_parts
from jupyter_guard.mask.strategy import canonical


def remember(st: Any, values: Any) -> None:
    """Values read out of a sensitive column (strings of 4+ characters, bounded)."""
    if st.counted[0] >= exits.MAX_KNOWN:
        return
    try:
        new = {s for s in map(str, _flat(values, 3))
               if len(s) >= exits.SHORTEST and s not in ("None", "nan")}
    except Exception:  # noqa: BLE001 - values that cannot be listed: the detectors still look at the bytes
        return
    # a new value cut into a number by a user loop (``int(ssn.replace('-', ''))``)
    fresh = new.difference(st.known)
    read = set(fresh)   # as read (the others are forms of these)
    if fresh and known_forms.CUT_ANY.search("\n".join(fresh)):   # most values hold no cut
        cut = known_forms.pieces(fresh)
        fresh |= cut - st.known
        new |= cut
    local: set[str] = set()
    if fresh and "@" in "".join(fresh):   # an e-mail's local part printed alone
        local = known_forms.local_parts(fresh) - st.known
        fresh |= local
        new |= local
    st.spelt.update(fresh - read)
    st.spelt.update(v for v in read if not canonical(v))   # (a tail that is no canonical tail)
    forms = numeric_forms(fresh, st.spelt)
    digits = {len(v) for v in fresh if v.isdigit()} | {len(f) for f in forms if f.isdigit()}
    if digits:   # numbers a print may cut in digit groups
        st.numbers[0] = True
        st.digit_lengths.update(digits)
    st.encoded_alone.update(encoded_forms(fresh))
    st.packed.update(packed_forms(fresh))
    if not st.emails[0] and any("@" in s for s in fresh):
        st.emails[0] = True
    if st.emails[0] and len(st.email_domains) <= respelt.DOMAINS_MAX:
        st.email_domains.update(s.rpartition("@")[2] for s in fresh if "@" in s)
    st.counted[0] += len(fresh)
    st.known.update(new)
    st.known.update(forms)
    # spelt backwards too (``[e[::-1] for e in df.email]``): one set, so every check that looks
    # a token up finds a reversed value at no extra cost. Not bare digit strings: a reversed
    # 9-digit number is as likely to be some other honest number as a hidden SSN
    # (not a local part's: ``'0001resu'`` states made the automaton's pass over digit-dense
    # text 6 times slower)
    backwards = {s[::-1] for s in new if not s.isdigit() and s not in local} - new
    st.spelt.update(backwards - st.known)   # (not a value read as itself before)
    st.known.update(backwards)
    st.lengths.update(len(s) for s in new)
    st.lengths.update(len(s) for s in forms)


def numeric_forms(values: Iterable[str], spelt: set[str] | None = None) -> set[str]:
    """The numeric forms of those ``values`` that are numbers written with separators, other
    than the values themselves; ``spelt``, if given, gets those that are not the value's digits
    (a float, thousands separators, hex: their tail is not the value's last four digits).

    """
    out: set[str] = set()
    canonical: set[str] = set()
    for v in values:
        if len(v) < DIGITS or len(v) > 40 or v.translate(_NOT_NUMBER):
            continue   # not a number (an e-mail, a name), or too long to be one value
        digits = v.translate(_ONLY_DIGITS)
        if len(digits) < DIGITS or not digits.isdigit():
            continue
        out.add(digits)
        canonical.add(digits)
        bare = digits.lstrip("0")
        if len(bare) >= DIGITS - 1:   # ``int`` drops leading zeros: 012-34-5678 -> 12345678
            out.add(bare)
            canonical.add(bare)
        number = float(int(digits))
        out.add(repr(number))
        out.add(f"{number:.18e}")
        exact = int(number)
        if exact != int(digits):   # past 2**53: the float's own digits
            out.add(str(exact))
        n = int(digits)
        out.update((f"{n:,}", f"{n:_}"))
        if not digits.endswith("00"):   # backwards (``ssn[::-1]``), and as ``int`` reads it
            out.add(digits[::-1])
            if len(digits[::-1].lstrip("0")) >= DIGITS - 1:
                out.add(digits[::-1].lstrip("0"))
        if n >= 1 << 48:   # bare hex of 12+ digits (shorter: a UUID's or a hash's piece)
            out.update((f"{n:x}", f"{n:X}"))
    out.difference_update(values if isinstance(values, (set, frozenset)) else set(values))
    if spelt is not None:
        spelt.update(out - canonical)
    return out


_PACK = ("<q", ">q", "<d", ">d")


def packed_forms(values: Iterable[str]) -> set[bytes]:
    """The 8-byte forms (int64 and float64, little- and big-endian) of those ``values`` that are
    numbers of ``DIGITS`` digits or more (``numeric_forms``'s)."""
    import struct

    out: set[bytes] = set()
    for v in values:
        if len(v) < DIGITS or len(v) > 40 or v.translate(_NOT_NUMBER):
            continue
        digits = v.translate(_ONLY_DIGITS)
        if len(digits) < DIGITS or not digits.isdigit() or int(digits) >= 1 << 63:
            continue
        n = int(digits)
        for f in _PACK:
            out.add(struct.pack(f, float(n) if f[1] == "d" else n))
    return out


def encoded_forms(values: Iterable[str]) -> set[str]:
    """Each e-mail of ``values`` in Ascii85 and base85 (``b85encode(e.encode())``): a single
    value's run is too short to hold the punctuation the run finder (``encoded85``) needs.
    (``exits`` looks for them as whole words of short texts.)

    """
    import base64

    out: set[str] = set()
    for v in values:
        if "@" in v and len(v) <= 320:
            raw = v.encode("utf-8", "surrogatepass")
            out.update((base64.b85encode(raw).decode("ascii"),
                        base64.a85encode(raw).decode("ascii")))
    return out


# the separators the exits cut printed text at (``exits._CUT``, control bytes aside)
_CUT = str.maketrans(dict.fromkeys(",;|\"'<>()[]{}=&?/\\:\x00\x7f", " "))
_CUT_CHAR = re.compile(r"[,;|\"'<>()\[\]{}=&?/\\:\x00]")
CUT_ANY = re.compile(r"[\s,;|\"'<>()\[\]{}=&?/\\:\x00]")
"""A value ``pieces`` may cut (a separator or a space in it)."""
PIECE_MIN = 5
"""The shortest piece of a value that is remembered on its own (``pieces``)."""
_WORDY = str.maketrans("", "", "-.'_")
_NUMERIC = str.maketrans("", "", "0123456789 -.+")


def pieces(values: Iterable[str]) -> set[str]:
    """The pieces of ``values`` holding a separator the exits cut printed text at
    (``translate(email, '@.', '#,')`` prints ``user1#example,com``, read as ``user1#example``
    and ``com``) or a space: whole, such a value never matches a print. A piece has
    ``PIECE_MIN`` characters or more and is no plain word (letters, maybe with ``-.'_``: a city
    or a name, which would then be masked everywhere). It is kept when it is an identifier:
    6 digits or an ``@`` in it (also between words: ``ref 100000003 lyon``); cut by a separator,
    a letter besides digits (``user1#example``); or 5 digits alone when no piece of the value
    is a plain word (``12345,67890``, ``AB12;34567``: a number made of numbers, where a ZIP
    code beside a city name or an amount's ``234.50`` is no identifier of its own)."""
    out: set[str] = set()
    for v in values:
        if not CUT_ANY.search(v):
            continue
        cut = _CUT_CHAR.search(v) is not None
        parts = [t.strip(".+@$#%*!~^`-") for t in v.translate(_CUT).split()]
        wordy = any(t.translate(_WORDY).isalpha() for t in parts if t)
        for t in parts:
            if len(t) < PIECE_MIN or t == v or t.translate(_WORDY).isalpha():
                continue
            digits = sum(map(str.isdigit, t))
            if digits >= 6 or "@" in t or (cut and t.translate(_NUMERIC)) or (
                    digits >= PIECE_MIN and t.isdigit() and not wordy):
                out.add(t)   # an identifier, or a piece of one
    return out


class known_forms:   # the module name the old code called through
    CUT_ANY = CUT_ANY
    pieces = staticmethod(pieces)
    local_parts = staticmethod(local_parts)
