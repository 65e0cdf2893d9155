"""The known values' matcher in levels (``known_levels``) answers as one automaton of the whole
set does: values added in many batches (some built into levels, some still pending and found by
lookups), after ``discard`` and ``clear``, on texts with values alone, glued, chained, as
e-mails and with spaces; and a clear frees the automata at once."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.hooks import known_levels
from jupyter_guard.hooks.known_match import Matcher, Values, ahocorasick

pytestmark = pytest.mark.skipif(ahocorasick is None, reason="no pyahocorasick wheel here")


def _value(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return str(100000000 + rng.randrange(3000) * 7)                 # an SSN's digits
    if kind == 1:
        n = rng.randrange(1000)
        return f"{n % 900 + 100}-{n % 90 + 10}-{n * 7 % 9000 + 1000}"    # an SSN as printed
    if kind == 2:
        return f"user{rng.randrange(500)}@example.com"
    if kind == 3:
        return rng.choice(["jane doe", "john q public", "1,,,,,,,2", "ab-cd", "x y"])
    if kind == 4:
        return f"{100000000 + rng.randrange(3000) * 7:,}"                # ``f'{n:,}'``
    return "".join(rng.choice("abcdef0123456789") for _ in range(rng.randrange(2, 12)))


def _text(rng: random.Random, known: list[str]) -> str:
    parts = []
    for _ in range(rng.randrange(1, 12)):
        v = rng.choice(known) if known and rng.random() < 0.7 else _value(rng)
        how = rng.randrange(7)
        if how == 0:
            parts.append(f" {v} ")                                        # alone
        elif how == 1:
            parts.append(rng.choice(["x", "9", "id", "_"]) + v)           # glued at one end
        elif how == 2:
            parts.append(v + rng.choice(known or ["z"]) + " ")           # chained
        elif how == 3:
            parts.append(f"ssn={v},")
        elif how == 4:
            parts.append(v)                                               # glued to the last
        elif how == 5:
            parts.append(str(rng.randrange(10**6)) + " " + "a" * rng.randrange(40))
        else:
            parts.append("\n" + v[::-1] + "\t")
    return "".join(parts)


def _reference(values: Values) -> Matcher:
    """A fresh matcher of the whole set, built as one automaton."""
    fresh = Values()
    fresh.update(set(values))
    m = Matcher(fresh)
    chunk, known_levels.CHUNK = known_levels.CHUNK, 1 << 30
    try:
        m._sync()
    finally:
        known_levels.CHUNK = chunk
    assert len(m.store.levels) == bool(fresh) and not m.store.pending
    return m


def _answers(m: Matcher, text: str) -> tuple[object, ...]:
    return m.find(text), m.glued(text), m.anywhere(text), m.has_spaced()


# (CHUNK, COST, MERGE_MAX, LEVELS_MAX): small levels, merges, forced merges, pending values
CONFIGS = [(8, 300, 50, 4), (3, 100, 10, 2), (40, 1000, 400, 16), (20, 300, 60, 3),
           (8, 10**9, 50, 4), (3, 1, 10, 2)]   # (the last two: lookups only; automata only)


@pytest.mark.parametrize("seed", range(len(CONFIGS)))
def test_levels_and_lookups_answer_as_one_automaton(monkeypatch: pytest.MonkeyPatch,
                                                     seed: int) -> None:
    rng = random.Random(seed)
    for name, x in zip(("CHUNK", "COST", "MERGE_MAX", "LEVELS_MAX"), CONFIGS[seed]):
        monkeypatch.setattr(known_levels, name, x)
    v = Values()
    m = Matcher(v)
    levels = pending = found = 0
    for step in range(120):
        op = rng.random()
        if op < 0.55:
            v.update({_value(rng) for _ in range(rng.randrange(1, 30))})
        elif op < 0.65:
            v.add(rng.choice(sorted(v)) if v else _value(rng))             # added again
        elif op < 0.75 and v:
            v.discard(rng.choice(sorted(v)))
        elif op < 0.78:
            v.clear()
            assert not m.store.levels and not m.store.pending               # freed at once
        known = sorted(v)
        ref = _reference(v)
        for _ in range(3):
            text = _text(rng, known)
            if rng.random() < 0.2:
                text = text * rng.randrange(20, 200)                          # a long text
            got = _answers(m, text)
            assert got == _answers(ref, text), (step, text)
            found += bool(got[1]) + bool(got[0])
        levels += len(m.store.levels) > 1
        pending += bool(m.store.pending and m.store.levels)
    assert found > 50             # the texts hold values for both to find
    if known_levels.COST < 10**9:
        assert levels > 0         # several levels were scanned together
        if known_levels.COST > 1:
            assert pending > 0    # lookups and automata, both at once



def test_a_short_text_after_a_big_batch_builds_nothing_and_finds_it() -> None:
    v = Values()
    m = Matcher(v)
    v.update(str(100000000 + g * 7) for g in range(1, 10001))
    assert m.find("x 100000035 y") and m.glued("a " + "100000035" + "100000042" + " b")
    assert not m.store.levels and len(m.store.pending) == 10000     # found by lookups
    assert not m.find("x 100000036 y") and not m.anywhere("nothing here")
    plain = "\n".join(f"{i},{i * 1.5:.2f},Paris" for i in range(60000))  # ~1 MB
    assert m.find(plain + " 100000070") and m.store.levels          # a long text: built
    assert not m.find(plain)


def test_the_separator_check_answers_as_its_regex() -> None:
    """``_spaced`` (C searches and an RE2 pass for commas) says what ``_CUT_RE`` says."""
    from jupyter_guard.hooks.known_match import _CUT_RE, _spaced

    rng = random.Random(5)
    alphabet = "0123456789abc,,,.-@ \t\x1c;:/|é٣\x01"
    seen = set()
    for _ in range(3000):
        values = ["".join(rng.choice(alphabet[:rng.choice([12, 16, 19, 31])])
                          for _ in range(rng.randrange(0, 6))) for _ in range(rng.randrange(1, 4))]
        want = _CUT_RE.search("\x01".join(values)) is not None
        assert _spaced(values) == want, values
        seen.add(want)
    assert seen == {True, False}
    assert _spaced(["1,000", "12,345,678", 7]) is False and _spaced(["1,,2"]) is True
