"""Masks made from decoded text (a value whose kept tail holds a decoded token: ``hunter22&``
read from ``hunter22&amp;``) are listed once per distinct mask (``decoded._masks_of``), not
once per value. The masked text equals the one-string-per-value path's (``same_values``
declining) and, where the reference masker reads such text, the reference's."""
from __future__ import annotations

import pytest

from jupyter_guard.mask import merge
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

SETTINGS = [MaskSettings(), MaskSettings(detectors=tuple(DETECTORS)),
            MaskSettings(strategy="redact")]
N = 1 << 17

FORMS = {
    "pairs by &amp;": "password=hunter22&amp;" * (N // 22),
    "pairs by non-breaking hyphens": "password=hunter22\u2011" * (N // 18),
    "distinct pairs by &amp;": "".join(f"token=abc{i:05d}&amp;" for i in range(N // 24)),
    "two keys, non-ASCII, by &#38;": "".join(f"pwd=hünter{i % 500}&#38;api_key=sk{i}é&#38;"
                                              for i in range(N // 40)),
    "e-mails with &#64;": "".join(f"user{i % 300}&#64;example.com, " for i in range(N // 26)),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_masks_listed_once_equal_one_mask_per_value(name: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    text = FORMS[name]
    got = [mask_text(text, s) for s in SETTINGS]
    monkeypatch.setattr(merge, "same_values", lambda *a: None)
    assert got == [mask_text(text, s) for s in SETTINGS]
    assert all(g != text and "hunter" not in g and "abc0" not in g for g in got)


def test_short_decoded_runs_equal_the_reference() -> None:
    for text in ("password=hunter22&amp;" * 100, "".join(
            f"user{i % 7}&#64;example.com, " for i in range(300))):
        for s in SETTINGS:
            assert mask_text(text, s) == reference.mask_text(text, s)


def test_spans_resolved_as_arrays_equal_the_resolved_list() -> None:
    """``decoded.from_raw`` (the scanner's spans resolved in numpy) equals ``from_spans`` of
    ``text.resolve``'s list on spans in any order: overlapping, nested, exact twins of one or
    two kinds, one starting where another ends."""
    import random

    import numpy as np

    from jupyter_guard.mask import decoded
    from jupyter_guard.mask.text import resolve

    text = FORMS["two keys, non-ASCII, by &#38;"]
    rng = random.Random(5)
    for settings in SETTINGS:
        for kinds in (["secret"], ["secret", "known", "ipv4"]):
            raw = []
            for _ in range(3000):
                a = rng.randrange(len(text) - 30)
                raw.append((a, a + rng.randint(1, 30), rng.choice(kinds)))
            raw += rng.sample(raw, 300) + [(b, b + 5, rng.choice(kinds)) for _, b, _ in raw[:200]]
            rng.shuffle(raw)
            got = decoded.from_raw(text, list(raw), settings)
            want = decoded.from_spans(text, resolve(list(raw)), settings)
            assert got is not None and want is not None
            assert all(np.array_equal(g, w) for g, w in zip(got[:2], want[:2]))
            assert np.array_equal(got[2][0], want[2][0]) and np.array_equal(got[2][1], want[2][1])
            assert got[2][2] == want[2][2]


def test_overlaps_are_dropped_as_the_loop_drops_them() -> None:
    """``shapes.unnested`` (the kept spans as the first span's chain of 'next span starting at
    or after my end', found by doubling) keeps what the one-by-one loop keeps, on random spans
    sorted by start: nested, chained, tied, long and short."""
    import random

    import numpy as np

    from jupyter_guard.mask.shapes import unnested

    def loop(starts: list[int], ends: list[int]) -> list[bool]:
        keep, last = [], -1
        for a, b in zip(starts, ends):
            keep.append(a >= last)
            last = b if a >= last else last
        return keep

    rng = random.Random(9)
    for _ in range(2000):
        n = rng.randint(2, 300)
        a = sorted(rng.randrange(rng.choice([10, 100, 1000])) for _ in range(n))
        b = [x + rng.randint(1, rng.choice([1, 5, 50])) for x in a]
        got = unnested(np.array(a), np.array(b))
        want = loop(a, b)
        assert (all(want) if got is None else got.tolist() == want)
