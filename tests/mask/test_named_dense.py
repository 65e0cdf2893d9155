"""Text dense with ``key=value`` secrets (``password=…`` pairs repeated, a log of tokens): the
bulk pass masks each named value from one ``split`` (the key word stays as text between
values) instead of one Python step per match. ``mask_text`` masks such text as the reference
masker does, with bare tokens, rejected look-alikes, quotes, short values and values holding
an '@' among the pairs, under every strategy."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import bulk
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

KEYS = ["password", "PASSWORD", "passwd", "pwd", "secret", "token", "api_key", "apikey",
        "access-key", "auth", "Token", "xpassword", "pass"]
JOINS = ["=", ": ", ":", " = ", "='", '="', "=\t"]
VALUES = ["hunter22", "abcd", "abc", "a@b.example.com", "x@y", "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ",
          "s3cr3t-with/slash+plus", "é" * 9, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "12345678"]
ENDS = [" ", "\n", ",", ";", "", '"', "'", "&", " x ", ")"]


def _pairs(rng: random.Random, size: int, others: bool) -> str:
    out, n = [], 0
    while n < size:
        piece = rng.choice(KEYS) + rng.choice(JOINS) + rng.choice(VALUES) + rng.choice(ENDS)
        if others and rng.random() < 0.1:
            piece += rng.choice(["aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI ", "sk-abcdefghijklmnopqrstuv ",
                                 "Ab" * 20 + " ", "jane@example.com ", "123-45-6789 "])
        out.append(piece)
        n += len(piece)
    return "".join(out)


@pytest.mark.parametrize("strategy", ["partial", "redact", "hash", "null"])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("others", [False, True])
def test_dense_pairs_mask_as_the_reference(strategy: str, seed: int, others: bool) -> None:
    text = _pairs(random.Random(seed), 70_000, others)
    settings = MaskSettings(strategy=strategy)
    masked = mask_text(text, settings)
    assert masked == reference.mask_text(text, settings)
    assert masked != text  # (values were found: a key glued to a word is none, as before)


@pytest.mark.parametrize("unit", ["password=hunter22 ", '"password=hunter22" ', "token: abcd\n",
                                  "pwd=a@b.example.com,", "auth='q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ'",
                                  "ssn: 123456789 ", "password=hunter22 Ab3dEf5hIj7lMn9pQr1tUv3x "])
def test_repeated_pairs_mask_as_the_reference(unit: str) -> None:
    text = unit * (70_000 // len(unit))
    for settings in (MaskSettings(), MaskSettings(detectors=tuple(DETECTORS))):
        assert mask_text(text, settings) == reference.mask_text(text, settings)


@pytest.mark.parametrize("name", sorted(bulk.GROUP_LAST))
def test_the_value_group_ends_the_match(name: str) -> None:
    """What moving the key word out of a match relies on: where the value group matches, it
    ends the match (on every spelling above)."""
    det = DETECTORS[name]
    ssns = "ssn: 123456789 SSN is 987654321, social security number:123456789\n" * 600
    text = _pairs(random.Random(name), 50_000, True) + ssns
    named = [m for m in det.pattern.finditer(text) if m.group(det.group) is not None]
    assert len(named) > 1000
    assert all(m.end(det.group) == m.end() for m in named)


def test_the_bulk_pass_reads_named_values() -> None:
    """Pairs repeated go through one ``split`` (once, a named value sent them match by match
    through Python): the key word stays, the value is found."""
    text = "password=hunter22 " * 4000
    got = bulk.pieces(DETECTORS["secret"], text, 0, len(text))
    assert got is not None
    _, between, values, ok = got
    assert values == ["hunter22"] * 4000 and ok is None
    assert between[1] == " password=" and bulk._offsets(got)[0] == (9, 17)
