"""What the decision service asks of the process it runs in, as small typed ports.

``Guard`` takes its collaborators explicitly: the audit log and the running cell (``Cell``) at
construction, and the parts the kernel installs later through ``Guard.plug`` (one frozen
``Plugs`` value, replaced whole, never mutated). A guard with none of them (tests, ``explain``,
``replay``) decides the same way, minus what they add. A refusal learns whether it happens in a
kernel, and which cell it belongs to, from its guard's ``Cell``, never by looking the kernel up.
The kernel registers how a refusal learns whether an approval is possible here
(``set_approval_status``): the decision service never imports the kernel.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Cell(Protocol):
    """The kernel's running cell, as the guard asks for it (``kernel.cellhook.RunningCell``)."""

    @property
    def namespace(self) -> dict[str, Any]:
        """The kernel's user namespace."""

    @property
    def notebook(self) -> str:
        """The notebook's path, when the kernel knows it."""

    def identity(self) -> tuple[str, str]:
        """(user, actor) of the running cell; '' for the kernel's own."""

    def groups(self) -> tuple[str, ...] | None:
        """The running cell's verified groups; None for the kernel's own."""

    def position(self) -> tuple[str, int | None, str]:
        """(cell id, execution count, server event id) of the running cell."""

    def lookup(self, name: str) -> Any:
        """A namespace value static analysis may read (str, bytes, paths), else None."""

    @property
    def in_kernel(self) -> bool:
        """Whether this is a kernel's running cell: its refusals carry their structured form
        and may be approved."""

    def current(self) -> object | None:
        """The running cell (one object per cell run, None between cells): what is said once
        per cell is said once per this object."""


@dataclass
class NoCell:
    """Outside a kernel: no running cell; every event is the guard's own user's."""

    namespace: dict[str, Any] = field(default_factory=dict)
    notebook: str = ""

    def identity(self) -> tuple[str, str]:
        return "", ""

    def groups(self) -> tuple[str, ...] | None:
        return None

    def position(self) -> tuple[str, int | None, str]:
        return "", None, ""

    def lookup(self, name: str) -> Any:
        return None

    @property
    def in_kernel(self) -> bool:
        return False

    def current(self) -> object | None:
        return None


class Approvals(Protocol):
    def consume(self, user: str, code_sha256: str) -> str:
        """The approver's name when a signed approval lets this code run now, else ''."""


def _same(text: str) -> str:
    return text


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Plugs:
    """The collaborators the kernel's parts add once installed (``Guard.plug``): the hook list,
    each with the part that registers it."""

    approvals: Approvals | None = None        # kernel/approvals.py: spends signed approvals
    redact: Callable[[str], str] = _same      # kernel/wire_mask.py: literals masked in audit text
    mask_settings: Callable[[], Any] | None = None   # kernel/wire_mask.py: display masking
    runtime_sql: bool = False       # hooks/sinks.py: SQL is decided again when it runs
    sqlalchemy: Callable[[], bool] = _never   # hooks/sinks.py: SQLAlchemy engines are hooked
    runtime_files: bool = False     # hooks/runtime.py: files, shell, network decided when they act


# Why no approval is possible in this process ('' when one is), registered by the kernel (its
# link to the server's approvals). A global rebound, never mutated: self-protection snapshots it.
NO_KERNEL = "no approval is possible outside a guarded kernel"
_approval_status: Callable[[], str] = lambda: NO_KERNEL  # noqa: E731 - the unregistered default


def set_approval_status(fn: Callable[[], str]) -> None:
    """The kernel registers how to tell whether an approval is possible (once, at load)."""
    global _approval_status
    _approval_status = fn


def approval_unavailable() -> str:
    return _approval_status()
