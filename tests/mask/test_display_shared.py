"""One display takes and masks a frame's shown rows once, and formats each shown column once,
for both its text and its HTML (``render._Formatter``). The output must be the one the renderers
gave before they shared anything: each formatter truncating and masking on its own
(``_reference_html``/``_reference_text`` below, the previous code), on frames with sensitive,
plain, object, categorical, float, datetime and MultiIndex columns, short and truncated, wide
and narrow, with the display options a user changes."""
from __future__ import annotations

from collections.abc import Iterator, Set
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.io.formats import format as fmt

from jupyter_guard.mask.render import frame_html, frame_text
from jupyter_guard.mask.scope import one_display
from jupyter_guard.mask.settings import classify, mask_frame
from jupyter_guard.mask.text import MaskSettings

SETTINGS = MaskSettings(columns=("*email*", "*ssn*"),
                        detectors=("email", "ssn", "card", "phone", "iban"), strategy="partial")


def _masked(formatter: Any, df: pd.DataFrame, lineage: Set[str]) -> None:
    found = classify(df, SETTINGS, lineage)
    formatter.tr_frame = mask_frame(formatter.tr_frame, SETTINGS, lineage, classified=found,
                                    for_display=True)


def _reference_html(df: pd.DataFrame, lineage: Set[str]) -> str:
    opt = pd.get_option
    f = fmt.DataFrameFormatter(
        df, na_rep="NaN", float_format=opt("display.float_format"), index_names=True,
        header=True, index=True, bold_rows=True, escape=True, max_rows=opt("display.max_rows"),
        min_rows=opt("display.min_rows"), max_cols=opt("display.max_columns"),
        show_dimensions=opt("display.show_dimensions"), decimal=".")
    _masked(f, df, lineage)
    return str(fmt.DataFrameRenderer(f).to_html(notebook=True))


def _reference_text(df: pd.DataFrame, lineage: Set[str]) -> str:
    p = fmt.get_dataframe_repr_params()
    f = fmt.DataFrameFormatter(df, max_rows=p["max_rows"], min_rows=p["min_rows"],
                               max_cols=p["max_cols"], show_dimensions=p["show_dimensions"])
    _masked(f, df, lineage)
    return str(fmt.DataFrameRenderer(f).to_string(line_width=p["line_width"]))


def _frame(n: int, wide: bool = False) -> pd.DataFrame:
    i = np.arange(n)
    df = pd.DataFrame({
        "email": [f"user{k}@example.com" for k in i],
        "ssn": [f"{100 + k % 800:03d}-{10 + k % 89:02d}-{1000 + k % 9000:04d}" for k in i],
        "note": np.array(["call jane@example.com", "ok", None, "ssn 123-45-6789"],
                         dtype=object)[i % 4],
        "city": pd.Categorical(np.array(["Paris", "Lyon", "Nice"])[i % 3]),
        "code": [f"PRD-{k:06d}" for k in i],
        "amount": i * 1.25,
        "nan": np.where(i % 5 == 0, np.nan, i / 3),
        "when": pd.date_range("2026-01-01", periods=n, freq="min"),
        "mixed": np.array([1, "x", 2.5, ["jane@example.com"]], dtype=object)[i % 4],
    })
    if wide:
        for k in range(30):
            df[f"c{k}"] = i * k
    return df


def _multi(n: int) -> pd.DataFrame:
    df = _frame(n)
    df.index = pd.MultiIndex.from_arrays([df["email"], np.arange(n) % 7], names=["who", "k"])
    df.columns = pd.MultiIndex.from_tuples([("a", c) for c in df.columns])
    return df


FRAMES = {
    "short": lambda: _frame(8),
    "truncated": lambda: _frame(1000),
    "wide": lambda: _frame(300, wide=True),
    "multiindex": lambda: _multi(200),
    "code marked by lineage": lambda: _frame(500).rename(columns={"code": "x"}),
    "empty": lambda: _frame(0),
}
LINEAGE = {"code marked by lineage": frozenset({"x"})}
OPTIONS = {
    "defaults": {},
    "float format": {"display.float_format": "{:.1f}".format},
    "precision and rows": {"display.precision": 2, "display.max_rows": 20,
                           "display.min_rows": 6},
    "no truncation": {"display.max_rows": None, "display.max_columns": None},
    "few columns": {"display.max_columns": 4},
}


@pytest.fixture(params=list(OPTIONS), ids=list(OPTIONS))
def options(request: pytest.FixtureRequest) -> Iterator[None]:
    if not OPTIONS[request.param]:
        yield
        return
    with pd.option_context(OPTIONS[request.param]):
        yield


@pytest.mark.parametrize("name", list(FRAMES), ids=list(FRAMES))
def test_a_display_shows_what_each_renderer_showed_alone(name: str, options: None) -> None:
    df = FRAMES[name]()
    lineage = LINEAGE.get(name, frozenset())
    html, text = _reference_html(df, lineage), _reference_text(df, lineage)
    with one_display():   # text first, as IPython renders, then html; and the other way round
        got = frame_text(df, SETTINGS, lineage), frame_html(df, SETTINGS, lineage)
    with one_display():
        got_back = frame_html(df, SETTINGS, lineage), frame_text(df, SETTINGS, lineage)
    alone = frame_text(df, SETTINGS, lineage), frame_html(df, SETTINGS, lineage)
    assert got == (text, html) and got_back == (html, text) and alone == (text, html)
    if len(df):
        assert "user1@example.com" not in text + html   # the reference masks too


def test_two_frames_in_one_display_share_nothing() -> None:
    """A frame and its edited copy rendered in the same display (a Styler's fallback, an
    output holding two frames) each show their own values."""
    df = _frame(100)
    other = df.assign(code=[f"QX-{k}" for k in range(100)])
    with pd.option_context({"display.width": 1000, "display.max_columns": None}), one_display():
        a, b = frame_text(df, SETTINGS), frame_text(other, SETTINGS)
        c, d = frame_html(df, SETTINGS), frame_html(other, SETTINGS)
    with pd.option_context({"display.width": 1000, "display.max_columns": None}):
        assert (a, c) == (_reference_text(df, frozenset()), _reference_html(df, frozenset()))
        assert (b, d) == (_reference_text(other, frozenset()),
                          _reference_html(other, frozenset()))
    assert "QX-99" in b and "QX-99" in d and "QX-99" not in a + c
