"""Guard work that needs a heavy library runs when that library is first imported, not at load.

``when_imported("pandas", install)`` runs ``install(module)`` now if pandas is loaded, else right
after ``import pandas`` finishes executing, before the importing code gets the module back: a
finder at the front of ``sys.meta_path`` wraps pandas' loader. User code that takes the finder
out of ``sys.meta_path`` does not escape it: the runtime audit hook puts it back at the
``import`` event that precedes every import (``ensure``).
"""
from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

Callback = Callable[[ModuleType], None]

_WAITING: dict[str, list[Callback]] = {}
_LOCK = threading.RLock()
OWN_PREFIX = "jupyter_guard."
_WATCH_OWN = False
IMPORTED: dict[str, dict[str, Any]] = {}
"""The globals of each guard module imported after ``watch_own()``, as its import left them: the
re-arm protects those, not whatever the module holds when the re-arm first sees it (a module
imported by a background thread could be changed by a cell in between)."""


class _Loader:
    """The real loader, plus the callbacks once the module has executed."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader, self._name = loader, name

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader   # the module sees its own loader, as without us
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        if self._name.startswith(OWN_PREFIX):
            _own_imported(self._name, module)
        _fire(self._name, module)
        if _CIRCULAR and self._name.startswith(OWN_PREFIX) and not _own_initializing():
            _CIRCULAR.clear()   # the guard module a set-up needed is whole now: run it
            catch_up()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class AfterImport:
    """Finds nothing itself: wraps the loader the other finders find for a waited-for module.
    A meta path finder by its ``find_spec`` alone: ``importlib.abc`` (with ``importlib.resources``,
    ``pathlib``, ``tempfile``) is not loaded for it in a guarded child."""

    def invalidate_caches(self) -> None:
        """Nothing cached (``importlib.invalidate_caches`` calls it)."""

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: Any = None) -> Any:
        if name not in _WAITING and not (_WATCH_OWN and name.startswith(OWN_PREFIX)):
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or isinstance(finder, AfterImport) or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, name)
                return spec
        return None


FINDER = AfterImport()


def _fire(name: str, module: ModuleType) -> None:
    with _LOCK:
        callbacks = _WAITING.pop(name, [])
    for cb in callbacks:
        _call(cb, module)


def _call(cb: Callback, module: ModuleType) -> None:
    try:
        cb(module)
    except Exception as e:  # noqa: BLE001 - the guard never breaks the user's import; say what is missing
        if "deadlock detected" in str(e):
            # another thread holds a module the set-up imports, and waits for this import: run
            # the set-up again as soon as both imports are done (and ``catch_up`` before the
            # next cell, whichever comes first; ``_fire`` runs it once)
            with _LOCK:
                _WAITING.setdefault(module.__name__, []).append(cb)
            threading.Thread(target=_retry, args=(module,), name="jupyter_guard-setup",
                             daemon=True).start()
            _log().info("jupyter_guard: set-up for %s deferred (%s)", module.__name__, e)
            return
        if isinstance(e, ImportError) and "partially initialized module 'jupyter_guard." in str(e):
            # the library was imported by a guard module's own import (``mask.settings`` imports
            # pandas): the set-up runs the moment that guard module's import finishes
            with _LOCK:
                _WAITING.setdefault(module.__name__, []).append(cb)
                _CIRCULAR.add(module.__name__)
            _log().info("jupyter_guard: set-up for %s deferred (%s)", module.__name__, e)
            return
        _log().error("jupyter_guard: setting up for %s failed: %s", module.__name__, e)
        print(f"jupyter_guard: could not set up for {module.__name__} ({e})", file=sys.stderr)


def _log() -> Any:
    import logging  # (stdlib) only when a set-up waits or fails: a guarded child need not load it

    return logging.getLogger("jupyter_guard")


def _retry(module: ModuleType, limit: float = 30.0) -> None:
    """Run the set-up deferred for ``module`` once no import of it or of the guard's own modules
    is still in progress (at most ``limit`` seconds; ``catch_up`` before the next cell is the
    backstop)."""
    import time

    end = time.monotonic() + limit
    while time.monotonic() < end:
        busy = [m for n, m in list(sys.modules.items())
                if (n == module.__name__ or n.startswith(OWN_PREFIX)) and _initializing(m)]
        if not busy:
            break
        time.sleep(0.01)
    catch_up()


def when_imported(name: str, callback: Callback) -> None:
    """``callback(module)`` now if ``name`` is imported, else as soon as its import completes."""
    module = sys.modules.get(name)
    if module is not None:
        _call(callback, module)
        return
    with _LOCK:
        _WAITING.setdefault(name, []).append(callback)
    ensure()


_CIRCULAR: set[str] = set()
"""Libraries whose set-up waits for a guard module that was mid-import when they were imported."""


def _own_initializing() -> bool:
    return any(n.startswith(OWN_PREFIX) and _initializing(m) for n, m in list(sys.modules.items()))


def _initializing(module: ModuleType | None) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def waiting(name: str) -> bool:
    return name in _WAITING


def watch_own() -> None:
    """From now on, every guard module's globals are recorded the moment its import finishes
    (``IMPORTED``), and the module is one of the guard's own (``_OWN``)."""
    global _WATCH_OWN
    _WATCH_OWN = True
    ensure()


