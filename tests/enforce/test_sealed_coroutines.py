"""A proxy hands out a driver's bound methods behind a sealed call (no ``__self__`` leads to the
driver's object); an async driver's methods must still look like coroutine functions to
libraries that ask ``asyncio.iscoroutinefunction`` before awaiting them."""
from __future__ import annotations

import asyncio

from jupyter_guard.hooks import sealed_events


class Driver:
    async def execute(self, q: str) -> str:
        return q.upper()

    def close(self) -> str:
        return "closed"


def test_an_async_method_handed_out_is_still_a_coroutine_function() -> None:
    d = Driver()
    w = sealed_events.unbound(d.execute, d)
    assert getattr(w, "__self__", None) is not d
    assert asyncio.iscoroutinefunction(w)
    assert asyncio.run(w("select 1")) == "SELECT 1"


def test_a_plain_method_handed_out_is_not_marked() -> None:
    d = Driver()
    w = sealed_events.unbound(d.close, d)
    assert getattr(w, "__self__", None) is not d
    assert not asyncio.iscoroutinefunction(w)
    assert w() == "closed"
