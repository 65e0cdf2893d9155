"""The kernel's data-aware exits inside a guarded Python child (``child``).

A child that reads sensitive columns from a database file the kernel never opened, then writes
them to a file, a socket or its standard output, would put them there raw: the child's own guard
judges file *actions*, not their contents. So a child installs the kernel's own exits, the same
modules with the same policy, once it may hold such data:

- at the first import of a data library (``child.DATA_LIBS``: DuckDB, the PostgreSQL drivers,
  ``sqlite3``, pandas, pyarrow, polars), before the importing code gets the module back;
- at its first network event (``network``: a connect, a request, a name looked up);
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

from jupyter_guard.hooks import own_code

TYPE_CHECKING = False   # not ``typing``'s: a child that writes plain text does not import it
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType
    from typing import Any

_LIBS = tuple(dict.fromkeys(os.path.realpath(p) + os.sep for p in (
    sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib"))
    if p))

# the child's one runtime, once installed (sealed: ``held_once``; a list was filled from the
# child's own code in place)
_RT_OF, _GIVE_RT = own_code.held_once("the child's runtime")
SEALED = own_code.SEALED


class LazyGuard:
    """The child's decision service (``child_sql._guard``), built when first needed: scanning
    what leaves needs only the policy (the kernel's, from the environment); a refusal, or SQL,
    needs the service (sqlglot, the audit), which a child that writes plain data never loads."""

    def __init__(self, env: Mapping[str, str]) -> None:
        object.__setattr__(self, "_env", env)
        object.__setattr__(self, "_policy", None)

    def _real(self) -> Any:
        from jupyter_guard.hooks.child_sql import _guard

        return _guard(self._env)

    @property
    def policy(self) -> Any:
        from jupyter_guard.hooks.child_sql import guard_of

        made = guard_of()
        if made is not None:
            return made.policy
        if self._policy is None:
            from jupyter_guard.hooks.child import ChildGuard

            object.__setattr__(self, "_policy", ChildGuard(self._env).policy)
        return self._policy

    @property
    def settings(self) -> Any:
        """The guard's settings the exits read before anything is refused (the audit file)."""
        from jupyter_guard.hooks.child_sql import guard_of

        made = guard_of()
        if made is not None:
            return made.settings
        return {"audit": self._env.get("JUPYTER_GUARD_AUDIT", ""),
                "policy": self._env.get("JUPYTER_GUARD_POLICY", "")}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._real(), name, value)


class ChildRuntime:
    """What the kernel's exit modules need of the run-time layer, in a child: its decision
    service (the one ``child_sql`` builds), and who is acting (anything but the guard)."""

    protect: Any = None
    kg: Any = None
    shell: Any = None
    policy_file = ""

    def __init__(self, env: Mapping[str, str]) -> None:
        from jupyter_guard.hooks.child import PACKAGE_DIR

        self.guard = LazyGuard(env)
        self.package_dir = PACKAGE_DIR

    def is_cell(self, filename: str, _sealed: Any = SEALED) -> bool:
        """By name only (a caller with no frame at hand): a guard file's name is not the child's
        here; ``childs`` tells a frame by its code. A library's name the child made code under
        (``own_code.forged``, recorded by ``child_self``) is the child's, as in the kernel."""
        return filename in _sealed["forged"] or \
            not filename.startswith((self.package_dir, *_LIBS, "<frozen"))

    def user_stack(self, frame: FrameType | None) -> bool:
        from jupyter_guard.hooks.child import own_work
        from jupyter_guard.hooks.state import busy

        return not busy() and not own_work(frame)

    def user_caller(self, frame: FrameType | None, skip: tuple[str, ...] = ()) -> bool:
        """The nearest frame outside ``skip`` is the child's own code (its script, ``-c`` text,
        a module of its own), not a library acting for it; with no frame at all, native code
        called the child's callable directly."""
        if frame is None:
            return True
        while frame is not None:
            fn = frame.f_code.co_filename
            if skip and (fn.startswith(skip)
                         or frame.f_globals.get("__name__", "").startswith(skip)):
                frame = frame.f_back
                continue
            return self.childs(frame) and self.user_stack(frame)
        return False

    def childs(self, frame: FrameType) -> bool:
        """``frame`` runs the child's own code: not a library's, and not the guard's, which is
        told by code identity (``child._own``, as ``own_code`` in the kernel): code the child
        compiled under a guard file's name is the child's."""
        if frame.f_code.co_filename.startswith(self.package_dir):
            from jupyter_guard.hooks.child import _own

            return not _own(frame)
        return self.is_cell(frame.f_code.co_filename)

    def decide(self, intents: Any, desc: str) -> None:
        if not intents:
            return
        from jupyter_guard.guard.judge import judge_or_refuse
        from jupyter_guard.hooks.state import Busy
        from jupyter_guard.model import Analysis

        with Busy():
            judge_or_refuse(self.guard._real(), Analysis(tuple(intents)), kind="runtime",
                            code=desc)

    def tamper(self, why: str, desc: str, *, refuse: bool = True) -> None:
        from jupyter_guard.model import Intent

        try:
            self.decide([Intent("guard.tamper", "guard", why, source=desc[:200])], desc)
        except PermissionError:
            if refuse:
                raise


