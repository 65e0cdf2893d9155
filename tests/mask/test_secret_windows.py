"""The secret detector's bulk split consumes the one character before each match (``bulk._split``:
``re`` then skips to non-word characters instead of trying every position). Its values are
``Detector.spans_in``'s on generated texts holding key words in every spelling the pattern
accepts (case, quotes, ':' or '=', spaces, non-ASCII neighbours, a value at the start or end of
the range, one cut at ``MAX_VALUE`` with a key right after it) and prefixed and bare tokens;
``mask_text`` of such megabyte texts is the reference masker's."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import bulk
from jupyter_guard.mask.detect import get_detectors
from jupyter_guard.mask.patterns import MAX_VALUE
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

SECRET = get_detectors(["secret"])[0]
KEYS = ["password", "passwd", "pwd", "secret", "token", "api_key", "api-key", "apikey",
        "access_key", "access-key", "accesskey", "auth"]
JOINS = ["=", ":", " = ", ": ", "\t:\t", " :", "\n=\n"]
QUOTES = ["", '"', "'"]
AROUND = ["", " ", "\n", "x", "_", "-", "/", "+", "=", ".", ",", ";", '"', "'", "é", "\u00a0",
          "\u2011", "日本", "&", "(", "{", ":"]
TOKENS = ["sk-" + "a1B2" * 6, "sk-proj-" + "Zz9_" * 6, "sk_live_" + "q" * 16, "ghp_" + "a1" * 15,
          "github_pat_" + "x_" * 20, "glpat-" + "a-" * 10, "xoxb-" + "1a-" * 4, "AKIA" + "A1" * 8,
          "AIza" + "b-" * 17 + "c", "eyJ" + "hbGci" + ".eyJ" + "zdWIi" + ".s1gN_",
          "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
          "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF", "A1b2/C3d4+E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9==",
          "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ", "abcd", "550e8400-e29b-41d4-a716-446655440000"]


def _case(word: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in word)


def _value(rng: random.Random) -> str:
    chars = rng.choice(["abcXYZ019", "hunter22", "a/b+c=d.e-f", "ÿé€a1", "x"])
    size = rng.choice([1, 3, 4, 5, 12, 40, MAX_VALUE - 1, MAX_VALUE, MAX_VALUE + 3])
    return "".join(rng.choices(chars, k=size))


def _piece(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        q1, q2 = rng.choice(QUOTES), rng.choice(QUOTES)
        key = rng.choice(["", q1]) + _case(rng.choice(KEYS), rng) + q1
        return key + rng.choice(JOINS) + q2 + _value(rng) + rng.choice(["", q2])
    if roll < 0.85:
        return rng.choice(TOKENS)
    return "".join(rng.choices("ab c1-_/+=.,;:'\"\né", k=rng.randint(0, 12)))


def _text(rng: random.Random) -> str:
    parts = [rng.choice(AROUND)]
    for _ in range(rng.randint(1, 8)):
        parts += [_piece(rng), rng.choice(AROUND)]
    return "".join(parts)


def _bulk_spans(text: str, pos: int, endpos: int) -> list[tuple[int, int]] | None:
    got = bulk.pieces(SECRET, text, pos, endpos)
    return None if got is None else bulk._offsets(got)


def test_bulk_secret_spans_are_spans_in_on_generated_texts() -> None:
    rng = random.Random(22)
    compared = 0
    for _ in range(3000):
        text = _text(rng)
        pos = rng.choice([0, 0, 1, rng.randint(0, len(text))])
        endpos = rng.choice([len(text), len(text), rng.randint(pos, len(text))])
        got = _bulk_spans(text, pos, endpos)
        if got is not None:
            assert got == SECRET.spans_in(text, pos, endpos), (text, pos, endpos)
            compared += 1
    assert compared > 2000  # the bulk path answered, not spans_in behind it


@pytest.mark.parametrize("stop", ["", "x", "/", ".", "=", "-"])
def test_a_key_right_after_a_value_cut_at_max_value(stop: str) -> None:
    """A key-word value is cut at ``MAX_VALUE``; a key right after the cut starts a secret where
    the previous one ends: the split must not step over it."""
    for key in ["password=hunter2222", "token: abcd1234", "sk-" + "a1B2" * 6]:
        text = "pwd=" + "v" * (MAX_VALUE - len(stop)) + stop + key + " tail"
        assert _bulk_spans(text, 0, len(text)) == SECRET.spans_in(text, 0, len(text))
        if stop and stop in ".=":  # (a boundary for both alternatives: the second secret is found)
            assert len(SECRET.spans_in(text, 0, len(text))) == 2


def test_values_at_the_start_of_the_range_and_of_the_text() -> None:
    for text in ["password=hunter22 x", "sk-" + "a1B2" * 6, "a password=hunter22", " auth:abcd"]:
        for pos in range(3):
            got = _bulk_spans(text, pos, len(text))
            assert got is None or got == SECRET.spans_in(text, pos, len(text)), (text, pos)
        assert _bulk_spans(text, 0, len(text)) == SECRET.spans_in(text, 0, len(text))


@pytest.mark.parametrize("unit", ['password="hunter22" ', '"password": "hunter22", ',
                                  "  password: hunter22\n", "auth=abcd1234 token=" + "q1" * 20
                                  + " x\n", "sk-" + "a1B2" * 6 + " é AKIA" + "A1" * 8 + "\n"])
def test_mask_text_of_a_megabyte_of_secrets_is_the_reference(unit: str) -> None:
    text = unit * ((1 << 20) // len(unit))
    for settings in (MaskSettings(), MaskSettings(strategy="hash")):
        assert mask_text(text, settings) == reference.mask_text(text, settings)


@pytest.mark.xfail(strict=True, reason="differs on main already (the same output with and "
                   "without the boundary split): a token after a key-word value longer than "
                   "MAX_VALUE in one run ('pwd=' + 'a' * 4100 + '&ghp_…') is left unmasked by "
                   "mask_text (spans_in finds it), and some long key-word values next to "
                   "non-ASCII text are masked by mask_text but not by the reference")
def test_mask_text_of_generated_long_texts_is_the_reference() -> None:
    rng = random.Random(23)
    for _ in range(6):
        text = "".join(_text(rng) for _ in range(900))
        assert len(text) > 1 << 16  # (the bulk paths' size)
        assert mask_text(text, MaskSettings()) == reference.mask_text(text, MaskSettings())


def test_a_token_after_a_value_longer_than_max_value_in_one_run_is_masked_by_the_split() -> None:
    """The bulk split finds the token after a key-word value cut at ``MAX_VALUE`` (``spans_in``
    does; ``mask_text`` of this text leaks it, see the xfail above)."""
    text = "pwd=" + "a" * 4100 + "&ghp_" + "a1" * 15 + " x"
    assert _bulk_spans(text, 0, len(text)) == SECRET.spans_in(text, 0, len(text)) == [
        (4, 4 + MAX_VALUE), (4105, 4139)]
