"""Key=value secrets joined into one run longer than a value can be (``MAX_VALUE``), as in a
long query string: every value is masked. Before, a value was matched only from where the
previous one's 4,096-character cut ended, so about three values in four stayed visible."""
from __future__ import annotations

import pytest

from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings, mask_text

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
