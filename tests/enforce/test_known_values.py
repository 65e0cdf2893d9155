"""Known values (read out of sensitive columns) found in printed text: exact tokens between
separators, trailing punctuation ignored, no partial matches; linear on adversarial text; plain
text with no known value costs one pass and is left alone."""
from __future__ import annotations

import time

import pytest

from jupyter_guard.hooks import exits
from jupyter_guard.mask import text as mask_text


@pytest.fixture()
def known():
    saved, lens = set(exits.known), set(exits.lengths)
    exits.known.clear()
    exits.remember(["100001000", "user1000@example.com", "ab-cd", "Jane Q"])
    yield exits.known
    exits.known.clear()
    exits.known.update(saved)
    exits.lengths.clear()
    exits.lengths.update(lens)


@pytest.mark.parametrize(("text", "found"), [
    ("x=100001000.", ["100001000"]),
    ("['100001000', 5]", ["100001000"]),
    ("mail user1000@example.com.", ["user1000@example.com"]),
    ("-100001000-", ["100001000"]),
    ("v=user1000@example.com,", ["user1000@example.com"]),
    ("ab-cd", ["ab-cd"]),
    ("1100001000 1000010001 ab-cde", []),   # no partial match
    # an e-mail cannot occur by chance inside other text: found wherever it is, glued or not
    ("user1000@example.community", ["user1000@example.com"]),
    ("a@b.couser1000@example.comuser2@x.io", ["user1000@example.com"]),
    ("1100001000user1000@example.com", ["user1000@example.com"]),
    # values glued with nothing between: the whole token is values, so it is found
    ("ssns 100001000100001000,", ["100001000100001000"]),
    ("91100001000100001000 100001000100001", []),   # not values end to end
    ("name: Jane Q, ok", ["Jane Q"]),   # a value holding a space is no token
    ("$100001000$ and #100001000!", ["100001000", "100001000"]),   # glued to punctuation
    ("Textarea(value='a\\n100001000\\t')", ["100001000"]),   # after a repr's escape
    ("x100001000 and \\q100001000", []),
    ("Jane Quinn", []),
    ("order 4999 shipped to Lyon", []),
    ("['000100001', 'moc.elpmaxe@0001resu']", ["moc.elpmaxe@0001resu"]),  # reversed, not digits
    ("dc-ba and 0001 resu", ["dc-ba"]),
])
def test_known_spans(known, text, found):
    assert [text[a:b] for a, b, _ in exits.known_spans(text)] == found


def test_printed_known_values_are_masked(known):
    if exits.known_spans not in mask_text.KNOWN:
        mask_text.KNOWN.append(exits.known_spans)
    out = mask_text.mask_text("ssn list: ['100001000'] and ab-cd, total 4999",
                              mask_text.MaskSettings())
    assert "100001000" not in out and "ab-cd" not in out and "total 4999" in out


@pytest.mark.parametrize("adv", ["a" + "." * 1_000_000, "ab.@" * 250_000, "a." * 500_000,
                                 "1" * 1_000_000, "a-" * 500_000,
                                 "100001000" * 110_000, "10000100" * 125_000, ("x" + "." * 999 + " ") * 1000])
def test_known_spans_linear(known, adv):
    t = time.process_time()
    exits.known_spans(adv)
    assert time.process_time() - t < 2.0   # ~10-30 ms; a quadratic pass would take minutes
