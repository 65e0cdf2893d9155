"""Fast paths of column classification and of the chunked scan, each with the sensitive value it
must still catch (the hostile twin) and the plain data it must let through (the benign twin):

- an integer column is sampled only when some value has 13 digits or more;
- hint counting runs in C and counts what ``hinted`` counts;
- a column masked whole by its SQL lineage is not sampled (unless a detector-specific strategy
  needs to know what it holds);
- long texts are read by the RE2 set in groups of chunks, skipped whole when they hold nothing.
"""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from jupyter_guard.mask import scan
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.render import frame_html, frame_text
from jupyter_guard.mask.settings import CARD_MIN, classify, detect_column
from jupyter_guard.mask.text import MaskSettings, find_spans, hinted, hinted_count, hinted_values

ALL = MaskSettings(detectors=tuple(DETECTORS))
CARDS = [4111111111111111, 5500000000000004, 340000000000009, 4012888888881881]
SSNS = [f"123-45-{6000 + i}" for i in range(60)]


def test_no_detector_matches_an_integer_of_twelve_digits_or_fewer() -> None:
    """What the integer shortcut relies on: every detector, every length up to 12 digits, signed
    or not, runs of one digit and random digits."""
    rng = random.Random(5)
    numbers = [int(d * n) for n in range(1, 13) for d in "123456789"]
    numbers += [rng.randrange(10 ** (n - 1), 10 ** n) for n in range(1, 13) for _ in range(300)]
    numbers += [CARD_MIN - 1, 0]
    for det in DETECTORS.values():
        hits = [v for v in numbers for s in (str(v), str(-v)) if det.matches(s)]
        assert hits == [], (det.name, hits[:5])


def test_integer_column_of_card_numbers_is_still_detected() -> None:
    """Hostile twin: 16-digit cards stored as int64 are classified as cards and masked."""
    df = pd.DataFrame({"n": np.array(CARDS * 50, dtype=np.int64), "id": np.arange(200)})
    assert detect_column(df["n"], ALL) == "card"
    assert classify(df, ALL) == {"n": "card"}
    shown = frame_text(df, ALL)
    assert "4111111111111111" not in shown and "████1111" in shown
    assert "4111111111111111" not in (frame_html(df, ALL) or "")


def test_integer_column_with_a_few_long_values_is_sampled() -> None:
    """One long value makes the column go through the full sample (no shortcut)."""
    values = np.array([12, 4111111111111111] * 100, dtype=np.int64)
    assert detect_column(pd.Series(values), ALL) == "card"   # half the sample: at the threshold
    assert detect_column(pd.Series(np.arange(200, dtype=np.uint64)), ALL) is None


def test_integer_ids_are_not_sensitive() -> None:
    """Benign twin: ids, amounts in cents, epoch seconds stay plain."""
    df = pd.DataFrame({"id": np.arange(10_000), "cents": np.arange(10_000) * 199,
                       "epoch": 1_700_000_000 + np.arange(10_000), "neg": -np.arange(10_000)})
    assert classify(df, ALL) == {}
    assert frame_text(df, ALL) == repr(df)


@pytest.mark.parametrize("seed", range(5))
def test_hint_counting_counts_what_hinted_counts(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["a", "B", "1", "@", " ", "-", "pass", "key", "::", "AKIA", "eyJ", "x", "."]
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 6)))
              for _ in range(300)]
    assert hinted_count(values) == sum(map(hinted, values))
    assert sorted(hinted_values(values)) == sorted(filter(hinted, values))


def _ssn_frame() -> pd.DataFrame:
    return pd.DataFrame({"x": SSNS, "city": ["Paris", "Lyon", "Nice"] * 20})


def test_lineage_column_is_masked_without_being_sampled() -> None:
    """Hostile twin: a renamed SSN column (``x``) known from SQL lineage is masked whole; the
    classification reports it without sampling it."""
    df = _ssn_frame()
    assert classify(df, ALL, {"x"}) == {"x": "name"}
    for shown in (frame_text(df, ALL, {"x"}), frame_html(df, ALL, {"x"}) or ""):
        assert not any(v in shown for v in SSNS)
        assert "Paris" in shown


