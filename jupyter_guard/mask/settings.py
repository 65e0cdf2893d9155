"""What to mask and how: ``MaskSettings`` plus the pure maskers for text, Series and frames.

The maskers never change their input; they return masked copies of what is given, so callers
pass only what will be shown (a display's head and tail rows), never a whole large frame.
``MaskSettings``, ``find_spans`` and ``mask_text`` live in ``text`` (no pandas) and are
re-exported here.

>>> s = MaskSettings(columns=("*email*",), detectors=("email", "ssn"), strategy="partial")
>>> mask_text("mail jane@example.com, ssn 123-45-6789", s)
'mail █████@example.com, ssn ████6789'
"""
from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence, Set
from typing import Any

import numpy as np
import pandas as pd

from . import scan
from .detect import SAMPLE_SIZE, Detector, name_matches, sample_strings
from .strategy import apply_strategy, strategy_list
from .text import (
    COLUMN_THRESHOLD,
    DEFAULT_COLUMNS,
    PROBE_SIZE,
    MaskSettings,
    find_spans,
    hinted,
    hinted_count,
    hinted_values,
    mask_text,
)

__all__ = ["COLUMN_THRESHOLD", "DEFAULT_COLUMNS", "PROBE_SIZE", "MaskSettings", "classify",
           "detect_column", "find_spans", "mask_frame", "mask_series", "mask_text",
           "sensitive_columns"]


CARD_MIN = 10 ** 12
"""An integer below this has at most 12 digits: no detector matches it whole (only a card is
made of digits alone, and a card has 13 to 19); ``tests/mask/test_fast_paths.py`` checks it."""


def _no_long_ints(values: Any, size: int) -> bool:
    """A numpy integer column whose first ``size`` values all have at most 12 digits (a negative
    number starts with '-', which no detector's whole value does)."""
    return (isinstance(values, np.ndarray) and values.dtype.kind in "iu"
            and not bool((values[:size] >= CARD_MIN).any()))


def detect_column(series: pd.Series | Any, settings: MaskSettings) -> str | None:
    """The detector matching at least ``COLUMN_THRESHOLD`` of the sample, best first
    (``series`` may be a column's array)."""
    values = getattr(series, "_values", series)
    if _no_long_ints(values, SAMPLE_SIZE):
        return None
    arrow = getattr(values, "_pa_array", None)   # immutable: pandas swaps it on every edit
    if arrow is None:
        return _detect(series, settings)
    key = (settings.detectors, id(arrow))
    seen = _BY_ARRAY.get(key)
    if seen is not None and seen[0]() is arrow:   # this very array was classified before
        return seen[1]
    found = _detect(series, settings)
    if len(_BY_ARRAY) >= DETECTED_MAX:
        _BY_ARRAY.clear()
    try:
        _BY_ARRAY[key] = (weakref.ref(arrow), found)
    except TypeError:   # an array type without weak references: not remembered
        pass
    return found


_BY_ARRAY: dict[tuple[tuple[str, ...], int], tuple[Any, str | None]] = {}
"""Arrow-backed columns already classified, by the identity of their (immutable) Arrow array,
held weakly: an edit of the column gives it a new array, so a result never outlives the values
it was found in. A frame displayed again is not sampled again."""


def _arrow_head(values: Any, size: int) -> list[str] | None:
    """The first ``size`` values of an Arrow string column when all are present (they are then
    what ``sample_strings`` returns, converted by pyarrow rather than pandas); else None."""
    arrow = getattr(values, "_pa_array", None)
    if arrow is None:
        return None
    import pyarrow as pa  # an Arrow-backed column exists, so pyarrow is loaded

    try:
        if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
            return None
        head: list[Any] = arrow.slice(0, size).to_numpy(zero_copy_only=False).tolist()
    except (AttributeError, TypeError, ValueError):  # another array type: the general path
        return None
    return head if set(map(type, head)) <= {str} else None


