"""The secret detector's bulk split with its parts as groups (``splits._layered``: the boundary
character, a key word's key, its value, a token) finds the matches the whole-match split
(``splits._bounded``) finds, and the bulk pass built from it (``bulk.parts``: the text before
each value kept in parts, never joined again) gives ``Detector.spans_in``'s spans and the
reference masker's text: keys only, tokens only, both, a match at the text's first character,
no match, a value cut at ``MAX_VALUE`` (the plain split then), under every strategy."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import bulk
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.patterns import MAX_VALUE, PRECISE
from jupyter_guard.mask.splits import _bounded, _layered
from jupyter_guard.mask.text import MaskSettings

from . import reference

SECRET = DETECTORS["secret"]
PIECES = ("password", "PassWd", "pwd", "secret", "token", "api_key", "access-key", "AUTH", "=",
          ":", " ", "\t", '"', "'", ",", ";", "sk-", "sk_live_", "ghp_", "glpat-", "AKIA",
          "eyJ", ".", "-", "+", "/", "&amp;", "\u2011", "abcdEFGH1234", "Q" * 16, "x9" * 10,
          "hunter22", "é", "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI", "a" * 33)
KEYED = "password=hunter22 "
TOKEN = "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI "
FORMS = {
    "keys only": KEYED * 300,
    "keys quoted": '"password="hunter22" ' * 300,
    "tokens only": TOKEN * 300,
    "keys and tokens": (KEYED + TOKEN) * 200,
    "a token first, then keys": TOKEN + KEYED * 300,
    "a key at the first character": "pwd=abcd" + " x" * 10,
    "a token at the first character": TOKEN.strip() + ",y",
    "the whole text one key": "token: abcdefgh",
    "no match": "nothing to see here, 123 " * 50,
    "rejected tokens": ("a" * 40 + " " + TOKEN) * 100,
    "a value cut at MAX_VALUE": "pwd=" + "k" * (MAX_VALUE + 10) + " " + KEYED * 50,
}
SETTINGS = [MaskSettings(detectors=("secret",), strategy=s)
            for s in ("partial", "redact", "hash", "null")]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 60)))


def _spans(splitter: object, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in splitter.finditer(" " + text)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(4))
def test_the_layered_split_matches_where_the_whole_match_split_does(seed: int) -> None:
    rng = random.Random(seed)
    layered, bounded = _layered(PRECISE["secret"]), _bounded(PRECISE["secret"])
    assert layered.groupindex.keys() == {"k", "v", "t"}
    matched = 0
    for _ in range(400):
        text = _random_text(rng)
        spans = _spans(bounded, text)
        assert _spans(layered, text) == spans, text
        for m in layered.finditer(" " + text):  # key + value or the token: the match after
            rest = (m["k"] or "") + (m["v"] or "") if m["t"] is None else m["t"]  # its boundary
            assert m.group()[1:] == rest and (m["k"] is None) == (m["v"] is None)
        matched += len(spans)
    assert matched > 200


@pytest.mark.parametrize("name", sorted(FORMS))
def test_the_bulk_pass_gives_spans_in_s_spans(name: str) -> None:
    text = FORMS[name]
    for pos, end in ((0, len(text)), (1, len(text)), (3, max(3, len(text) - 5))):
        got = bulk.parts(SECRET, text, pos, end)
        want = SECRET.spans_in(text, pos, end)
        if got is not None:
            assert bulk._spans_of(got) == want
            merged = bulk.pieces(SECRET, text, pos, end)
            assert merged is not None and bulk._offsets(merged) == want
        assert bulk.spans(SECRET, text, pos, end) == want


@pytest.mark.parametrize("name", sorted(FORMS))
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.strategy)
def test_the_one_split_mask_is_the_reference_s(name: str, settings: MaskSettings) -> None:
    text = FORMS[name]
    masked = bulk.mask_alone(SECRET, text, settings)
    if name not in ("rejected tokens",):  # (the bulk path holds for these)
        assert masked is not None
    if masked is not None:
        assert masked == reference.mask_text(text, settings)


@pytest.mark.parametrize("seed", range(3))
def test_random_texts_give_spans_in_s_spans(seed: int) -> None:
    rng = random.Random(100 + seed)
    taken = 0
    for _ in range(150):
        text = " ".join(_random_text(rng) for _ in range(20))
        got = bulk.parts(SECRET, text, 0, len(text))
        if got is not None:
            taken += 1
            assert bulk._spans_of(got) == SECRET.spans_in(text, 0, len(text)), text
    assert taken > 15  # (elsewhere a rejected match may hide a value: spans_in decides)
