"""``bulk.masked_values`` masks each distinct value once where a list repeats them: the same
masks as value by value, for every strategy and kind, repeated or not, and long texts of
repeated pairs mask as the reference masker masks them."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import bulk
from jupyter_guard.mask.strategy import STRATEGIES, masker
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

VALUES = {"secret": ["hunter22", "s3cr3t-value", "abc"], "email": ["a@b.co", "jane@example.com"],
          "ssn": ["123-45-6789", "123 45 6789"], "iban": ["DE89370400440532013000"]}


def _lists(values: list[str]) -> dict[str, list[str]]:
    rng = random.Random(20)
    return {"repeated": [rng.choice(values) for _ in range(5000)],
            "distinct": [f"{rng.choice(values)}{i}" for i in range(5000)],
            "repeated after a distinct head": [f"x{i}" for i in range(300)]
            + [rng.choice(values) for _ in range(5000)],
            "short": values * 3}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("kind", list(VALUES))
def test_masks_are_those_of_each_value(strategy: str, kind: str) -> None:
    s = MaskSettings(strategy=strategy, salt="pepper")
    one = masker(strategy, "pepper", kind)
    for name, values in _lists(VALUES[kind]).items():
        got = bulk.masked_values(values, kind, s)
        assert got == bulk._masked_values(values, kind, s), name
        if kind == "secret":  # (the others' partial masks assume values of their shape)
            assert got == [one(v) for v in values], name


UNITS = ["password=hunter22 ", '"password": "hunter22", ', "token=abcd1234&",
         "AKIAIOSFODNN7EXAMPLE ", "jane@example.com ", "DE89 3704 0044 0532 0130 00 "]


@pytest.mark.parametrize("unit", UNITS)
def test_repeated_values_mask_as_one_by_one(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = unit * ((1 << 20) // len(unit))
    for s in (MaskSettings(), MaskSettings(strategy="redact"), MaskSettings(strategy="hash")):
        masked = mask_text(text, s)
        with monkeypatch.context() as m:
            m.setattr(bulk, "masked_values", bulk._masked_values)
            assert masked == mask_text(text, s)
        assert not any(v in masked for v in ("hunter22", "abcd1234", "jane@", "3704"))


@pytest.mark.parametrize("unit", [u for u in UNITS if "&" not in u])
def test_repeated_pairs_mask_as_the_reference(unit: str) -> None:
    """(The reference masks a run of ``&``-joined pairs as one value: ``pairs`` splits it.)"""
    text = unit * (70_000 // len(unit))
    for s in (MaskSettings(), MaskSettings(strategy="redact")):
        assert mask_text(text, s) == reference.mask_text(text, s)
