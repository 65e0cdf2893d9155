"""The runtime layer: one PEP 578 audit hook that decides, at the moment of action, what static
analysis of a cell cannot see (names built from strings, ``getattr``, ``exec`` of decoded text,
threads started earlier, libraries acting for the user).

- ``sys.addaudithook`` cannot be removed. The hook returns at once for events not in ``EVENTS``
  (one dict lookup), and for the guard's own work (a thread-local ``busy`` token that only
  its own frames hold).
- It acts only for *user code*: a frame compiled from a cell is on the stack, or the thread or
  executor work item was started by user code (the mark travels through ``Thread.start``,
  ``ThreadPoolExecutor.submit`` and so ``asyncio.to_thread``/``run_in_executor``). ipykernel's and
  IPython's own work (history, comms, the guard's audit journal) never has a cell frame.
- Each event maps to the same Intents the static analysers emit (``runtime_events``) and goes
  through ``guard.judge``; a refusal is recorded (``kind="runtime"``, ``status="blocked"``) and
  raises ``GuardBlocked`` at the call site.
- ``compile``/``exec`` events also re-arm the guard (``selfprotect``) and re-analyse source text
  that user code compiles (``exec(base64...)``).
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.judge import judge_or_refuse
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks import carried, events, integrity, lazy, state, threads, writers
from jupyter_guard.hooks.frame_walks import FRAME_ATTRS
from jupyter_guard.hooks.own_code import PACKAGE_DIR, SEALED
from jupyter_guard.hooks.state import Busy, _tl
from jupyter_guard.model import Analysis, Intent

log = logging.getLogger("jupyter_guard")


class Runtime:
    """What the hook needs: the guard, the shell, and how to tell a cell's frames."""

    def __init__(self, shell: Any, guard: Guard) -> None:
        self.shell, self.guard = shell, guard
        from jupyter_guard.kernel.cellhook import KernelGuard

        owner = getattr(
            shell.compile.ast_parse, "__self__", None
        )  # set before optional modules load
        self.kg = (
            owner
            if isinstance(owner, KernelGuard)
            else getattr(shell, "_jupyter_guard_kernel", None)
        )
        self.fmap: dict[str, Any] = getattr(shell.compile, "_filename_map", {})
        prefixes = ["<ipython-input-"]
        try:
            from ipykernel.compiler import get_tmp_directory

            prefixes.append(get_tmp_directory() + os.sep)
        except Exception:  # noqa: BLE001 - an older ipykernel: cells are recognised by the <ipython-input- prefix alone
            pass
        self.prefixes = tuple(prefixes)
        self.package_dir = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep
        self.policy_file = os.path.realpath(guard.policy.source) if guard.policy.source else ""
        self.tmp = os.path.realpath(tempfile.gettempdir())
        self.protect: Any = None   # selfprotect.Integrity, set by install

    # -- who is acting ----------------------------------------------------------------------
    def is_cell(self, filename: str) -> bool:
        return filename in self.fmap or filename.startswith(self.prefixes)

    def user_stack(self, frame: FrameType | None) -> bool:
        """User code is acting: the thread is marked, or a cell's frame is on the stack, or the
        frame that runs work user code started (``threads.user_run``: the mark unset by the
        work itself still leaves it), or the thread is a native library's (``native_thread``)."""
        if getattr(_tl, "user", False):
            return True
        is_cell, started = self.is_cell, threads.USER_RUN
        last = frame
        while frame is not None:
            code = frame.f_code
            if code is started or is_cell(code.co_filename):
                return True
            last, frame = frame, frame.f_back
        return native_thread(last)

    def user_caller(self, frame: FrameType | None, skip: tuple[str, ...] = (),
                    _sealed: Any = SEALED) -> bool:
        """The nearest frame outside ``skip`` (paths or module names) is user code itself, not a
        library it called (for raw sockets, ctypes, tracers: the library's own use is fine).
        No frame at all (``frame`` None, with the thread marked): native code called a builtin
        of the user's directly (the hook's ``native``)."""
        if frame is None:
            return bool(getattr(_tl, "user", False))
        while frame is not None:
            fn = frame.f_code.co_filename
            if skip and (
                fn.startswith(skip) or frame.f_globals.get("__name__", "").startswith(skip)
            ):
                frame = frame.f_back
                continue
            if self.is_cell(fn):
                return True
            if fn in _sealed["forged"]:   # a library name the user made code under: the user's, if
                return self.user_stack(frame)   # from a cell or from work it started
            if fn.startswith("<") and not fn.startswith("<frozen"):   # exec'd text: who exec'd it
                return self.user_stack(frame.f_back)
            return False
        return False

    # -- deciding ---------------------------------------------------------------------------
    def decide(self, intents: list[Intent] | tuple[Intent, ...], desc: str) -> None:
        """Judge the intents of one event; record and raise ``GuardBlocked`` if refused."""
        if not intents:
            return
        with Busy():
            if self.protect is not None:
                self.protect.restore_guard()
            try:
                judge_or_refuse(self.guard, Analysis(tuple(intents)), kind="runtime", code=desc)
            except GuardBlocked as e:
                carried.note(e)   # a native library may carry it home inside its own error
                raise

    def adopt_policy(self, old: Any, new: Any) -> None:
        """``guard.reload_policy`` swapped the policy: protect the new one and its file."""
        self.policy_file = os.path.realpath(new.source) if new.source else ""
        if self.protect is not None:
            self.protect.adopt_policy(new)

    def tamper(self, why: str, desc: str, *, refuse: bool = True) -> None:
        """Log a ``guard.tamper`` attempt; raise unless the attempt was only undone (re-armed)."""
        intent = Intent("guard.tamper", "guard", why, source=desc[:200])
        try:
            self.decide([intent], desc)
        except Exception:  # the refusal itself: raised, unless the tampering was already undone
            if refuse:
                raise