def test_lineage_column_is_still_sampled_for_a_strategy_by_kind() -> None:
    """With ``per_column`` naming a detector, what the column holds decides the strategy: the
    column is sampled as before and the SSN strategy applies."""
    s = MaskSettings(detectors=tuple(DETECTORS), per_column={"ssn": "redact"})
    df = _ssn_frame()
    assert classify(df, s, {"x"}) == {"x": "ssn"}
    shown = frame_text(df, s, {"x"})
    assert not any(v in shown for v in SSNS) and "6000" not in shown and "████" in shown


def test_lineage_of_a_plain_column_masks_only_that_column() -> None:
    """Benign twin: the other columns are still classified by their values (plain cities stay)."""
    df = pd.DataFrame({"x": ["a", "b"] * 30, "city": ["Paris", "Lyon"] * 30, "mail": [
        f"user{i}@example.com" for i in range(60)]})
    assert classify(df, ALL, {"x"}) == {"x": "name", "mail": "email"}
    shown = frame_text(df, ALL, {"x"})
    assert "Paris" in shown and "user1@example.com" not in shown


@pytest.mark.parametrize("at", [0, 10, scan.CHUNK - 5, scan.SPAN - 11, scan.SPAN - 1, scan.SPAN,
                                scan.SPAN + 3, 3 * scan.SPAN - 7, 4 * scan.SPAN - 30])
def test_a_lone_value_at_a_group_edge_is_found(at: int) -> None:
    """Hostile twin of the group skip: one value anywhere in a megabyte of plain text, including
    across the edges of chunks and of groups of chunks, is found by ``scan`` and ``first``."""
    value = "jane.doe@example.com"
    text = ("the order was shipped " * 20_000)[:4 * scan.SPAN]
    text = text[:at] + " " + value + " " + text[at + len(value) + 2:]
    assert scan.first(text, ALL.enabled) == "email"
    spans = find_spans(text, ALL)
    assert [(text[a:b], n) for a, b, n in spans] == [(value, "email")]


def test_plain_megabyte_has_no_value() -> None:
    """Benign twin: a megabyte of prose with numbers and dates holds nothing."""
    rng = random.Random(1)
    words = ["order", "shipped", "2026-01-02", "total", "42", "north"]
    text = " ".join(rng.choice(words) for _ in range(200_000))
    assert scan.first(text, ALL.enabled) == ""
    assert find_spans(text, MaskSettings()) == []


def test_short_texts_scan_only_detectors_with_a_candidate() -> None:
    """Short texts (cells, printed lines) ask the RE2 set which detectors have a candidate and
    run only those: the same spans as every precise pattern, on every short corpus text, alone
    and between words (hostile twins), and nothing on plain ones (benign twins)."""
    from .test_fast_paths import CORPUS

    texts = [t for v in CORPUS for t in (v, f"see {v}.", f"{v},{v}", f"id={v}")]
    texts += ["PRD-000123", "2026-01-01 00:00:00", "order 42 shipped"]
    found = 0
    for text in texts:
        assert len(text) < scan.RE2_MIN
        want = scan.scan_precise(text, ALL.enabled)
        assert scan.scan(text, ALL.enabled) == want, text
        assert scan.first(text, ALL.enabled) == (want[0][2] if want else ""), text
        found += bool(want)
    assert found >= 100
    for plain in ("PRD-000123", "2026-01-01 00:00:00", "order 42 shipped"):
        assert scan.scan(plain, ALL.enabled) == []


@pytest.mark.parametrize(("values", "kind"), [
    ([f"user{i}@example.com" for i in range(100)], "email"),
    ([f"123-45-{6000 + i}" for i in range(100)], "ssn"),
    (["4111 1111 1111 1111", "5500-0000-0000-0004"] * 50, "card"),
    ([f"(555) 123-{4000 + i}" for i in range(100)], "phone"),
    (["DE89 3704 0044 0532 0130 00"] * 100, "iban"),
    (["sk-" + "a1B2" * 6, "ghp_" + "A1b2" * 8] * 50, "secret"),
])
def test_columns_of_each_kind_are_still_detected(values: list[str], kind: str) -> None:
    """Hostile twins of the set pass over a joined sample: every kind is found whole."""
    assert detect_column(pd.Series(values), ALL) == kind
    masked = frame_text(pd.DataFrame({"c": values}), ALL)
    assert values[0] not in masked


