"""The numpy finders (``shapes``/``finders``) find what ``re``'s precise patterns find: on random
texts of values, near-values and adversarial neighbours glued together they give
``Detector.spans_in``'s spans or decline (None), and on text dense with values they answer.
Then ``mask_text`` through them equals the reference masking, byte for byte."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import shapes
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.mixed import mask_mixed
from jupyter_guard.mask.normalize import normalize
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference
from .test_bulk import _card, _digits, _iban, _phone, _with_check

NAMES = sorted(shapes.FINDERS)

GLUE = ["", "", " ", " ", ",", ".", "-", "@", "+", "(", ")", "a", "Z", "_", "1", "\n", ":", "/",
        ", ", ". ", ".a", ".1", ".-", "._", " 1", ",1", "%", "=", "'"]


def _value(rng: random.Random) -> str:
    d = lambda n: _digits(rng, n)  # noqa: E731
    return rng.choice([
        # e-mails, and the domains re gives labels back on
        f"u{d(3)}@example.com", f"a.b+c@x{d(1)}.co.uk", "x@y.c", "a@b.com1", "a@b.co.x1",
        "a@@b.com", "@b.com", "a@b", "a@.com", "a@b..com", "a@b.com.-x", "a@b.com_", "a@b.c-m",
        "a@b-.com", "_a@b.com", ".a@b.com", "a@b.CoM", "a%b@c.de", "a@b.com@c.de", "a@b.com.",
        "a@b.c0m.org", "a@b.com.x_", "a@b.com.Y", "a@1.23",
        # SSNs
        f"{d(3)}-{d(2)}-{d(4)}", f"{d(3)} {d(2)} {d(4)}", f"{d(3)}-{d(2)} {d(4)}",
        "000-12-3456", "123-00-4567", "123-45-0000", "ssn 123456789", "SOCIAL",
        # phones
        _phone(rng), f"({d(3)}) {d(3)}-{d(4)}", f"({d(3)}){d(3)}.{d(4)}", f"{d(3)}.{d(3)}.{d(4)}",
        f"{d(3)}-{d(3)}-{d(4)}", "+1 2", "+12", "+1", "+44 20 7946 1234", "+1 (555) 123-4567",
        "+1(555)1234567", "+49.(30).1234", "+123456789012345678", "+1 (12345) 678",
        "(555) 123-4567", "((555) 123-4567", f"+{d(rng.randint(1, 4))}-{d(rng.randint(1, 6))}",
        # '+' phones whose greedy path fails its look-ahead (re backtracks to a shorter one)
        "+44 20 7946 1234,1", "+44 20 7946 1234 1x", "+44 20.7946 1234x", "+1 2 3 4 5 6a",
        "+44 (20) 7946 1234-5", "+12 345 678 90a", "+4420 79461234/", "+1 23456 78901 2.3",
        f"+{d(2)} {d(rng.randint(1, 5))} {d(rng.randint(1, 5))}.{d(rng.randint(1, 5))}"
        f"{rng.choice(['x', ',1', '-', '.1', ':', '/', ' '])}",
        # SSNs after key words (re's second alternative; the value is a group of the match)
        "ssn: 123456789", "SSN 123-45-6789 ssn 987654321", "Social Security No 123456789",
        "social_security_number is 123456789", "xssn 123456789", "ssn123456789012",
        # cards
        _card(rng), "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
        "4111 1111-1111 1111", "3782 822463 10005", "3782-822463-10005", "4111 1111 1111 1112",
        "1111 4111 1111 1111 1111", f"4{d(3)} {d(4)} {d(4)} {d(rng.randint(1, 8))}", f"5{d(15)}",
        "4111 1111 1111 1111.5", "4111 1111 1111 1111,x", "4111111111111111111111",
        # IBANs
        _iban(rng), _iban(rng), "DE89 3704 0044 0532 0130 00", "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00x", "DE89 3704",
        "DE89 3704 0044 0532 0130 0044 5566 7788 99", "DE89 3704 0044 0532 0130 00-",
        "DE89 3704 0044 0532 0130 00_", _with_check("GB", "411111111111111111"),
        _with_check("GB", "123441111111111106"), "XX12 3456 7890 1234", "AB12 AB12 AB12",
        d(rng.randint(1, 12)), "e-mail", "ab", "A", "9" * 20,
    ])


def _text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(GLUE) + _value(rng) for _ in range(n)) + rng.choice(GLUE)


def _answers(name: str, text: str) -> bool:
    """Whether the finder answered; assert its answer is ``spans_in``'s."""
    got = shapes.values(name, shapes.Text(text.encode("ascii")))
    if got is None:
        return False
    want = DETECTORS[name].spans_in(text, 0, len(text))
    assert list(zip(got[0].tolist(), got[1].tolist())) == want, (name, text)
    return True


