"""The fast paths find what the previous path found: normalisation in bulk, dense chunks in one
``finditer`` pass, the C-sorted merge and per-kind masking give the same spans and the same
masked text as the reference (the previous implementation, ``reference.py``) on a corpus of
values, near-values, hiding spellings and adversarial runs, at sizes that cross chunk edges."""
from __future__ import annotations

import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings, find_spans, mask_text

from . import reference
from .test_linear import ADVERSARIAL, PIECES

ALL = MaskSettings(detectors=tuple(DETECTORS))
SETTINGS = [
    pytest.param(MaskSettings(), id="default"),
    pytest.param(ALL, id="all-detectors"),
    pytest.param(MaskSettings(detectors=tuple(DETECTORS), strategy="redact"), id="redact"),
    pytest.param(MaskSettings(detectors=tuple(DETECTORS), strategy="hash", salt="s"), id="hash"),
    pytest.param(MaskSettings(detectors=tuple(DETECTORS), strategy="null"), id="null"),
    pytest.param(MaskSettings(detectors=tuple(DETECTORS), per_column={"email": "hash",
                                                                     "card": "redact"}),
                 id="per-kind"),
]

MORE = [
    "4111-1111-1111-1112", "5500 0000 0000 0004", "4111111111111111", "1111 4111 1111 1111 1111",
    "(555) 123-4567", "555.123.4567", "+1 (555) 123 4567", "+1 2", "10.0.0.1", "256.1.1.1",
    "2001:db8::1", "::", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1%eth0", "10:30:00",
    "GB82 WEST 1234 5698 7654 32", "GB00 WEST 1234 5698 7654 32",
    "token: abc", "api_key='Zx9Qw8Er7Ty6Ui5Op4As3Df2'", "sk-" + "a1B2" * 6,
    "ghp_" + "A1b2" * 8, "eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM", "jane&#64;example.com",
    "ja\u200bne@exa\u200dmple.com", "123\u201145\u20146789", "jane%40example.com",
    "123&#45;45&#45;6789", "\uff14111 1111 1111 1111", "jane\uff20example\uff0ecom", "&amp;",
    "AT&amp;T", "%41", "%zz", "&#8230;", "SSN&#8230;123456789", "social security no. 123456789",
    "x@y", "a.b@c.d.ef", "@@", "-", "1", "12", "123", "1234", "00000", "a" * 40, "Ab9+" * 12,
    "\t", ";", '"', "'", "=", "/", ":", "\u00e9", "\u4e2d",
]
CORPUS = PIECES + MORE


def _texts() -> list[str]:
    rng = random.Random(7)
    out = []
    for n in (50, 400, 3000, 12000):
        out.append("".join(rng.choice(CORPUS) for _ in range(n)))
    sys.path.insert(0, "benchmarks")
    from bench_stream import csv_rows, ordinary, pii_rows

    out += [ordinary(200_000), csv_rows(200_000), pii_rows(200_000)]
    out += [text[:70_000] for text in ADVERSARIAL.values()]
    return out


TEXTS = _texts()


@pytest.mark.parametrize("masking", SETTINGS)
def test_same_spans_and_masks_as_the_reference(masking: MaskSettings) -> None:
    for i, text in enumerate(TEXTS):
        assert find_spans(text, masking) == reference.find_spans(text, masking), i
        assert mask_text(text, masking) == reference.mask_text(text, masking), i


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(CORPUS), min_size=1, max_size=3000),
       st.sampled_from([" ", "", "\n", ",", "&#32;", "\u200b", "%20"]))
def test_random_mixtures_agree_with_the_reference(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    assert find_spans(text, ALL) == reference.find_spans(text, ALL)
    assert mask_text(text, ALL) == reference.mask_text(text, ALL)


def test_the_corpus_has_values_to_find() -> None:
    """The comparison is not vacuous: the reference finds values of every kind in the corpus."""
    kinds = {name for text in TEXTS for _, _, name in reference.find_spans(text, ALL)}
    assert kinds == set(DETECTORS), kinds


def test_card_candidates_start_with_the_validators_prefixes() -> None:
    """The card candidate admits exactly the four-digit starts the card validator accepts, so
    no card the validator would pass is left without a candidate."""
    import re

    from jupyter_guard.mask.detect import _CARD_PREFIX
    from jupyter_guard.mask.patterns import CARD_START

    start = re.compile(CARD_START)
    for i in range(10_000):
        digits = f"{i:04d}"
        assert bool(start.fullmatch(digits)) == bool(_CARD_PREFIX.match(digits)), digits


def test_iban_candidates_start_with_a_country() -> None:
    from jupyter_guard.mask.detect import DETECTORS, _iban_ok

    iban = DETECTORS["iban"]
    for text in ("AB12 3456 7890 1234 56", "XX89 3704 0044 0532 0130 00"):
        assert list(iban.find(text)) == [] and not _iban_ok(text.replace(" ", ""))
    assert list(iban.find("DE89 3704 0044 0532 0130 00")) == [(0, 27)]
