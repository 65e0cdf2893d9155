"""Spans the numpy finders do not give, merged into their arrays (``mask.merge``): known values
(the ``KNOWN`` finders' spans: values read out of sensitive columns), values of kinds without a
finder (secrets, IP addresses), and masks of the ``redact`` and ``null`` strategies. The bytes
equal the reference masker's (the span path before the fast paths) whatever the known spans
are: the detectors' own values, prefixes of each other, spans crossing values, covering them,
random spans in random order, non-ASCII text around them."""
from __future__ import annotations

import random
import re

import pytest

from jupyter_guard.mask import text as text_mod
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.mixed import mask_mixed
from jupyter_guard.mask.normalize import normalize
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference
from .test_shapes import DENSE, GLUE, MIXED, _split_by_spans, pii_rows

ROWS = pii_rows(2000)


def _spans(pattern: str, text: str, group: int = 0) -> list[tuple[int, int, str]]:
    return [(m.start(group), m.end(group), "known") for m in re.finditer(pattern, text)]


def _random_spans(text: str, n: int, seed: int, longest: int = 60) -> list[tuple[int, int, str]]:
    """Spans anywhere, of any length, in no order, some of them twice; none ends in
    whitespace (``partial`` strips a value: the numpy path leaves those to spans)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randint(1, longest))
        while b > a + 1 and text[b - 1].isspace():
            b -= 1
        out.append((a, b, "known"))
    return out + rng.sample(out, n // 10)


CASES = {
    "every e-mail": lambda t: _spans(r"user\d+@example\.com", t),
    "the e-mails' local parts": lambda t: _spans(r"user\d+", t),
    "prefixes of each other": lambda t: [
        (m.start(), m.start() + k, "known") for m in re.finditer(r"user\d+@", t)
        for k in (4, 5, 6, 9, 12, 20, 24)],
    "inside values": lambda t: _spans(r"com,12|5-\d|20 79", t),
    "crossing into a value, short": lambda t: _spans(r"(,\+44 2)0", t, 1),
    "from a comma to a comma": lambda t: _spans(r",123-45-\d{4},", t),
    "e-mail-like, crossing three": lambda t: _spans(r",\+44 20 7946 \d{4}\nuser\d+@example\.c", t),
    "a whole row": lambda t: _spans(r"user[^\n]+", t),
    "rows in pairs, overlapping": lambda t: _spans(r"(?=(user[^\n]+\nuser[^\n]+))", t, 1),
    "'@' but no dot after it": lambda t: _spans(r"(\nuser\d+@example)\.", t, 1),
    "touching": lambda t: _spans(r",", t) + _spans(r"\+44 20", t),
    "whitespace first, or short": lambda t: _spans(r"\nuser\d+", t) + _spans(r",\d{3}-", t),
    "random spans": lambda t: _random_spans(t, 3000, 1),
    "random long spans": lambda t: _random_spans(t, 400, 2, longest=400),
}
SAME = {"every e-mail", "the e-mails' local parts", "inside values"}
"""Cases where the known values change nothing: the detectors' values take them in."""


