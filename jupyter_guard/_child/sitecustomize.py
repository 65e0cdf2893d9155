"""Put on ``PYTHONPATH`` by a guarded kernel: every Python child starts with the guard inside
(``jupyter_guard.hooks.child``). A child that cannot start the guard does not run."""
from __future__ import annotations

import os
import sys


def _start() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from jupyter_guard.hooks.child import start
    except ImportError:                      # not installed where this Python looks: use ours
        sys.path.append(os.path.dirname(os.path.dirname(here)))
        from jupyter_guard.hooks.child import start
    from jupyter_guard.hooks.child_sql import arm

    start(on_duckdb=arm)
    # Then whatever sitecustomize this Python would have run without us.
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec(
        "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != here])
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


try:
    _start()
except BaseException as e:  # noqa: BLE001 - a child without its guard must not run at all
    sys.stderr.write(
        "jupyter_guard: this Python child cannot start the guard "
        f"({type(e).__name__}: {e}), so it was stopped; run it from a kernel whose Python has "
        "jupyter_guard installed.\n"
    )
    os._exit(126)
