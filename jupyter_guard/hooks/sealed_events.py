"""Audit events that reach the guard's sealed trust (``own_code.SEALED``) around its seal.

``SEALED`` is a read-only mapping of frozen sets; its own dict, which ``own_code._swap`` adds to,
is reachable from Python only through ``gc.get_referents`` of the mapping (``gc.get_referrers``
and ``gc.get_objects`` are refused by ``events``), and any object's memory through ``ctypes``
``from_address``. From user code both are refused as ``self-protection``; a view of a buffer the
user holds (``from_buffer``) and a library's own use of ``from_address`` pass.
"""
from __future__ import annotations

import threading
from types import FrameType
from typing import Any

from jupyter_guard.hooks import own_code


def handlers(rt: Any) -> dict[str, Any]:
    """The handlers, for ``integrity``'s table (what they use taken now: a cell that rebinds
    ``own_code.own`` or ``SEALED`` later changes nothing here)."""
    sealed, own = own_code.SEALED, own_code.own

    def on_referents(args: tuple[Any, ...], f: FrameType) -> None:
        """Only the guard's code takes the dict of its sealed trust (``own_code.SEALED``)."""
        if any(o is sealed for o in args[0]) and (f is None or not own(f.f_code)):
            rt.tamper("reaches the guard's sealed trust (gc.get_referents)",
                      "gc.get_referents(own_code.SEALED)")

    views = threading.local()   # .at: the address a ``from_buffer`` is about to view

    def on_buffer(args: tuple[Any, ...], f: FrameType) -> None:
        views.at = args[0] + args[2] if len(args) > 2 else None

    def on_address(args: tuple[Any, ...], f: FrameType) -> None:
        """``ctypes`` ``from_address`` from user code reads and writes any object's memory
        (the sealed trust's dict, a frozen set): refused; a view of a buffer the user holds
        (``from_buffer``, the address it announced just before) and a library's own use pass."""
        at, views.at = getattr(views, "at", None), None
        if not (args and at is not None and args[0] == at) and rt.user_caller(f):
            rt.tamper("reads or writes memory at an address (ctypes from_address)",
                      f"ctypes from_address {str(args)[:80]}")

    return {"gc.get_referents": on_referents, "ctypes.cdata": on_address,
            "ctypes.cdata/buffer": on_buffer}
