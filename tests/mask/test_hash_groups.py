"""The ``hash`` strategy's values told apart in numpy (``merge.same_values``): one digest per
distinct value, with no Python string per value. The masked text equals the reference masker's
on the forms this speeds up (one value repeated, a few values repeated, every value distinct,
values equal but for a character past ASCII, a NUL, a lone surrogate or their length), and a
fingerprint shared by unequal values falls back to the dict, never to a wrong digest."""
from __future__ import annotations

import random

import numpy as np
import pytest

from jupyter_guard.mask import merge, strategy
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

HASH = MaskSettings(strategy="hash", salt="s")


def _fill(unit: str, n: int = 1 << 17) -> str:
    return unit * (n // len(unit))


FORMS = {
    "one SSN repeated": lambda: _fill("123-45-6789 "),
    "one phone repeated, by '&amp;'": lambda: _fill("+44 20 7946 0958&amp;"),
    "IBANs by commas": lambda: _fill("DE89370400440532013000,"),
    "a few SSNs": lambda: "".join(f"123-45-{6780 + i % 7} " for i in range(9000)),
    "every e-mail distinct": lambda: "".join(f"user{i}@example.com\n" for i in range(6000)),
    "e-mails with non-ASCII neighbours": lambda: "".join(
        f"é user{i % 50}@example.com ü" for i in range(5000)),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_hash_of_repeated_and_distinct_values_equals_the_reference(name: str) -> None:
    text = FORMS[name]()
    strategy._hashed.clear()
    got = mask_text(text, HASH)
    assert got == reference.mask_text(text, HASH) != text


def _groups_by_dict(values: list[str]) -> list[int]:
    number: dict[str, int] = {}
    return [number.setdefault(v, len(number)) for v in values]


def test_same_values_groups_as_a_dict_does() -> None:
    """Values that differ only past ASCII, by a NUL (which pads a word too), a lone surrogate
    or their length are told apart; equal ones share a number."""
    rng = random.Random(21)
    pieces = ["ab", "ab\x00", "a", "\x00ab", "é", "e", "\ud800", "\U0001f600", "12345678",
              "123456789", "1234567\x00", ""]
    for alphabet in ("ab\x00", "ab\x00é\ud800\U0001f600"):
        text = "".join(rng.choice(pieces) + rng.choice(alphabet) for _ in range(4000))
        starts = np.array(sorted(rng.sample(range(len(text) - 20), 600)))
        ends = starts + np.array([rng.randint(1, 20) for _ in starts])
        got = merge.same_values(text, starts, ends)
        assert got is not None
        first, which = got
        values = [text[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
        want = _groups_by_dict(values)
        # the same partition: equal numbers exactly where the values are equal
        pairs = {(w, g) for w, g in zip(want, which.tolist())}
        assert len(pairs) == len(set(want)) == len(set(which.tolist())) == len(first)
        assert all(values[f] == values[i] for i, f in enumerate(first[which].tolist()))


def test_a_shared_fingerprint_falls_back_to_the_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a multiplier of 0 every value's key is its last word and length: unequal values
    share keys, ``same_values`` says None, and the masks are still the reference's."""
    monkeypatch.setattr(merge, "_MIX", 0)
    text = "".join(f"{i:03d}-45-6789 " for i in range(100, 999)) * 20
    starts = np.array([i * 12 for i in range(len(text) // 12)])
    assert merge.same_values(text, starts, starts + 11) is None
    strategy._hashed.clear()
    assert mask_text(text, HASH) == reference.mask_text(text, HASH) != text
