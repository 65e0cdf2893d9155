"""``alone._beside``: a long text dense with one kind (key-like tokens) where other kinds have
a few candidates but no value is masked from the dense kind's one split pass, not by the
chunk-by-chunk scan of every kind.

Differential: every text masks the same with that path and without it (``_beside`` made to
answer None: the path as it was), under the default, all-detector and hash settings; on the
shorter ones as the reference masker does too. The texts: random tokens with IBAN- and
phone-shaped look-alikes beside them, a real value of another kind put at chunk edges and at
the ends, ``BESIDE - 1`` / ``BESIDE`` / ``BESIDE + 1`` candidates of another kind, the
adversarial forms of ``test_linear``, seeded random mixes of values and look-alikes, and the
65,000+ plain values of the exits' corpus printed (none masked: no false positive).
"""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import alone, scan
from jupyter_guard.mask.scan import CHUNK
from jupyter_guard.mask.text import ALONE_MIN, mask_text
from tests.enforce.test_exit_false_positives import corpus

from .differential import ALL, DEFAULT, masked_without, put, same_as_reference, same_without
from .test_linear import ADVERSARIAL, PIECES

SIZE = ALONE_MIN + 2 * CHUNK + 3000
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
OTHERS = {"e-mail": "jane.doe@example.com", "IBAN": "DE89 3704 0044 0532 0130 00",
          "phone": "+44 20 7946 0958", "SSN": "123-45-6789", "card": "4111 1111 1111 1111"}

needs_re2 = pytest.mark.skipif(scan.engine() != "re2", reason="google-re2 is not installed")


def tokens(seed: int, alphabet: str = ALNUM + "_-", lo: int = 32, hi: int = 40,
           sep: str = " ", size: int = SIZE) -> str:
    rng, out, n = random.Random(seed), [], 0
    while n < size:
        out.append("".join(rng.choices(alphabet, k=rng.randint(lo, hi))) + sep)
        n += len(out[-1])
    return "".join(out)[:size]


def _with_candidates(k: int) -> str:
    """Tokens with ``k`` IBAN-shaped candidates (a country code, two digits, two groups of
    four) that are no IBAN (the check digits fail), spread over the text."""
    base, step = tokens(5), SIZE // (k + 1)
    for i in range(k):
        base = put(base, (i + 1) * step, f"XX00 AAAA {i:04d}")
    return base


def _forms() -> dict[str, str]:
    out = {
        "tokens 32-40 spaced": tokens(1),
        "tokens 20-60 spaced": tokens(2, ALNUM, 20, 60),
        "tokens 30-50 lines": tokens(3, ALNUM, 30, 50, "\n"),
        "base64 40-80 spaced": tokens(4, ALNUM + "+/", 40, 80),
        "tokens, non-ASCII between": tokens(6, sep=" é "),
        "tokens after a lone surrogate": "\ud800" + tokens(7),
        "tokens, zero-width between": tokens(8, sep="\u200b "),
    }
    for name, value in OTHERS.items():
        base = tokens(9)
        for at in (0, CHUNK - 10, CHUNK, 2 * CHUNK + 1, SIZE // 2, SIZE):
            out[f"tokens, {name} at {at}"] = put(base, at, value)
    for k in (alone.BESIDE - 1, alone.BESIDE, alone.BESIDE + 1):
        out[f"tokens, {k} IBAN-shaped candidates"] = _with_candidates(k)
        out[f"tokens, {k} IBAN-shaped candidates, an IBAN at the end"] = put(
            _with_candidates(k), SIZE, OTHERS["IBAN"])
    for seed in range(4):
        rng = random.Random(seed)
        out[f"random values and tokens {seed}"] = "".join(
            rng.choice([*PIECES, *[tokens(seed + 100, size=40)] * 8]) for _ in range(SIZE // 30))
    for name, text in ADVERSARIAL.items():
        out[f"adversarial {name}"] = text[:SIZE]
    return out


FORMS = _forms()


@pytest.mark.parametrize("name", list(FORMS))
def test_same_with_and_without_the_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    same_without(monkeypatch, alone, "_beside", None, FORMS[name], name)


@pytest.mark.parametrize("name", [n for n in FORMS if n.startswith("tokens")])
def test_same_as_the_reference(name: str) -> None:
    same_as_reference(FORMS[name][:ALONE_MIN + CHUNK], name)


def test_plain_values_print_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exits' 65,000+ plain values (ids, amounts, timestamps, product codes, UUIDs,
    addresses), printed 16,384 a text, alone and between key-like tokens: nothing masked but
    the tokens, and the same as without the path."""
    values = corpus()
    assert len(values) >= 65_000
    for i in range(0, len(values), 16_384):
        text = "\n".join(values[i:i + 16_384])
        assert mask_text(text, DEFAULT) == text
        mixed = tokens(i) + "\n" + text
        for s in (DEFAULT, ALL):
            assert mask_text(mixed, s) == masked_without(monkeypatch, alone, "_beside", None,
                                                         mixed, s)
        masked = mask_text(mixed, DEFAULT)
        assert masked.endswith(text), "a plain value was masked"


@needs_re2
@pytest.mark.parametrize("name", list(OTHERS))
def test_a_value_beside_the_tokens_is_masked(name: str) -> None:
    """The benign twin: one value of another kind among a megabyte of tokens is masked (the
    path gives up and the scan finds it), wherever it is."""
    base = tokens(11, size=1 << 20)
    value = OTHERS[name]
    for at in (0, 5 * CHUNK - 3, 1 << 20):
        text = put(base, at, value)
        masked = mask_text(text, DEFAULT)
        assert " " + value + " " in text and " " + value + " " not in masked, (name, at)
        assert alone.alone(text, DEFAULT.enabled) is None


@needs_re2
def test_tokens_skip_the_scan_of_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """A megabyte of tokens with IBAN-shaped look-alikes beside them is masked without the
    chunk-by-chunk scan (it listed and confirmed every kind's candidates in every chunk)."""
    text = tokens(12, size=1 << 20)
    expected = mask_text(text, DEFAULT)
    assert expected != text

    def refuse(*a: object) -> object:
        raise AssertionError("the scan of every kind ran")

    monkeypatch.setattr(scan, "scan_re2", refuse)
    assert alone.alone(text, DEFAULT.enabled) is DEFAULT.enabled[-1]
    assert mask_text(text, DEFAULT) == expected