def _own_imported(name: str, module: ModuleType) -> None:
    with _LOCK:
        IMPORTED.setdefault(name, {k: v for k, v in vars(module).items()
                                   if k not in IMPORT_METADATA})
        _OWN.setdefault(name, module)


IMPORT_METADATA = frozenset({"__name__", "__doc__", "__package__", "__loader__", "__spec__",
                             "__file__", "__cached__", "__builtins__", "__path__",
                             "annotations"})
"""Set by the import system, not by the module's code: never protected."""


def ensure() -> None:
    """Put the finder back in front of ``sys.meta_path`` if anything took it out or moved it."""
    if (_WAITING or _WATCH_OWN) and (not sys.meta_path or sys.meta_path[0] is not FINDER):
        with _LOCK:
            while FINDER in sys.meta_path:
                sys.meta_path.remove(FINDER)
            sys.meta_path.insert(0, FINDER)


def catch_up() -> None:
    """Run what still waits for a module that is imported by now (a safety net for imports
    that went around the finder)."""
    for name in list(_WAITING):
        module = sys.modules.get(name)
        if module is not None and not _initializing(module):
            _fire(name, module)


_OWN: dict[str, ModuleType] = {}
"""The guard's own modules imported after load (``import_own``); the re-arm keeps them in
``sys.modules``."""


def trust_loaded(names: Sequence[str]) -> None:
    """At load: modules of ``names`` already imported then are the guard's own (as the re-arm's
    load snapshot takes them)."""
    for name in names:
        if name in sys.modules:
            _OWN.setdefault(name, sys.modules[name])


def _genuine(module: Any) -> bool:
    """A module loaded from this package's own files (when another thread is still importing
    it, taking it out of ``sys.modules`` would break that import)."""
    import os

    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep
    return isinstance(origin, str) and os.path.realpath(origin).startswith(here)


def import_own(name: str) -> ModuleType:
    """Import one of the guard's own modules for set-up after load. An entry that user code put
    in ``sys.modules`` under that name before the guard imported it is discarded, not used."""
    mod = _OWN.get(name)
    if mod is None:
        pending = sys.modules.get(name)
        if not (_genuine(pending) and _initializing(pending)):   # not mid-import elsewhere
            sys.modules.pop(name, None)
        mod = importlib.import_module(name)   # waits for another thread's import of it
        _OWN.setdefault(name, mod)
        mod = _OWN[name]
    sys.modules[name] = mod
    return mod
