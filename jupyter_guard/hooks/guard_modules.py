"""The guard's own modules and their globals, snapshotted and put back (self-protection).

Every module of the package is protected by its name, not by a list: the modules themselves
(``sys.modules``) and their globals, snapshotted when loading ends (``Integrity.seal``), so a
module added or moved anywhere under ``jupyter_guard`` is covered without a list to keep up to
date. A module the guard imports later is protected as its import left it (``hooks/lazy.py``).
The globals are compared by identity, and only for a module whose dict changed since it last
compared clean (``hooks/snapshots.py``).
"""
from __future__ import annotations

import os
import sys
from itertools import chain
from typing import Any

from jupyter_guard.hooks import own_code
from jupyter_guard.hooks.lazy import IMPORT_METADATA
from jupyter_guard.hooks.snapshots import Versions, changed, getter, globals_changed
from jupyter_guard.model import UNKNOWN

PACKAGE = "jupyter_guard"


def protected(name: str) -> bool:
    """Whether module ``name`` belongs to the guard (and so is snapshotted and put back)."""
    return name == PACKAGE or name.startswith(PACKAGE + ".")


class GuardModules:
    """The snapshot, taken now (``take`` again once loading ends)."""

    def __init__(self, package_dir: str) -> None:
        self.package_dir = package_dir   # where the package's own files are (resolved)
        self.take()

    def take(self) -> None:
        """The guard's modules and their globals, as they are now."""
        self._seen = len(sys.modules)
        self.globals: dict[str, dict[str, Any]] = {}
        self._protect({n: m for n, m in list(sys.modules.items())   # copied: threads import
                       if protected(n)})

    def _protect(self, modules: dict[str, Any]) -> None:
        """Protect ``modules``; a module already snapshotted keeps its snapshot."""
        self.modules = modules
        self.globals = {n: self.globals.get(n) or _own_globals(m) for n, m in modules.items()}
        own_code.admit(self.globals.items())   # the code ``state.Busy`` accepts, as loaded
        # the same snapshots as tuples, compared by identity in C (``snapshots.changed``)
        self._module_keys, self._module_vals = tuple(self.modules), tuple(self.modules.values())
        self._names = tuple(self.globals)
        self._dicts = tuple(vars(self.modules[n]) for n in self._names)
        self._getters = tuple(getter(tuple(snap)) for snap in self.globals.values())
        self._snap_vals = tuple(tuple(snap.values()) for snap in self.globals.values())
        self._values = tuple(chain.from_iterable(self._snap_vals))
        # a module's globals are compared only when its dict changed since it last compared clean
        self._versions = Versions.make(self._dicts)
        self._clean = [-1] * len(self._dicts)   # the dict's version when it last compared clean

    def adopt_new(self) -> None:
        """The guard's modules imported since the last check (set-up that waited for pandas, the
        audit's own thread): protected from now on, as they were when their import finished.
        Only when ``sys.modules`` grew (one length compare per check otherwise)."""
        if len(sys.modules) == self._seen:
            return
        self._seen = len(sys.modules)
        from jupyter_guard.hooks import lazy

        modules = dict(self.modules)
        for name, mod in list(lazy._OWN.items()):   # imported by the guard itself: the real ones
            if modules.get(name) is not mod:
                modules[name] = mod
                self.globals.pop(name, None)
        for name, mod in list(sys.modules.items()):
            if protected(name) and name not in modules and self._adoptable(mod):
                modules[name] = mod
        for name in modules:   # the globals its import left, not what a cell made of them since
            if name not in self.globals and name in lazy.IMPORTED:
                self.globals[name] = lazy.IMPORTED[name]
        if len(modules) != len(self.modules) or any(n not in self.globals for n in modules):
            self._protect(modules)

    def _adoptable(self, mod: Any) -> bool:
        """Loaded from the package's own files, and its import has finished (its globals are
        final)."""
        spec = getattr(mod, "__spec__", None)
        origin = getattr(spec, "origin", None) or ""
        return (isinstance(origin, str) and not getattr(spec, "_initializing", False)
                and os.path.realpath(origin).startswith(self.package_dir))

    def changed(self) -> list[str]:
        """The modules whose snapshotted globals are not all there, by identity. Only dicts whose
        version moved are compared (``snapshots.Versions``); without versions, all of them."""
        if self._versions is None:
            if globals_changed(self._dicts, self._getters, self._values):
                return list(self._names)
            return []
        now = self._versions.read()
        if now == self._clean:
            return []
        out = []
        for i, (tag, clean) in enumerate(zip(now, self._clean)):
            if tag != clean:
                if changed(self._dicts[i], self._getters[i], self._snap_vals[i]):
                    out.append(self._names[i])   # repaired now, compared again next time
                else:
                    self._clean[i] = tag   # read before the compare: a later change moves it
        return out

    def restore_modules(self) -> list[str]:
        """Put back every guard module taken out of or swapped in ``sys.modules``."""
        fixed: list[str] = []
        if changed(sys.modules, getter(self._module_keys), self._module_vals):
            for name, mod in self.modules.items():
                if sys.modules.get(name) is not mod:
                    sys.modules[name] = mod
                    fixed.append(f"sys.modules[{name!r}]")
        return fixed

    def restore_globals(self) -> list[str]:
        """Put back every snapshotted global gone from its module or bound to another object."""
        fixed: list[str] = []
        for name in self.changed():
            d, snap = vars(self.modules[name]), self.globals[name]
            for k, v in snap.items():
                if d.get(k, UNKNOWN) is not v:
                    d[k] = v
                    fixed.append(f"{name}.{k}")
        return fixed


def _own_globals(module: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(module).items() if k not in IMPORT_METADATA}