def installed() -> ChildRuntime | None:
    return _RT_OF()   # the sealed holder's one runtime


def install(env: Mapping[str, str]) -> Any:
    """Install the kernel's exits in this child (once); the checked-file exit (``FileExits``).
    Raises if a part cannot be installed: the caller refuses the write or stops the child."""
    from jupyter_guard.hooks import exit_files

    if _RT_OF() is not None:
        return exit_files.FX
    _plain_open()   # the kernel's file exit wraps the real ``open``, not ``child.early_open``
    from jupyter_guard.hooks import df_lineage, lazy, state
    from jupyter_guard.hooks.state import Busy

    with Busy():
        rt = ChildRuntime(env)
        state.set_current(rt)
        fx = exit_files.install(rt, df_lineage.MODULE_PATCHED, df_lineage.PATCHED)
        fx._exports = LightExports(rt)
        _pandas_only_when_loaded(fx)
        # pandas' and polars' writers when the child imports them; the network part at its first
        # network event (``network``: the kernel's handlers import sqlglot)
        lazy.when_imported("pandas", lambda _pd: _or_stop("pandas", _writers, rt))
        lazy.when_imported("polars", lambda m: _or_stop("polars", _polars, rt, m))
        _mask_streams(rt)
        _GIVE_RT(rt)
    _read_before(rt)   # not busy: ``note`` skips the guard's own reads
    return fx


class LightExports:
    """The file exit's export decision (``writers.Exports``) for a child: its mask settings
    built from the policy alone (``writers`` and ``mask.settings`` import sqlglot, numpy and
    pandas, seconds on a loaded machine, for a child that only writes text); the rest (a frame
    being written, views, lineage) from the kernel's ``Exports``, made when first asked for."""

    def __init__(self, rt: ChildRuntime) -> None:
        self.guard, self.rt = rt.guard, rt
        self._rev: Any = None
        self._settings: Any = None
        self._full: Any = None

    def settings(self) -> Any:
        p = self.guard.policy
        if self._settings is None or self._rev != p.revision:
            from jupyter_guard.mask.text import MaskSettings

            self._rev = p.revision
            try:   # as ``writers.Exports.settings``
                self._settings = MaskSettings(columns=p.sensitive_columns or MaskSettings().columns,
                                              detectors=p.detectors or MaskSettings().detectors,
                                              strategy=p.strategy)
            except Exception:  # noqa: BLE001 - settings that cannot be built mean the default masking, never none
                self._settings = MaskSettings()
        return self._settings

    def __getattr__(self, name: str) -> Any:
        if self._full is None:
            from jupyter_guard.hooks.writers import Exports

            self._full = Exports(self.guard, self.rt)
        return getattr(self._full, name)


def _polars(rt: ChildRuntime, mod: Any) -> None:
    from jupyter_guard.hooks import df_lineage, exit_polars

    exit_polars.install(rt, mod, df_lineage.PATCHED)   # also from the network part: marked once


def _writers(rt: ChildRuntime) -> None:
    from jupyter_guard.hooks import writers

    writers.install(None, rt.guard, rt)


# the child's network table, once installed (sealed: ``held_once``)
_NET_OF, _GIVE_NET = own_code.held_once("the child's network table")


def network(env: Mapping[str, str]) -> Any:
    """The kernel's network handlers for this child (``events.handlers``: request lines,
    headers, uploads, connects, DNS names, and the socket exits), installed at the child's first
    network event, on an audit hook of their own that judges every later one; the table, the
    first time only (the caller judges that first event with it), else None."""
    if _NET_OF() is not None:
        return None
    install(env)
    rt = _RT_OF()
    # late: the kernel's event handlers import sqlglot, for a child that reaches the network
    from jupyter_guard.hooks import events
    from jupyter_guard.hooks.child import NET_EVENTS
    from jupyter_guard.hooks.state import Busy

    with Busy():
        table = events.handlers(rt)   # also the socket exits, as in the kernel
    net = _GIVE_NET({k: table[k] for k in NET_EVENTS})
    sys.addaudithook(_hook(net))
    return net


