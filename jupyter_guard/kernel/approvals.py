"""Four eyes in the kernel: ``%guard request [reason]`` and ``guard.approvals.consume``.

Approvals live only in the jupyter server that started this kernel
(``jupyter_guard.server.approval_api``). ``%guard request`` files the last refused cell there;
an approver decides through the server's API (the Guard sidebar, ``jupyter guard approve``).
When the same user runs the same code (same sha256) again, ``judge`` asks ``consume``: the kernel
asks the server to spend an approval for the running execute_request and honours it only when
the signed decision and spend receipt verify (``jupyter_guard.grants``). A gate that spent an
approval itself puts the grant in the cell's signed stamp; it is checked the same way.

Nothing in kernel memory decides: a held grant is verified again, for the running request, each
time a statement asks. In local mode (no server key or link) nothing can be approved.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from jupyter_guard import grants
from jupyter_guard.errors import GuardBlocked, GuardConfigError
from jupyter_guard.guard.service import Guard
from jupyter_guard.kernel import approval_link
from jupyter_guard.kernel.stamped import request_msg_id

log = logging.getLogger("jupyter_guard")


class KernelApprovals:
    """``guard.approvals``: approvals from the server, verified each time they are used."""

    def __init__(self, guard: Guard, shell: Any = None) -> None:
        self.guard, self.shell = guard, shell
        self._held: dict[str, dict[str, Any]] = {}   # msg_id -> grant (verified on every use)
        self.last_problem = ""

    def _cell(self) -> dict[str, Any]:
        kg = getattr(self.shell, "_jupyter_guard_kernel", None)
        cell = getattr(kg, "_cell", None)
        return cell if isinstance(cell, dict) else {}

    def _cell_meta(self) -> dict[str, Any]:
        """The running cell's trusted (stamp-verified) metadata ({} outside a cell)."""
        meta = self._cell().get("meta")
        return meta if isinstance(meta, dict) else {}

    def consume(self, user: str, code_sha256: str) -> str:
        """The approver's name if a signed approval lets this code run now, else ''."""
        from jupyter_guard import identity

        verifier, link = identity._VERIFIER, approval_link.link()
        if verifier is None or link is None or self.guard.audit is None:
            return ""   # local mode, or an approval that cannot be recorded as used
        msg_id = request_msg_id(self.shell)
        if not msg_id:
            return ""
        # a grant spent for the running request approves the statements of this cell
        for grant in (self._held.get(msg_id), self._cell_meta().get("approval")):
            if grant is not None and not grants.problem(verifier, grant, user=user,
                                                        code_sha256=None, msg_id=msg_id):
                self._held = {msg_id: grant}
                return str(grant["decision"]["approver"])
        if self._cell().get("identity") != "verified":
            return ""   # not a cell the server forwarded: it would find no approval for it
        try:
            grant = link.post("approvals/spend", {"msg_id": msg_id, "code_sha256": code_sha256})
        except approval_link.LinkError as e:
            self.last_problem = str(e)
            return ""
        bad = grants.problem(verifier, grant.get("grant"), user=user, code_sha256=code_sha256,
                             msg_id=msg_id)
        if bad:
            self.last_problem = bad
            log.error("jupyter_guard: the server's approval was not honoured: %s", bad)
            return ""
        self._held = {msg_id: grant["grant"]}
        return str(grant["grant"]["decision"]["approver"])


def install(shell: Any, guard: Guard) -> None:
    guard.plug(approvals=KernelApprovals(guard, shell))


def command(shell: Any, guard: Guard, sub: str, args: list[str]) -> Any:
    if sub == "request":
        request(shell, guard, " ".join(args).strip())
        return None
    if sub == "unmask":
        return unmask(guard, args)
    raise GuardConfigError(f"unknown %guard subcommand {sub!r}")


def _last_refused(shell: Any, guard: Guard) -> dict[str, Any] | None:
    """The kernel's own last refusal, or the server gate's when that one is newer."""
    approvals = guard.approvals if isinstance(guard.approvals, KernelApprovals) else None
    meta = approvals._cell_meta() if approvals else KernelApprovals(guard, shell)._cell_meta()
    server = meta.get("last_refused")
    if isinstance(server, dict) and isinstance(server.get("code"), str):
        return {"code": server["code"], "rule_id": str(server.get("rule_id", "")),
                "event_id": str(server.get("event_id", "")), "by": "server"}
    last = guard.last_blocked
    if not last:
        return None
    v = last.get("verdict")
    return {"code": last["code"], "rule_id": getattr(v, "rule_id", ""),
            "event_id": last.get("event_id", ""), "by": "kernel",
            "request_id": str(last.get("request_id") or "")}


def request(shell: Any, guard: Guard, reason: str) -> str:
    """File an approval request for the last refused cell with the server; print its id."""
    last = _last_refused(shell, guard)
    if last is None:
        raise GuardConfigError("nothing to request: no cell was blocked in this kernel yet")
    link = approval_link.link()
    if link is None:
        raise GuardConfigError(approval_link.LOCAL)
    rule = last["rule_id"] or "blocked"
    try:
        made = link.post("approvals", {
            "msg_id": request_msg_id(shell), "code": last["code"], "rule": last["rule_id"],
            "reason": reason or f"please approve ({rule})", "event_id": last["event_id"],
            "effect": _effect(guard, last), "request_id": last.get("request_id", "")})
    except approval_link.LinkError as e:
        raise GuardConfigError(f"the approval request was not filed: {e}") from e
    request_id = str(made.get("id") or "")
    minutes = guard.policy.approval_minutes
    print(f"Approval requested: {request_id} (rule {last['rule_id'] or '-'}). Someone else whose "
          f"role may approve approves it in the Guard sidebar or with `jupyter guard approve "
          f"{request_id}`; then run the same cell again: it runs once, within {minutes} minutes "
          f"of the approval.")
    guard.count("request")
    if isinstance(guard.last_blocked, dict):
        guard.last_blocked.pop("request_id", None)   # a second request gets an id of its own
    return request_id


def _effect(guard: Guard, last: dict[str, Any]) -> dict[str, Any] | None:
    """The measured effect of the refused statement (the structured refusal's), when known."""
    verdict = (guard.last_blocked or {}).get("verdict") if last.get("by") == "kernel" else None
    if verdict is None:
        return None
    try:
        from jupyter_guard.policy.refusal import refusal

        return dict(refusal(verdict, guard.policy)["effect"])
    except Exception:   # noqa: BLE001 - the request goes without its effect; the approver still sees the code
        return None


def unmask(guard: Guard, args: list[str]) -> None:
    """``%guard unmask on|off``: only for users whose role may unmask; the masker reads
    ``guard.unmasked``. Both ways are logged."""
    on = (args[0].lower() if args else "on") in ("on", "1", "true", "yes")
    user = guard.who()[0]
    if on and not guard.policy.may("may_unmask", user, guard.groups_now()):
        raise GuardBlocked("sensitive-data", f"{user} has no role that may unmask",
                           approval_hint=False)
    guard.set_unmasked(on)
    guard.note("magic", f"%guard unmask {'on' if on else 'off'}", "warn" if on else "allow",
               "sensitive-data", f"{user} turned unmasking {'on' if on else 'off'}")
    print(f"unmasking {'on' if on else 'off'} for {user} at {time.strftime('%H:%M:%S')}")
