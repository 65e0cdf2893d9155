"""Text dense with key-like tokens (base64 blobs, random ids, hashes side by side) is validated
in numpy (``keys.secrets_ok``): its answer is ``_secret_ok``'s for every token (random tokens
of every class mix, prefixed keys, tokens at the entropy thresholds), and ``mask_text`` masks
such text as the reference does, under every strategy."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import bulk, keys
from jupyter_guard.mask.detect import _secret_ok
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALPHABETS = [B64, B64 + "_-", "abcXYZ01", "aB1/", "ab12", "AB12", "aA1", "0123456789abcdef",
             "aB", "a1", "A1/"]
PREFIXES = ["sk-", "sk_live_", "ghp_", "github_pat_", "xoxb-", "AKIA", "ASIA", "AIza", "eyJ",
            "glpat-", "rk_live_", "s", "g", "-"]


def _token(rng: random.Random) -> str:
    alphabet = rng.choice(ALPHABETS)
    token = "".join(rng.choices(alphabet, k=rng.choice([4, 8, 31, 32, 40, 41, 64, 90, 300])))
    if rng.random() < 0.05:
        token = rng.choice(PREFIXES) + token
    return token


# entropy exactly 4.5 (16 characters once and 8 twice in 32) and exactly log2(32) = 5
AT_THRESHOLDS = ["aBcDeFgHiJkLmN12" + "pQ3/4R5S" * 2, "aB1/" * 8, "A1b2C3d4E5f6G7h8I9j0KkLlMmNnOoPp",
                 "aBcD1/2" * 2, "Ab1" * 11, "aAaAaAaA11223344556677889900zZyY"]


def test_numpy_validation_is_secret_ok_on_random_tokens() -> None:
    rng = random.Random(21)
    values = [_token(rng) for _ in range(20_000)] + AT_THRESHOLDS
    assert keys.secrets_ok(values) == list(map(_secret_ok, values))
    assert sum(keys.secrets_ok(values)) > 1000  # (values of both answers are tested)


def test_repeated_tokens_are_judged_once_each_as_secret_ok_judges_them() -> None:
    """Tokens repeated (fewer than half distinct) are judged once each: the same answers."""
    rng = random.Random(5)
    few = [_token(rng) for _ in range(300)] + AT_THRESHOLDS + ["é" * 40, "a\nb" * 20]
    values = [rng.choice(few) for _ in range(20_000)]
    assert keys.secrets_ok(values) == list(map(_secret_ok, values))
    assert 1000 < sum(keys.secrets_ok(values)) < 19_000


def test_numpy_validation_declines_what_it_cannot_read() -> None:
    values = ["aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI", "é" * 40, "a\nb" * 20, "Zz9" * 2000]
    assert keys.secrets_ok(values) == list(map(_secret_ok, values))


def test_the_bulk_pass_uses_it() -> None:
    assert bulk.BULK[_secret_ok] is keys.secrets_ok


def _dense(rng: random.Random, size: int) -> str:
    out, n = [], 0
    while n < size:
        piece = _token(rng) + rng.choice([" ", " ", "\n", ",", "", "=", "-", "/", " x "])
        if rng.random() < 0.03:
            piece += rng.choice(["password=hunter22 ", "jane@example.com ", "123-45-6789 ",
                                 "+44 20 7946 0958 "])
        out.append(piece)
        n += len(piece)
    return "".join(out)


@pytest.mark.parametrize("strategy", ["partial", "redact", "hash", "null"])
@pytest.mark.parametrize("seed", range(3))
def test_mask_text_masks_dense_tokens_as_the_reference(strategy: str, seed: int) -> None:
    text = _dense(random.Random(seed), 70_000)
    settings = MaskSettings(strategy=strategy)
    assert mask_text(text, settings) == reference.mask_text(text, settings)


@pytest.mark.parametrize("form", ["glued", "spaced", "lines"])
def test_mask_text_masks_random_groups_as_the_reference(form: str) -> None:
    rng = random.Random(form)
    sep = {"glued": "", "spaced": " ", "lines": "\n"}[form]
    text = sep.join("".join(rng.choices(B64, k=rng.randint(20, 80))) for _ in range(1500))
    masked = mask_text(text, MaskSettings())
    assert masked == reference.mask_text(text, MaskSettings())
    assert form == "glued" or masked != text  # (spaced tokens are keys: some are masked)


@pytest.mark.parametrize("extra", ["", "!~@#$%^&*()[]{}<>?|\\`", ".:=_-"])
def test_numpy_validation_with_characters_outside_the_narrow_alphabet(extra: str) -> None:
    """Tokens holding a character outside ``keys._ALPHABET`` are counted over all 128 (the
    narrow histogram's numbering cannot hold it): the same answers either way."""
    rng = random.Random(extra)
    values = ["".join(rng.choices(rng.choice(ALPHABETS) + extra, k=rng.choice([32, 40, 64, 90])))
              for _ in range(5000)] + AT_THRESHOLDS
    assert keys.secrets_ok(values) == list(map(_secret_ok, values))
    assert 500 < sum(keys.secrets_ok(values)) < 4900
