"""Refusals on the wire: the structured refusal travels with the error a client receives.

Every ``GuardBlocked`` the kernel shows carries ``details`` (``jupyter_guard.policy.refusal``).
``install`` puts them, masked, under the key ``jupyter_guard`` of
- the iopub ``error`` message's content (what every client of the kernel sees), and
- the ``execute_reply``'s content and metadata (what the client that ran the cell reads).
Nothing is added to a cell that was not refused (one comparison per message sent). In audit mode
``audit_note`` prints one line saying what would have been blocked.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from jupyter_guard.errors import GuardBlocked

# re-exported: where the kernel's callers look for them
from jupyter_guard.guard.refusal import audit_note, masked, note_if_audit, refusal_for  # noqa: F401

log = logging.getLogger("jupyter_guard")


def _refusal(err: Any) -> bool:
    """The guard's refusals, and the server gate's (raised by the code it puts in a refused
    cell's place, a class of the same name)."""
    return isinstance(err, GuardBlocked) or (type(err).__name__ == "GuardBlocked" and isinstance(
        getattr(err, "details", None), dict))


class Wire:
    """Adds the structured refusal to the error being sent and to its execute_reply.

    The refusal is the exception IPython just showed (``sys.last_value``, which IPython sets for
    every error it shows). The ``session.send`` wrapper is installed before masking's, so masking
    wraps it (and puts its own back after a cell that unwrapped it) and the details, masked
    already, pass through it."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def install(self) -> bool:
        shell = self.shell
        kernel, dh = getattr(shell, "kernel", None), getattr(shell, "displayhook", None)
        session = getattr(dh, "session", None)
        if kernel is None or session is None:
            return False   # not a Jupyter kernel (a terminal IPython): nothing to add
        send, finish = session.send, kernel.finish_metadata

        def _send(stream: Any, msg_or_type: Any, content: Any = None, *args: Any, **kw: Any) -> Any:
            if msg_or_type == "error" and isinstance(content, dict):
                details = shown(content)
                if details:
                    content = {**content, "jupyter_guard": details}
            return send(stream, msg_or_type, content, *args, **kw)

        def finish_metadata(parent: Any, metadata: Any, reply_content: Any) -> Any:
            metadata = finish(parent, metadata, reply_content)
            if isinstance(reply_content, dict) and reply_content.get("status") == "error":
                details = shown(reply_content)
                if details:
                    reply_content["jupyter_guard"] = details
                    metadata["jupyter_guard"] = details
            return metadata

        session.send = _send
        kernel.finish_metadata = finish_metadata
        return True


def shown(content: dict[str, Any]) -> dict[str, Any] | None:
    """The structured refusal of the error in ``content``, if it is the refusal just shown."""
    err = getattr(sys, "last_value", None)
    if not _refusal(err) or content.get("ename") != type(err).__name__:
        return None
    details = getattr(err, "details", None)
    return details if isinstance(details, dict) else None


def install(shell: Any, guard: Any) -> None:
    Wire(shell).install()
