"""The RE2 pass (pyarrow's kernels, with numpy checks) finds what ``re``'s precise patterns find:
on random texts of values, near-values and tricky neighbours it gives ``Detector.spans_in``'s
spans or declines (None), and on text dense with values it does not decline."""
from __future__ import annotations

import random
import sys

import pytest

pytest.importorskip("pyarrow.compute")  # (pandas imports it: the case where it is used)

from jupyter_guard.mask import native
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.mixed import mask_mixed
from jupyter_guard.mask.text import ALONE_MIN, MaskSettings, mask_text

from . import reference
from .test_bulk import EDGES, MIXED, _phone

NAMES = sorted(native.SHAPE)


def _value(rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    return rng.choice([
        f"u{d(3)}@example.com", f"a.b+c@x{d(1)}.co.uk", "x@y.c", "a@b.com1", "a@b.co.x1",
        "a@@b.com", "@b.com", f"{d(3)}-{d(2)}-{d(4)}", f"{d(3)} {d(2)} {d(4)}",
        f"{d(3)}-{d(2)} {d(4)}", "000-12-3456", "123-00-4567", "123-45-0000",
        _phone(rng), f"({d(3)}) {d(3)}-{d(4)}", f"{d(3)}.{d(3)}.{d(4)}", "+1 2", "+44 20 7946 1234",
        "(555) 123-4567", "((555) 123-4567", d(rng.randint(1, 12)), "ssn", "e-mail",
        "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "4111 1111-1111 1111",
        "3782 822463 10005", "4111 1111 1111 1112", "1111 4111 1111 1111 1111",
        f"4{d(3)} {d(4)} {d(4)} {d(rng.randint(1, 8))}", f"5{d(15)}", "4111 1111 1111 1111.5",
    ])


def _text(rng: random.Random, n: int) -> str:
    edges = [e for e in EDGES if e.isascii()] + ["(", ")", "+", "-", ".", ",", "@", ".a", ".1"]
    return "".join(rng.choice(edges) + _value(rng) for _ in range(n))


TEXTS = [_text(random.Random(seed), n) for seed, n in enumerate((5, 50, 500, 5000))] + [
    t for t in MIXED if t.isascii()]


@pytest.mark.parametrize("name", NAMES)
def test_native_spans_are_spans_in_or_none(name: str) -> None:
    det = DETECTORS[name]
    answered = 0
    for seed in range(400):
        text = _text(random.Random(1000 + seed), random.randint(1, 6))
        for pos in (0, 1, 3):
            got = native.spans(name, det.words, text, pos, len(text))
            if got is not None:
                answered += 1
                assert got == det.spans_in(text, pos, len(text)), (text, pos)
    for text in TEXTS:
        for pos, end in ((0, len(text)), (1, len(text) - 3), (len(text) // 3, len(text))):
            got = native.spans(name, det.words, text, pos, end)
            if got is not None:
                answered += 1
                assert got == det.spans_in(text, pos, end), (text[:80], pos, end)
    assert answered > 100


def pii_rows(n: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    return "".join(f"user{rng.randrange(10**6)}@example.com,123-45-{rng.randrange(1000, 9999)},"
                   f"+44 20 7946 {rng.randrange(1000, 9999)}\n" for _ in range(n))


def test_dense_pii_rows_take_the_native_pass_and_mask_as_the_reference() -> None:
    text = pii_rows(3000)
    for name in ("email", "ssn", "phone"):
        det = DETECTORS[name]
        got = native.spans(name, det.words, text, 0, len(text))
        assert got is not None and len(got) == 3000
        assert got == det.spans_in(text, 0, len(text))
    for masking in (MaskSettings(), MaskSettings(strategy="hash", salt="s")):
        assert mask_text(text, masking) == reference.mask_text(text, masking)


def test_not_used_before_pyarrow_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "pyarrow.compute")
    assert native.spans("email", (), "a@b.com " * 10, 0, 80) is None


def _dense_mix(seed: int, tricky: bool) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < 3 * ALONE_MIN // 2:
        unit = (_value(rng) + rng.choice([" ", ",", "\n", ";"]) if tricky else
                rng.choice([f"u{rng.randrange(10**6)}@example.com", "123-45-6789",
                            "+44 20 7946 1234", "(555) 123-4567"]) + rng.choice(["\n", "; ", ", "]))
        out.append(unit)
        size += len(unit)
    return "".join(out)


MIXES = {f"{'tricky' if t else 'clean'}-{s}": _dense_mix(s, t) for s in range(3)
         for t in (False, True)}


@pytest.mark.parametrize("name", MIXES)
def test_dense_mixes_mask_as_the_reference(name: str) -> None:
    """Long texts dense with e-mails, SSNs and phones (with near-values and tricky neighbours
    in the 'tricky' ones): ``mask_text`` equals the reference; the clean ones are masked by the
    bulk path, which declines where a check fails (a phone followed by ',1' or ' 1': ``re``
    backtracks to a shorter one there, RE2 does not)."""
    text = MIXES[name]
    got = mask_mixed(text, MaskSettings())
    if name.startswith("clean"):
        assert got is not None
    if got is not None:
        assert got == reference.mask_text(text, MaskSettings())
    for masking in (MaskSettings(), MaskSettings(detectors=tuple(DETECTORS)),
                    MaskSettings(per_column={"email": "hash"}, salt="s")):
        assert mask_text(text, masking) == reference.mask_text(text, masking)


def test_dense_valid_cards_are_read_by_re2() -> None:
    text = "4111 1111 1111 1111, 5500-0000-0000-0004\n3782 822463 10005 " * 2000
    det = DETECTORS["card"]
    got = native.spans("card", (), text, 0, len(text))
    assert got is not None and len(got) == 6000 and got == det.spans_in(text, 0, len(text))
    bad = text + "4111 1111 1111 1112 "  # Luhn rejects it: re searches on inside, RE2 declines
    assert native.spans("card", (), bad, 0, len(bad)) is None
