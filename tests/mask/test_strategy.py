"""Strategies and the pure frame/text maskers."""
from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

import jupyter_guard.mask.detect
import jupyter_guard.mask.settings
import jupyter_guard.mask.strategy
from jupyter_guard.mask.settings import MaskSettings, mask_frame, mask_series, mask_text
from jupyter_guard.mask.strategy import BLOCK, apply_strategy, mask_value

VALUES = pd.Series(["jane@example.com", "4111 1111 1111 1111", None, "abc", 70.25])


@pytest.mark.parametrize(("strategy", "expected"), [
    pytest.param("redact", [BLOCK, BLOCK, None, BLOCK, BLOCK], id="redact"),
    pytest.param("partial", ["█████@example.com", "████1111", None, BLOCK, BLOCK], id="partial"),
    pytest.param("null", [None, None, None, None, None], id="null"),
])
def test_strategy_table(strategy: str, expected: list[object]) -> None:
    assert apply_strategy(VALUES, strategy).tolist() == expected


def test_hash_is_salted_and_deterministic() -> None:
    a = apply_strategy(VALUES, "hash", salt="s1").tolist()
    assert a == apply_strategy(VALUES, "hash", salt="s1").tolist()
    assert a != apply_strategy(VALUES, "hash", salt="s2").tolist()
    assert a[0].startswith("h:") and len(a[0]) == 10 and a[2] is None
    assert mask_value("jane@example.com", "hash", "s1") == a[0]


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="use one of redact, partial, hash, null"):
        MaskSettings(strategy="scramble")


@pytest.mark.parametrize("module", [jupyter_guard.mask.detect, jupyter_guard.mask.strategy,
                                    jupyter_guard.mask.settings], ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


CUSTOMERS = pd.DataFrame({
    "email": ["jane@example.com", "bob@corp.io"],
    "contact": ["x@y.org", "z@w.net"],
    "ssn": ["123-45-6789", "234-56-7890"],
    "note": ["call +44 20 7946 0958", "ok"],
    "city": ["Paris", "Oslo"],
    "amount": [12.5, 99.0],
})


def test_mask_frame_by_name_value_and_cell() -> None:
    out = mask_frame(CUSTOMERS, MaskSettings(strategy="redact"))
    assert out["email"].tolist() == [BLOCK, BLOCK]
    assert out["contact"].tolist() == [BLOCK, BLOCK]  # by value detection
    assert out["note"].tolist() == [f"call {BLOCK}", "ok"]  # inside free text
    assert out["city"].equals(CUSTOMERS["city"]) and out["amount"].equals(CUSTOMERS["amount"])
    assert CUSTOMERS["email"].iloc[0] == "jane@example.com"  # input unchanged


def test_per_column_and_lineage() -> None:
    s = MaskSettings(strategy="redact", per_column={"ssn": "partial", "email": "hash"})
    out = mask_frame(CUSTOMERS, s, lineage_sensitive={"city"})
    assert out["ssn"].tolist() == ["████6789", "████7890"]
    assert out["email"].iloc[0].startswith("h:") and out["contact"].iloc[0].startswith("h:")
    assert out["city"].tolist() == [BLOCK, BLOCK]


def test_row_series_and_index() -> None:
    row = mask_series(CUSTOMERS.iloc[0], MaskSettings())
    assert row["email"] == "█████@example.com" and row["city"] == "Paris"
    counts = mask_frame(CUSTOMERS.set_index("email"), MaskSettings())
    assert "jane@example.com" not in counts.index


def test_describe_keeps_counts_masks_top() -> None:
    out = mask_frame(CUSTOMERS.describe(include="all"), MaskSettings())
    assert out.loc["top", "email"] == "█████@example.com" and out.loc["count", "email"] == 2
    assert out.loc["top", "contact"] == "█████@y.org"


def test_unmasked_user_sees_raw() -> None:
    s = MaskSettings(may_unmask=True, unmasked=True)
    assert mask_frame(CUSTOMERS, s) is CUSTOMERS
    assert mask_text("a@b.com", s) == "a@b.com"
    assert mask_text("a@b.com", MaskSettings(unmasked=True)) != "a@b.com"  # not allowed


def test_mask_text_numbers_untouched() -> None:
    text = "order 1234567 on 2024-01-15 for $1,234.56"
    assert mask_text(text, MaskSettings()) == text
    assert np.isnan(mask_frame(pd.DataFrame({"x": [np.nan]}), MaskSettings())["x"].iloc[0])


@pytest.mark.parametrize("distinct", [False, True])
def test_hash_values_when_the_remembered_digests_fill_up(
        monkeypatch: pytest.MonkeyPatch, distinct: bool) -> None:
    """Past ``HASHED_MAX`` remembered digests the memory starts over: values known a moment
    ago and new ones in the same call are all hashed (a KeyError here before), and a caller
    that says its values are distinct gets the same digests."""
    strategy = jupyter_guard.mask.strategy
    monkeypatch.setattr(strategy, "HASHED_MAX", 4)
    monkeypatch.setattr(strategy, "_hashed", {})
    assert strategy.hash_values(["a", "b", "c"], "s") == [
        strategy.hash_value(v, "s") for v in "abc"]
    values = ["a", "d", "e"] if distinct else ["a", "d", "e", "d"]
    assert strategy.hash_values(values, "s", distinct) == [
        strategy.hash_value(v, "s") for v in values]
    more = ["a", "f", "g"]  # (a known again, f and g new: within the bound)
    assert strategy.hash_values(more, "s", distinct) == [strategy.hash_value(v, "s") for v in more]