@pytest.mark.parametrize("name", NAMES)
def test_finders_give_spans_in_or_decline(name: str) -> None:
    answered = 0
    for seed in range(1500):
        rng = random.Random(seed)
        answered += _answers(name, _text(rng, rng.randint(1, 8)))
    for seed, n in ((1, 200), (2, 2000), (3, 20_000)):
        _answers(name, _text(random.Random(seed), n))
    assert answered > 300


def test_a_value_in_each_place_of_a_short_text() -> None:
    """Every value at the start, at the end and alone (padding and boundaries)."""
    rng = random.Random(7)
    values = [_value(rng) for _ in range(400)]
    for v in values:
        for text in (v, v + " ", " " + v, v + v, v + "," + v):
            for name in NAMES:
                _answers(name, text)


def pii_rows(n: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    return "".join(f"user{rng.randrange(10**6)}@example.com,123-45-{rng.randrange(1000, 9999)},"
                   f"+44 20 7946 {rng.randrange(1000, 9999)}\n" for _ in range(n))


DENSE = {
    "pii rows": pii_rows(3000),
    "ibans": "DE89 3704 0044 0532 0130 00 " * 4000,
    "ibans, cards, phones": "".join(
        rng.choice([_with_check(rng.choice(["DE", "FR", "GB"]), _digits(rng, 18)),
                     f"+{_digits(rng, 2)} {_digits(rng, 3)} {_digits(rng, 4)} {_digits(rng, 3)}",
                     "4111 1111 1111 1111", f"({_digits(rng, 3)}) {_digits(rng, 3)}-1234"])
        + rng.choice([", ", "\n", " "]) for rng in [random.Random(11)] for _ in range(6000)),
    "us phones": "(555) 123-4567 " * 6000,
}
MIXED = [_text(random.Random(seed), 3000) for seed in range(4)] + [
    "".join(rng.choice([_iban(rng), _card(rng), _phone(rng), "4111 1111 1111 1111"]) + ", "
            for rng in [random.Random(11)] for _ in range(6000))]


@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_texts_are_answered_and_masked_as_the_reference(name: str) -> None:
    text = DENSE[name]
    settings = MaskSettings()
    got = mask_mixed(text, settings, engine="shapes")
    assert got is not None
    assert got == reference.mask_text(text, settings)
    for masking in (settings, MaskSettings(strategy="hash", salt="s")):
        assert mask_text(text, masking) == reference.mask_text(text, masking)


def test_mixed_texts_mask_as_the_reference() -> None:
    """Where the path answers on random mixes (or declines to ``re``), the same bytes (it is
    asked only about text that needs no normalising: '%41' there is an 'A')."""
    for text in MIXED:
        for masking in (MaskSettings(), MaskSettings(detectors=("card", "iban", "phone"))):
            got = mask_mixed(text, masking, engine="shapes")
            want = reference.mask_text(text, masking)
            assert got is None or got == want or normalize(text).text is not text
            assert mask_text(text, masking) == want


def test_known_value_finders_keep_the_fast_path_only_while_they_find_nothing(monkeypatch) -> None:
    """The kernel always registers a finder of values read from sensitive columns; while it
    finds none the numpy path masks (same bytes), and a known value it finds is masked too."""
    from jupyter_guard.mask import text as text_mod
    from jupyter_guard.mask.strategy import mask_value

    calls: list[int] = []

    def spy(text: str, settings: MaskSettings, **kw: object) -> str | None:
        calls.append(1)
        return mask_mixed(text, settings, **kw)

    monkeypatch.setattr(text_mod, "mask_mixed", spy)
    rows = DENSE["pii rows"]
    monkeypatch.setattr(text_mod, "KNOWN", [lambda t: []])
    assert mask_text(rows, MaskSettings()) == reference.mask_text(rows, MaskSettings())
    assert calls
    with_known = rows + "token zzsecretzz here\n" + rows
    monkeypatch.setattr(text_mod, "KNOWN", [lambda t: [
        (i, i + 10, "known") for i in range(len(t)) if t.startswith("zzsecretzz", i)]])
    got = mask_text(with_known, MaskSettings())
    assert "zzsecretzz" not in got
    assert got == reference.mask_text(with_known, MaskSettings()).replace(
        "zzsecretzz", mask_value("zzsecretzz", "partial", kind="known"))


ODD = [
    "a" * 300 + "@example.com", "x@" + "a." * 300 + "com", "x@" + "a" * 300 + ".com",
    "x@example." + "c" * 300, "\0a@b.com\0", "\0123-45-6789\0", "+1 (555) 123-4567",
    "+44 20 7946 1234x", "+1 2 3 4 5 6 7 8 9", "+12345678901234567", "(555) 123-45678",
    "4111 1111 1111 1111 1111", "4111 1111 1111 1111 4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00 ssn", "DE89 3704 0044 0532 0130 00 AB", "a@b.com.a_",
    "GB82 WEST 1234 5698 7654 3241 1111 1111 1111 1111", "@@@", "+++", "((((",
    "DE89 3704 0044 0532 0130 00a", "1234-56-7890", "social 123-45-6789",
]


@pytest.mark.parametrize("odd", range(len(ODD)))
def test_odd_values_inside_dense_text_mask_as_the_reference(odd: int) -> None:
    """Long runs, NULs, backtracking phones, card look-alikes, key words: inside 100 KB of
    dense values, at its start and at its end."""
    rows = pii_rows(1000)
    for text in (rows + ODD[odd] + "\n" + rows, ODD[odd] + rows, rows + ODD[odd]):
        assert mask_text(text, MaskSettings()) == reference.mask_text(text, MaskSettings())
        for name in NAMES:
            _answers(name, text)


def _split_by_spans(text: str, settings: MaskSettings, limit: int) -> tuple[str, str]:
    """The stream masker's cut of a long partial line from ``find_spans`` (the span path)."""
    from jupyter_guard.kernel.streams import HOLD
    from jupyter_guard.mask.text import find_spans, mask_spans

    spans = find_spans(text, settings)
    cut = len(text) - HOLD
    for a, b, _ in spans:
        if a < cut < b:
            cut = a if cut - a <= limit - HOLD else b
            break
    return mask_spans(text, spans, settings, cut), text[cut:]


@pytest.mark.parametrize("limit", ["window", "hold"])
def test_a_long_line_dense_with_values_is_cut_as_by_spans(limit: str) -> None:
    """One line of 100 KB of IBANs, cards or PII (no newline: the stream masker holds its end):
    emitted and held parts equal the span path's, whichever character the cut falls on."""
    from jupyter_guard.kernel import streams

    lim = streams.WINDOW if limit == "window" else streams.HOLD
    lines = [DENSE["ibans"], DENSE["pii rows"].replace("\n", " "), DENSE["ibans, cards, phones"]
             .replace("\n", " ")]
    answered = 0
    for line in lines:
        for drop in range(0, 40, 3):  # the cut moves across values and the text between
            text = line[:len(line) - drop]
            answered += streams.dense_values(text, MaskSettings()) is not None
            assert streams._split(text, MaskSettings(), lim) == _split_by_spans(
                text, MaskSettings(), lim)
    assert answered >= 30


KEY_PIECES = ["ssn", "SSN", "sSn", "ssn", " ", ":", ": ", " :  ", "-", "\n", "is", "IS", " is ",
              "is:", "is  ", "is    ", "123456789", "12345678", "1234567890", "a", "_", "\x00",
              "\x01", "123-45-6789", "9", "ss", "n", "social security no "]


@pytest.mark.parametrize("social", [False, True])
def test_key_words_in_bulk_give_spans_in(monkeypatch: pytest.MonkeyPatch, social: bool) -> None:
    """SSNs after many key words are read in bulk (the word 'ssn' in numpy; with many
    'social' too, one ``split`` pass): the spans are ``spans_in``'s, whatever surrounds the
    words (separators, 'is', too many or too few digits, letters, padding)."""
    from jupyter_guard.mask import finders

    monkeypatch.setattr(finders, "MANY_KEYS", 1)  # (each text here takes the bulk path)
    pieces = KEY_PIECES if social else KEY_PIECES[:-1]
    for seed in range(300):
        rng = random.Random(seed)
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 400)))
        if "ssn" in text.lower():
            _answers("ssn", text)
    text = "ssn: 123456789 " * 5000
    assert _answers("ssn", text) and mask_text(text, MaskSettings()).count("6789") == 5000


