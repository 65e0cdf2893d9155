"""The known-value automaton (``hooks/known_match.py``) behind ``exits.scan`` on long texts: it
finds every value the token check found, wherever it stands alone, never a value inside a longer
run, follows every change to the set (added after a build, removed, cleared), and stays linear on
text built to make it match everywhere."""
from __future__ import annotations

import random
import re
import time

import pytest

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.known_levels import LEVELS_MAX
from jupyter_guard.hooks.known_match import Matcher, Values

HIT = "values read from a sensitive column"
_CUT = re.compile(r"[\s,;|\"'<>()\[\]{}=&?/\\:\x00]+")
SEPS = [" ", ",", ";", "|", '"', "'", "(", ")", "[", "]", "{", "}", "=", "&", "?", "/", "\\",
        ":", "\n", "\t", "\x00", ".", "-", "+", "@"]


def tokens_find(text: str, values: set[str]) -> bool:
    """The token check the automaton replaces on long texts (tokens, or tokens stripped), with
    an e-mail's local part standing alone (remembered since known local parts are found:
    ``user1@example.co`` holds the known ``user1``)."""
    return any(t in values or t.strip(".-+@") in values or t.partition("@")[0] in values
               for t in _CUT.split(text))


def _plain(n: int, seed: int) -> str:
    r = random.Random(seed)
    rows = [f"{i},PRD-{r.randrange(10**6):06d},{r.random() * 1e4:.2f},Paris,"
            f"2026-01-{1 + i % 28:02d} 10:{i % 60:02d}:00" for i in range(n)]
    return "\n".join(rows)


@pytest.fixture()
def known():
    saved = set(exits.known)
    exits.known.clear()
    exits.remember([f"{100000000 + n:09d}" for n in range(3000)]
                   + [f"user{n}@example.com" for n in range(3000)] + ["Jane Q", "ab-cd"])
    yield exits.known
    exits.known.clear()
    exits.known.update(saved)


def test_the_automaton_finds_what_the_token_check_found(known):
    r = random.Random(7)
    base = _plain(400, 1)
    checked = agree = 0
    for _ in range(300):
        v = r.choice(["100000042", "user17@example.com", "ab-cd", "999999999", "user1@example.co"])
        left, right = r.choice(SEPS + ["x", "9", "_"]), r.choice(SEPS + ["x", "9", "_"])
        at = r.randrange(len(base))
        text = base[:at] + left + v + right + base[at:]
        old, new = tokens_find(text, known), bool(exits._known(text))
        checked += 1
        assert new or not old, text[at - 20:at + 40]     # never less than before
        agree += old == new
    # where they differ the automaton finds more: a value glued to '-', '+', '_' or a letter
    # counts as the value (about one case in six here), which the token check never did
    assert checked == 300 and agree >= 240


@pytest.mark.parametrize("spelling", ["1100000042", "1000000429", "9100000042"])
def test_no_value_inside_a_longer_run(known, spelling):
    """A known number inside a longer run of digits is how honest longer numbers look."""
    assert exits._known(_plain(2000, 2) + " " + spelling + " ") == ""


@pytest.mark.parametrize("spelling", ["user17@example.community", "xuser17@example.com",
                                      "100000042100000042x", "id100000042100000042",
                                      "100000042100000042", "(100000042100000042100000042)",
                                      "100000042x", "_100000042", "x100000042"])
def test_glued_values_are_found(known, spelling):
    """An e-mail cannot occur by chance inside other text, so it counts glued to anything;
    values written end to end with nothing between count where the chain stands alone; a known
    number glued to letters (``'x' + ssn`` as a class or attribute name) counts too."""
    for body in (" ", _plain(2000, 2) + " "):   # a short text and a long one (the automaton)
        assert exits._known(body + spelling + " ") != ""


@pytest.mark.parametrize("spelling", ["ssn=100000042&", "(user17@example.com)", "-100000042.",
                                      "name: Jane Q\n", "'ab-cd'", "@100000042+"])
def test_a_value_standing_alone_is_found_anywhere_in_a_long_text(known, spelling):
    body = _plain(5000, 3)
    for at in (0, len(body) // 2, len(body)):
        assert exits._known(body[:at] + spelling + body[at:]) == HIT


def test_the_matcher_follows_every_change_to_the_set():
    v = Values()
    m = Matcher(v)
    text = _plain(500, 4)
    v.update([f"{n:09d}" for n in range(100, 2000)])
    assert m.find(text + " 000000150 ") is True
    v.add("zz-new-value")                                # after the build: the small automaton
    assert m.find(text + " zz-new-value ") is True
    v |= {"another-one"}
    assert m.find(text + " another-one ") is True
    v.discard("zz-new-value")                            # removed: gone at once
    assert m.find(text + " zz-new-value ") is False
    v.update(f"more{n:05d}" for n in range(5000))        # a batch (pending, then a level)
    assert m.find(text + " more04999 ") is True and len(m.store.levels) <= LEVELS_MAX
    assert m.find(text + " another-one ") is True
    v.clear()
    assert m.find(text + " another-one 000000150 ") is False


@pytest.mark.parametrize("adv", ["1" * 1_000_000, "user17@example.com" * 50_000,
                                 ("100000042" + "x") * 100_000])
def test_linear_on_text_that_matches_everywhere(known, adv):
    known.add("11111111")
    t = time.process_time()
    exits._known(adv)
    assert time.process_time() - t < 5.0   # ~0.2-0.5 s; a quadratic pass would take hours


def test_anchors_pass_text_without_them_and_never_hide_a_value():
    v = Values()
    m = Matcher(v)
    v.update(f"user{n}@example.com" for n in range(2000))
    text = _plain(3000, 5)
    assert m.find(text) is False and m.anchors == {"@"}
    assert m.find(text + " user1999@example.com") is True
    assert m.find(text + " user1999@example.co") is False
    v.update(["Zq8Xv2Lm", "100000042", "jdoe_private", "ab-cd", "Jane Q", "x#y#z"])
    assert m.find(text + " ") is False and "@" in m.anchors
    for value in ["Zq8Xv2Lm", "100000042", "jdoe_private", "ab-cd", "Jane Q", "x#y#z"]:
        assert m.find(text + "\n" + value + "\n") is True, value
    v.update(f"k{n}{chr(0x41 + n % 26)}{n}" for n in range(200))    # more anchors than checked
    assert m.find(text) is False and len(m.anchors) > 6    # every text is then scanned
    assert m.find(text + " k5F5 ") is True
