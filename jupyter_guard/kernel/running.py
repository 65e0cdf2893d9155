"""The running cell, as the decision service asks for it (``guard.ports.Cell``): who runs it,
where it is, and the namespace values static analysis may read. ``KernelGuard`` fills it in
before each cell (``pre_run_cell``) and clears it after; the ``Guard`` is built with it."""
from __future__ import annotations

import os
from typing import Any


class RunningCell:
    """Slots: no method can be swapped on the object (a swapped ``identity`` would make the
    cell run as someone else)."""

    __slots__ = ("cell", "notebook", "seen", "shell")

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.cell: dict[str, Any] | None = None   # the running cell's facts (``KernelGuard``)
        # a kernel started by jupyter-server for a notebook knows the notebook's path
        self.notebook = os.environ.get("JPY_SESSION_NAME", "")
        self.seen: list[tuple[str, Any]] | None = None   # lookups made by the analysis running

    @property
    def namespace(self) -> dict[str, Any]:
        return self.shell.user_ns

    @property
    def in_kernel(self) -> bool:
        return True

    def current(self) -> object | None:
        return self.cell

    def identity(self) -> tuple[str, str]:
        cell = self.cell or {}
        return cell.get("user") or "", cell.get("actor") or ""

    def groups(self) -> tuple[str, ...] | None:
        groups = (self.cell or {}).get("groups")
        return tuple(groups) if isinstance(groups, tuple) else None

    def position(self) -> tuple[str, int | None, str]:
        cell = self.cell or {}
        server = (cell.get("meta") or {}).get("server_event") or ""
        server = server if isinstance(server, str) else ""
        return cell.get("cell_id") or "", cell.get("count"), server

    def lookup(self, name: str) -> Any:
        v = self.peek(name)
        if self.seen is not None:
            self.seen.append((name, v))
        return v

    def peek(self, name: str) -> Any:
        """A value static analysis may read: ``str``/``bytes``/a path, else None."""
        v = self.shell.user_ns.get(name)
        return v if isinstance(v, (str, bytes)) or type(v).__name__.endswith("Path") else None
