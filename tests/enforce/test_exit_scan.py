"""The exits' byte scan reads the whole text at every size and finds at least what the previous
sampled scan found: a differential test against that scan (kept below as ``sampled``) over a
corpus, values placed where the sample looked and where it did not, hiding spellings, and the
known values of sensitive columns (whole tokens, or with '.-+@' around them)."""
from __future__ import annotations

import random
import re
from urllib.parse import unquote_plus

import pytest

from jupyter_guard.hooks import exits
from jupyter_guard.mask.text import MaskSettings

S = MaskSettings()
_TOKEN = re.compile(r"[^\s,;|\"'<>()\[\]{}=&?/\\:\x00]{4,}")
FULL, STEP, WINDOW = 16_384, 65_536, 2_048


def sampled(text: str) -> bool:
    """The previous scan: e-mails everywhere, other detectors on the first 16 KB and a 2 KB
    window every 64 KB, known values token by token."""
    if "%" in text or "+" in text:
        text = text + "\n" + unquote_plus(text)
    if exits.known and any(t in exits.known or t.strip(".-+@") in exits.known
                           for t in _TOKEN.findall(text)):
        return True
    dets = S.enabled
    if "@" in text and any(next(iter(d.find(text)), None) for d in dets if d.name == "email"):
        return True
    parts = [text] if len(text) <= FULL + WINDOW else [text[:FULL]] + [
        text[i:i + WINDOW] for i in range(FULL, len(text), STEP)]
    return any(next(iter(d.find(p)), None) is not None for p in parts for d in dets
               if d.name != "email")


VALUES = ["jane.doe@example.com", "123-45-6789", "4111 1111 1111 1111", "+44 20 7946 0958",
          "(555) 123-4567", "DE89 3704 0044 0532 0130 00", "password=hunter22",
          "AKIAIOSFODNN7EXAMPLE", "ssn: 123456789", "jane%40example.com"]
HIDDEN = ["jane&#64;example.com", "ja\u200bne@example.com", "123\u201145\u20116789"]
"""Spellings only the normalised scan reads (the sampled scan did not normalise)."""
FILLER = ["order 100000245", "2026-01-15 10:30:00", "PRD-004512", "1,250.00", "Paris",
          "550e8400-e29b-41d4-a716-446655440000", "id 123456789", "x", "\n", ", "]


def _plain(n: int, seed: int) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n:
        out.append(rng.choice(FILLER))
        size += len(out[-1]) + 1
    return " ".join(out)[:n]


@pytest.mark.parametrize("value", VALUES + HIDDEN)
@pytest.mark.parametrize("where", [10, 20_000, 70_000 + 2_500, 300_000])
def test_a_value_anywhere_in_a_large_text_is_found(value: str, where: int) -> None:
    text = _plain(400_000, where)
    where = text.index(" ", where)  # between two filler words
    text = text[:where] + " " + value + " " + text[where:]
    assert exits.scan(text, S) != "", (value, where)
    if sampled(text):
        return
    assert where > FULL or value in HIDDEN  # missed outside what it read, or hidden


def test_differential_corpus_finds_everything_the_sampled_scan_found() -> None:
    rng = random.Random(21)
    pieces = VALUES + HIDDEN + FILLER + ["@", "%", "+", "&amp;", "-", "1234", "a" * 50]
    checked = found = 0
    for size in (20, 300, 5_000, 40_000, 150_000):
        for _ in range(12):
            text = "".join(rng.choice(pieces) if rng.random() < 0.02 else rng.choice(FILLER)
                           for _ in range(max(size // 12, 1)))
            old, new = sampled(text), exits.scan(text, S) != ""
            assert new or not old, text[:200]
            checked, found = checked + 1, found + old
    assert checked == 60 and found > 10  # the comparison has values in it


@pytest.fixture
def known_values():
    saved = set(exits.known)
    exits.remember(["987654320", "Zq8Xv2Lm", "jdoe.private"])
    yield
    exits.known.clear()
    exits.known.update(saved)


@pytest.mark.parametrize("spelling", ["x 987654320 y", "a,987654320;b", "(987654320)",
                                      "k=987654320&q", "path/987654320/x", "-987654320.",
                                      "@Zq8Xv2Lm", "+jdoe.private+", "\x00987654320\x00",
                                      "'jdoe.private'", "[Zq8Xv2Lm]"])
def test_known_values_are_found_as_tokens(known_values: None, spelling: str) -> None:
    text = _plain(200_000, 3) + " " + spelling + " " + _plain(1_000, 4)
    assert exits.scan(text, S) == "values read from a sensitive column"
    assert sampled(text)


@pytest.mark.parametrize("twin", ["9876543200", "1987654320", "Zq8Xv2Lmn", "jdoe.privat"])
def test_near_known_values_pass(known_values: None, twin: str) -> None:
    """(A known number glued to letters, ``x987654320``, is found: ``test_known_match``.)"""
    text = _plain(50_000, 5) + " " + twin + " "
    assert exits.scan(text, S) == ""
    assert not sampled(text)