def _read_before(rt: Any) -> None:
    """Database files the child read before its exits were installed are copy sources too."""
    from jupyter_guard.hooks import child, exit_dbcopy

    for path in child.READ:
        exit_dbcopy.note(path)
    child.READ.clear()


def _pandas_only_when_loaded(fx: Any) -> None:
    """A frame pandas is writing exists only once pandas is imported: a child that writes a
    file without it does not import pandas (~0.4-5 s) to look for one."""
    judge = fx._pandas_frame

    def pandas_frame(frame: Any, path: str) -> None:
        if "pandas" in sys.modules:
            judge(frame, path)
    fx._pandas_frame = pandas_frame


def _plain_open() -> None:
    import builtins
    import io

    for mod in (builtins, io):
        orig = getattr(mod.open, "_jg_orig", None)
        if orig is not None:
            mod.open = orig  # type: ignore[attr-defined]  # builtins.open and io.open, put back


def _or_stop(what: str, fn: Any, *args: Any) -> None:
    """A part installed when a library is imported: if it fails, the child stops (an exit left
    unchecked is not an option), except where ``lazy`` retries it, or in another interpreter
    without the guard's libraries that has read no database."""
    from jupyter_guard.hooks.child import DATA_LIBS

    try:
        _busy(fn, *args)
    except Exception as e:  # any failure: the child stops (below), or lazy retries it
        text = str(e)
        if "deadlock detected" in text or "partially initialized module 'jupyter_guard." in text:
            raise   # ``lazy`` runs it again once the imports in progress are done
        if isinstance(e, ImportError) and not any(m in sys.modules for m in DATA_LIBS):
            return
        from jupyter_guard.hooks.child_sql import _stop_unguarded

        _stop_unguarded(what, e)


def _busy(fn: Any, *args: Any) -> None:
    from jupyter_guard.hooks.state import as_guard

    as_guard(fn, *args)   # the guard's own set-up (only if ``fn`` is the guard's)


def _hook(table: dict[str, Any]) -> Any:
    get, getframe = table.get, sys._getframe
    from jupyter_guard.hooks.state import _tl, held

    def hook(event: str, args: tuple[Any, ...]) -> None:
        h = get(event)
        if h is None:
            return
        try:
            f = getframe(1)
        except ValueError:   # no Python frame: native code (DuckDB's threads) runs the child's
            h(args, None)    # own callable, judged (``ChildRuntime.user_stack``/``user_caller``)
            return
        token = getattr(_tl, "busy", None)
        if token is not None and held(token, f):
            return
        h(args, f)
    return hook


class _Masker:
    """The kernel's mask settings for printed text (as ``kernel.wire_mask.settings_for``, from
    the policy and the environment alone: the decision service is not loaded for it). A child
    has no ``%guard unmask``: its output is masked for every role."""

    def __init__(self, rt: ChildRuntime) -> None:
        self.rt = rt
        self._rev: Any = None
        self._settings: Any = None

    def settings(self) -> Any:
        p = self.rt.guard.policy
        if self._settings is None or self._rev != p.revision:
            import hashlib

            from jupyter_guard.mask.text import MaskSettings

            audit = os.environ.get("JUPYTER_GUARD_AUDIT", "")
            salt = os.environ.get("JUPYTER_GUARD_SALT") or hashlib.sha256(
                f"jupyter_guard:{audit}".encode()).hexdigest()[:16]
            self._rev = p.revision
            self._settings = MaskSettings(columns=p.sensitive_columns, detectors=p.detectors,
                                          strategy=p.strategy, per_column=dict(p.per_column),
                                          salt=salt)
        return self._settings


def _mask_streams(rt: ChildRuntime) -> None:
    """``sys.stdout``/``sys.stderr`` masked as the kernel masks printed text (detected values
    and values read from sensitive columns), held text emitted at exit."""
    import atexit

    from jupyter_guard.kernel.streams import SwappedStream

    masker: Any = _Masker(rt)   # what ``kernel.display.Masker`` offers the streams: settings()
    streams = [SwappedStream(name, masker) for name in ("stdout", "stderr")
               if getattr(sys, name, None) is not None]

    def drain() -> None:
        for s in streams:
            s.drain()
    atexit.register(drain)
