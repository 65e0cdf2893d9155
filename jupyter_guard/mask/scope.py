"""One display at a time: what the renderers of one object may share (no pandas import).

IPython renders an object's text/plain and text/html one after the other; inside
``one_display()`` the renderers classify a frame's columns and mask its shown rows once.
Nothing outlives the display, so nothing can go stale.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_scope = threading.local()


@contextmanager
def one_display() -> Iterator[None]:
    """Share classification and masked rows between the renderers of one displayed object."""
    outer = getattr(_scope, "memo", None)
    if outer is None:
        _scope.memo = {}
    try:
        yield
    finally:
        if outer is None:
            _scope.memo = None


def display_memo() -> dict[Any, Any] | None:
    """The current display's memo, or None outside ``one_display()``."""
    memo: dict[Any, Any] | None = getattr(_scope, "memo", None)
    return memo
