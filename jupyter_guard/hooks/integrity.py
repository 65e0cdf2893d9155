"""Self-protection: once loaded, the guard stays on, whatever user code does to it.

Two mechanisms, neither depending on IPython callbacks that user code could clear:
- **refuse**: the audit hook refuses, from user code, patching the guard's classes and functions
  (``object.__setattr__`` events: ``KernelGuard._check = ...``, ``f.__code__ = ...``), restoring
  the pandas/threading methods the guard wraps, ``JUPYTER_GUARD_*`` environment writes
  (``runtime_events``), and writes to the audit, policy and package files (policy rules).
- **re-arm**: when a cell is parsed (the ``compile`` event inside the guard's own parse hook), and
  whenever user code compiles source text, the guard compares what it depends on with a snapshot
  taken at load and puts back whatever changed: ``shell.compile.ast_parse``,
  ``shell.compile``/``shell.events``, its ``pre/post_run_cell`` callbacks, ``sys.modules``
  entries, the globals of its own modules, the guard's settings, policy and methods. Every
  statement's ``compile``/``exec`` checks that the cell parser is still the guard's (two identity
  tests); if it was switched off, the cell that got through the switched-off parse is refused
  before it runs. Every decision user code can reach in the middle of a statement (runtime
  events, SQL sinks, ``%%guarded_sql``, pandas writers) first puts the guard object back
  (``verify_guard``). Every repair is logged as ``guard.tamper``.
The guard's settings are resolved once at load; environment changes afterwards change nothing.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from types import FrameType, FunctionType, MethodType
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks import own_code, sealed_events
from jupyter_guard.hooks.guard_modules import PACKAGE, GuardModules, protected  # noqa: F401 - protected: callers
from jupyter_guard.hooks.snapshots import attrgetter, changed
from jupyter_guard.hooks.state import Busy
from jupyter_guard.model import UNKNOWN

log = logging.getLogger("jupyter_guard")

# The guard's collaborators and identity; ``plugs`` is replaced by parts installed after this one.
# Its methods live on the class (patching a class is refused); any attribute added to the object
# (a method shadowed by ``guard.judge = ...``) is removed again (``verify_guard``).
GUARD_ATTRS = ("policy", "user", "groups", "actor", "session_id", "audit", "cell", "_listeners",
               "_policy_listeners")
LATE_ATTRS = ("plugs",)  # set after this one
SHELL_METHODS = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                 "transform_ast", "should_run_async", "system", "getoutput")


class Integrity:
    def __init__(self, shell: Any, guard: Any, rt: Any) -> None:
        self.shell, self.guard, self.rt = shell, guard, rt
        self.kg = rt.kg
        self.pending = ""                      # why the next cell must be refused
        self.shell_thread = threading.get_ident()   # the thread that loads the guard runs the cells
        self.compiler = shell.compile
        self.events = shell.events
        self.parse = shell.compile.ast_parse
        self.kg_attrs = (
            {k: getattr(self.kg, k) for k in ("_orig_parse", "guard", "shell")} if self.kg else {}
        )
        self.own = GuardModules(rt.package_dir)   # its modules and their globals
        self.attrs = {k: getattr(guard, k) for k in GUARD_ATTRS}
        self.fields = len(vars(guard))   # the declared fields: nothing else is set on it
        self.settings = dict(guard.settings)
        self.policy_fields = _fields(guard.policy)
        # the same snapshots read in one C call each (``verify_guard`` runs before every decision)
        self._policy = guard.policy
        self._policy_get = attrgetter(tuple(n for n, _ in self.policy_fields))
        self._policy_vals = tuple(v for _, v in self.policy_fields)
        self._attrs_get = attrgetter(tuple(self.attrs))
        self._attrs_vals = tuple(self.attrs.values())
        self.late: dict[str, Any] | None = None
        self.callbacks: dict[str, list[Any]] | None = None
        self.shell_own = {k for k in SHELL_METHODS if k in vars(shell)}

    def seal(self) -> None:
        """Snapshot what modules installed after this one set up (called once loading is done)."""
        self.own.take()   # again: the parts installed after this one set globals
        self.late = {k: getattr(self.guard, k, None) for k in LATE_ATTRS}
        names = tuple(self.attrs) + tuple(self.late)
        self._attrs_get = attrgetter(names)
        self._attrs_vals = tuple(self.attrs.values()) + tuple(self.late.values())
        self.callbacks = {ev: [cb for cb in cbs if _ours(cb)]
                          for ev, cbs in list(self.events.callbacks.items())}

    def adopt_policy(self, policy: Any) -> None:
        """A policy the guard reloaded from its own file becomes the one to keep."""
        self.attrs["policy"] = policy
        self.policy_fields = _fields(policy)
        self._policy = policy
        self._policy_get = attrgetter(tuple(n for n, _ in self.policy_fields))
        self._policy_vals = tuple(v for _, v in self.policy_fields)
        self._attrs_vals = tuple(self.attrs.values()) + tuple((self.late or {}).values())

    # -- checks -----------------------------------------------------------------------------
    def verify_guard(self) -> list[str]:
        """The guard object: cheap enough to run before every decision (~1 us when nothing
        changed: the snapshots are compared by identity in C)."""
        g = self.guard
        try:
            same = (len(g.__dict__) == self.fields
                    and not changed(g, self._attrs_get, self._attrs_vals)
                    and g.settings == self.settings and g.policy is self._policy
                    and not changed(g.policy, self._policy_get, self._policy_vals))
        except Exception:  # noqa: BLE001 - a comparison that fails counts as changed: the guard is repaired
            same = False
        return [] if same else self._repair_guard()

    def restore_guard(self) -> None:
        """``verify_guard`` before a decision; what it had to put back is logged as tampering."""
        fixed = self.verify_guard()
        if fixed:
            self.rt.tamper("the guard was changed and has been restored: " + ", ".join(fixed[:6]),
                           "restore " + ", ".join(fixed[:6]), refuse=False)

    def _repair_guard(self) -> list[str]:
        g, fixed = self.guard, []
        declared = {f.name for f in dataclasses.fields(g)}
        for k in [k for k in vars(g) if k not in declared]:   # added: shadows a method
            delattr(g, k)
            fixed.append(f"guard.{k}")
        for k, v in self.attrs.items():
            if getattr(g, k, None) is not v:
                setattr(g, k, v)
                fixed.append(f"guard.{k}")
        if g.settings != self.settings:
            g.settings.clear()
            g.settings.update(self.settings)
            fixed.append("guard.settings")
        moved = [(name, v) for name, v in self.policy_fields
                 if getattr(g.policy, name, UNKNOWN) is not v]
        for name, v in moved:
            object.__setattr__(g.policy, name, v)
        if moved:
            fixed.append("guard.policy")
        if self.late is not None:
            for k, v in self.late.items():
                if getattr(g, k, None) is not v:
                    setattr(g, k, v)
                    fixed.append(f"guard.{k}")
        return fixed

    def check(self) -> list[str]:
        """Everything else: the shell's hooks, modules, globals. Returns what was put back."""
        shell, kg, fixed = self.shell, self.kg, self.verify_guard()
        if shell.compile is not self.compiler:
            shell.compile = self.compiler
            fixed.append("shell.compile")
        if vars(self.compiler).get("ast_parse") is not self.parse:
            self.compiler.ast_parse = self.parse
            fixed.append("shell.compile.ast_parse")
        if shell.events is not self.events:
            shell.events = self.events
            fixed.append("shell.events")
        for ev, cbs in (self.callbacks or {}).items():
            have = self.events.callbacks.setdefault(ev, [])
            for cb in cbs:
                if cb not in have:
                    have.append(cb)
                    fixed.append(f"{ev} callback")
        for k in SHELL_METHODS:
            if k in vars(shell) and k not in self.shell_own:
                delattr(shell, k)
                fixed.append(f"shell.{k}")
        if kg is not None:
            for k, v in self.kg_attrs.items():
                if getattr(kg, k) is not v:
                    setattr(kg, k, v)
                    fixed.append(f"kernel guard {k}")
            if not kg.installed:
                kg.installed = True
                fixed.append("kernel guard switched off")
            if getattr(shell, "_jupyter_guard_kernel", None) is not kg:
                shell._jupyter_guard_kernel = kg
                fixed.append("shell._jupyter_guard_kernel")
        own = self.own
        own.adopt_new()
        fixed += own.restore_modules()
        if kg is not None and getattr(own.modules.get(PACKAGE), "_kernel_guard", None) is not kg:
            own.modules[PACKAGE]._kernel_guard = kg
        fixed += own.restore_globals()
        for (cls, attr), fn in list(_patched().items()):
            if cls.__dict__.get(attr) is not fn:
                type.__setattr__(cls, attr, fn)
                fixed.append(f"{cls.__name__}.{attr}")
        from jupyter_guard.hooks import c_types

        fixed += c_types.rearm()
        from jupyter_guard.hooks import lazy
        from jupyter_guard.hooks.df_lineage import MODULE_PATCHED

        lazy.ensure()  # set-up waiting for pandas/duckdb imports stays in front of sys.meta_path
        lazy.catch_up()  # set-up deferred by an import another thread held (``lazy._call``)
        for name, mod in list(lazy._OWN.items()):   # the guard's modules imported after load
            if sys.modules.get(name) is not mod:
                sys.modules[name] = mod
                fixed.append(f"sys.modules[{name!r}]")

        for (mod, attr), fn in list(MODULE_PATCHED.items()):
            if getattr(mod, attr, None) is not fn:
                setattr(mod, attr, fn)
                fixed.append(f"{mod.__name__}.{attr}")
        from jupyter_guard.connections.dbapi_proxy import PATCHED as DRIVERS  # DB-API connect()s

        for (owner, attr), fn in DRIVERS.items():
            now = owner.__dict__.get(attr) if isinstance(owner, type) else \
                getattr(owner, attr, None)
            if now is not fn:
                setattr(owner, attr, fn)
                fixed.append(f"{owner.__name__}.{attr}")
        return fixed

    def parser_intact(self) -> bool:
        """The cell parser is still the guard's (checked at every statement: ~0.2 us)."""
        return (self.shell.compile is self.compiler
                and vars(self.compiler).get("ast_parse") is self.parse)

    def rearm(self) -> None:
        with Busy():
            fixed = self.check()
        if fixed:
            if any(k.startswith(("shell.compile", "shell.run", "shell.transform", "kernel guard",
                                 "shell.should")) for k in fixed):
                self.pending = ", ".join(fixed[:4])
            self.rt.tamper("the guard was changed and has been re-armed: " + ", ".join(fixed[:6]),
                           "re-arm " + ", ".join(fixed[:6]), refuse=False)

    # -- audit events -----------------------------------------------------------------------
    def handlers(self) -> dict[str, Any]:
        rt = self.rt

        parse_code = type(self.kg).ast_parse.__code__ if self.kg is not None else None
        borrowed = sealed_events.borrowed(rt)   # what it calls taken now, not from a name later

        def on_compile(args: tuple[Any, ...], f: FrameType) -> None:
            source, filename = args[0], args[1]
            named(source, filename, "compile", f)
            borrowed(source, filename, f)
            kg = self.kg
            if not isinstance(source, (str, bytes)):
                # IPython compiles a cell statement by statement (ASTs): the parser check only
                if not self.parser_intact():
                    self.rearm()
                if kg is not None and kg._depth and threading.get_ident() == self.shell_thread:
                    kg._depth = 0   # a statement compiled while the parse hook never finished
                    self.pending = "the cell hook was switched off"
                if self.pending and rt.is_cell(str(filename)):
                    self.refuse_pending()
                return
            # Source text: the guard's parse of a cell (re-armed before the cell is judged), or
            # text that user code compiles (re-armed, then decided like a cell). Text compiled by
            # IPython and libraries on their own (imports, ``should_run_async``) decides nothing.
            parsing = kg is not None and _inside(f, parse_code, 3)
            user = not parsing and not rt.is_cell(str(filename)) and rt.user_caller(f)
            if parsing or user or not self.parser_intact():
                self.rearm()
            if user:
                self.dynamic(source, str(filename))

        def named(source: Any, filename: Any, how: str, f: FrameType) -> None:
            """Code user code makes under a guard file's name would pass for the guard's own
            (``own_code``, the ``busy`` token): refused. An import compiling the file's own
            text (no cached bytecode) is the import system's."""
            if not isinstance(filename, str) or not filename.startswith(own_code.PACKAGE_DIR) \
                    or own_code.own(f.f_code):
                return
            if f.f_code.co_filename.startswith("<frozen") and \
                    sealed_events.source_of(filename) == source:
                return
            if rt.user_stack(f) or rt.user_caller(f):
                rt.tamper(f"makes code under the guard's own file name ({how})",
                          f"{how}({filename[:150]!r})")

        def on_code_new(args: tuple[Any, ...], f: FrameType) -> None:   # CodeType(), .replace
            if len(args) > 1:
                named(None, args[1], "code.replace", f)
                borrowed(None, args[1], f)

        def on_exec(args: tuple[Any, ...], f: FrameType) -> None:
            code = args[0]
            if not self.parser_intact():
                self.rearm()
            if self.pending and rt.is_cell(getattr(code, "co_filename", "")):
                self.refuse_pending()

        def on_setattr(args: tuple[Any, ...], f: FrameType) -> None:
            obj, name = args[0], str(args[1])
            if isinstance(obj, type):
                hit = (
                    str(obj.__dict__.get("__module__", "")).startswith("jupyter_guard")
                    or (obj, name) in _patched()
                )
            elif isinstance(obj, (FunctionType, MethodType)):   # by its globals too (a cell
                # sets ``__module__`` freely, then ``__defaults__``; ``__globals__`` is fixed)
                home = getattr(getattr(obj, "__func__", obj), "__globals__", {}).get("__name__")
                hit = any(str(n or "").startswith("jupyter_guard") for n in (
                    getattr(obj, "__module__", ""), home)) \
                    or obj in _patched().values() or obj in _routed()
            else:
                hit = False
            if hit and rt.user_stack(f):
                rt.tamper(f"changes the guard's code ({getattr(obj, '__qualname__', obj)}.{name})",
                          f"setattr({getattr(obj, '__qualname__', obj)}, {name!r})")

        return {"compile": on_compile, "exec": on_exec, "object.__setattr__": on_setattr,
                "code.__new__": on_code_new, **sealed_events.handlers(rt)}

    def refuse_pending(self) -> None:
        why, self.pending = self.pending, ""
        raise GuardBlocked(
            "self-protection",
            f"the guard was switched off in an earlier cell ({why}); "
            "it is back on and this cell did not run. Run it again",
            approval_hint=False,
        )

    def dynamic(self, source: str | bytes, filename: str) -> None:
        """Source text user code compiles (``exec(base64...)``): decided like a cell. Intents whose
        target is only known at run time are left to the events they raise."""
        text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
        with Busy():
            a = self.guard.python_analysis(text)
        keep = [i for i in a.intents if i.action != "code.dynamic" and not (
            UNKNOWN in i.target and i.action.startswith(("file.", "shell.", "net.", "df.")))]
        self.rt.decide(keep, f"dynamic code ({filename}): {text[:200]}")


