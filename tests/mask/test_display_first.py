"""The first display of a frame reads an Arrow string column's sample through pyarrow and
remembers the quick reject of a probe by its values. Both must leave every display as it was:
each frame here is shown (text/plain and text/html, in one display as IPython does) first, then
again, and compared with the path as it was before (``sample_strings`` on every call, nothing
remembered), on sensitive, plain, object, categorical, datetime and MultiIndex columns, values
only a detector finds, and columns with missing values (which take the general path).
"""
from __future__ import annotations

from collections.abc import Iterator, Set

import numpy as np
import pandas as pd
import pytest

from jupyter_guard.mask import settings as ms
from jupyter_guard.mask.detect import sample_strings
from jupyter_guard.mask.render import frame_html, frame_text, one_display
from jupyter_guard.mask.text import COLUMN_THRESHOLD, MaskSettings, hinted_count

SETTINGS = MaskSettings(columns=("*email*", "*ssn*"),
                        detectors=("email", "ssn", "card", "phone", "iban", "secret"),
                        strategy="partial")
N = 600
EMAILS = [f"user{i}@example.com" for i in range(N)]
CITIES = (["Paris", "Lyon", "Nice"] * N)[:N]


def _frames() -> Iterator[tuple[str, pd.DataFrame, Set[str]]]:
    i = np.arange(N)
    base = {"id": i, "amount": i * 1.25, "city": CITIES,
            "ts": pd.date_range("2026-01-01", periods=N, freq="min").astype(str)}
    yield "plain", pd.DataFrame(base), frozenset()
    yield "named", pd.DataFrame({**base, "email": EMAILS,
                                 "ssn": [f"123-45-{1000 + k}" for k in i]}), frozenset()
    yield "note", pd.DataFrame({**base, "note": EMAILS}), frozenset()       # a detector only
    yield "note_object", pd.DataFrame({**base, "note": pd.array(EMAILS, dtype=object)}), \
        frozenset()
    yield "note_missing", pd.DataFrame({**base, "note": [None] * 50 + EMAILS[50:]}), frozenset()
    yield "note_sparse", pd.DataFrame({**base, "note": [None] * 450 + EMAILS[450:]}), frozenset()
    yield "lineage", pd.DataFrame({**base, "x": [f"PRD-{k:06d}" for k in i]}), frozenset({"x"})
    yield "mixed_note", pd.DataFrame({**base, "note": [f"order {k} mail {e}" if k % 2 else "ok"
                                                      for k, e in zip(i, EMAILS)]}), frozenset()
    yield "categorical", pd.DataFrame({**base, "c": pd.Categorical(EMAILS),
                                       "k": pd.Categorical(CITIES)}), frozenset()
    yield "datetime", pd.DataFrame({"t": pd.date_range("2026-01-01", periods=N, freq="h"),
                                    "note": EMAILS}), frozenset()
    yield "arrow", pd.DataFrame({"note": pd.array(EMAILS, dtype="string[pyarrow]"),
                                 "city": pd.array(CITIES, dtype="string[pyarrow]")}), frozenset()
    rows = pd.MultiIndex.from_arrays([EMAILS, CITIES], names=["who", "where"])
    yield "multiindex", pd.DataFrame({"ts": base["ts"], "note": EMAILS}, index=rows), frozenset()
    cols = pd.MultiIndex.from_tuples([("a", "city"), ("a", "note"), ("b", "email")])
    yield "multicolumns", pd.DataFrame(list(zip(CITIES, EMAILS, EMAILS)), columns=cols), \
        frozenset()


FRAMES = list(_frames())


def _show(df: pd.DataFrame, lineage: Set[str]) -> tuple[str, str]:
    with one_display():   # as ``display_formatter.format`` does: both mimes in one display
        return frame_text(df, SETTINGS, lineage), frame_html(df, SETTINGS, lineage) or ""


def _forget() -> None:
    ms._BY_ARRAY.clear()
    ms._DETECTED.clear()
    ms._PROBED.clear()


def _before(series: object, size: int) -> list[str]:
    return sample_strings(series, size)


def _rejected_before(probe: list[str]) -> bool:
    return hinted_count(probe) < COLUMN_THRESHOLD * len(probe) / 2


@pytest.mark.parametrize(("name", "df", "lineage"), FRAMES, ids=[f[0] for f in FRAMES])
def test_first_and_again_display_as_before(name: str, df: pd.DataFrame, lineage: Set[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _forget()
    first = _show(df, lineage)
    again = _show(df, lineage)
    copy = df.copy()   # the same values in new arrays: not remembered by identity
    fresh = _show(copy, lineage)
    with monkeypatch.context() as m:
        m.setattr(ms, "_strings", _before)
        m.setattr(ms, "_rejected", _rejected_before)
        _forget()
        before = _show(df, lineage)
    _forget()
    assert first == before and again == before and fresh == before
    for text in before:
        assert "user7@example.com" not in text and "123-45-1007" not in text


@pytest.mark.parametrize(("name", "df", "lineage"), FRAMES, ids=[f[0] for f in FRAMES])
def test_classification_as_before(name: str, df: pd.DataFrame, lineage: Set[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _forget()
    now = ms.classify(df, SETTINGS, lineage), ms.classify(df.copy(), SETTINGS, lineage)
    with monkeypatch.context() as m:
        m.setattr(ms, "_strings", _before)
        m.setattr(ms, "_rejected", _rejected_before)
        _forget()
        before = ms.classify(df, SETTINGS, lineage)
    _forget()
    assert now == (before, before)


def test_the_e_mail_note_is_found_by_the_detector_and_cities_are_not() -> None:
    _forget()
    df = {f[0]: f[1] for f in FRAMES}["note"]
    assert ms.classify(df, SETTINGS) == {"note": "email"}
    assert ms.classify(df.copy(), SETTINGS) == {"note": "email"}   # cities: rejected, remembered
    text, html = _show(df.copy(), frozenset())
    assert "Paris" in text and "Paris" in html
    assert "@example.com" in text and "user1@example.com" not in text + html


@pytest.mark.parametrize("values", [
    EMAILS, CITIES, [None] * 10 + EMAILS, ["x"] * 90 + [None] + EMAILS, [], ["a"], EMAILS[:30]])
def test_an_arrow_sample_is_what_sample_strings_reads(values: list[str | None]) -> None:
    for dtype in ("str", "string[pyarrow]", pd.ArrowDtype(__import__("pyarrow").string())):
        col = pd.array(values, dtype=dtype)
        for size in (ms.PROBE_SIZE, ms.SAMPLE_SIZE):
            assert ms._strings(col, size) == sample_strings(col, size)
            assert ms._strings(pd.Series(col), size) == sample_strings(pd.Series(col), size)
