"""Known values spelt by classes the red15c corpus found open (issue 15): digits as letters
under any one key, uuencoded blocks, ``\\u`` escapes, a column of one character a row, an
e-mail cut over two printed lines. Each class is found under spellings the corpus does not use,
and plain text of the same look passes the exits and prints unchanged (10,000 random SSNs and
10,000 e-mails remembered, as in ``test_mask15_false_positives``)."""
from __future__ import annotations

import binascii
import codecs
import inspect
import json
import random
from collections.abc import Iterator

import pytest

from jupyter_guard.hooks import cipher_digits, digit_lines, exits
from jupyter_guard.mask.text import MaskSettings, mask_text
from tests.enforce.known_values import remembering
from tests.enforce.test_mask15_false_positives import _ssns

SSNS = [s.replace("-", "") for s in _ssns(10_000)]
EMAILS = [f"first.last{i}@corp.example" for i in range(10_000)]


@pytest.fixture()
def remembered() -> Iterator[None]:
    with remembering(SSNS + EMAILS):
        yield


def _key(letters: str) -> dict[int, int]:
    return str.maketrans("0123456789", letters)


ATTACKS = [
    str([s.translate(_key("qwertyuiop")) for s in SSNS[100:110]]),
    ",".join(s.translate(_key("QWERTYUIOP")) for s in SSNS[200:230]),
    "\n".join(f"{s[:3]}-{s[3:5]}-{s[5:]}".translate(_key("zyxwvutsrq")) for s in SSNS[300:320]),
    codecs.encode(";".join(EMAILS[10:14]).encode(), "uu").decode(),
    "".join(binascii.b2a_uu(e.encode()).decode() for e in EMAILS[20:23]),
    "".join(f"\\u{ord(c):04x}" for c in EMAILS[30]),
    json.dumps(["".join(f"\\U{ord(c):08x}" for c in e) for e in EMAILS[31:33]]),
    "".join(f"\\x{b:02x}" for b in EMAILS[34].encode()),
    "\n".join(f"{i:<5} {c}" for i, c in enumerate(EMAILS[40])) + "\ndtype: str",
]


@pytest.mark.parametrize("text", ATTACKS, ids=range(len(ATTACKS)))
def test_spelt_values_are_found(remembered: None, text: str) -> None:
    settings = MaskSettings()
    assert exits.scan(text, settings), text[:80]
    shown = mask_text(text, settings)
    assert shown != text


def _prose() -> list[str]:
    """Plain text with words of nine letters: the standard library's own sources."""
    import argparse
    import collections
    import email.message
    import logging
    import typing
    return ["\n".join(ln for ln in inspect.getsource(m).splitlines() if "@" not in ln)
            for m in (argparse, collections, email.message, logging, typing)]   # (no e-mail)


PLAIN = [
    str(["something", "beautiful", "excellent", "wonderful", "aabbccdde", "abcdefghi"]),
    "d41d8cd98f00b204e9800998ecf8427e e3b0c44298fc1c149afbf4c8996fb924",
    "".join(f"\\u{ord(c):04x}" for c in "someone@example.org"),
    codecs.encode(b"Paris,Lyon,Nice,someone@example.org", "uu").decode(),
    "\n".join(f"{i:<5} {c}" for i, c in enumerate("help@python.org")) + "\ndtype: str",
    "someone@exa\nmple.org\nfirst.last@\ncorp.example\n",
]


def test_plain_look_alikes_pass(remembered: None) -> None:
    settings = MaskSettings()
    for text in PLAIN + _prose():
        assert exits.scan(text, settings) == "", text[:80]
        assert mask_text(text, settings) == text, text[:80]


def test_one_key_needs_three_words() -> None:
    known = set(SSNS)
    key = _key("abcdefghij")
    two = " ".join(s.translate(key) for s in SSNS[:2])
    bulk = " ".join(s.translate(key) for s in SSNS[:30])
    assert cipher_digits.spans(two, known, {9}) == []
    assert len(cipher_digits.spans(bulk, known, {9})) >= 25   # (a key is learnt word by word)
    rng = random.Random(3)   # three words of a key, none a known number: nothing
    other = " ".join("".join(rng.choice("abcdefghij") for _ in range(9)) for _ in range(30))
    assert cipher_digits.spans(other, known, {9}) == []


def test_an_email_cut_over_two_lines(remembered: None) -> None:
    tail = digit_lines.Tail()
    e = EMAILS[50]
    assert tail.take(e[:12] + "\n") == e[:12] + "\n"
    assert e[12:] not in tail.take(e[12:] + "\n")
    assert tail.take("first.last@\n") + tail.take("corp.example\n") == \
        "first.last@\ncorp.example\n"   # no known value across the break


@pytest.mark.parametrize("letters", ["abcdefghij", "qwertyuiop", "ZYXWVUTSRQ"])
def test_one_enciphered_number_a_print_is_masked(remembered: None, letters: str) -> None:
    """``for s in ssns: print(s.translate(key))``: each print is one piece of the stream and one
    word, no key alone; the stream's tail holds such lines until a key reads them."""
    tail, key = digit_lines.Tail(), _key(letters)
    words = [s.translate(key) for s in SSNS[500:530]]
    shown = "".join(tail.take(w + "\n") for w in words) + tail.take("", end=True)
    assert [w for w in words if w in shown] == []
    assert shown.count("████") == len(words)


def test_plain_lines_pass_the_tail_unchanged(remembered: None) -> None:
    """The exits' 65,000+ plain values and the words of the standard library's sources, one a
    print: each comes out as it went in, in order (a held line is released, never masked)."""
    from tests.enforce.test_exit_false_positives import corpus

    words = [w for text in _prose() for w in text.split() if w.isalpha() and 7 <= len(w) <= 19]
    lines = corpus() + words + ["something", "beautiful", "excellent", "abcdefghi"]
    assert len(lines) >= 65_000
    tail = digit_lines.Tail()
    shown = "".join(tail.take(v + "\n") for v in lines) + tail.take("", end=True)
    assert shown == "".join(v + "\n" for v in lines)
