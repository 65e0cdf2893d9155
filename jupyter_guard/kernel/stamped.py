"""Who runs this cell, as the kernel sees it: the server's signed stamp, or the kernel's owner.

Called once per cell from the kernel hook's ``pre_run_cell``. A stamp that verifies (see
``jupyter_guard.authority``) names the cell's user and may set its actor; anything else leaves the
kernel's own identity in place, and a claim that did not verify (an unsigned ``user``, a bad or
reused stamp) is recorded as an ``identity.unverified`` event naming the kernel's owner and the
name that was claimed. The per-cell actor may always be made stricter (``agent:*``) by unsigned
metadata; only a verified stamp can make it less strict than the kernel's default.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from jupyter_guard.identity import cell_actor, cell_check, guard_meta

log = logging.getLogger("jupyter_guard")

RULE_UNVERIFIED = "identity.unverified"
TRUSTED_KEYS = ("approval", "last_refused", "server_event")   # only from a verified stamp


def request_msg_id(shell: Any) -> str:
    """The ``msg_id`` of the execute_request being run ('' outside a kernel)."""
    try:
        parent = shell.get_parent() if hasattr(shell, "get_parent") else shell.parent_header
    except Exception:  # noqa: BLE001 - no kernel around this shell (a plain IPython): no message to bind to
        return ""
    header = parent.get("header", parent) if isinstance(parent, dict) else {}
    return str(header.get("msg_id") or "") if isinstance(header, dict) else ""


def cell_identity(shell: Any, guard: Any, meta: Any, code: str) -> dict[str, Any]:
    """The ``user``, ``groups`` (None: the kernel's), ``actor``, ``identity`` status and trusted
    ``meta`` of one cell."""
    checked = cell_check(meta, request_msg_id(shell), code)
    part = guard_meta(meta)
    if checked.status == "verified":
        stamp = part.get("stamp") or {}
        actor = cell_actor(meta, checked.actor or "human")
        trusted = {k: stamp[k] for k in TRUSTED_KEYS if k in stamp}
        return {"user": checked.user, "actor": actor, "identity": "verified", "meta": trusted,
                "groups": tuple(checked.groups)}
    actor = cell_actor(meta, guard.actor)
    if checked.status == "unverified":
        _record(guard, actor, code, checked.claimed, checked.reason)
    return {"user": "", "actor": actor, "identity": checked.status, "meta": {}, "groups": None}


def _record(guard: Any, actor: str, code: str, claimed: str, reason: str) -> None:
    """An audit row for a claim that did not verify: the owner ran it, someone was claimed."""
    audit = getattr(guard, "audit", None)
    if audit is None:
        return
    who = f"user {claimed!r}" if claimed else "a user"
    try:
        audit.begin(user=guard.user, actor=actor, notebook=getattr(guard, "notebook", ""),
                    cell_id="", execution_count=None, kind="python", code=code,
                    decision="warn", rule_id=RULE_UNVERIFIED,
                    reason=f"unverified: the cell claimed {who} ({reason}); it runs as "
                           f"{guard.user}", status="ok", groups=getattr(guard, "groups", ()))
    except Exception as e:  # noqa: BLE001 - recording never decides: the cell still runs as the owner
        log.error("jupyter_guard could not record an unverified identity claim: %s", e)


def identity_mode(owner: str) -> str:
    """One line for ``%guard status``: who a cell can run as in this kernel, and whether an
    approval can exist here."""
    from jupyter_guard import identity
    from jupyter_guard.kernel.approval_link import link

    if identity._VERIFIER is not None:
        approvals = ("approvals through the server" if link() is not None
                     else "no approvals (no link to the server)")
        # what the server was told (a hint for people: the key the kernel holds is what counts)
        hub = (" (JupyterHub: the key is the guard's hub service's)"
               if os.environ.get("JUPYTER_GUARD_HUB_SERVICE_URL") else "")
        return (f"signed: cells run as the user the jupyter server signs for{hub}; anything "
                f"else runs as {owner}; {approvals}")
    return (f"local: no server authority key, every cell runs as {owner} (per-cell user "
            f"claims are recorded as unverified); no approvals in local mode")
