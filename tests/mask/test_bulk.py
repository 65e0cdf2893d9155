"""Bulk masking of dense values gives what the value-by-value path gives: the bulk validators
agree with the validators, ``bulk.spans`` with ``Detector.spans_in`` and ``mask_text`` (whose
texts with one dense kind of value take the one-``split`` path) with the reference, on dense
mixtures with tricky edges (values touching letters and digits, Unicode digits, lone
surrogates, long digit runs, rejected look-alikes), and plain values stay plain."""
from __future__ import annotations

import random
import uuid

import pytest

from jupyter_guard.mask import alone, bulk
from jupyter_guard.mask import cover as cover_
from jupyter_guard.mask.detect import _IBAN_DIGITS as _LETTERS
from jupyter_guard.mask.detect import DETECTORS, _card_ok, _iban_ok, _phone_ok
from jupyter_guard.mask.patterns import IBAN_LENGTHS
from jupyter_guard.mask.text import ALONE_MIN, MaskSettings, mask_text

from . import reference
from .test_fast_paths import CORPUS, SETTINGS

EDGES = ["", " ", "a", "Z", "1", "-", ".", ",", "\n", "_", "@", "+", "/", ":", "\ud800",
         "\u0663\u0664", "\uff11", "9" * 40, "1" * 300]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _card(rng: random.Random) -> str:
    d = f"{rng.randrange(10_000):04d}" + _digits(rng, rng.randint(0, 17))
    sep = rng.choice(["", " ", "-"])
    return sep.join(d[i:i + 4] for i in range(0, len(d), 4))


def _iban(rng: random.Random) -> str:
    cc = rng.choice([*IBAN_LENGTHS, "XX"])
    n = IBAN_LENGTHS.get(cc, 20) + rng.choice([0, 0, 0, 1, -1])
    body = "".join(rng.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n - 4))
    check = 98 - int((body + cc + "00").translate(_LETTERS)) % 97
    v = cc + f"{check if rng.random() < 0.5 else rng.randrange(100):02d}" + body
    return " ".join(v[i:i + 4] for i in range(0, len(v), 4)) if rng.random() < 0.5 else v


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"({_digits(rng, 3)}) {_digits(rng, 3)}-{_digits(rng, 4)}"
    return "+" + " ".join(_digits(rng, rng.randint(1, 5)) for _ in range(rng.randint(1, 6)))


def test_bulk_validators_agree_with_the_validators() -> None:
    rng = random.Random(5)
    cards = [_card(rng) for _ in range(30_000)]
    cards += [f"{i:04d} 1111 1111 1111" for i in range(10_000)]  # every network prefix
    assert bulk.cards_ok(cards) == [_card_ok(v) for v in cards]
    assert any(bulk.cards_ok(cards)) and not all(bulk.cards_ok(cards))
    phones = [_phone(rng) for _ in range(20_000)]
    assert bulk.phones_ok(phones) == [_phone_ok(v) for v in phones]
    ibans = [_iban(rng) for _ in range(20_000)] + [
        "DE89 3704 0044 0532 0130 00", "DE89", "XX12 3456 7890 1234", "1E89 3704 0044 0532 01",
        "GB82 WEST 1234 5698 7654 32", "de89 3704 0044 0532 0130 00", "DE\u0663\u0664 3704"]
    assert bulk.ibans_ok(ibans) == [_iban_ok(v) for v in ibans]
    assert any(bulk.ibans_ok(ibans)) and not all(bulk.ibans_ok(ibans))


def _mixed(rng: random.Random, n: int, make: list | None = None) -> str:
    kinds = make or [lambda r: r.choice(CORPUS), _card, _iban, _phone]
    return "".join(rng.choice(kinds)(rng) + rng.choice(EDGES) for _ in range(n))


