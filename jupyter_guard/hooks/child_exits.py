"""The kernel's data-aware exits inside a guarded Python child (``child``).

A child that reads sensitive columns from a database file the kernel never opened, then writes
them to a file, a socket or its standard output, would put them there raw: the child's own guard
judges file *actions*, not their contents. So a child installs the kernel's own exits, the same
modules with the same policy, once it may hold such data:

- at the first import of a data library (``child.EXITS_ON``: DuckDB, the PostgreSQL drivers, ``sqlite3``,
  pandas, pyarrow, polars), before the importing code gets the module back;
- at its first ``open`` for writing (``child.early_open``, put in place at start: a few
  lines, no imports), so a file of detected values read from plain files is judged too.

Installed, the child has what the kernel has: values fetched from sensitive columns become known
values (``result_taint``, ``df_values``), every file opened for writing is a checked file
(``exit_files``: ``open``, ``json``, ``pickle``, numpy, pyarrow, DuckDB relation writers, pandas
writers by lineage), ``os.write`` and compressed streams (``exit_streams``), sockets
(``exit_socket*``), request lines, headers and uploads, DNS names (the kernel's own event
handlers, ``events.handlers``), further children's arguments (``child_events``), and its
``sys.stdout``/``sys.stderr`` masked like the kernel's (``kernel.streams``). The whole child is
user code, except the guard's own frames (``child.own_work``).
"""
from __future__ import annotations

import os
import sys
import sysconfig

TYPE_CHECKING = False   # not ``typing``'s: imported by the light child start
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType
    from typing import Any

# the kernel's network handlers the child runs too (its file and child handlers are its own)
NET_EVENTS = ("urllib.Request", "http.client.send", "socket.connect", "socket.sendto",
              "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname")
_LIBS = tuple(dict.fromkeys(os.path.realpath(p) + os.sep for p in (
    sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib"))
    if p))

_RT: list[Any] = []   # the child's one runtime, once installed


class ChildRuntime:
    """What the kernel's exit modules need of the run-time layer, in a child: its decision
    service (the one ``child_sql`` builds), and who is acting (anything but the guard)."""

    protect: Any = None
    kg: Any = None
    shell: Any = None
    policy_file = ""

    def __init__(self, env: Mapping[str, str]) -> None:
        from jupyter_guard.hooks.child import PACKAGE_DIR
        from jupyter_guard.hooks.child_sql import _guard

        self.guard = _guard(env)
        self.package_dir = PACKAGE_DIR
        self.tmp = os.path.realpath(__import__("tempfile").gettempdir())

    def is_cell(self, filename: str) -> bool:
        return not filename.startswith((self.package_dir, *_LIBS, "<frozen"))

    def user_stack(self, frame: FrameType | None) -> bool:
        from jupyter_guard.hooks.child import own_work
        from jupyter_guard.hooks.state import busy

        return not busy() and not own_work(frame)

    def user_caller(self, frame: FrameType | None, skip: tuple[str, ...] = ()) -> bool:
        """The nearest frame outside ``skip`` is the child's own code (its script, ``-c`` text,
        a module of its own), not a library acting for it."""
        while frame is not None:
            fn = frame.f_code.co_filename
            if skip and (fn.startswith(skip)
                         or frame.f_globals.get("__name__", "").startswith(skip)):
                frame = frame.f_back
                continue
            return self.is_cell(fn) and self.user_stack(frame)
        return False

    def decide(self, intents: Any, desc: str) -> None:
        if not intents:
            return
        from jupyter_guard.guard.judge import judge_or_refuse
        from jupyter_guard.hooks.state import Busy
        from jupyter_guard.model import Analysis

        with Busy():
            judge_or_refuse(self.guard, Analysis(tuple(intents)), kind="runtime", code=desc)

    def tamper(self, why: str, desc: str, *, refuse: bool = True) -> None:
        from jupyter_guard.model import Intent

        try:
            self.decide([Intent("guard.tamper", "guard", why, source=desc[:200])], desc)
        except PermissionError:
            if refuse:
                raise


def installed() -> ChildRuntime | None:
    return _RT[0] if _RT else None


def install(env: Mapping[str, str]) -> Any:
    """Install the kernel's exits in this child (once); the checked-file exit (``FileExits``).
    Raises if a part cannot be installed: the caller refuses the write or stops the child."""
    from jupyter_guard.hooks import exit_files

    if _RT:
        return exit_files.FX
    _plain_open()   # the kernel's file exit wraps the real ``open``, not ``child.early_open``
    from jupyter_guard.hooks import events, lazy, state, writers
    from jupyter_guard.hooks.state import Busy

    with Busy():
        rt = ChildRuntime(env)
        state.set_current(rt)
        table = events.handlers(rt)   # installs the file, stream and socket exits as in the kernel
        net = {k: table[k] for k in NET_EVENTS}
        lazy.when_imported("pandas", lambda pd: _busy(writers.install, None, rt.guard, rt))
        _mask_streams(rt)
        _RT.append(rt)
    sys.addaudithook(_hook(net))
    return exit_files.FX


def _plain_open() -> None:
    import builtins
    import io

    for mod in (builtins, io):
        orig = getattr(mod.open, "_jg_orig", None)
        if orig is not None:
            mod.open = orig


def _busy(fn: Any, *args: Any) -> None:
    from jupyter_guard.hooks.state import Busy

    with Busy():
        fn(*args)


def _hook(table: dict[str, Any]) -> Any:
    get, getframe = table.get, sys._getframe
    from jupyter_guard.hooks.state import _tl

    def hook(event: str, args: tuple[Any, ...]) -> None:
        h = get(event)
        if h is None or getattr(_tl, "busy", False):
            return
        h(args, getframe(1))
    return hook


class _Masker:
    """The kernel's mask settings for this child's user (``kernel.wire_mask``)."""

    def __init__(self, guard: Any) -> None:
        self.guard, self._rev, self._settings = guard, None, None

    def settings(self) -> Any:
        if self._rev != self.guard.policy.revision:
            from jupyter_guard.kernel.wire_mask import settings_for

            self._rev, self._settings = self.guard.policy.revision, settings_for(self.guard)
        return self._settings


def _mask_streams(rt: ChildRuntime) -> None:
    """``sys.stdout``/``sys.stderr`` masked as the kernel masks printed text (detected values
    and values read from sensitive columns), held text emitted at exit."""
    import atexit

    from jupyter_guard.kernel.streams import SwappedStream

    masker = _Masker(rt.guard)
    streams = [SwappedStream(name, masker) for name in ("stdout", "stderr")
               if getattr(sys, name, None) is not None]
    atexit.register(lambda: [s.drain() for s in streams])
