"""The exits' scan reads a long text once for two questions (``exit_bytes.candidates``: which
detectors have a candidate, may it hold an encoded run) instead of once per question. No verdict
may change: on generated corpora (plain CSV and prose; every detector's values glued, standing
alone, in HTML entities, URL-encoded, spaced; base64, hex, separated hex, Ascii85 and gzip of
them; non-ASCII text and a lone surrogate; known values) ``exits.scan`` answers the same with the
shared pass and with each question asked alone, and every sensitive spelling is still found."""
from __future__ import annotations

import gzip
import random
from base64 import a85encode, b64encode
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from jupyter_guard.hooks import exit_bytes, exits, known_cut
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings

SETTINGS = [MaskSettings(), MaskSettings(detectors=tuple(DETECTORS)),
            MaskSettings(detectors=("email",))]
VALUES = ["jane.doe@example.com", "123-45-6789", "4111 1111 1111 1111", "+44 20 7946 0958",
          "GB82 WEST 1234 5698 7654 32", "AKIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2" * 9,
          "user7@example.com,user8@example.org"]
KNOWN = [f"{100000000 + i * 7919}" for i in range(50)]


@pytest.fixture()
def known() -> Iterator[None]:
    saved = set(exits.known)
    exits.known.clear()
    exits.remember(KNOWN)
    yield
    exits.known.clear()
    exits.known.update(saved)


def _csv(rows: int, rnd: random.Random) -> str:
    return "".join(f"{i},{rnd.randint(0, 999)},{i * 1.25},PRD-{i:06d},2026-01-01 00:{i % 60:02d}:00"
                   f",{rnd.choice(['Paris', 'Lyon', 'Zürich', 'Kyōto'])}\n" for i in range(rows))


SPELLINGS: list[Callable[[str], str]] = [
    lambda v: v,
    lambda v: f" {v} ",
    lambda v: v.replace("@", "&#64;").replace("-", "&#45;"),
    lambda v: quote(v),
    lambda v: " ".join(v),
    lambda v: b64encode(v.encode()).decode(),
    lambda v: v.encode().hex(),
    lambda v: v.encode().hex(":"),
    lambda v: a85encode(v.encode()).decode(),
    lambda v: v.replace("-", "\u2011"),
]


def _corpus(seed: int) -> list[str | bytes]:
    rnd = random.Random(seed)
    base = _csv(rnd.randrange(60, 900), rnd)
    out: list[str | bytes] = [base, base.encode(), base.replace(",", " ") * 2,
                              "word " * 2000, base + "\ud800", "x" * 5000]
    for _ in range(30):
        value = rnd.choice(VALUES + KNOWN)
        at = rnd.randrange(len(base))
        out.append(base[:at] + rnd.choice(SPELLINGS)(value) + base[at:])
    out.append(gzip.compress((base + VALUES[0]).encode()))
    out.append((base + " " + KNOWN[3]).encode("utf-16-le"))
    return out


def _alone(data: str | bytes, settings: MaskSettings) -> str:
    shared, exit_bytes.candidates = exit_bytes.candidates, lambda text, detectors: None
    try:
        return exits.scan(data, settings, decode=True)
    finally:
        exit_bytes.candidates = shared


@pytest.mark.parametrize("seed", range(12))
def test_the_shared_pass_gives_every_verdict_the_two_passes_gave(known: None, seed: int) -> None:
    found = 0
    for data in _corpus(seed):
        for settings in SETTINGS:
            known_cut._RECENT.clear()   # the cut-number rule reads the texts scanned before
            got = exits.scan(data, settings, decode=True)   # this one too: both passes start
            known_cut._RECENT.clear()   # from the same history
            assert got == _alone(data, settings), (seed, data[:80])
            found += bool(got)
    assert found >= 15   # the corpus holds values the scan finds (not only plain text)


# spaced characters are found for known e-mails only (``respelt``); base64 of a lone SSN is a
# 15-character run (runs start at 16) and of a lone card number decodes to no detector's match
MISSED = {(v, 4) for v in VALUES} | {(VALUES[1], 5), (VALUES[2], 5)}
CAUGHT = [(v, i) for v in VALUES[:3] for i in range(len(SPELLINGS)) if (v, i) not in MISSED]


@pytest.mark.parametrize(("value", "spelling"), CAUGHT)
def test_each_spelling_in_a_long_plain_text_is_found(value: str, spelling: int) -> None:
    base = _csv(400, random.Random(7))
    assert exits.scan(base, MaskSettings(), decode=True) == ""   # the plain twin passes
    at = base.index("\n", 9000) + 1   # a line of its own
    text = base[:at] + SPELLINGS[spelling](value) + "\n" + base[at:]
    assert exits.scan(text, MaskSettings(), decode=True)


def test_the_shared_pass_answers_both_questions_as_each_pass_does() -> None:
    from jupyter_guard.hooks import encoded
    from jupyter_guard.mask.scan import present

    rnd = random.Random(5)
    for data in _corpus(5):
        text = data if isinstance(data, str) else data.decode("latin-1")
        for settings in SETTINGS:
            got = exit_bytes.candidates(text, settings.enabled)
            if got is None:
                assert "\ud800" in text or len(text) < exit_bytes.SHARED_MIN
                continue
            assert got == (bool(present(text, settings.enabled)), encoded.may_hold(text))
    assert rnd   # (seeded corpus)
