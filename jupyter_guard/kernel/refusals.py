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
import uuid
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.mask.text import mask_text
from jupyter_guard.model import Verdict
from jupyter_guard.policy.refusal import approvable, refusal

log = logging.getLogger("jupyter_guard")


def _guard() -> Any:
    from jupyter_guard.kernel.cellhook import current

    kg = current()
    return kg.guard if kg is not None else None


def masked(value: Any, settings: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value, settings)
    if isinstance(value, list):
        return [masked(v, settings) for v in value]
    if isinstance(value, dict):
        return {k: masked(v, settings) for k, v in value.items()}
    return value


def refusal_for(v: Verdict, dialect: str = "duckdb") -> dict[str, Any] | None:
    """The structured refusal of ``v`` under the running guard's policy, masked for display.
    When an approval is possible, a request id is reserved: ``%guard request`` files the
    refusal under it."""
    try:
        g = _guard()
        policy = g.policy if g is not None else None
        rid = uuid.uuid4().hex[:12] if approvable(v.rule_id or "policy", policy) else ""
        details = refusal(v, policy, request_id=rid, dialect=dialect)
        if g is not None and rid and isinstance(g.last_blocked, dict) and \
                g.last_blocked.get("verdict") is v:
            g.last_blocked["request_id"] = rid
        settings = g.mask_settings() if g is not None and g.mask_settings else None
        return masked(details, settings) if settings is not None else details
    except Exception:  # the refusal stands without its structured form; the log says why
        log.exception("jupyter_guard could not describe a refusal")
        return None


_NOTED: dict[str, Any] = {"cell": None, "seen": set()}


def audit_note(verdicts: Any, out: Any = None) -> None:
    """One line for a cell that audit mode let through but enforce would have refused (once per
    cell and reason, though the cell hook, ``%%guarded_sql`` and the SQL sinks all judge)."""
    would = [v for v in verdicts if v.decision == "warn" and v.reason.startswith("would ")]
    if not would:
        return
    from jupyter_guard.kernel.cellhook import current

    cell = getattr(current(), "_cell", None)
    if _NOTED["cell"] is not cell or cell is None:
        _NOTED["cell"], _NOTED["seen"] = cell, set()
    v = would[0]
    key = (v.rule_id, v.reason)
    if key in _NOTED["seen"]:
        return
    _NOTED["seen"].add(key)
    print(f"jupyter_guard (audit mode): in enforce mode this would be refused "
          f"[{v.rule_id}]: {v.reason.split(': ', 1)[-1]}", file=out or sys.stderr)


def note_if_audit(guard: Any, verdicts: Any) -> None:
    if guard.policy.mode == "audit":
        audit_note(verdicts)


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
