"""The printed tokens of long texts cut in numpy (``hooks.printed``) and the known values found
with them (``exits.known_spans`` on texts of ``PRINTED_MIN`` characters or more): the same
tokens as the regex (``exits._PRINTED``) and the same spans as the regex form of the finder, on
random and hostile text (separators of every kind, Unicode whitespace, edge characters, lone
surrogates, astral characters, escapes, glued values)."""
from __future__ import annotations

import random
import re

import pytest

from jupyter_guard.hooks import edge_pieces, exits, printed
from jupyter_guard.mask.strategy import SPELT, canonical

ALPHABET = (list("ab1@.-+$#%*!~^`_") + list(",;|\"'<>()[]{}=&?/\\:\x00")
            + [" ", "\t", "\n", "\x1c", "\x1f", "\x85", "\xa0", "\u2003", "\u3000", "é",
               "\ud800", "\U0001f600", "\u200b", "\x7f", "\\n"])
VALUES = ["100001000", "user1000@example.com", "ab-cd", "Jane Q", "x1y2", "José@ü.de",
          "123-45-6789", "4111 1111 1111 1111"]


@pytest.fixture()
def known():
    saved, lens = set(exits.known), set(exits.lengths)
    exits.known.clear()
    exits.remember(VALUES)
    yield exits.known
    exits.known.clear()
    exits.known.update(saved)
    exits.lengths.clear()
    exits.lengths.update(lens)


def regex_spans(text: str) -> list[tuple[int, int, str]]:
    """``known_spans`` as it was: the tokens' places from the regex's ``finditer``."""
    k, match = exits.known, exits._MATCH
    tokens = exits._PRINTED.findall(text)
    spans = [(m.start(), m.end(), _kind(m.group())) for m in exits._PRINTED.finditer(text)
             if m.group() in k]
    if "\\" in text:
        spans += [(m.start(), m.end(), _kind(m.group())) for m in exits._ESCAPED.finditer(text)
                  if m.group() in k]
    glued = "@" in text and text.count("@") > sum(text.count("@", a, b) for a, b, _ in spans)
    if glued or match.has_spaced() or not k.issuperset(t for t in tokens if len(t) >= 12):
        spans += [(a, b, _kind(text[a:b], True)) for a, b in match.glued(text)]
    return spans


def _kind(value: str, glued: bool = False) -> str:
    """A known value spelt otherwise than read (``exits.spelt``; glued: any value whose tail is
    no canonical tail) is masked whole."""
    whole = value in exits.spelt or (glued and not canonical(value))
    return SPELT if whole else "known"


def _random(rng: random.Random, n: int, values: float) -> str:
    return "".join(rng.choice(VALUES) if rng.random() < values
                   else rng.choice(ALPHABET) if rng.random() < 0.5 else rng.choice("abc123")
                   for _ in range(n))


def test_the_cut_equals_the_regex_on_random_text() -> None:
    rng = random.Random(1)
    for _ in range(3000):
        text = _random(rng, rng.choice([1, 3, 8, 40, 400]), 0.05)
        starts, ends = printed.printed(text)
        want = [m.span() for m in exits._PRINTED.finditer(text)]
        assert list(zip(starts.tolist(), ends.tolist())) == want, text


@pytest.mark.parametrize("seed", range(5))
def test_long_texts_give_the_regex_spans(known: object, seed: int) -> None:
    rng = random.Random(seed)
    for rate in (0.0, 0.01, 0.2, 0.6):
        text = _random(rng, exits.PRINTED_MIN * 2, rate)
        assert len(text) >= exits.PRINTED_MIN
        # (pieces ending in punctuation and respelt numbers are finders of their own,
        # ``edge_pieces`` and ``known_fuzzy``: values of this text glued to other characters)
        edges = set(edge_pieces.spans(text, exits.known)) | set(exits._fuzzy(text))
        assert [s for s in exits.known_spans(text) if s not in edges] == regex_spans(text)


def test_known_spans_uses_the_cut_on_long_text(known: object,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = printed.printed
    monkeypatch.setattr(printed, "printed", lambda t: calls.append(1) or real(t))
    text = "id,mail\n" + "".join(f"{i},user1000@example.com\n" for i in range(600))
    spans = exits.known_spans(text)
    assert calls and len(spans) == 600 and spans == regex_spans(text)
    assert all(text[a:b] == "user1000@example.com" for a, b, _ in spans)


MB = 1 << 20
HOSTILE = {
    "every token known": "100001000,user1000@example.com ab-cd x1y2\n",
    "edge characters around every value": "-.100001000.- +user1000@example.com@ ~x1y2!\n",
    "Unicode whitespace and surrogates between values": "100001000\u3000x1y2\ud800\xa0ab-cd\x85",
    "no separator at all": "x1y2@",
    "escapes before values": "'a\\n100001000\\tx1y2', ",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_megabyte_of_each_shape_gives_the_regex_spans(known: object, name: str) -> None:
    """1 MB per shape: it finishes and the spans equal the regex form's (time goes in the
    benchmark, not here)."""
    unit = HOSTILE[name]
    text = unit * (MB // len(unit))
    got = exits.known_spans(text)
    assert got == regex_spans(text)
    if name != "no separator at all":
        assert len(got) > 10_000
    assert all(re.fullmatch(r"[\w@.\- ]+", text[a:b]) for a, b, _ in got[:100])


def test_has_spaced_follows_the_set_without_building_the_automaton() -> None:
    """``Matcher.has_spaced`` (asked on every long print once values are known) answers as
    the whole set does, through additions, removals and builds, and builds nothing itself."""
    from jupyter_guard.hooks.known_match import Matcher, Values, ahocorasick

    if ahocorasick is None:
        pytest.skip("no pyahocorasick wheel here: has_spaced is always False")
    v = Values()
    m = Matcher(v)
    v.update({"abcd1234"})
    assert m.find("x abcd1234 y") and m.resets == v.resets and not m.has_spaced()
    v.add("jane doe")  # added after the build: not in the automaton yet
    assert m.has_spaced()
    v.discard("jane doe")
    assert not m.has_spaced()
    rng = random.Random(3)
    for step in range(300):
        op = rng.random()
        if op < 0.5:
            v.update({f"v{rng.randrange(50)}" + rng.choice(["", " x"]) for _ in range(3)})
        elif op < 0.6:
            v.add(rng.choice(["jane doe", "janedoe1"]))
        elif op < 0.75 and v:
            v.discard(rng.choice(sorted(v)))
        elif op < 0.85:
            m.find("some text v1 x")  # builds (or grows) the automaton
        built = len(m.store.levels)
        assert m.has_spaced() == any(" " in x for x in v), step
        assert len(m.store.levels) <= built  # has_spaced built nothing
