"""Key=value secrets joined into one run longer than a value can be (``MAX_VALUE``), as in a
long query string: every value is masked. Before, a value was matched only from where the
previous one's 4,096-character cut ended, so about three values in four stayed visible."""
from __future__ import annotations

import pytest

from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.scan import scan
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

ALL = tuple(DETECTORS)


@pytest.mark.parametrize("strategy", ["partial", "redact", "hash"])
@pytest.mark.parametrize("text", [
    "password=hunter22&" * 600,
    "password=hunter22&amp;" * 600,
    "x=1&token=hunter22zz&" * 500 + "end",
    "A" * 5000 + "&pwd=hunter22&" * 700,
    "api_key=hunter22xy&auth=hunter22qq&" * 400,
    "q?" + "password=hunter22&" * 60_000,
], ids=["amp", "amp-entity", "mixed-keys", "after-a-run", "two-keys", "one-megabyte"])
def test_every_value_of_a_long_run_of_pairs_is_masked(text: str, strategy: str) -> None:
    out = mask_text(text, MaskSettings(strategy=strategy, detectors=ALL))
    assert "hunter" not in out
    assert out.count("=") >= text.count("=") // 2   # the keys are still there, values masked


def test_a_long_query_without_key_words_is_unchanged() -> None:
    text = "q?" + "city=Lyon&page=2&" * 3000
    assert mask_text(text, MaskSettings(detectors=ALL)) == text


@pytest.mark.parametrize("strategy", ["partial", "redact", "hash"])
@pytest.mark.parametrize("unit", ["pwd=token=hunter22xyz&", "pwd=pwd=token=hunter22xyz&",
                                  "api_key=secret=auth=hunter22qq&"])
def test_a_key_word_that_starts_a_value_is_masked_with_it(unit: str, strategy: str) -> None:
    """In a run longer than a value, a value cut empty by the key word right after it takes
    that key and its value, as the precise pattern does (before, ``token=`` stayed visible):
    the run is masked pair by pair as the reference masks one pair."""
    settings = MaskSettings(strategy=strategy)
    text = unit * (3 * 4096 // len(unit))
    one = reference.mask_text(unit, settings)
    assert one != unit and "token=" not in one and "secret=" not in one
    assert mask_text(text, settings) == one * (len(text) // len(unit))


@pytest.mark.parametrize("text", ["password=ab&token=hunter22&" * 600,
                                  "password=ab&" * 1200, "x=1&pwd=q&auth=hunter22&" * 600])
def test_a_value_under_four_characters_cut_by_the_next_key_is_masked(text: str) -> None:
    """A value cut by the next key under 4 characters (the precise pattern runs on into that
    key and masks it with it) is masked; before, it stayed visible. The run's last pair is
    the precise pattern's alone, as in the reference."""
    out = mask_text(text, MaskSettings())
    body = out[:-40]
    assert "=ab&" not in body and "=q&" not in body and "hunter" not in out
    assert out.count("=") == text.count("=")


@pytest.mark.parametrize("unit", ["password=ab&", "password=ab-", "password=hunter22&",
                                  "api_key=hunter22xy&auth=q&"])
def test_a_run_of_pairs_over_many_chunks_lists_each_value_once(unit: str) -> None:
    """Each chunk's window reaches ``MAX_VALUE`` past the chunk, so the next chunk read the same
    pairs again: a quarter of a run's spans were exact copies, each resolved and masked after
    the scan. The copies are not listed again (``pairs.copies``): the spans are the distinct
    ones, in the same order (``benchmarks/bench_text_ab.py`` shows the masks unchanged)."""
    settings = MaskSettings(strategy="redact")
    text = unit * (200_000 // len(unit))
    spans = scan(text, settings.enabled, distinct=False)
    assert len(spans) == len(set(spans))
    assert spans == scan(text, settings.enabled)
    out = mask_text(text, settings)
    assert "hunter" not in out and "=ab" not in out[:-64] and "=q&" not in out[:-64]
