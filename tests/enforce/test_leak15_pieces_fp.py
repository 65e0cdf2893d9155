"""No false positive from the looser pieces (issue 15, leak15): with sensitive values that hold
separators and spaces remembered (addresses with a ZIP code, names, composite identifiers),
the 65,000+ plain values of the exits' corpus, which hold ZIP codes, 5-digit ids and amounts of
their own, are neither refused at an exit nor masked when printed; the composite identifiers'
5-digit pieces still are."""
from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from jupyter_guard.hooks import exits
from jupyter_guard.mask.text import MaskSettings, mask_text
from tests.enforce.known_values import remembering
from tests.enforce.test_exit_false_positives import CITIES, STREETS, corpus


def _sensitive() -> list[str]:
    rng = random.Random(2027)
    out = [f"{rng.randint(1, 200)} {rng.choice(STREETS)}, {rng.randint(10_000, 99_999)} "
           f"{rng.choice(CITIES)}" for _ in range(10_000)]
    out += [f"{rng.choice(['Jane', 'John', 'Ana', 'Li'])} {rng.choice(CITIES)}son"
            for _ in range(2_000)]
    out += [f"{rng.choice(['Saint-Denis', 'Paris'])};{rng.randint(1, 99)}" for _ in range(500)]
    return out + COMPOSITE


# composite identifiers whose pieces the corpus does not hold (a piece of a sensitive value
# equal to an honest number is masked there too: ``test_composite_pieces_are_not_in_the_corpus``)
COMPOSITE = ["98765,43210", "AB12;88888", "ref 100000003 lyon"]


@pytest.fixture()
def remembered() -> Iterator[None]:
    with remembering(_sensitive()):
        yield


def test_plain_values_pass_and_print(remembered: None) -> None:
    settings = MaskSettings()
    values = corpus()
    assert len(values) >= 65_000
    assert [v for v in values if exits.scan(v, settings)] == []
    for i in range(0, len(values), 16_384):
        text = "\n".join(values[i:i + 16_384])
        assert mask_text(text, settings) == text


def test_composite_pieces_are_not_in_the_corpus() -> None:
    """What the test above rests on, checked rather than assumed."""
    import re

    text = "\n".join(corpus())
    assert [p for p in ("98765", "43210", "88888", "100000003")
            if re.search(rf"(?<!\d){p}(?!\d)", text)] == []


@pytest.mark.parametrize("printed", ["98765", "43210", "88888", "100000003", "x 43210 y"])
def test_pieces_of_composite_identifiers_are_found(remembered: None, printed: str) -> None:
    """The twin: the pieces that are identifiers are known, masked and refused."""
    settings = MaskSettings()
    assert exits.scan(printed, settings)
    assert "\u2588" in mask_text(printed, settings)