def test_dense_key_words_mask_as_the_reference() -> None:
    for unit in ("ssn: 123456789 ", "SSN is 123456789\n", "social security number 123456789;",
                 "ssn: 123456789&amp;", "ssn: 123456789\u2011", "ssn 12345678, ssn: 987654321 "):
        text = unit * (70_000 // len(unit))
        for masking in (MaskSettings(), MaskSettings(strategy="hash", salt="s")):
            assert mask_text(text, masking) == reference.mask_text(text, masking), unit


def test_plus_places_left_out_for_few_digits_change_no_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """'+' places with fewer than eight digits in the phone characters after them are left out
    before the '+' finder's gathers (on text dense with them): the answers are still
    ``spans_in``'s, on random texts and on '+1 2' look-alikes among valid phones."""
    from jupyter_guard.mask import finders

    monkeypatch.setattr(finders, "FEW_DIGITS_MIN", 1)  # (every text here is left out from)
    answered = 0
    for seed in range(600):
        rng = random.Random(seed)
        answered += _answers("phone", _text(rng, rng.randint(1, 12)))
    assert answered > 300
    for unit in ("+1 2 ", "+1 2 +44 20 7946 1234 ", "+1 (2) 3.4-5 6 ", "+12 (345) 678 9,"):
        text = unit * (20_000 // len(unit))
        assert _answers("phone", text)
        for masking in (MaskSettings(), MaskSettings(strategy="hash", salt="s")):
            assert mask_text(text, masking) == reference.mask_text(text, masking)
