"""``scan(..., distinct=False)``: the callers that resolve the scanner's spans as arrays take
them with exact copies left in (two chunks' windows over one run of ``key=value`` pairs
confirm the values where they overlap; ``pairs.copies`` drops most of them, not all).
Copies change nothing a caller sees: the distinct
spans come out in the same order of first sight, and the masked text equals the one masked
from distinct spans (the scanner's behaviour before)."""
from __future__ import annotations

import pytest

from jupyter_guard.mask import decoded, mixed, scan, text
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.normalize import normalize
from jupyter_guard.mask.text import MaskSettings, mask_text

N = 1 << 18
SETTINGS = [MaskSettings(), MaskSettings(detectors=tuple(DETECTORS)),
            MaskSettings(strategy="hash")]
RUNS = {  # one run of pairs across many chunks, read decoded
    "pairs by &amp;": "password=hunter22&amp;" * (N // 22),
    "short values by non-breaking hyphens": "password=ab\u2011" * (N // 12),
    "distinct tokens by &#38;": "".join(f"token=abc{i:06d}&#38;" for i in range(N // 20)),
}
MIXED = ("".join(f"user{i}@example.com, 123-45-{1000 + i}\n" for i in range(2000))
         + "password=hunter22&" * (N // 18))
"""Dense e-mails and SSNs first (read in numpy), then one long run of pairs (the scanner's)."""


@pytest.mark.parametrize("name", sorted(RUNS))
def test_copies_are_the_distinct_spans_in_the_same_order(name: str) -> None:
    norm = normalize(RUNS[name])
    assert norm.text is not RUNS[name]
    for s in SETTINGS:
        distinct = scan.scan(norm.text, s.enabled)
        copies = scan.scan(norm.text, s.enabled, distinct=False)
        assert len(copies) >= len(distinct) >= scan.DISTINCT_MIN  # (copies may be there)
        assert list(dict.fromkeys(copies)) == distinct
        assert text.resolve(list(copies)) == text.resolve(list(distinct))
        got, want = (decoded.from_raw(norm.text, spans, s) for spans in (copies, distinct))
        assert got is not None and want is not None
        assert all((g == w).all() for g, w in zip(got[:2], want[:2]))
        assert all((g == w).all() for g, w in zip(got[2][:2], want[2][:2]))
        assert got[2][2] == want[2][2]


def _distinct_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scanner as it was: every list distinct, whatever the caller asks."""
    real = scan.scan
    monkeypatch.setattr(scan, "scan", lambda t, d, distinct=True: real(t, d))
    monkeypatch.setattr(text, "scan", lambda t, d, distinct=True: real(t, d))


@pytest.mark.parametrize("name", [*sorted(RUNS), "mixed"])
def test_masked_text_equals_the_distinct_scanners(name: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    source = MIXED if name == "mixed" else RUNS[name]
    if name == "mixed":  # (the numpy path takes this text, the scanner the pairs' run)
        assert mixed.dense_values(source, SETTINGS[0]) is not None
        secret = tuple(d for d in SETTINGS[0].enabled if d.name == "secret")
        assert len(scan.scan(source, secret, False)) >= len(scan.scan(source, secret))
    got = [mask_text(source, s) for s in SETTINGS]
    _distinct_only(monkeypatch)
    assert got == [mask_text(source, s) for s in SETTINGS]
    assert all("hunter" not in g and "=abc" not in g and "user1@" not in g for g in got)


def test_short_lists_stay_distinct() -> None:
    """Below ``DISTINCT_MIN`` spans the list is distinct either way (a caller's count
    threshold, ``decoded.SPANS_MANY``, sees the same number as before)."""
    run = normalize("password=hunter22&amp;" * 1500).text
    for s in SETTINGS:
        assert len(scan.scan(run, s.enabled)) < scan.DISTINCT_MIN
        assert scan.scan(run, s.enabled, distinct=False) == scan.scan(run, s.enabled)
