"""The kernel's exit once the guard is loaded: IPython's clean-up, a collection, a freeze.

A guarded kernel holds about twice the modules of a plain one (sqlglot, pyarrow, the guard's
own), and the interpreter's finalization runs the cyclic collector over the whole heap three
times (after the exit functions, and twice while it tears the modules down): most of a guarded
kernel's stop went there, freeing memory the operating system takes back at once anyway. So
the guard runs IPython's exit functions itself, then collects once and ``gc.freeze()``s what is
still alive:

* IPython's clean-up (``atexit_operations``: the user's namespace cleared, the history closed)
  runs where it ran before, after the guard's own exit functions (the audit's close among
  them, which writes the journal out and brings it into the store);
* one full collection then frees the user's objects left in reference cycles and runs their
  finalizers. IPython's clean-up collects too, but before it clears the namespace (the user's
  cycles become garbage only after), so its ``gc.collect()`` is skipped while it runs: the one
  after it frees all it would have freed, and the rest;
* what is alive after that (modules, classes, the guard's and the libraries' objects) is left
  to the operating system, as Python allows (it does not promise finalizers at exit): objects
  freed by reference counting are still freed and finalized; cycles among them are not
  collected, so a finalizer that only such a cycle would have run does not run.

``install(shell)`` is called once, before the audit registers its ``close``: exit functions run
last registered first, so the order at exit is the audit's close, then ``run`` below, then what
IPython's kernel registered before its shell.
"""
from __future__ import annotations

import atexit
import gc
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("jupyter_guard")


def install(shell: Any) -> Callable[[], None] | None:
    """Run IPython's exit functions through ``run`` (returns it; None when the shell has none,
    or they were taken already)."""
    ops = getattr(shell, "atexit_operations", None)
    if ops is None or getattr(shell, "_jupyter_guard_exit", None) is not None:
        return None

    def run() -> None:
        collect = gc.collect
        try:
            gc.collect = _skipped   # IPython's, before it clears the namespace: see the module
            ops()
        finally:
            gc.collect = collect
            freeze()

    atexit.unregister(ops)
    atexit.register(run)
    shell._jupyter_guard_exit = run
    return run


def _skipped(generation: int = 2) -> int:
    return 0


def freeze() -> None:
    """Collect what is garbage now (the user's objects in cycles, their finalizers run), then
    freeze the rest: finalization's collections skip it."""
    try:
        gc.collect()
        gc.freeze()
    except Exception as exc:  # noqa: BLE001 - an exit must never fail on this; the slow exit stays
        log.debug("jupyter_guard: exit freeze skipped (%s)", exc)
