"""User code reading the guard's live frames (self-protection).

A callback of the user's runs while the guard's frames are on the stack: a DuckDB function, a
parameter's ``__str__``/``__index__``/``__iter__``, a scanned object's method, a row factory, a
``sqlite3`` authorizer or trace callback, a logging handler, a ``__del__`` the collector runs,
a thread looking at the main thread. The guard's frames hold the driver's connection (and the
guard's own state) in their locals; from a frame, ``f_back``, ``f_locals`` and ``f_globals``
are read with no audit event at all. So the guard refuses where user code *gets* a frame, all
of which CPython audits: ``sys._getframe`` (``inspect.currentframe``/``stack``,
``traceback.walk_stack``), ``sys._current_frames``, a traceback's ``tb_frame`` and a generator's
or coroutine's ``gi_frame``/``cr_frame``/``ag_frame`` (``object.__getattr__``). A frame whose
way back (``f_back``) passes a live frame of the guard's is refused to user code, also through
a library that hands frames on (``inspect.stack``, pandas' ``eval``, ``pdb.set_trace``), and
a generator's frame of the guard's own code is refused outright.

A frame is handed to user code unless the nearest frame that is not a library's is the
guard's (the guard calling a library), or the library only reads frames for file names and
line numbers and keeps none (``CONSUMERS``: logging's ``findCaller``, pandas'
``find_stack_level``, ``traceback``'s stack and traceback summaries). The guard's frames in a
traceback that have returned are cleared when read (``sealed_events.on_getattr``), those still
running refuse the read.
"""
from __future__ import annotations

import sys
import threading
from types import CodeType, FrameType
from typing import Any

from jupyter_guard.hooks import own_code
from jupyter_guard.hooks.own_code import PACKAGE

# (file, qualified name) of library functions that take a frame, read code names and line
# numbers from it and its callers, and hand no frame on (the honest uses of frames inside a
# guarded call: a UDF that logs or warns, or prints a traceback it caught)
CONSUMERS = frozenset({
    ("logging/__init__.py", "Logger.findCaller"),
    ("pandas/util/_exceptions.py", "find_stack_level"),
    # pandas' chained-assignment checks: the caller's opcode, and whether it names the frame
    ("pandas/core/common.py", "is_local_in_caller_frame"),
    ("pandas/core/common.py", "is_setitem_syntax_in_caller_frame"),
    ("traceback.py", "extract_stack"), ("traceback.py", "format_stack"),
    ("traceback.py", "print_stack"),
    ("traceback.py", "StackSummary._extract_from_extended_frame_gen"),
    ("asyncio/coroutines.py", "_format_coroutine"),
    # the standard library naming what it makes after its caller's module, or warning
    ("collections/__init__.py", "namedtuple"), ("typing.py", "_caller"),
    # typing_extensions: its own ``_caller``, and whether ``Generic[...]`` is being made (a
    # module-level ``Generic[...]`` of a library the guard's work imports: SQLAlchemy's)
    ("typing_extensions.py", "_caller"),
    ("typing_extensions.py", "_has_generic_or_protocol_as_origin"),
    ("enum.py", "EnumType._create_"), ("subprocess.py", "_text_encoding"),
    ("warnings.py", "warn"),
})
# library functions that only pass a frame on to their caller: judged by who that is
PLUMBING = frozenset({
    ("logging/__init__.py", "<lambda>"), ("inspect.py", "currentframe"),
    ("traceback.py", "walk_stack"), ("traceback.py", "walk_tb"),
    ("traceback.py", "_walk_tb_with_full_positions"),
    ("traceback.py", "StackSummary.extract.<locals>.extended_frame_gen"),
})
FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_GENERATOR = 0x3A0   # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE


def _named(code: CodeType, table: frozenset[tuple[str, str]], libraries: tuple[str, ...],
           forged: frozenset[str]) -> bool:
    """``code`` is one of ``table``'s functions, in an installed library's own file."""
    fn = code.co_filename
    if not fn.startswith(libraries) or fn in forged:
        return False
    name = getattr(code, "co_qualname", code.co_name)
    return any(fn.endswith("/" + f) and name == q for f, q in table)


