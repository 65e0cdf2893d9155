"""trunc19 in process, with realistic values known (10,000 random SSNs as ``123-45-6789``, short
e-mails whose local part alone names no one): each cut or respelt form of 55 of them is refused
at the exits (``exits.scan``) and masked on screen (``mask_text``); the plain-values corpus,
100,000 random eight-digit numbers, every date of 2000-2030 as ``YYYYMMDD``, 20,000 decimals and
cut addresses of other people are found by neither rule (false positives: 0)."""
from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from jupyter_guard.hooks import exits, known_cut, known_email_cut
from jupyter_guard.mask.text import MaskSettings, mask_text
from tests.enforce.known_values import remembering
from tests.enforce.test_exit_false_positives import corpus
from tests.enforce.test_mask15_false_positives import _honest, _ssns

SSN = _ssns(10_000)
_rng = random.Random(19)
EMAILS = sorted({"".join(_rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3))
                 + f"@{_rng.choice(['gmail.com', 'mail.org', 'corp.example', 'web.de'])}"
                 for _ in range(400)})
FORMS: dict[str, Callable[[str], str]] = {
    "cut-first": lambda s: s[1:],
    "cut-last": lambda s: s[:-1],
    "digits-cut-first": lambda s: s.replace("-", "")[1:],
    "digits-cut-last": lambda s: s.replace("-", "")[:-1],
    "fraction": lambda s: repr(int(s.replace("-", "")) / 1e9),
    "fraction-1e3": lambda s: repr(int(s.replace("-", "")) / 1e3),
    "filler": lambda s: "x".join(s.replace("-", "")),
    "filler-letters": lambda s: "".join(c + "abcdefghij"[i] for i, c in enumerate(
        s.replace("-", ""))),
    "codes": lambda s: str([ord(c) for c in s]),
    "email-cut-2": lambda e: e[:-2],
    "email-cut-upper": lambda e: e.upper()[:-3],
}


@pytest.fixture(scope="module")
def known() -> object:
    with remembering(SSN + EMAILS):
        yield


@pytest.mark.parametrize("form", list(FORMS))
def test_cut_forms_are_refused_and_masked(known: None, form: str) -> None:
    values = EMAILS[5:60] if form.startswith("email") else SSN[5:60]
    shown = [FORMS[form](v) for v in values]
    if form.startswith("fraction"):   # (the rule: 7 significant digits at least)
        shown = [x for x in shown if len(x.replace(".", "").strip("0")) >= 7]
    text = "\n".join(shown)
    assert exits.scan(text, MaskSettings()), form
    masked = mask_text(text, MaskSettings())
    left = [s for s in shown if re.search(rf"(?<![\w.]){re.escape(s)}(?![\w]|\.\w)", masked)]
    assert not left, (form, left[:3], masked[:300])


def _plain() -> list[str]:
    rng = random.Random(8)
    days = [f"{y}{m:02d}{d:02d}" for y in range(2000, 2031) for m in range(1, 13)
            for d in range(1, 29)]
    return [*corpus(), *_honest(), *(f"{rng.randint(10_000_000, 99_999_999)}"
                                     for _ in range(100_000)), *days,
            *(repr(rng.random() * 10 ** rng.randint(0, 6)) for _ in range(20_000)),
            *(f"{rng.randint(10_000, 99_999)}.{rng.randint(0, 9999):04d}" for _ in range(5000)),
            *(f"x{e[:-2]}" for e in EMAILS), *(f"{e.partition('@')[0]}@web.d" for e in EMAILS
                                              if e.partition("@")[0] not in _WEB)]


_WEB = {e.partition("@")[0] for e in EMAILS if e.endswith("@web.de")}


def test_plain_values_are_found_by_neither_rule(known: None) -> None:
    text = "\n".join(_plain())
    found = []
    known_cut._RECENT.clear()
    for i in range(0, len(text), 1 << 16):   # (read one after the other: ``RECENT`` counts)
        batch = text[max(0, i - 64):i + (1 << 16)]
        found += [batch[a:b] for a, b, _ in known_cut.spans(batch, exits.known)]
        found += [batch[a:b] for a, b, _ in known_email_cut.spans(batch, exits.known)]
    assert found == [], found[:10]


def test_one_cut_value_alone_is_an_ordinary_number(known: None) -> None:
    """The limit: one SSN with a digit cut, alone in a stream, passes (an eight-digit number)."""
    known_cut._RECENT.clear()
    assert known_cut.spans(f"invoice {SSN[7].replace('-', '')[1:]}", exits.known) == []