def _strings(series: pd.Series | Any, size: int) -> list[str]:
    """``sample_strings(series, size)`` (an Arrow string column read by pyarrow)."""
    head = _arrow_head(getattr(series, "_values", series), 2 * size)
    return sample_strings(series, size) if head is None else head[:size]


def _rejected(probe: list[str]) -> bool:
    """Too few of the probe's values could hold a detected value (a pure function of the probe:
    remembered, so a column of the same few words, such as cities, is not read again)."""
    key = tuple(probe)
    seen = _PROBED.get(key)
    if seen is None:
        if len(_PROBED) >= DETECTED_MAX:
            _PROBED.clear()
        seen = _PROBED[key] = hinted_count(probe) < COLUMN_THRESHOLD * len(probe) / 2
    return seen


_PROBED: dict[tuple[str, ...], bool] = {}


def _detect(series: pd.Series | Any, settings: MaskSettings) -> str | None:
    if _rejected(_strings(series, PROBE_SIZE)):
        return None  # quick reject; shown cells are still scanned one by one
    sample = _strings(series, SAMPLE_SIZE)
    key = (settings.detectors, tuple(sample))
    if key in _DETECTED:   # the same sample seen before (a frame displayed again)
        return _DETECTED[key]
    candidates = hinted_values(sample)
    best, score = None, 0.0
    if sample and len(candidates) >= COLUMN_THRESHOLD * len(sample):
        for det in _with_candidates(candidates, settings):
            hits = det.count_matches(candidates) / len(sample)
            if hits > score:
                best, score = det.name, hits
    if len(_DETECTED) >= DETECTED_MAX:
        _DETECTED.clear()
    _DETECTED[key] = found = best if score >= COLUMN_THRESHOLD else None
    return found


DETECTED_MAX = 256
_DETECTED: dict[tuple[tuple[str, ...], tuple[str, ...]], str | None] = {}
"""The detector found in a column sample, by the sample's values and the enabled detectors:
a pure function of both, so a frame shown again (or another frame holding the same first values)
is not read by the detectors again; nothing can go stale."""


JOIN_MAX = 1 << 20
"""A sample up to this many characters is first read whole by the RE2 set."""


def _with_candidates(values: list[str], settings: MaskSettings) -> Sequence[Detector]:
    """The detectors that may match one of ``values`` whole: one RE2 set pass over the values
    joined by newlines tells which have a candidate anywhere (a value a detector matches holds
    that detector's candidate), so the others are not tried value by value."""
    if sum(map(len, values)) > JOIN_MAX:
        return settings.enabled
    return scan.present("\n".join(values), settings.enabled)


def _column_arrays(df: pd.DataFrame) -> list[Any]:
    """Each column's values (``df.iloc[:, i].array`` without building a Series per column)."""
    try:
        mgr = df._mgr
        return [mgr.iget_values(i) for i in range(len(df.columns))]
    except (AttributeError, TypeError):  # pandas internals moved
        return [df.iloc[:, i]._values for i in range(len(df.columns))]


_NO_TEXT = "fcbmMT"
"""dtype kinds whose values ``sample_strings`` never samples (floats, bools, datetimes)."""


def classify(df: pd.DataFrame, settings: MaskSettings,
             masked: Set[str] = frozenset()) -> dict[str, str]:
    """Sensitive columns of ``df``: name -> ``"name"`` (glob) or the detector that matched.

    ``masked``: columns the caller masks whole anyway (their SQL lineage reaches a sensitive
    column). Without detector-specific strategies (``per_column``) the detector found in them
    would change nothing, so they are not sampled; they are reported as ``"name"``.
    """
    found: dict[str, str] = {}
    arrays = _column_arrays(df)
    skip = masked if masked and not settings.per_column else frozenset()
    for i, col in enumerate(df.columns):
        key = str(col)
        if key in found:
            continue
        if name_matches(col, settings.columns) or key in skip:
            found[key] = "name"
        elif arrays[i].dtype.kind in _NO_TEXT:
            continue  # detect_column would sample nothing and find nothing
        elif (det := detect_column(arrays[i], settings)) is not None:
            found[key] = det
    return found


