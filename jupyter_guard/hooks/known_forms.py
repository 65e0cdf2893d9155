"""The forms a known value takes once a user loop turns it into a number.

A value read from a sensitive column is known (``exits.known``) as it was read:
``'123-45-6789'``, ``'(415) 555-0100'``, ``'4111111111111111'``. Cut into a number by hand
(``int(s.replace('-', ''))``, ``float(card)``, the digits of a phone), it is another string when
printed or written: ``123456789``, ``4111111111111111.0``, ``4.111111111111111000e+15``. Such
values are numbers made only of the value's digits, so their forms are known too, worked out once
when the value is first remembered:

- the digits alone (an SSN's dashes, a phone's brackets and spaces dropped) and, where it starts
  with a zero, without its leading zeros (what ``int`` keeps);
- the number as Python prints a float (``repr``: ``json.dump``, ``str(list)``, pandas' CSV) and
  as numpy's ``savetxt`` does by default (``%.18e``); a number past 2**53 printed as a float is
  the float's own digits, which differ from the value's last digits (a card's check digit can be
  worked out again from the rest), so those are known too.

Only values made of digits and the separators of SSNs, phones and card numbers, with at least
``DIGITS`` digits, have numeric forms: shorter numbers are too common in honest data to be found
by value. Other changes to a number (arithmetic, a slice of its digits) are not followed.

>>> sorted(numeric_forms(["123-45-6789", "user@example.com", "12"]))
['1.234567890000000000e+08', '123456789', '123456789.0']
>>> sorted(numeric_forms(["012-34-5678"]))
['012345678', '1.234567800000000000e+07', '12345678', '12345678.0']
"""
from __future__ import annotations

from collections.abc import Iterable

DIGITS = 9
"""The fewest digits a value needs for its numeric forms to be known (an SSN has 9)."""
_SEPARATORS = " -().+/"
_NOT_NUMBER = str.maketrans("", "", "0123456789" + _SEPARATORS)
_ONLY_DIGITS = str.maketrans("", "", _SEPARATORS)


def numeric_forms(values: Iterable[str]) -> set[str]:
    """The numeric forms of those ``values`` that are numbers written with separators, other
    than the values themselves."""
    out: set[str] = set()
    for v in values:
        if len(v) < DIGITS or len(v) > 40 or v.translate(_NOT_NUMBER):
            continue   # not a number (an e-mail, a name), or too long to be one value
        digits = v.translate(_ONLY_DIGITS)
        if len(digits) < DIGITS or not digits.isdigit():
            continue
        out.add(digits)
        bare = digits.lstrip("0")
        if len(bare) >= DIGITS - 1:   # ``int`` drops leading zeros: 012-34-5678 -> 12345678
            out.add(bare)
        number = float(int(digits))
        out.add(repr(number))
        out.add(f"{number:.18e}")
        exact = int(number)
        if exact != int(digits):   # past 2**53: the float's own digits
            out.add(str(exact))
    out.difference_update(values if isinstance(values, (set, frozenset)) else set(values))
    return out