class Walks:
    """The checks, with what they use taken now (a cell that rebinds a module's name later
    changes nothing here)."""

    def __init__(self, rt: Any) -> None:
        # late: ``threads`` imports ``sealed_events``, which imports this module
        from jupyter_guard.hooks import threads

        self.rt = rt
        self.package, self.libraries = own_code.PACKAGE_DIR, own_code.LIBRARIES
        self.sealed, self.own = own_code.SEALED, own_code.own
        # the frames at the bottom of a thread user code started: they hold only its work
        self.harmless = frozenset(own_code.codes_of(threads))
        self.inside = threading.local()   # .on: a check runs (what it calls is the guard's)
        # the guard's modules' dicts, by id: a frame's ``f_globals`` is read with no audit event
        # (its ``f_code`` raises one, ~1 µs a frame); only added to, so a module swapped in
        # ``sys.modules`` later does not take the real one's place
        self.dicts: frozenset[int] = frozenset()
        self.seen = -1
        self.thread_dict = id(vars(threads))

    def guards(self, f: FrameType | None) -> bool:
        """``f`` runs a file of the guard's (while a check runs: the check's own frame reads;
        a ``__del__`` of the user's that a collection runs meanwhile is judged as usual)."""
        return f is not None and id(f.f_globals) in self.dicts and \
            f.f_code.co_filename.startswith(self.package)

    def mine(self, f: FrameType | None) -> bool:
        """``f`` is the guard's own code (its globals first: no audit event for most frames)."""
        return f is not None and id(f.f_globals) in self.guard_dicts() and self.own(f.f_code)

    def guard_dicts(self) -> frozenset[int]:
        """The ids of the guard's modules' dicts (again when ``sys.modules`` grew)."""
        if len(sys.modules) != self.seen:
            self.seen = len(sys.modules)
            self.dicts = self.dicts | frozenset(
                id(vars(m)) for n, m in list(sys.modules.items())
                if (n == PACKAGE or n.startswith(PACKAGE + ".")) and hasattr(m, "__dict__")
            ) - {self.thread_dict}   # (the bottom of a user thread: only its own work)
        return self.dicts

    def guard_under(self, frame: FrameType | None) -> bool:
        """A frame of the guard's is ``frame`` or on its way back (told by its globals: a
        frame of code the guard runs with the user's globals, DuckDB's replacement-scan call,
        is always above one of the guard's own)."""
        dicts = self.guard_dicts()
        while frame is not None:
            if id(frame.f_globals) in dicts:
                return True
            frame = frame.f_back
        return False

    def user_takes(self, f: FrameType | None) -> bool:
        """The nearest frame from ``f`` that is no library's is user code (a cell, text it
        exec'd, a module of its own), not the guard calling a library; or no frame at all (a
        native thread calling a builtin of the user's)."""
        if f is None:
            return True
        package, libraries, forged = self.package, self.libraries, self.sealed["forged"]
        while f is not None:
            fn = f.f_code.co_filename
            if fn.startswith(package):
                return False
            if not fn.startswith(libraries) or fn in forged:
                return True
            f = f.f_back
        return False

    def consumed(self, f: FrameType | None) -> bool:
        """The frame goes to a library function that keeps no frame (``CONSUMERS``), through
        functions that only pass it on (``PLUMBING``)."""
        libraries, forged = self.libraries, self.sealed["forged"]
        while f is not None and _named(f.f_code, PLUMBING, libraries, forged):
            f = f.f_back
        return f is not None and _named(f.f_code, CONSUMERS, libraries, forged)

    def refuse(self, how: str, f: FrameType | None) -> None:
        why = f"reads the guard's live frames ({how})"
        self.rt.tamper(why, why)

    def check(self, frame: FrameType | None, f: FrameType | None, how: str) -> None:
        """``frame`` is handed to the code at ``f``: refused when its way back passes the
        guard's live frames and user code takes it."""
        inside = self.inside
        if getattr(inside, "on", False) and self.guards(f):
            return
        # (``own`` may gather a late module, reading frames itself)
        prev, inside.on = getattr(inside, "on", False), True
        try:
            take = not self.mine(f) and self.guard_under(frame) and self.user_takes(f) \
                and not self.consumed(f)
        finally:
            inside.on = prev
        if take:
            self.refuse(how, f)

    def live_in_traceback(self, frame: FrameType | None) -> bool:
        """Clear the guard's frames on ``frame``'s way back that have returned (their locals
        held the driver's connection); whether one is still running."""
        package, harmless, live = self.package, self.harmless, False
        while frame is not None:
            code = frame.f_code
            if code.co_filename.startswith(package) and id(code) not in harmless:
                if code.co_flags & _GENERATOR:
                    live = True   # (clearing a suspended one would close it)
                else:
                    try:
                        frame.clear()
                    except RuntimeError:   # still running
                        live = True
            frame = frame.f_back
        return live

    def on_frame_attr(self, obj: Any, attr: str, frame: FrameType | None,
                      f: FrameType | None) -> None:
        """A traceback's, generator's or coroutine's frame read (``object.__getattr__``)."""
        inside = self.inside
        if frame is None or (getattr(inside, "on", False) and self.guards(f)):
            return
        prev, inside.on = getattr(inside, "on", False), True
        try:
            mine = self.mine(f)
        finally:
            inside.on = prev
        if mine:
            return
        if attr == "tb_frame":
            if self.live_in_traceback(frame) and self.user_takes(f) and not self.consumed(f):
                self.refuse("a traceback's frame", f)
            return
        code = frame.f_code
        if code.co_filename.startswith(self.package) and id(code) not in self.harmless:
            if self.user_takes(f):
                self.refuse(f"the frame of a generator of the guard's ({attr})", f)
            return
        self.check(frame.f_back, f, attr)

    def handlers(self) -> dict[str, Any]:
        current = sys._current_frames

        def on_getframe(args: tuple[Any, ...], f: FrameType) -> None:
            self.check(args[0] if args else None, f, "sys._getframe")

        def on_current_frames(args: tuple[Any, ...], f: FrameType) -> None:
            inside = self.inside
            if getattr(inside, "on", False) and self.guards(f):
                return
            prev, inside.on = getattr(inside, "on", False), True
            try:
                take = not self.mine(f) and self.user_takes(f) and \
                    any(self.guard_under(fr) for fr in list(current().values()))
            finally:
                inside.on = prev
            if take:
                self.refuse("sys._current_frames", f)

        return {"sys._getframe": on_getframe, "sys._current_frames": on_current_frames}
