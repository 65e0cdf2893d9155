"""Render pandas objects exactly as pandas would, with only the rendered rows masked.

pandas truncates a frame to its head and tail rows (``display.max_rows``/``min_rows``) inside
``DataFrameFormatter``/``SeriesFormatter``; we let it, mask the truncated frame (a few dozen
rows), and render that. So a 10-million-row frame costs what a 10-row one does, and the output
(dimensions line, ``...`` row) is byte-for-byte pandas' own apart from the masked cells.
Within one display (``one_display``) the text and HTML renderers share the shown rows, taken
and masked once, and each shown column's formatted strings (``_Formatter``).

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


class _Formatter(fmt.DataFrameFormatter):  # type: ignore[misc]  # pandas' class, untyped
    """pandas' own formatter, whose truncated frame is masked; within one display the text and
    HTML formatters share it: the shown rows are taken from the frame and masked once.

    ``truncate`` runs inside pandas' ``__init__``; what it sets (``tr_frame`` and the numbers of
    the kept rows and columns) depends on the frame and the fitted row and column counts only,
    which make the key (the frame is held by the memo, so its id stays its own).
    """

    def __init__(self, frame: pd.DataFrame, *, masked: Callable[[Any], Any], **kw: Any) -> None:
        self._masked_of, self._truncated, self._shared = masked, False, False
        super().__init__(frame, **kw)
        if not self._truncated:   # pandas no longer truncates through ``truncate``: fall back
            raise TypeError("pandas' DataFrameFormatter did not call truncate()")

    def truncate(self) -> None:
        self._truncated = True
        memo = display_memo()
        if memo is None or isinstance(self.formatters, (list, tuple)):
            super().truncate()   # (list formatters are cut with the columns: not shared)
            self.tr_frame = self._masked_of(self.__dict__["tr_frame"])
            return
        key = ("truncated", id(self.frame), self.max_rows_fitted, self.max_cols_fitted,
               self.max_rows, self.max_cols, self._masked_of)
        got = memo.get(key)
        if got is None:
            super().truncate()
            got = (self.frame, self._masked_of(self.__dict__["tr_frame"]),
                   self.__dict__.get("tr_row_num"),
                   self.__dict__.get("tr_col_num"))
            memo[key] = got
        self.tr_frame, self._shared = got[1], True
        for name, value in (("tr_row_num", got[2]), ("tr_col_num", got[3])):
            if value is not None:
                setattr(self, name, value)

    def format_col(self, i: int) -> list[str]:
        """pandas' strings for the shown cells of column ``i``: the text and HTML renderers of
        one display format each column alike (same shared rows, same options), so once."""
        memo = display_memo()
        if memo is None or not self._shared:
            return list(super().format_col(i))
        try:
            key = ("column", id(self.tr_frame), i, self.float_format, self.na_rep,
                   self.col_space.get(self.tr_frame.columns[i]), self.decimal, self.index,
                   self._get_formatter(i))
            got = memo.get(key)
        except TypeError:   # an unhashable option (a user's float_format object): not shared
            return list(super().format_col(i))
        if got is None:
            got = memo[key] = tuple(super().format_col(i))
        return list(got)


def _html_formatter(df: pd.DataFrame, masked: Callable[[Any], Any]) -> Any:
    opt = pd.get_option
    return _Formatter(
        df, masked=masked, na_rep="NaN", float_format=opt("display.float_format"),
        index_names=True, header=True, index=True, bold_rows=True, escape=True,
        max_rows=opt("display.max_rows"), min_rows=opt("display.min_rows"),
        max_cols=opt("display.max_columns"), show_dimensions=opt("display.show_dimensions"),
        decimal=".",
    )


def _text_formatter(df: pd.DataFrame, params: dict[str, Any], masked: Callable[[Any], Any]
                    ) -> Any:
    return _Formatter(
        df, masked=masked, max_rows=params["max_rows"], min_rows=params["min_rows"],
        max_cols=params["max_cols"], show_dimensions=params["show_dimensions"],
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


def _masker(df: pd.DataFrame, settings: MaskSettings, lineage: Set[str]
            ) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """What masks ``df``'s shown rows (classified on a sample of the whole frame, not only
    the shown rows); within one display, the same function for the same frame, settings and
    lineage (the formatters' shared key)."""
    memo = display_memo()
    if memo is None:
        return lambda tr: mask_frame(tr, settings, lineage, classified=classify(df, settings,
                                                                                lineage),
                                     for_display=True)
    key = ("masker", id(df), id(settings), frozenset(lineage))
    entry: tuple[Any, MaskSettings, Callable[[pd.DataFrame], pd.DataFrame]] | None
    entry = memo.get(key)
    if entry is None:  # keeps df and settings alive, so their ids stay theirs for the display
        found = classify(df, settings, lineage)
        entry = (df, settings, lambda tr: mask_frame(tr, settings, lineage, classified=found,
                                                     for_display=True))
        memo[key] = entry
    return entry[2]


def frame_html(df: pd.DataFrame, settings: MaskSettings, lineage: Set[str] = _EMPTY) -> str | None:
    """``df._repr_html_()`` with the rendered rows masked."""
    if not settings.active or df._info_repr():  # info() shows names and dtypes only
        html: str | None = df._repr_html_()
        return html
    if not pd.get_option("display.notebook_repr_html"):
        return None
    try:
        formatter = _html_formatter(df, _masker(df, settings, lineage))
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
        formatter = _text_formatter(df, params, _masker(df, settings, lineage))
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
