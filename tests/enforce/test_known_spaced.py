"""``Matcher.has_spaced`` (whether a known value holds a space or another separator, asked by
every print's ``exits.known_spans``) answers as the straightforward check of the whole set does
(``_CUT_RE`` on each value), now that ``exits.remember`` says for its own batches what it worked
out from the strings it joined anyway (``Values.update_checked``) instead of ``has_spaced``
joining the 1.5 million values and forms of a fetch again: through batches of every kind of
value, values added and removed directly, and a clear."""
from __future__ import annotations

import random
from typing import Any

import pytest

from jupyter_guard.hooks import exits, known_forms
from jupyter_guard.hooks.known_match import _CUT_RE, Matcher, Values, ahocorasick
from tests.enforce.test_remember_batch import _value, fresh_exits  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(ahocorasick is None, reason="no pyahocorasick wheel here")


def _straightforward(values: Any) -> bool:
    return any(_CUT_RE.search(x) for x in values if isinstance(x, str))


SPACED = ["jane doe", "1,,2", "a;b@x.io", "ref 100000003 lyon", "x\u00a0y", "12,ab"]


# (walks that pass through both answers: a walk follows the set's size, which the forms
# remembered change)
@pytest.mark.parametrize("seed", [0, 2, 3, 4])
def test_has_spaced_after_remember_answers_as_the_whole_set(fresh_exits: Any,  # noqa: F811
                                                            seed: int) -> None:
    r = random.Random(seed)
    m = exits._MATCH
    seen = set()
    for step in range(40):
        op = r.random()
        if op < 0.6:   # a fetch: mostly plain numbers and e-mails, some spaced values
            batch = [_value(r) for _ in range(r.randrange(1, 400))]
            if r.random() < 0.3:
                batch = [v for v in batch if not (isinstance(v, str) and _CUT_RE.search(v))]
            exits.remember(batch)
        elif op < 0.7:
            exits.known.add(r.choice(SPACED + ["plain1234", "100000007"]))
        elif op < 0.8 and exits.known:
            exits.known.discard(r.choice(sorted(exits.known)))
        elif op < 0.85:
            exits.known.clear()
        elif op < 0.9:
            m.find("some text 100000007 and user1@example.com " * 3)   # builds levels
        want = _straightforward(exits.known)
        assert m.has_spaced() == want, step
        seen.add(want)
    assert seen == {True, False}


def test_a_fetch_of_numbers_leaves_has_spaced_nothing_to_read(fresh_exits: Any  # noqa: F811
                                                              ) -> None:
    """SSNs, phones with spaces and e-mails remembered: the values ``has_spaced`` would read
    again are none (the flag came with the batch), and the answer is the whole set's."""
    exits.remember([str(100000000 + 7 * g) for g in range(3000)])
    assert not exits.known.unchecked and not exits._MATCH.has_spaced()
    exits.remember([f"(415) 555-{g:04d}" for g in range(300)] + ["user1@example.com"])
    assert not exits.known.unchecked
    assert exits._MATCH.has_spaced() and _straightforward(exits.known)


def test_update_checked_and_update_mix() -> None:
    v = Values()
    m = Matcher(v)
    v.update_checked(["100000007", "1,000,000"], False)
    assert not m.has_spaced()
    v.update(["abcd1234"])
    assert not m.has_spaced()
    v.update_checked(["jane doe"], True)
    assert m.has_spaced()
    v.discard("jane doe")   # the whole set is read again
    assert not m.has_spaced()
    v.add("x y")
    assert m.has_spaced()
    v.clear()
    assert not m.has_spaced()


def test_numeric_forms_never_hold_a_separator() -> None:
    """What ``remember`` relies on to pass its numeric forms as holding no separator."""
    r = random.Random(11)
    values = {v for v in (_value(r) for _ in range(20000)) if isinstance(v, str)}
    values |= {"4111 1111 1111 1111", "(415) 555-0100", "012-34-5678", "9" * 40, "1" * 9}
    forms = known_forms.numeric_forms(values)
    assert len(forms) > 10000
    assert not _straightforward(forms)
