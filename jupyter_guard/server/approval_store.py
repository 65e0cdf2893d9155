"""The server's approval requests and decisions: a file only the jupyter server writes.

Kept beside the authority's key (``<jupyter data dir>/guard/approvals.json``, mode 0600, or
``JUPYTER_GUARD_APPROVALS_FILE``), never in the user's audit file: a row inserted there by hand
approves nothing. Requests are created for a kernel (``create``), decided by an approver the
server authenticated (``decide``, which signs the decision with the server's key), and spent once
for one execute_request (``spend``, which signs a receipt). ``sweep`` marks requests past their
expiry ``expired``. Every change is written at once (temporary file, then ``os.replace``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from jupyter_guard import grants
from jupyter_guard.authority import Signer

FILE_ENV = "JUPYTER_GUARD_APPROVALS_FILE"
PENDING_S = 24 * 3600.0          # a request nobody decided on expires after a day


class Conflict(Exception):
    """The request is no longer pending (decided, used or expired)."""


def default_path(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    path = env.get(FILE_ENV, "").strip()
    if path:
        return os.path.expanduser(path)
    from jupyter_core.paths import jupyter_data_dir

    return os.path.join(jupyter_data_dir(), "guard", "approvals.json")


def iso(ts: float | None) -> str | None:
    """
    >>> iso(0.0)
    '1970-01-01T00:00:00Z'
    """
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApprovalStore:
    def __init__(self, path: str, signer: Signer | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path, self.signer, self.clock = path, signer, clock
        self._lock = threading.RLock()
        self.requests: dict[str, dict[str, Any]] = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            self.requests = {r["id"]: r for r in data.get("requests", [])}

    def _save(self) -> None:
        folder = os.path.dirname(self.path) or "."
        os.makedirs(folder, mode=0o700, exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "requests": list(self.requests.values())}, fh)
        os.replace(tmp, self.path)

    # -- the lifecycle ----------------------------------------------------------------------
    def create(self, *, requester: str, kernel_id: str, msg_id: str, code: str, rule: str,
               reason: str, effect: Any = None, event_id: str = "",
               pending_s: float = PENDING_S, request_id: str = "") -> dict[str, Any]:
        """A pending request; ``request_id`` (12 hex digits, the id a refusal reserved) is used
        when it is free, else a new one is made."""
        now = self.clock()
        with self._lock:
            if any(r["msg_id"] == msg_id and r["kernel_id"] == kernel_id and msg_id
                   for r in self.requests.values()):
                raise Conflict("a request was already filed by this cell")
            fresh = re.fullmatch(r"[0-9a-f]{12}", request_id) and request_id not in self.requests
            req = {"id": request_id if fresh else uuid.uuid4().hex[:12], "requester": requester,
                   "kernel_id": kernel_id,
                   "msg_id": msg_id, "code": code,
                   "code_sha256": hashlib.sha256(code.encode("utf-8", "replace")).hexdigest(),
                   "rule": rule, "reason": reason,
                   "effect": effect if isinstance(effect, dict) else None,
                   "event_id": event_id, "status": "pending", "created_at": now,
                   "expires_at": now + pending_s, "decided_by": None, "decided_at": None,
                   "decision_reason": None, "grant": None, "used_at": None}
            self.requests[str(req["id"])] = req
            self._save()
            return dict(req)

    def get(self, request_id: str) -> dict[str, Any] | None:
        with self._lock:
            req = self.requests.get(request_id)
            return dict(req) if req else None

    def decide(self, request_id: str, *, approver: str, verdict: str, reason: str = "",
               lifetime_s: float = 3600.0) -> dict[str, Any]:
        """``verdict`` is ``approve`` or ``deny``; raises KeyError (unknown) or Conflict."""
        self.sweep()
        with self._lock:
            req = self.requests[request_id]
            if req["status"] != "pending":
                raise Conflict(f"request {request_id} is already {req['status']}")
            now = self.clock()
            req.update(decided_by=approver, decided_at=now, decision_reason=reason or None)
            if verdict == "approve":
                if self.signer is None:
                    raise Conflict("the server has no authority key: it cannot sign approvals")
                record = grants.decision(request_id=request_id, code_sha256=req["code_sha256"],
                                         requester=req["requester"], approver=approver,
                                         expires_at=now + lifetime_s)
                req.update(status="approved", expires_at=record["expires_at"],
                           grant={"decision": record, "signature": self.signer.sign(record)})
            else:
                req["status"] = "denied"
            self._save()
            return dict(req)

    def spend(self, *, requester: str, code_sha256: str, msg_id: str, kernel_id: str
              ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(request, grant with its signed receipt) of an approved, unexpired request of
        ``requester`` for this code, marked used; None when there is none."""
        self.sweep()
        with self._lock:
            for req in sorted(self.requests.values(), key=lambda r: r["created_at"]):
                if (req["status"] == "approved" and req["requester"] == requester
                        and req["code_sha256"] == code_sha256 and self.signer is not None):
                    rec = grants.receipt(request_id=req["id"], msg_id=msg_id,
                                         kernel_id=kernel_id, now=self.clock())
                    grant = {**req["grant"], "receipt": rec,
                             "receipt_signature": self.signer.sign(rec)}
                    req.update(status="used", used_at=rec["spent_at"])
                    self._save()
                    return dict(req), grant
        return None

    def sweep(self) -> list[dict[str, Any]]:
        """Mark pending and approved requests past their expiry ``expired``; returns them."""
        now, out = self.clock(), []
        with self._lock:
            for req in self.requests.values():
                if req["status"] in ("pending", "approved") and req["expires_at"] < now:
                    req["status"] = "expired"
                    out.append(dict(req))
            if out:
                self._save()
        return out

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted((dict(r) for r in self.requests.values()),
                          key=lambda r: r["created_at"], reverse=True)


def public(req: dict[str, Any], me: str, may_approve: bool) -> dict[str, Any]:
    """A request as the API shows it to ``me``."""
    return {"id": req["id"], "requester": req["requester"], "code": req["code"],
            "rule": req["rule"], "reason": req["reason"], "effect": req.get("effect"),
            "status": req["status"], "created_at": iso(req["created_at"]),
            "expires_at": iso(req["expires_at"]), "decided_by": req["decided_by"],
            "may_decide": bool(may_approve and req["status"] == "pending"
                               and req["requester"] != me)}
