"""Values carried by the names of things the cell makes on disk: a file or folder named after an
e-mail (``open(os.path.join(d, email), 'w')``, ``os.mkdir(ssn)``), a link whose target is a list
of SSNs (``os.symlink(';'.join(ssns), 'x')``), an extended attribute holding them
(``os.setxattr(p, 'user.d', data)``), a child started in a folder so named (``cwd=``).

The folder listing, ``readlink`` or ``getfattr`` reads them back whole, as a file's contents
would be: a name holding a value read from a sensitive column is refused as ``exfiltration``,
as is an attribute value holding sensitive data (every detector, as for a file's bytes). Only
known values decide a name: a plain name never waits on the detectors.

``chained`` puts these checks in front of the handlers ``events`` already has for an event.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from types import FrameType
from typing import Any

from jupyter_guard.hooks import exit_names, exits
from jupyter_guard.hooks.event_paths import event_path

Handler = Callable[[tuple[Any, ...], FrameType], None]
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def carries(name: str) -> str:
    """Why the path or name ``name`` holds a value read from a sensitive column ('' if not):
    whole, in one of its parts, or cut to fit a name (dots for ``@``).

    >>> carries("out/plain.csv")
    ''
    """
    if not exits.known or not name:
        return ""
    parts = [name, *name.replace("\\", "/").split("/")]
    for part in parts:
        kind = exits._known(part) if part else ""
        if kind:
            return kind
    return exit_names.carries_known(name)


def name_handlers(rt: Any) -> dict[str, Handler]:
    """Handlers for the events whose arguments name something written to disk."""
    def refuse(kind: str, how: str) -> None:
        exits.refuse(rt.guard, rt, kind, "a file name", how)

    def names(*values: Any) -> str:
        for v in values:
            p = event_path(v)
            kind = carries(p) if p is not None else ""
            if kind:
                return kind
        return ""

    def on_open(args: tuple[Any, ...], f: FrameType) -> None:
        path, flags = args[0], (args + (None, 0))[2] or 0
        # the stack first: the guard's own threads (the audit ingester's lock, every tick)
        # must not make the known values' matcher rebuild while a big fetch remembers them
        if flags & _WRITE_FLAGS and not isinstance(path, int) and exits.known and (
                rt.user_stack(f)):
            kind = names(path)
            if kind:
                refuse(kind, "file name")

    def on_named(first: int, *more: int) -> Handler:
        def h(args: tuple[Any, ...], f: FrameType) -> None:
            if not exits.known or not rt.user_stack(f):
                return
            kind = names(*(args[i] for i in (first, *more) if i < len(args)))
            if kind:
                refuse(kind, "file name")
        return h

    def on_setxattr(args: tuple[Any, ...], f: FrameType) -> None:   # (path, name, value, flags)
        if not rt.user_stack(f):
            return
        from jupyter_guard.hooks.exit_net import _settings

        value = args[2] if len(args) > 2 else b""
        kind = names(args[1] if len(args) > 1 else None) or exits.scan(
            value, _settings(rt), decode=True)
        if kind:
            refuse(kind, "extended attribute")

    return {"open": on_open, "os.mkdir": on_named(0), "os.rename": on_named(1),
            "os.link": on_named(1), "os.symlink": on_named(0, 1), "shutil.move": on_named(1),
            "shutil.copyfile": on_named(1), "os.setxattr": on_setxattr}


def check_cwd(rt: Any, cwd: Any) -> None:
    """A child started in a folder whose name holds a known value (``pwd`` prints it)."""
    p = event_path(cwd)
    kind = carries(p) if p is not None else ""
    if kind:
        exits.refuse(rt.guard, rt, kind, "a child's working folder", "child process")


def chained(table: dict[str, Handler], extra: dict[str, Handler]) -> dict[str, Handler]:
    """``table`` with each handler of ``extra`` run first for its event (alone where ``table``
    has none)."""
    out = dict(table)
    for event, first in extra.items():
        then = table.get(event)
        if then is None:
            out[event] = first
            continue

        def both(args: tuple[Any, ...], f: FrameType, first: Handler = first,
                 then: Handler = then) -> None:
            first(args, f)
            then(args, f)
        out[event] = both
    return out