def _inside(frame: FrameType | None, code: Any, depth: int = 1 << 30) -> bool:
    """Whether ``code`` runs in ``frame`` or one of its ``depth`` nearest callers."""
    while frame is not None and depth >= 0:
        if frame.f_code is code:
            return True
        frame = frame.f_back
        depth -= 1
    return False


def _ours(cb: Any) -> bool:
    return (getattr(cb, "__module__", "") or "").startswith("jupyter_guard")


def _fields(p: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((f.name, getattr(p, f.name)) for f in dataclasses.fields(p))


def _patched() -> dict[tuple[type, str], Any]:
    from jupyter_guard.hooks import df_lineage, writers  # noqa: F401 - writers fills PATCHED
    from jupyter_guard.hooks import threads as runtime_threads

    return {**runtime_threads.PATCHED, **df_lineage.PATCHED}


def _routed() -> Any:
    """Driver functions routed to the guard in place (``connections.driver_methods``): their
    code is not to be set (a read of ``__code__`` is an audit event too, so it is not compared
    before every cell)."""
    mod = sys.modules.get("jupyter_guard.connections.driver_methods")
    return mod.FUNCTIONS if mod is not None else ()


# The guard's modules the audit's background thread would first import on its first ingest:
# imported here, before the first cell (about 10 ms), so no cell runs while one is half imported
# (a function swapped in a module still being imported would be snapshotted as the original).
AUDIT_THREAD_MODULES = ("jupyter_guard.record.append", "jupyter_guard.record.health",
                        "jupyter_guard.record.segments")


def install(shell: Any, guard: Any, rt: Any) -> Integrity:
    import importlib

    from jupyter_guard.hooks import lazy

    for name in AUDIT_THREAD_MODULES:
        importlib.import_module(name)
    lazy.watch_own()   # a guard module imported from now on is snapshotted as its import left it
    return Integrity(shell, guard, rt)
