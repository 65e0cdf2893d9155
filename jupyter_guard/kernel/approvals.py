"""Four eyes in the kernel: ``%guard request [reason]`` and ``guard.approvals.consume``.

A request is journaled by the kernel's ``AuditLog`` (an ``approvals`` row, status ``pending``); an
approver decides with ``jupyter guard approve|deny ID`` (another process, see
``jupyter_guard.record.approvals``). When the same user runs the same code (same sha256) again, the
guard's ``judge`` asks ``consume``: the audit file is brought up to date first, an approved and
unexpired request is looked up, its use is journaled (status ``used``) and the cell runs once.

When the jupyter-server gate let the cell through on an approval, it spent the approval itself and
stamped its id on the cell (``metadata.jupyter_guard.approval``); the kernel honours that id once.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from jupyter_guard.errors import GuardBlocked, GuardConfigError
from jupyter_guard.guard.service import Guard

log = logging.getLogger("jupyter_guard")
PENDING_HOURS = 24.0          # a request nobody decided on expires after a day


class KernelApprovals:
    """``guard.approvals``: reads approvals from the audit file, spends them once."""

    def __init__(self, guard: Guard, shell: Any = None) -> None:
        self.guard, self.shell = guard, shell
        self._spent: set[str] = set()     # request ids used by this kernel (ingest may lag)

    @property
    def path(self) -> str:
        return str(self.guard.settings["audit"])

    def _refresh(self, wait: float = 2.0) -> None:
        from jupyter_guard.record.ingest import try_ingest

        try:
            try_ingest(self.path, wait=wait)
        except Exception as e:  # noqa: BLE001 - a stale store only means "not approved yet"
            log.warning("jupyter_guard: could not bring the audit file up to date: %s", e)

    def _cell(self) -> dict[str, Any]:
        """The running cell's facts in the kernel hook ({} outside a cell)."""
        kg = getattr(self.shell, "_jupyter_guard_kernel", None)
        cell = getattr(kg, "_cell", None)
        return cell if isinstance(cell, dict) else {}

    def _cell_meta(self) -> dict[str, Any]:
        meta = self._cell().get("meta") or {}
        return meta if isinstance(meta, dict) else {}

    def consume(self, user: str, code_sha256: str) -> str:
        """The approver's name if an approval lets this code run now (and spend it), else ''."""
        if self.guard.audit is None:
            return ""   # an approval that cannot be recorded as used is not honoured
        cell = self._cell()
        if cell.get("approved_by"):   # the approved cell's own statements, checked as they run
            return str(cell["approved_by"])
        approver = self._consume(user, code_sha256)
        if approver and cell:
            cell["approved_by"] = approver
        return approver

    def _consume(self, user: str, code_sha256: str) -> str:
        assert self.guard.audit is not None
        from jupyter_guard.record.approvals import find_approval, maybe_approved, requests

        try:
            if not self._cell_meta().get("approval") and not maybe_approved(
                    self.path, user=user, code_sha256=code_sha256):
                return ""   # no approval can let it run: the refusal does not wait on the store
            stamped = self._cell_meta().get("approval")
            if isinstance(stamped, str) and stamped and stamped not in self._spent:
                self._refresh()
                for req in requests(self.path, status=None):
                    if (req["request_id"] == stamped and req["requested_by"] == user
                            and req["code_sha256"] == code_sha256
                            and req["status"] in ("approved", "used")):
                        self._spent.add(stamped)
                        return str(req["decided_by"] or "")
            self._refresh()
            row = find_approval(self.path, user=user, code_sha256=code_sha256)
        except Exception as e:  # noqa: BLE001 - an unreadable store means no approval: the cell stays refused
            log.warning("jupyter_guard: could not read approvals: %s", e)
            return ""
        if row is None or row["request_id"] in self._spent:
            return ""
        self._spent.add(row["request_id"])
        self.guard.audit.use_approval(row["request_id"])
        self._refresh(wait=1.0)   # let other kernels see it used at once
        return str(row["decided_by"] or "")


def install(shell: Any, guard: Guard) -> None:
    guard.approvals = KernelApprovals(guard, shell)


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
    """Journal an approval request for the last refused cell; print and return its id."""
    last = _last_refused(shell, guard)
    if last is None:
        raise GuardConfigError("nothing to request: no cell was blocked in this kernel yet")
    if guard.audit is None:
        raise GuardConfigError("approvals need the audit file, which this kernel cannot write: "
                               "set JUPYTER_GUARD_AUDIT to a writable path")
    request_id = str(guard.audit.request_approval(
        last["event_id"], requested_by=guard.who()[0], code=last["code"],
        reason=reason or f"please approve ({last['rule_id'] or 'blocked'})",
        expires_in_s=PENDING_HOURS * 3600, request_id=last.get("request_id", "")))
    minutes = guard.policy.approval_minutes
    print(f"Approval requested: {request_id} (rule {last['rule_id'] or '-'}). Someone else whose "
          f"role may approve runs `jupyter guard approve {request_id}`; then run the same cell "
          f"again: it runs once, within {minutes} minutes of the approval.")
    guard.counts["request"] += 1
    if isinstance(guard.last_blocked, dict):
        guard.last_blocked.pop("request_id", None)   # a second request gets an id of its own
    return request_id


def unmask(guard: Guard, args: list[str]) -> None:
    """``%guard unmask on|off``: only for users whose role may unmask; the masker reads
    ``guard.unmasked``. Both ways are logged."""
    on = (args[0].lower() if args else "on") in ("on", "1", "true", "yes")
    user = guard.who()[0]
    if on and not guard.policy.may("may_unmask", user, guard.groups):
        raise GuardBlocked("sensitive-data", f"{user} has no role that may unmask",
                           approval_hint=False)
    guard.unmasked = on
    guard.note("magic", f"%guard unmask {'on' if on else 'off'}", "warn" if on else "allow",
               "sensitive-data", f"{user} turned unmasking {'on' if on else 'off'}")
    print(f"unmasking {'on' if on else 'off'} for {user} at {time.strftime('%H:%M:%S')}")
