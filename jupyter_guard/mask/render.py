"""Render pandas objects exactly as pandas would, with only the rendered rows masked.

pandas truncates a frame to its head and tail rows (``display.max_rows``/``min_rows``) inside
``DataFrameFormatter``/``SeriesFormatter``; we let it, mask the truncated frame (a few dozen
rows), and render that. So a 10-million-row frame costs what a 10-row one does, and the output
(dimensions line, ``...`` row) is byte-for-byte pandas' own apart from the masked cells.

If pandas internals change, the fallback renders a masked head/tail frame instead: output may
look slightly different, but nothing raw is shown (a guard failure never fails open).
"""
from __future__ import annotations

from collections.abc import Callable, Set
from typing import Any

import numpy as np
import pandas as pd
from pandas.io.formats import format as fmt

from .scope import display_memo, one_display
from .settings import MaskSettings, classify, mask_frame, mask_series
from .text import mask_text

__all__ = ["frame_html", "frame_text", "one_display", "series_text", "styler_html"]

_EMPTY: frozenset[str] = frozenset()


def _html_formatter(df: pd.DataFrame) -> Any:
    opt = pd.get_option
    return fmt.DataFrameFormatter(
        df, na_rep="NaN", float_format=opt("display.float_format"), index_names=True,
        header=True, index=True, bold_rows=True, escape=True, max_rows=opt("display.max_rows"),
        min_rows=opt("display.min_rows"), max_cols=opt("display.max_columns"),
        show_dimensions=opt("display.show_dimensions"), decimal=".",
    )


def _text_formatter(df: pd.DataFrame, params: dict[str, Any]) -> Any:
    return fmt.DataFrameFormatter(
        df, max_rows=params["max_rows"], min_rows=params["min_rows"],
        max_cols=params["max_cols"],
        show_dimensions=params["show_dimensions"],
    )


def _plain_repr(obj: Any) -> str:
    """pandas' own repr, even when the guard has wrapped ``__repr__``."""
    method = type(obj).__repr__
    plain: Callable[..., object] = getattr(method, "__wrapped__", method)
    return str(plain(obj))


def _head_tail(df: Any, rows: int) -> Any:
    if len(df) <= rows:
        return df
    half = max(rows // 2, 1)
    return df.iloc[np.r_[0:half, len(df) - half:len(df)]]


def _masked_rows(tr: pd.DataFrame, df: pd.DataFrame, settings: MaskSettings,
                 lineage: Set[str]) -> pd.DataFrame:
    memo = display_memo()
    if memo is None:
        found = classify(df, settings, lineage)
        return mask_frame(tr, settings, lineage, classified=found, for_display=True)
    key = (id(df), id(settings), frozenset(lineage))
    entry: tuple[Any, MaskSettings, dict[str, str], list[tuple[Any, Any]]] | None
    entry = memo.get(key)
    if entry is None:  # keeps df and settings alive, so their ids stay theirs for the display
        entry = (df, settings, classify(df, settings, lineage), [])
        memo[key] = entry
    for shown, masked in entry[3]:
        if shown.index.equals(tr.index) and shown.columns.equals(tr.columns):
            return masked
    masked = mask_frame(tr, settings, lineage, classified=entry[2], for_display=True)
    entry[3].append((tr, masked))
    return masked


def _masked_tr_frame(formatter: Any, df: pd.DataFrame, settings: MaskSettings,
                     lineage: Set[str]) -> None:
    # classified on a sample of the whole frame, not only the shown rows
    formatter.tr_frame = _masked_rows(formatter.tr_frame, df, settings, lineage)


def frame_html(df: pd.DataFrame, settings: MaskSettings, lineage: Set[str] = _EMPTY) -> str | None:
    """``df._repr_html_()`` with the rendered rows masked."""
    if not settings.active or df._info_repr():  # info() shows names and dtypes only
        html: str | None = df._repr_html_()
        return html
    if not pd.get_option("display.notebook_repr_html"):
        return None
    try:
        formatter = _html_formatter(df)
        _masked_tr_frame(formatter, df, settings, lineage)
        return str(fmt.DataFrameRenderer(formatter).to_html(notebook=True))
    except (AttributeError, TypeError):  # pandas internals moved: render a masked copy
        view = _head_tail(df, pd.get_option("display.min_rows") or 10)
        html = mask_frame(view, settings, lineage, classified=classify(df, settings))._repr_html_()
        return html


def frame_text(df: pd.DataFrame, settings: MaskSettings, lineage: Set[str] = _EMPTY) -> str:
    """``repr(df)`` with the rendered rows masked."""
    if not settings.active or df._info_repr():
        return _plain_repr(df)
    params = fmt.get_dataframe_repr_params()
    try:
        formatter = _text_formatter(df, params)
        _masked_tr_frame(formatter, df, settings, lineage)
        return str(fmt.DataFrameRenderer(formatter).to_string(line_width=params["line_width"]))
    except (AttributeError, TypeError, KeyError):
        view = _head_tail(df, pd.get_option("display.min_rows") or 10)
        return repr(mask_frame(view, settings, lineage, classified=classify(df, settings)))


def series_text(s: pd.Series, settings: MaskSettings, lineage: Set[str] = _EMPTY) -> str:
    """``repr(s)`` with the rendered values masked (a row from ``df.iloc[i]`` per label)."""
    if not settings.active:
        return _plain_repr(s)
    params = fmt.get_series_repr_params()
    try:
        formatter = fmt.SeriesFormatter(
            s, name=params["name"], length=params["length"], dtype=params["dtype"],
            min_rows=params["min_rows"], max_rows=params["max_rows"],
        )
        formatter.tr_series = mask_series(formatter.tr_series, settings, lineage, detect_from=s)
        return str(formatter.to_string())
    except (AttributeError, TypeError, KeyError):
        view = _head_tail(s, pd.get_option("display.min_rows") or 10)
        return repr(mask_series(view, settings, lineage, detect_from=s))


def styler_html(styler: Any, settings: MaskSettings, lineage: Set[str] = _EMPTY) -> str | None:
    """``styler._repr_html_()`` over a masked copy of only the rows the Styler renders.

    Style functions then run on the masked head rows (colour scales see those rows only).
    """
    if not settings.active:
        html: str | None = styler._repr_html_()
        return html
    if pd.get_option("styler.render.repr") != "html":
        return None
    data: pd.DataFrame = styler.data
    try:
        from pandas.io.formats.style_render import _get_trimming_maximums

        rows, cols = _get_trimming_maximums(
            len(data.index), len(data.columns), pd.get_option("styler.render.max_elements"),
            pd.get_option("styler.render.max_rows"), pd.get_option("styler.render.max_columns"),
            scaling_factor=0.8,
        )
        masked = mask_frame(data.iloc[: rows + 1], settings, lineage,
                            classified=classify(data, settings))
        copy = styler._copy(deepcopy=True)
        copy.data, copy.index, copy.columns = masked, masked.index, masked.columns
        copy.hidden_rows = [r for r in copy.hidden_rows if r <= rows]
        # text the styler adds around the cells (a caption, tooltips, ``format`` functions,
        # table attributes) is free text: the detectors and known values look at it too
        return mask_text(str(copy.to_html(max_rows=rows, max_columns=cols)), settings)
    except Exception:  # noqa: BLE001 - user style functions may choke on masked text: show it unstyled
        view = data.iloc[:pd.get_option("display.max_rows") or 60]
        return frame_html(mask_frame(view, settings, lineage, classified=classify(data, settings)),
                          settings)
