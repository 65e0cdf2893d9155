"""What a display reuses, and what it must not: a frame shown again is not classified again
(an Arrow column by the identity of its immutable array, any column by its sampled values), and
the shown cells of a column are read together before one by one. Each with its hostile twin:
an edit of the column after a display, a lone value among plain cells, a sensitive column name.
"""
from __future__ import annotations

import random

import pandas as pd
import pytest

from jupyter_guard.mask import settings as ms
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.render import frame_html, frame_text
from jupyter_guard.mask.settings import classify, detect_column, mask_frame
from jupyter_guard.mask.text import MaskSettings

ALL = MaskSettings(detectors=tuple(DETECTORS))
EMAILS = [f"user{i}@example.com" for i in range(300)]
CITIES = ["Paris", "Lyon", "Nice"] * 100


def _frame(values: list[str], dtype: str) -> pd.DataFrame:
    return pd.DataFrame({"c": pd.array(values, dtype=dtype), "n": range(len(values))})


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_a_column_edited_after_a_display_is_classified_again(dtype: str) -> None:
    df = _frame(CITIES, dtype)
    assert "Paris" in frame_html(df, ALL) and classify(df, ALL) == {}   # shown once: plain
    df.iloc[:200, 0] = EMAILS[:200]          # edited in place (same frame, same column object)
    assert classify(df, ALL) == {"c": "email"}
    html, text = frame_html(df, ALL) or "", frame_text(df, ALL)
    assert "user0@example.com" not in html and "user0@example.com" not in text
    df.loc[:, "c"] = CITIES                  # and back
    assert classify(df, ALL) == {}


def test_a_column_replaced_by_assignment_is_classified_again() -> None:
    df = _frame(CITIES, "str")
    assert classify(df, ALL) == {}
    df["c"] = EMAILS
    assert classify(df, ALL) == {"c": "email"}
    assert "user1@example.com" not in frame_text(df, ALL)


def test_a_remembered_result_is_the_computed_one() -> None:
    """Warm (remembered) and cold (computed) classification agree on random columns."""
    rng = random.Random(3)
    pools = [EMAILS, CITIES, [f"123-45-{6000 + i}" for i in range(300)],
             [f"PRD-{i:06d}" for i in range(300)], [f"2026-01-01 00:{i % 60:02d}:00" for i in
                                                     range(300)]]
    for _ in range(30):
        values = [rng.choice(rng.choice(pools)) for _ in range(250)]
        col = pd.array(values, dtype=rng.choice(["str", "object"]))
        warm = detect_column(col, ALL), detect_column(col, ALL)
        ms._BY_ARRAY.clear()
        ms._DETECTED.clear()
        assert warm == (detect_column(col, ALL),) * 2


CELLS = ["jane@example.com", "123-45-6789", "Paris", "PRD-000123", "2026-01-01 00:00:00",
         "+1 415 555 0100", "jane&#64;example.com", "jane\u200b@example.com", "12.50", "",
         "4111 1111 1111 1111", "id 42", "ssn 123456789", "x%40example.com", "a\nb", "@", "1-"]


@pytest.mark.parametrize("seed", range(40))
def test_cells_read_together_mask_as_cells_read_alone(seed: int) -> None:
    rng = random.Random(seed)
    items: list[object] = [rng.choice(CELLS) for _ in range(rng.randrange(1, 12))]
    if seed % 5 == 0:
        items.append(["jane@example.com"])   # a container cell
    alone = [ms._mask_cell(v, ALL) for v in items]
    expected = None if all(a is b for a, b in zip(alone, items)) else alone
    assert ms._mask_cell_list(items, ALL) == expected


def test_a_lone_value_among_plain_cells_is_masked() -> None:
    df = pd.DataFrame({"note": ["2026-01-01 00:00:00"] * 9 + ["mail jane@example.com"]})
    out = mask_frame(df, ALL)
    assert out["note"].iloc[9] != "mail jane@example.com" and "example.com" in out["note"].iloc[9]
    assert list(out["note"].iloc[:9]) == ["2026-01-01 00:00:00"] * 9


def test_a_column_name_holding_a_value_is_masked_and_plain_names_stay() -> None:
    df = pd.DataFrame({"id": [1], "jane@example.com": [2], "city": ["Paris"]})
    out = mask_frame(df, ALL)
    names = list(out.columns)
    assert names[0] == "id" and names[2] == "city" and "jane@example.com" not in names