def test_columns_of_plain_codes_and_times_stay_plain() -> None:
    """Benign twins: product codes, timestamps, amounts as text."""
    df = pd.DataFrame({"code": [f"PRD-{i:06d}" for i in range(300)],
                       "ts": [f"2026-01-01 10:{i % 60:02d}:00" for i in range(300)],
                       "amount": [f"{i * 1.25:.2f}" for i in range(300)]})
    assert classify(df, ALL) == {}
    assert frame_text(df, ALL) == repr(df)


def _luhn_by_the_book(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return total % 10 == 0


def test_luhn_table_agrees_with_the_textbook_checksum() -> None:
    from jupyter_guard.mask.detect import luhn_ok

    rng = random.Random(3)
    for _ in range(50_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 20)))
        assert luhn_ok(digits) == _luhn_by_the_book(digits), digits


def test_phone_without_a_plus_always_has_ten_digits() -> None:
    """What lets the phone validator accept the US form unread: every match of the pattern that
    does not start with '+' holds exactly ten digits."""
    rng = random.Random(4)
    phone = DETECTORS["phone"].pattern
    seen = 0
    for _ in range(20_000):
        def digits() -> str:
            n = rng.choice((3, 3, 3, 4, 4, 2, 5))
            return "".join(rng.choice("0123456789") for _ in range(n))

        seps = [" ", "-", ".", ") ", "-", " ", "", ")", "(", "+", "/"]
        text = rng.choice(["", "(", "+1 ", " "]) + "".join(
            digits() + rng.choice(seps) for _ in range(rng.randrange(2, 6)))
        for m in phone.finditer(text):
            if not m.group().startswith("+"):
                assert sum(c.isdigit() for c in m.group()) == 10, m.group()
                seen += 1
    assert seen > 50


@pytest.mark.parametrize("word", ["", "SSN ", "ssn: ", "Social Security No. ", "sOcIaL-security "])
def test_dense_ssns_with_and_without_key_words(word: str) -> None:
    """Hostile twins of the lean SSN pass: dense shaped SSNs are found with the lean pattern, and
    a key word anywhere sends the run through the full one (9-digit SSNs after the word found);
    benign twin: 9-digit numbers without a key word stay plain."""
    rows = [f"{word}{123456000 + i} 123-45-{6000 + i % 4000:04d} id {900000000 + i}\n"
            for i in range(30_000)]
    text = "".join(rows)
    spans = find_spans(text, ALL)
    ssn = [text[a:b] for a, b, n in spans if n == "ssn"]
    assert ssn.count("123-45-6000") >= 7 and "123-45-6001" in ssn
    assert ("123456000" in ssn) == bool(word)
    assert "900000000" not in ssn
    from . import reference

    part = text[:150_000]
    assert find_spans(part, ALL) == reference.find_spans(part, ALL)


@pytest.mark.parametrize("size", [10, scan.RE2_MIN + 10, 3 * scan.SPAN])
def test_lone_surrogates_in_long_text_do_not_stop_masking(size: int) -> None:
    """A lone surrogate (text decoded with ``surrogateescape``) cannot be encoded for RE2: long
    texts holding one made ``mask_text`` raise. The precise patterns take over: the value after
    it is masked (hostile twin) and plain text comes back unchanged (benign twin)."""
    from jupyter_guard.mask.text import mask_text

    pad = ("\udc80 order 50% " * size)[:size]
    text = pad + " jane.doe@example.com and 123-45-6789"
    out = mask_text(text, ALL)
    assert "jane.doe" not in out and "123-45-6789" not in out and out.startswith(pad)
    assert scan.first(text, ALL.enabled) == "email"
    assert mask_text(pad, ALL) == pad and scan.first(pad, ALL.enabled) == ""


def _reference_sample(values: list, size: int = 200) -> list[str]:
    kept = [v if isinstance(v, str) else str(v) for v in values
            if not (v is None or v is pd.NA or (isinstance(v, float) and v != v))]
    return kept[:size]


@pytest.mark.parametrize("values", [
    [f"user{i}@example.com" for i in range(500)],
    ["a", "b"],
    ["x", None, "y", float("nan"), "z"] * 100,
    [1, "a", 2.5, "b"] * 100,
    [None] * 300 + ["late@example.com"] * 300,
])
def test_the_str_only_sample_is_the_sample(values):
    from jupyter_guard.mask.detect import sample_strings

    s = pd.Series(np.array(values, dtype=object))
    assert sample_strings(s) == _reference_sample(values)
    assert sample_strings(s.array) == _reference_sample(values)
