"""jupyter_guard: access guardrails for Jupyter.

Entry points only; everything heavy is imported when first needed.
``%load_ext jupyter_guard`` calls ``load_ipython_extension``.
"""
from __future__ import annotations

TYPE_CHECKING = False   # ``typing`` stays unimported: guarded Python children import this package
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = [
    "GuardBlocked",
    "__version__",
    "load_ipython_extension",
    "panel",
    "unload_ipython_extension",
]


def __getattr__(name: str) -> Any:
    if name == "GuardBlocked":
        from jupyter_guard.errors import GuardBlocked

        return GuardBlocked
    raise AttributeError(name)


def load_ipython_extension(ipython: Any) -> None:
    from jupyter_guard.kernel.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from jupyter_guard.kernel.extension import unload

    unload(ipython)


def panel() -> Any:
    """The live summary widget (same as ``%guard panel``)."""
    from jupyter_guard.kernel.panel import panel as make

    return make()


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The jupyter-server extension (the sidebar's API); imported only when the server loads it."""
    return [{"module": "jupyter_guard.server.extension"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-guard"}]
