"""``guard.frames.object_column`` tells whether a frame's values are plain by their exact types
only: none of the values' own code runs (no ``__class__`` property, no metaclass ``__eq__`` or
``__hash__``, no ``__str__``), where pandas' ``infer_dtype`` (used before) read a ``__class__``
property. Plain frames, including object columns of decimals, dates and lists of them, pass."""
from __future__ import annotations

import datetime
import decimal
from typing import Any

import pandas as pd
import pytest

from jupyter_guard.guard.frames import frame_columns, is_frame, object_column

CALLS: list[str] = []


class Meta(type):
    def __eq__(cls, other: object) -> bool:
        CALLS.append("meta eq")
        return False

    def __hash__(cls) -> int:
        CALLS.append("meta hash")
        return 1


class Classy:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        CALLS.append("__class__")
        return str

    def __str__(self) -> str:
        CALLS.append("__str__")
        return "x"


class Metaed(metaclass=Meta):
    def __str__(self) -> str:
        CALLS.append("__str__")
        return "y"


class Note(str):
    def __str__(self) -> str:
        CALLS.append("__str__")
        return "n"


def _objects(*values: Any) -> pd.Series:
    return pd.Series(list(values), dtype=object)


@pytest.mark.parametrize("column", [
    pytest.param(_objects(Classy(), Classy()), id="class-property"),
    pytest.param(_objects("a", Metaed()), id="metaclass-eq-hash"),
    pytest.param(_objects(Note("a")), id="str-subclass"),
    pytest.param(_objects([1, [2, Classy()]]), id="nested-in-lists"),
    pytest.param(_objects({"k": Metaed()}), id="in-a-dict"),
    pytest.param(pd.Series(pd.Categorical([Metaed(), Metaed()])), id="categories"),
])
def test_objects_are_told_without_running_them(column: pd.Series) -> None:
    frame = pd.DataFrame({"a": [1] * len(column), "note": column})
    CALLS.clear()
    assert object_column(frame) == "note"
    assert frame_columns(frame) is None
    assert CALLS == []


def test_plain_values_pass() -> None:
    frame = pd.DataFrame({
        "a": [1, 2], "s": ["x", "y"], "f": [1.5, None],
        "d": _objects(decimal.Decimal("1.5"), None),
        "day": _objects(datetime.date(2020, 1, 2), pd.NaT),
        "l": _objects([1, "x", [2.5]], ()),
        "m": _objects({"k": 1}, None),
        "c": pd.Categorical(["p", "q"]),
        "i": pd.array([1, None], dtype="Int64"),
        "t": pd.to_datetime(["2020-01-01", "2021-01-01"]),
    })
    assert object_column(frame) is None
    assert frame_columns(frame) == ("a", "s", "f", "d", "day", "l", "m", "c", "i", "t")
    assert is_frame(frame) and not is_frame(type("F", (pd.DataFrame,), {})(frame))
