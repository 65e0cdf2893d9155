"""Text dense with IBAN look-alikes (a real country's code, two digits, groups the validator
rejects) is read in numpy on every path, and gives exactly what ``re`` gives: the IBAN finder
settles ``re``'s backtracking itself (it never declines), ``bulk.spans`` reads long ranges
through it, and ``mask_text`` masks as the reference does, on random adversarial mixes
(country codes, digits, spaces, word characters and '-' after groups, groups of 3 and 5,
valid IBANs among them) and on the repeated forms ``'DE89 ' * n`` and ``'GB82 WEST ' * n``."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import bulk, mixed, shapes
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.patterns import IBAN_LENGTHS
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference
from .test_bulk import _digits, _iban, _with_check

IBAN = DETECTORS["iban"]
CODES = [*IBAN_LENGTHS, "XX", "AB", "de"]
GLUE = ["", " ", " ", " ", "  ", "-", "_", "a", "x", ",", ".", "\n", "1", "Z"]


def _piece(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.3:
        return rng.choice(CODES) + _digits(rng, 2)
    if k < 0.5:  # a group of 1-5 capitals and digits
        return "".join(rng.choice("0123456789ABCDEFXYZ") for _ in range(rng.choice([1, 2, 3,
                                                                                   4, 4, 4, 5])))
    if k < 0.6:
        return _iban(rng)
    if k < 0.65:
        return _with_check(rng.choice(["DE", "GB", "FR"]), _digits(rng, 18))
    return rng.choice(GLUE)


def adversarial(rng: random.Random, n: int) -> str:
    return "".join(_piece(rng) for _ in range(n))


REPEATED = {
    "DE89": "DE89 ", "GB82 WEST": "GB82 WEST ", "DE89 3704": "DE89 3704 ",
    "groups of 3": "DE89 370 ", "groups of 5": "DE89 37045 ", "word after": "DE89 3704 0044x ",
    "dash after": "GB82 WEST 1234-", "valid": "DE89 3704 0044 0532 0130 00 ",
    "valid and look-alikes": "DE89 3704 0044 0532 0130 00 DE89 GB82 WEST 1234 5 ",
}


def _finder_spans(text: str) -> list[tuple[int, int]]:
    got = shapes.values("iban", shapes.Text(text.encode("ascii")))
    assert got is not None  # the finder is sure of every start: it never declines
    return list(zip(got[0].tolist(), got[1].tolist()))


def test_the_finder_gives_spans_in_on_adversarial_texts() -> None:
    found = 0
    for seed in range(4000):
        text = adversarial(random.Random(seed), random.Random(seed).randint(1, 30))
        want = IBAN.spans_in(text, 0, len(text))
        assert _finder_spans(text) == want, text
        found += bool(want)
    assert found > 100  # valid IBANs among the look-alikes were found, not only rejections


@pytest.mark.parametrize("name", REPEATED)
def test_the_finder_gives_spans_in_on_repeated_forms(name: str) -> None:
    for tail in ("", "1", "-", " ", "x"):
        text = REPEATED[name] * 300 + tail
        assert _finder_spans(text) == IBAN.spans_in(text, 0, len(text))


def test_bulk_spans_equal_spans_in_on_ranges() -> None:
    """Long ranges go through the finder (the character before the range seen, its own
    match left out; the range's end is the text's end)."""
    for seed in range(40):
        rng = random.Random(seed)
        text = adversarial(rng, rng.randint(800, 3000))
        for pos in (0, 1, 2, 5, rng.randrange(len(text)), len(text) // 3):
            for end in (len(text), max(pos, len(text) - rng.randrange(1, 40))):
                assert bulk.spans(IBAN, text, pos, end) == IBAN.spans_in(text, pos, end), (
                    seed, pos, end)


TEXTS = [adversarial(random.Random(seed), n) for seed, n in ((1, 3000), (2, 30_000))] + [
    REPEATED[name] * (size // len(REPEATED[name]))
    for name in ("DE89", "GB82 WEST", "valid and look-alikes") for size in (20_000, 200_000)]


@pytest.mark.parametrize("k", range(len(TEXTS)))
def test_mask_text_masks_as_the_reference(k: int) -> None:
    """Short texts take the span path (RE2 chunks, dense ranges in bulk), long ones the numpy
    path, which now answers however few values it finds."""
    text = TEXTS[k]
    for settings in (MaskSettings(), MaskSettings(detectors=("card", "iban", "phone"))):
        assert mask_text(text, settings) == reference.mask_text(text, settings)


def test_the_numpy_path_answers_text_without_any_value() -> None:
    text = REPEATED["DE89"] * 20_000
    assert mixed.mask_mixed(text, MaskSettings(), engine="shapes") == text
    valid = REPEATED["valid and look-alikes"] * 2000
    masked = mixed.mask_mixed(valid, MaskSettings(), engine="shapes")
    assert masked == reference.mask_text(valid, MaskSettings()) and "0532" not in masked