def sensitive_columns(df: pd.DataFrame, settings: MaskSettings) -> set[str]:
    """Column names that are sensitive by name glob or by a value sample (first 200 values)."""
    return set(classify(df, settings))


def _cell_text(v: Any) -> str:
    """The text ``_mask_cell`` would read in ``v`` ('' when it reads none)."""
    if isinstance(v, str):
        return v if not v.isascii() or "&" in v or "%" in v or hinted(v) else ""
    if isinstance(v, (list, tuple, dict, set)):
        return str(v)
    return ""


def _mask_cell(v: Any, settings: MaskSettings) -> Any:
    if isinstance(v, str):
        hidden = not v.isascii() or "&" in v or "%" in v  # may hide a hint (``&commat;``)
        return mask_text(v, settings) if hidden or hinted(v) else v
    if isinstance(v, (list, tuple, dict, set)):
        text = str(v)
        masked = mask_text(text, settings)
        return v if masked == text else masked
    return v


def _mask_cell_list(items: list[Any], settings: MaskSettings) -> list[Any] | None:
    """Each item masked (None: none changed). The cells a detector could read are first read
    together, one per line (one pass for the column, not one per cell): a span in any cell is a
    span of the joined text too, so a joined text without one means no cell changes."""
    texts = [_cell_text(v) for v in items]
    if not any(texts):
        return None
    if len(items) > 1 and not find_spans("\n".join(t for t in texts if t), settings):
        return None
    out = [_mask_cell(v, settings) for v in items]
    if all(a is b for a, b in zip(out, items)):
        return None
    return out


def _mask_cells(values: pd.Series, settings: MaskSettings) -> pd.Series | None:
    """Detected values inside the strings (and containers) of a small column; None: unchanged."""
    if values.dtype.kind in "biufcmMb":
        return None
    out = _mask_cell_list(values.tolist(), settings)
    if out is None:
        return None
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def mask_series(
    series: pd.Series, settings: MaskSettings, lineage_sensitive: Set[str] = frozenset(),
    *, detect_from: pd.Series | None = None,
) -> pd.Series:
    """Masked copy of a (small) Series: by name, lineage, value sample, or row labels.

    ``detect_from`` is the Series to sample for detection (the whole one when ``series`` is
    only its displayed rows). A row (``df.iloc[0]``) is masked per label by the name globs.
    """
    if not settings.active:
        return series
    name = series.name
    reason = "name" if name is not None and (
        name_matches(name, settings.columns) or str(name) in lineage_sensitive) else None
    reason = reason or detect_column(series if detect_from is None else detect_from, settings)
    if reason is not None:
        strat = settings.strategy_for(name, None if reason == "name" else reason)
        return apply_strategy(series, strat, settings.salt)
    masked = _mask_cells(series, settings)
    out = series if masked is None else masked
    labels = [isinstance(k, str) and (name_matches(k, settings.columns) or k in lineage_sensitive)
              for k in series.index]
    if any(labels):
        out = out.astype(object)
        for pos in [i for i, hit in enumerate(labels) if hit]:
            label = series.index[pos]
            out.iloc[pos] = apply_strategy(series.iloc[pos:pos + 1], settings.strategy_for(label),
                                           settings.salt).iloc[0]
    return _mask_index(out, settings, lineage_sensitive)


def _mask_index(obj: Any, settings: MaskSettings, lineage: Set[str]) -> Any:
    index = obj.index
    if isinstance(index, pd.RangeIndex):
        return obj
    if index.dtype.kind not in "OSU" and not isinstance(index, pd.MultiIndex) and str(
            index.dtype) not in ("str", "string"):
        return obj
    levels = index.to_frame(index=False)
    levels.columns = [n if n is not None else f"level_{i}" for i, n in enumerate(index.names)]
    masked = mask_frame(levels, settings, lineage, _index=False)
    if masked.equals(levels):
        return obj
    obj = obj.copy(deep=False)
    if isinstance(index, pd.MultiIndex):
        obj.index = pd.MultiIndex.from_frame(masked, names=index.names)
    else:
        obj.index = pd.Index(masked.iloc[:, 0], name=index.name)
    return obj