@pytest.mark.parametrize("case", sorted(CASES))
def test_known_values_in_dense_text_are_masked_in_numpy_as_the_reference(
        case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    find = CASES[case]
    settings = MaskSettings()
    want = reference.mask_text(ROWS, settings, [find])
    assert (want == reference.mask_text(ROWS, settings)) == (case in SAME)
    got = mask_mixed(ROWS, settings, engine="shapes", known=find(ROWS))
    assert got == want  # answered by the numpy path, the same bytes
    monkeypatch.setattr(text_mod, "KNOWN", [find])
    assert mask_text(ROWS, settings) == want


@pytest.mark.parametrize("name", sorted(DENSE))
def test_random_known_spans_on_other_dense_texts(name: str, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    text = DENSE[name]
    find = lambda t: _random_spans(t, 2000, len(t))  # noqa: E731
    for settings in (MaskSettings(), MaskSettings(detectors=("card", "iban", "phone"))):
        want = reference.mask_text(text, settings, [find])
        got = mask_mixed(text, settings, engine="shapes", known=find(text))
        assert got == want
        monkeypatch.setattr(text_mod, "KNOWN", [find])
        assert mask_text(text, settings) == want


def test_known_spans_on_random_mixes_and_non_ascii(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random values and glue (answered or declined: the same bytes), and the same with
    non-ASCII characters, entities and Unicode dashes around the known values (declined:
    normalised text goes by spans)."""
    for seed, text in enumerate(MIXED):
        rng = random.Random(seed)
        odd = "".join(c + rng.choice(["", "", "é", "\u2011", "&amp;", "ü@", "\u00a0"])
                      for c in text[:40000])
        for t in (text, odd, "é" + text, text + "€"):
            find = lambda s, k=seed: _random_spans(s, 500, len(s) + k)  # noqa: E731
            settings = MaskSettings()
            want = reference.mask_text(t, settings, [find])
            got = mask_mixed(t, settings, engine="shapes", known=find(t))
            assert got is None or got == want or normalize(t).text is not t
            monkeypatch.setattr(text_mod, "KNOWN", [find])
            assert mask_text(t, settings) == want


STRATEGIES = {
    "redact": MaskSettings(strategy="redact"), "null": MaskSettings(strategy="null"),
    "known redact": MaskSettings(per_column={"known": "redact"}),
    "e-mails null, SSNs redact": MaskSettings(per_column={"email": "null", "ssn": "redact"}),
    "phones null, known null": MaskSettings(per_column={"phone": "null", "known": "null"}),
    "redact, e-mails partial": MaskSettings(strategy="redact", per_column={"email": "partial"}),
}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_redact_and_null_are_masked_in_numpy_as_the_reference(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = STRATEGIES[name]
    for finders in ([], [CASES["prefixes of each other"]], [CASES["random spans"]]):
        want = reference.mask_text(ROWS, settings, finders)
        known = [s for f in finders for s in f(ROWS)]
        assert mask_mixed(ROWS, settings, engine="shapes", known=known) == want
        monkeypatch.setattr(text_mod, "KNOWN", finders)
        assert mask_text(ROWS, settings) == want


def test_hash_is_answered_by_the_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    find = CASES["prefixes of each other"]
    for settings in (MaskSettings(strategy="hash", salt="s"),
                     MaskSettings(per_column={"known": "hash"}),
                     MaskSettings(per_column={"ssn": "hash"})):
        got = mask_mixed(ROWS, settings, engine="shapes", known=find(ROWS))
        assert got == reference.mask_text(ROWS, settings, [find])
        monkeypatch.setattr(text_mod, "KNOWN", [find])
        assert mask_text(ROWS, settings) == reference.mask_text(ROWS, settings, [find])


ALL = MaskSettings(detectors=tuple(DETECTORS))
OTHERS = ["sk-abcdefghijklmnopqrstuv", "ghp_0123456789abcdefABCDEF0123456789abcd",
          "AKIAIOSFODNN7EXAMPLE", "password=hunter2", "token: 'aB3$xY9!'", "api_key=sk_live_1",
          "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "aB3dE5gH7jK9mN1pQ3sT5vX7", "10.0.0.1",
          "192.168.1.254", "999.1.1.1", "1.2.3.4.5", "fe80::1", "2001:db8::8a2e:370:7334",
          "::", "a:b:c", "pwd=123-45-6789", "secret=user1@example.com", "1.2.3.4:8080"]


def _with_others(seed: int, glued: bool) -> str:
    """PII rows with secrets and IP addresses (and look-alikes) on rows of their own, or glued
    in anywhere (before, inside and after values: the finders decline on some of those)."""
    rng = random.Random(seed)
    text = ROWS
    for _ in range(60):
        at = rng.randrange(len(text))
        if glued:
            glue = rng.choice(GLUE)
            text = text[:at] + glue + rng.choice(OTHERS) + glue + text[at:]
        else:
            at = text.index("\n", at) + 1 if "\n" in text[at:] else len(text)
            text = text[:at] + rng.choice(OTHERS) + "\n" + text[at:]
    return rng.choice(OTHERS) + " " + text + rng.choice(OTHERS)


@pytest.mark.parametrize("glued", [False, True], ids=["rows", "glued"])
@pytest.mark.parametrize("seed", range(4))
def test_secrets_and_addresses_in_dense_text_are_merged_as_the_reference(
        seed: int, glued: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _with_others(seed, glued)
    for settings in (ALL, MaskSettings(), MaskSettings(strategy="redact",
                                                      detectors=("email", "ipv4", "secret"))):
        for finders in ([], [lambda t: _random_spans(t, 500, seed)]):
            want = reference.mask_text(text, settings, finders)
            known = [s for f in finders for s in f(text)]
            got = mask_mixed(text, settings, engine="shapes", known=known)
            assert got == want or (glued and (got is None or normalize(text).text is not text))
            monkeypatch.setattr(text_mod, "KNOWN", finders)
            assert mask_text(text, settings) == want


@pytest.mark.parametrize("case", ["every e-mail", "random spans", "a whole row", "redact",
                                  "secrets"])
def test_a_long_line_with_known_values_is_cut_as_by_spans(
        case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream masker's cut of a long partial line, known values, other strategies or
    secrets in it: the arrays answer and the emitted and held parts equal the span path's."""
    from jupyter_guard.kernel import streams

    settings = MaskSettings(strategy="redact") if case == "redact" else ALL
    monkeypatch.setattr(text_mod, "KNOWN", [CASES.get(case, CASES["random spans"])])
    line = (_with_others(7, False) if case == "secrets" else ROWS).replace("\n", " ")
    answered = 0
    for drop in range(0, 60, 7):
        text = line[:len(line) - drop]
        answered += streams.dense_values(text, settings) is not None
        for limit in (streams.WINDOW, streams.HOLD):
            assert streams._split(text, settings, limit) == _split_by_spans(
                text, settings, limit)
    assert answered >= 8


def test_a_megabyte_of_nested_known_values_is_masked_whole(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """1 MB of PII rows where every value is known at seven nested lengths and by random
    spans (overlaps resolved one by one): it finishes, answered by the numpy path and equal to
    the span path (``find_spans`` and ``mask_spans``)."""
    text = pii_rows(20000)
    nested, rand = CASES["prefixes of each other"], lambda t: _random_spans(t, 20000, 5)
    spans = nested(text) + rand(text) + CASES["every e-mail"](text)
    monkeypatch.setattr(text_mod, "KNOWN", [lambda t: spans if t is text else []])
    settings = MaskSettings()
    got = mask_text(text, settings)
    assert mask_mixed(text, settings, known=spans) == got
    _, found = text_mod._norm_spans(text, settings)
    assert got == text_mod.mask_spans(text, found, settings)
    assert len(found) > 30000 and got != text


MB = 1 << 20
HOSTILE = {
    # '+' phones whose greedy path fails: a space before a group (the shorter path), or none
    # (each place asked of re)
    "plus phones before ',1'": "+44 20 7946 1234,1\n",
    "plus phones with no space to stop at": "+12 345-678-901x a@b.com +12 345-678-901 1\n",
    "e-mails whose last label is no top-level one": "u@b.c0 a@b.co\n",
    "key words before SSNs": "ssn: 123456789 SSN 123-45-6789\n",
    "a secret on every row": "sk-abcdefghijklmnopqrstuv user1@example.com\n",
    "IPv4 and e-mails": "10.0.0.1 a@b.com\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_megabyte_of_each_new_path_is_masked_whole(name: str) -> None:
    """1 MB dense with the shapes the numpy path now answers (not the span path): it
    finishes, and equals the span path (``find_spans`` and ``mask_spans``)."""
    unit = HOSTILE[name]
    text = unit * (MB // len(unit))
    got = mask_text(text, ALL)
    assert mask_mixed(text, ALL, engine="shapes") == got  # the numpy path answers
    _, spans = text_mod._norm_spans(text, ALL)
    assert got == text_mod.mask_spans(text, spans, ALL) != text


FAR = ["é", "José ", "Müller,", "\u00a0", "\u2003", "\u3000", "\u0085", "😀", "日本", "\u017f", "\u212a",
       "١٢٣", "\u0660", "é@", "@é", "password=héllo\u00a0wörld ", "ssn:\u00a0123456789 ",
       "+44\u00a020 7946 1234 ", "token=\u3000abcdé "]
"""Characters past ASCII: letters and digits of other scripts (no ASCII class holds them:
the patterns are ``re.ASCII``), whitespace ``str.strip`` removes, astral characters, the long
s and the Kelvin sign (case-fold to ASCII letters without ``re.ASCII``)."""


def _far(seed: int) -> str:
    rng = random.Random(seed)
    text = ROWS
    for _ in range(80):
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(FAR) + text[at:]
    return text


@pytest.mark.parametrize("seed", range(4))
def test_non_ascii_text_is_read_through_an_ascii_stand_in_as_the_reference(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-ASCII characters anywhere (inside values too): the numpy path reads a stand-in and
    cuts the text itself (UTF-32), with known values (random, some ending in non-ASCII
    whitespace) and under redact."""
    text = _far(seed)
    assert normalize(text).text is text
    spaced = lambda t: _spans(r"[^\n]{9}\u00a0|\u3000[^\n]{7}|\u2003[^\n]{8}", t)  # noqa: E731
    answered = 0
    for settings in (ALL, MaskSettings(), MaskSettings(strategy="redact")):
        for finders in ([], [lambda t: _random_spans(t, 500, seed)], [spaced]):
            want = reference.mask_text(text, settings, finders)
            known = [s for f in finders for s in f(text)]
            got = mask_mixed(text, settings, engine="shapes", known=known)
            assert got is None or got == want
            answered += got is not None
            monkeypatch.setattr(text_mod, "KNOWN", finders)
            assert mask_text(text, settings) == want
    assert answered >= 6


def test_lone_surrogates_are_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    text = ROWS[:5000] + "\ud800" + ROWS[5000:]
    want = reference.mask_text(text, MaskSettings())
    assert mask_mixed(text, MaskSettings(), engine="shapes") == want
    assert mask_text(text, MaskSettings()) == reference.mask_text(text, MaskSettings())


def test_a_long_non_ascii_line_is_cut_as_by_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_guard.kernel import streams

    monkeypatch.setattr(text_mod, "KNOWN", [CASES["random spans"]])
    line = _far(9).replace("\n", " ")
    answered = 0
    for drop in range(0, 60, 7):
        text = line[:len(line) - drop]
        answered += streams.dense_values(text, ALL) is not None
        for limit in (streams.WINDOW, streams.HOLD):
            assert streams._split(text, ALL, limit) == _split_by_spans(text, ALL, limit)
    assert answered >= 8


@pytest.mark.parametrize(("edge", "declines"), [
    ("\u3000abcdefg", False), ("\u2003\u00a0abcdefgh", False), ("abcdefghij\u00a0", True),
    ("abcdefg\u0085", False), ("abcdefgh\u2028", True)])
def test_known_values_with_non_ascii_whitespace_at_an_edge(
        edge: str, declines: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """``str.strip`` removes non-ASCII whitespace too: a known value of seven characters after
    an ideographic space is short (the block alone), one of eight is long (its last four), and
    a long one ending in one declines (the span path masks it)."""
    cut = ROWS.index("\n", 20000) + 1
    text = ROWS[:cut] + edge + "\n" + ROWS[cut:]
    find = lambda t: [(t.index(edge), t.index(edge) + len(edge), "known")]  # noqa: E731
    want = reference.mask_text(text, MaskSettings(), [find])
    got = mask_mixed(text, MaskSettings(), engine="shapes", known=find(text))
    assert got is None if declines else got == want
    monkeypatch.setattr(text_mod, "KNOWN", [find])
    assert mask_text(text, MaskSettings()) == want