MIXED = [_mixed(random.Random(seed), n) for seed, n in enumerate((40, 400, 4000, 20_000))]


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_bulk_spans_equal_spans_in(name: str) -> None:
    det = DETECTORS[name]
    for text in MIXED:
        for pos in (0, 1, 5, len(text) // 3):
            for end in (len(text), max(pos, len(text) - 7)):
                assert bulk.spans(det, text, pos, end) == det.spans_in(text, pos, end)


@pytest.mark.parametrize("unit", ["ssn: 123456789\u200b", "ssn: 123456789 ", "SSN is 123-45-6789,",
                                  "ssn 12345678 ssn: 987654321x social security no 123456789 "])
def test_ssn_ranges_with_key_words_give_the_spans_of_spans_in(unit: str) -> None:
    """Long ranges of SSNs and key words are read by the numpy finder (``shapes.spans_within``):
    each value's span as ``spans_in`` gives it (the nine digits after a key word)."""
    det = DETECTORS["ssn"]
    text = unit * (9000 // len(unit))
    for pos in (0, 1, 3, 5, 17, len(text) // 3):
        for end in (len(text), len(text) - 7):
            assert bulk.spans(det, text, pos, end) == det.spans_in(text, pos, end)


def _with_check(cc: str, body: str) -> str:
    """An IBAN of ``body`` with its check digits, in groups of four."""
    check = 98 - int((body + cc + "00").translate(_LETTERS)) % 97
    v = f"{cc}{check:02d}{body}"
    return " ".join(v[i:i + 4] for i in range(0, len(v), 4))


_GB_CARD = _with_check("GB", "411111111111111111")  # a valid card in a valid IBAN
# a valid IBAN whose card look-alike ('1234 4111 …', rejected) hides a valid card ('4111 …')
_HIDING = _with_check("GB", "123441111111111106")


def _dense(unit, n: int = 3 * ALONE_MIN // 2, seed: int = 1) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < n:
        out.append(unit(rng))
        size += len(out[-1])
    return "".join(out)


DENSE = {
    "valid cards": _dense(lambda r: "4111 1111 1111 1111 "),
    "cards, some invalid": _dense(lambda r: r.choice(["4111 1111 1111 1111", "4111 1111 1111 1112",
                                                      "5500 0000 0000 0004"]) + r.choice(" ,;\n")),
    "cards touching letters and digits": _dense(lambda r: _card(r) + r.choice(["a", "1", " ", "-"])),
    "cards with long digit runs": _dense(lambda r: r.choice(["4111 1111 1111 1111 ", "9" * 300])),
    "us phones": _dense(lambda r: f"({_digits(r, 3)}) {_digits(r, 3)}-{_digits(r, 4)} "),
    "plus phones": _dense(lambda r: _phone(r) + r.choice([" ", "x", "\n"])),
    "ibans": _dense(lambda r: "DE89 3704 0044 0532 0130 00 "),
    "random ibans": _dense(lambda r: _iban(r) + r.choice([" ", "a", "\n"])),
    "emails": _dense(lambda r: f"u{r.randrange(10**6)}@example.com" + r.choice([" ", ".", "a"])),
    "ssns": _dense(lambda r: f"{_digits(r, 3)}-{_digits(r, 2)}-{_digits(r, 4)}" + r.choice(" 1a")),
    "ssns with a key word": _dense(lambda r: "123-45-6789 ") + "ssn: 123456789",
    "cards and a lone surrogate": _dense(lambda r: "4111 1111 1111 1111 ") + "\ud800",
    "cards and unicode digits": _dense(lambda r: r.choice(["4111 1111 1111 1111 ", "\u0663" * 16])),
    "cards then an email": _dense(lambda r: "4111 1111 1111 1111 ") + "jane@example.com",
    "cards with hidden digits": _dense(lambda r: "4111&#32;1111 1111 1111 "),
    # cards inside IBANs: the IBANs cover them, unless a card could reach past one or a span
    # of another kind starts first and overlaps it
    "ibans then digits": _dense(lambda r: "DE89 3704 0044 0532 0130 00 "
                                + r.choice(["", "", "1234 ", "4111 1111 1111 1111 ", "x "])),
    "ibans and cards": _dense(lambda r: r.choice(["DE89 3704 0044 0532 0130 00", _iban(r),
                                                  "4111 1111 1111 1111", _card(r)]) + " "),
    "ibans after key words": _dense(lambda r: r.choice(["", "", "token=x.", "ssn "])
                                    + "DE89 3704 0044 0532 0130 00 "),
    "ibans holding a card": _dense(lambda r: r.choice(["DE89 3704 0044 0532 0130 00",
                                                       _GB_CARD]) + r.choice([" ", "\n"])),
    "an iban hiding a card after a key word": _dense(
        lambda r: r.choice(["DE89 3704 0044 0532 0130 00 "] * 50 + ["token=x." + _HIDING + " "])),
}


@pytest.mark.parametrize("masking", SETTINGS)
@pytest.mark.parametrize("name", DENSE)
def test_dense_texts_mask_as_the_reference(name: str, masking: MaskSettings) -> None:
    text = DENSE[name]
    assert mask_text(text, masking) == reference.mask_text(text, masking)


def test_the_alone_path_is_taken_where_one_kind_is_dense() -> None:
    """The comparison above covers the bulk path: texts with one dense kind take it, others
    (two kinds, sparse values, a lone surrogate) do not."""
    enabled = MaskSettings().enabled
    assert alone.alone(DENSE["valid cards"], enabled) is DETECTORS["card"]
    assert alone.alone(DENSE["us phones"], enabled) is DETECTORS["phone"]
    assert alone.alone(DENSE["cards then an email"], enabled) is None
    assert alone.alone(DENSE["cards and a lone surrogate"], enabled) is None
    assert alone.alone("a" * ALONE_MIN + "4111 1111 1111 1111", enabled) is None


def test_plain_values_stay_plain_in_dense_text() -> None:
    """Look-alikes side by side (ids, cents, dates, times, versions, invalid cards) in texts
    long enough for the bulk path: nothing is masked."""
    plain = ["4111 1111 1111 1112", "1234 5678 9012 3456", "2026-11-30", "10:30:00", "v1.2.3",
             "order 123456", "12.50", "000-12-3456", "123-00-4567", "+1 2", "AB12 3456 7890"]
    for unit in plain:
        text = (unit + " ") * (ALONE_MIN // len(unit) + 10)
        assert mask_text(text, MaskSettings()) == text, unit


def test_ibans_cover_the_cards_inside_them() -> None:
    """In text dense with IBANs, each card look-alike inside one (Luhn rejects it) is covered
    by the IBAN: the card pass stays one ``split``, and every IBAN is relied on."""
    np = bulk._numpy()
    text = DENSE["ibans"]
    ibans = bulk.spans(DETECTORS["iban"], text, 0, len(text))
    cover = (np.array([a for a, _ in ibans]), np.array([b for _, b in ibans]))
    got = cover_.covered(DETECTORS["card"], text, 0, len(text), cover)
    assert got is not None and got[0] == []
    assert set(got[1].tolist()) == set(range(len(ibans)))
    # a card reaching past an IBAN's end: no cover
    reach = "DE89 3704 0044 0532 0130 00 4111 1111 1111 1111 " * 40
    ibans = bulk.spans(DETECTORS["iban"], reach, 0, len(reach))
    cover = (np.array([a for a, _ in ibans]), np.array([b for _, b in ibans]))
    assert ibans and cover_.covered(DETECTORS["card"], reach, 0, len(reach), cover) is None


def _token(rng: random.Random) -> str:
    """Bare tokens the secret detector matches: UUIDs and hex (rejected), mixed-case keys
    (kept), and rejected ones with a key word after '/', '+' or '-' inside (a value there)."""
    hexes = "".join(rng.choice("0123456789abcdef") for _ in range(40))
    key = "".join(rng.choice("aB3xY7kQ9mZ2") for _ in range(rng.choice((32, 40, 44))))
    word = rng.choice(["token", "Password", "apikey", "AUTH", "secret", "pwd", "access"])
    return rng.choice([
        str(uuid.UUID(int=rng.getrandbits(128))), hexes, key, key.replace("3", "+", 2) + "==",
        hexes + rng.choice("/+-") + word + ":" + key[:9], "x/" + hexes + "/" + word + hexes,
        rng.choice(["order", "2026-01-05", "x"])])


@pytest.mark.parametrize("seed", range(6))
def test_secret_tokens_bulk_spans_equal_spans_in(seed: int) -> None:
    det, rng = DETECTORS["secret"], random.Random(seed)
    text = "".join(_token(rng) + rng.choice(" \n,;") for _ in range(3000))
    for pos, end in ((0, len(text)), (3, len(text) - 5), (len(text) // 2, len(text))):
        assert bulk.spans(det, text, pos, end) == det.spans_in(text, pos, end)
    # values after a key word inside a rejected token are found
    assert any(text[a - 1] == ":" and b - a == 9 for a, b in det.spans_in(text, 0, len(text)))
    uuids = "\n".join(str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3000))
    assert bulk.pieces(det, uuids, 0, len(uuids)) is not None   # the bulk pass holds
    assert bulk.spans(det, uuids, 0, len(uuids)) == det.spans_in(uuids, 0, len(uuids)) == []


@pytest.mark.parametrize("unit", ["4111 1111 1111 1111", "4111 1111 1111 1111,", "1234 5678-",
                                  "DE89 3704 0044 0532 0130 00", "password=hunter22 ",
                                  # letter-free key-like runs: no secret, also unsplit
                                  "5801-6700-6762-9005-9757-3679-8561 ", "1234567890" * 5 + "/"])
def test_ranges_without_a_match_give_the_spans_of_spans_in(unit: str) -> None:
    """A range where the first search finds no match ends there (one pass, not two), and one
    without a letter has no secret: their spans are ``spans_in``'s at every start, also one
    where a match starts a character before."""
    text = unit * 300
    for name in ("card", "phone", "iban", "secret", "ssn"):
        det = DETECTORS[name]
        for pos in (0, 1, 5, len(unit), len(unit) + 1, len(text) - 3):
            assert bulk.spans(det, text, pos, len(text)) == det.spans_in(text, pos, len(text))


def test_letter_free_runs_are_rejected_secret_matches() -> None:
    """The runs above do match the secret pattern (bare tokens), each rejected: the shortcut
    for text without letters skips real work, and gives what spans_in gives."""
    det = DETECTORS["secret"]
    text = "5801-6700-6762-9005-9757-3679-8561 " * 300
    assert len(det.pattern.findall(text)) == 300
    assert det.spans_in(text, 0, len(text)) == [] == bulk.spans(det, text, 0, len(text))
