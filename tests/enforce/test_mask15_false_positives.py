"""No false positive from the spellings of known values (issue 15, mask15): with 10,000 SSNs and
10,000 e-mails read from sensitive columns remembered, the 65,000+ plain values of the exits'
corpus (ids, amounts, timestamps, product codes, UUIDs, addresses), honest lists of small
numbers, digit words and plain words are neither refused at an exit nor masked when printed."""
from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from jupyter_guard.hooks import exits
from jupyter_guard.mask.text import MaskSettings, mask_text
from tests.enforce.known_values import remembering
from tests.enforce.test_exit_false_positives import corpus


def _ssns(n: int) -> list[str]:
    rng = random.Random(2026)
    out = []
    while len(out) < n:
        area = rng.randint(1, 899)
        if area != 666:
            out.append(f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}")
    return out


@pytest.fixture()
def remembered() -> Iterator[None]:
    with remembering(_ssns(10_000) + [f"first.last{i}@corp.example" for i in range(10_000)]):
        yield


def _honest() -> list[str]:
    rng = random.Random(7)
    out = [str([rng.randint(0, 9) for _ in range(rng.randint(3, 12))]) for _ in range(2000)]
    out += [", ".join(str(rng.randint(0, 99)) for _ in range(rng.randint(3, 15)))
            for _ in range(2000)]
    out += ["one two three four five six seven eight nine", "' '.join('hello world')",
            "h e l l o   w o r l d", "0xff 0x75bcd15 0o10000", "first.last", "jane.doe",
            "[1, 2, 3, 4, 5, 6, 7, 8, 9]", "1 0 1 1 0 0 1 0 1 1 1 0", "2026-01-15, 10:30:00"]
    return out


def test_plain_values_pass_the_exits(remembered: None) -> None:
    settings = MaskSettings()
    values = corpus() + _honest()
    assert len(values) >= 65_000
    assert [v for v in values if exits.scan(v, settings)] == []


def test_plain_values_print_unchanged(remembered: None) -> None:
    settings = MaskSettings()
    values = corpus() + _honest()
    alone = values[:6_000] + values[-len(_honest()):]   # one by one (short texts' path)
    assert [v for v in alone if mask_text(v, settings) != v] == []
    for i in range(0, len(values), 16_384):   # all of them as printed text, 16,384 a print
        text = "\n".join(values[i:i + 16_384])
        assert mask_text(text, settings) == text


def test_a_known_value_spelt_is_still_found(remembered: None) -> None:
    """The twin that shows the fixture holds what it should."""
    ssn = _ssns(1)[0].replace("-", "")
    settings = MaskSettings()
    assert exits.scan(",".join(ssn), settings)
    assert mask_text(str(list(ssn)), settings) == "['████']"


def test_plain_values_pass_the_exits_as_one_file(remembered: None) -> None:
    """All of them in one write, joined by each separator the digit chains read across."""
    settings = MaskSettings()
    values = corpus() + _honest()
    for sep in ("\n", ",", " ", ", "):
        assert exits.scan(sep.join(values).encode(), settings, decode=True) == "", repr(sep)