_MAIN = threading.main_thread().ident
_BOOTSTRAP = threading.Thread._bootstrap.__code__  # type: ignore[attr-defined]  # CPython's own


def native_thread(outermost: FrameType | None) -> bool:
    """This thread was started neither as Python's main thread nor by ``threading`` (its
    outermost frame, ``outermost``, is not ``Thread._bootstrap``): a native library's worker
    (DuckDB's), which runs Python only when it calls what it was handed (a SQL function, a
    method of an object it scans), the user's; a cell frame is never under it."""
    return (outermost is None or outermost.f_code is not _BOOTSTRAP) and \
        threading.get_ident() != _MAIN


def install(shell: Any, guard: Guard) -> None:
    """Called by ``extension.install_parts`` once the kernel guard is in place. The hook is
    added once per process; a second guard in the same process (test shells) takes it over."""
    with Busy():
        # Once self-protection is set up, never again from user code; a first attempt that failed
        # before that point may be retried by ``extension.install_parts``.
        old = state.current()
        if old is not None and old.protect is not None and old.user_stack(sys._getframe()):
            raise PermissionError("the runtime layer cannot be re-installed from user code")
        rt = old if old is not None else Runtime(shell, guard)
        if rt.guard is not guard:
            rt.__init__(shell, guard)  # type: ignore[misc]  # the hook keeps this object: re-initialised in place
        state.set_current(rt)
        threads.install(rt)
        # pandas' writers and lineage hooks: now if pandas is loaded, else when user code imports it
        lazy.when_imported("pandas", lambda pd: state.as_guard(writers.install, shell, guard, rt))
        rt.protect = integrity.install(shell, guard, rt)
        guard.on_policy(rt.adopt_policy)   # added once: a retried install does not add it again
        if not getattr(sys, "_jupyter_guard_hooked", False):
            sys._jupyter_guard_hooked = True  # type: ignore[attr-defined]  # an attribute the guard sets on a module
            sys.addaudithook(_make_hook(events.handlers(rt), _tl))
        guard.plug(runtime_files=True)   # files, shell and network are decided when they act


def _make_hook(
    handlers: dict[str, Any], tl: threading.local
) -> Callable[[str, tuple[Any, ...]], None]:
    """The hook: everything it needs is in its closure, nothing a module attribute could swap."""
    get = handlers.get
    getframe = sys._getframe
    held = state.held
    frame_attrs = FRAME_ATTRS
    package = PACKAGE_DIR
    gc_on, gc_off, gc_on_again = gc.isenabled, gc.disable, gc.enable

    def hook(event: str, args: tuple[Any, ...]) -> None:
        h = get(event)
        if h is None or (event == "object.__getattr__" and args[1] not in frame_attrs):
            return   # (of the attributes that event names, only frames are judged)
        if event == "sys._getframe" and getattr(tl, "own_read", False):
            return   # the hook reading its own frame, just below (no user code runs there)
        on = gc_on()
        if on:   # no collection (so no ``__del__`` of the user's) while it reads: that one
            gc_off()   # would read this frame too, and pass for the hook's own read
        tl.own_read = True
        try:
            f = getframe(0).f_back
        finally:
            tl.own_read = False
            if on:
                gc_on_again()
        if f is None:   # no Python frame at all: native code runs a callable of the user's
            native(h, args)
            return
        prev = getattr(tl, "framing", False)
        if prev and event == "sys._getframe" and f.f_code.co_filename.startswith(package):
            return   # the guard's own frame reads while the hook judges (``own`` gathering)
        tl.framing = True
        try:
            token = getattr(tl, "busy", None)
            if token is not None and held(token, f):
                return   # the guard's own work (a token only its own frames hold: ``state.held``)
            h(args, f)
        finally:
            tl.framing = prev

    def native(h: Any, args: tuple[Any, ...]) -> None:
        """An event with no Python frame above it: a native library calls a builtin directly
        from a thread of its own (DuckDB's threads running a builtin registered as a function,
        or bound as the method of a user object it scans). The guard never hands a native
        library a bare builtin, so this is the user's code acting: judged as such (the thread
        marked user code for the event, ``Runtime.user_stack``/``user_caller``)."""
        prev = getattr(tl, "user", False)
        tl.user = True
        try:
            h(args, None)
        finally:
            tl.user = prev

    return hook


def current() -> Runtime | None:
    return state.current()