_COUNT_ROWS = ("count", "unique", "freq")


def _count_rows(df: pd.DataFrame) -> Any:
    """In a ``describe()`` result, the rows that only count values (shown unmasked)."""
    if len(df) > 20 or df.index.dtype.kind != "O" or "count" not in df.index:
        return None
    return df.index.isin(_COUNT_ROWS)


def _replace_columns(df: pd.DataFrame, arrays: list[Any], new: Mapping[int, Any],
                     for_display: bool = False) -> pd.DataFrame:
    """``df.copy(deep=False)`` with ``isetitem(i, new[i])`` for each ``i``, built in one go.

    ``for_display``: a column of masked values that are all ``str`` stays an object array (it
    renders exactly as the ``str`` column ``isetitem`` would infer, without building one).
    """
    if not new:
        return df.copy(deep=False)
    try:
        from pandas.core.construction import sanitize_array

        cols = list(arrays)
        for i, values in new.items():
            keep = for_display and all(type(v) is str for v in values)
            cols[i] = values if keep else sanitize_array(values, None)
        out = pd.DataFrame._from_arrays(cols, columns=df.columns, index=df.index,
                                        verify_integrity=False)
        return out.__finalize__(df, method="copy")
    except (AttributeError, TypeError, ImportError):  # pandas internals moved
        pass
    out = df.copy(deep=False)
    for i, values in new.items():
        out.isetitem(i, values)
    return out


def mask_frame(
    df: pd.DataFrame, settings: MaskSettings, lineage_sensitive: Set[str] = frozenset(),
    *, classified: Mapping[str, str] | None = None, _index: bool = True, for_display: bool = False,
) -> pd.DataFrame:
    """Masked copy of a (small) frame: whole columns by name glob, lineage or value sample;
    detected values inside other text cells; and the index. ``classified`` (from
    ``classify`` on the full frame) skips sampling ``df`` again. ``for_display``: the result is
    only rendered (masked text columns may stay object arrays, see ``_replace_columns``).
    """
    if not settings.active:
        return df
    found = dict(classify(df, settings) if classified is None else classified)
    found.update({c: "name" for c in lineage_sensitive if c not in found})
    counts = _count_rows(df)
    arrays = _column_arrays(df)
    whole: dict[int, Any] = {}   # column position -> masked values (dtype inferred as by isetitem)
    cells: dict[int, list[Any]] = {}   # column position -> cells masked inside (object dtype)
    for i, col in enumerate(df.columns):
        values = arrays[i]
        reason = found.get(str(col))
        if reason is not None:
            strat = settings.strategy_for(col, None if reason == "name" else reason)
            items = values.tolist()
            masked = strategy_list(items, strat, settings.salt)
            if counts is not None:
                masked = [v if keep else m for v, m, keep in zip(items, masked, counts)]
            whole[i] = np.array(masked, dtype=object)
        elif values.dtype.kind not in "biufcmMb" and (
                hit := _mask_cell_list(values.tolist(), settings)) is not None:
            cells[i] = hit
    out = _replace_columns(df, arrays, whole, for_display)
    for i, hit in cells.items():
        out.isetitem(i, pd.Series(hit, index=df.index, name=df.columns[i], dtype=object))
    names = [c for c in df.columns if isinstance(c, str)]   # read together, one per line
    if names and find_spans("\n".join(names), settings):
        out.columns = [mask_text(c, settings) if isinstance(c, str) else c for c in df.columns]
    return _mask_index(out, settings, lineage_sensitive) if _index else out
