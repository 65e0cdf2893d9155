"""What the hub service holds and decides: its private key and approval store in a folder only its
OS account may enter (0700), the policy's roles, and the records it signs.

Every caller is a hub user, named by the hub from the caller's token (``service.py``); nothing in
a request body names who is acting. A single-user server's token is its owner's, so alice's server
(and anything running under alice's account, which can read that token) can obtain stamps only
for alice, file and spend only alice's requests, and decide only what alice's role may decide.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_guard.authority import OPTIONAL_FIELDS, Signer, load_or_create_key
from jupyter_guard.server.approval_store import ApprovalStore, Conflict, public

DIR_ENV = "JUPYTER_GUARD_HUB_DIR"
POLICY_ENV = "JUPYTER_GUARD_POLICY"
KEY_NAME, STORE_NAME = "authority.key", "approvals.json"
STATUSES = ("pending", "mine", "all")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class Refused(Exception):
    """A request the service refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """A hub user, as the hub named them from their token."""

    name: str
    groups: tuple[str, ...] = ()


def private_folder(path: str) -> str:
    """``path`` created 0700; refused when another account may enter it or it is not ours."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if st.st_uid != os.getuid():
        raise PermissionError(f"jupyter_guard hub service: {path} belongs to uid {st.st_uid}, not "
                              f"to this service's account (uid {os.getuid()}); fix: chown it")
    if st.st_mode & 0o077:
        raise PermissionError(f"jupyter_guard hub service: other accounts may enter {path}; "
                              f"fix: chmod 700 {path}")
    return path


def default_folder(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    given = env.get(DIR_ENV, "").strip()
    return os.path.expanduser(given or "~/.jupyter-guard-authority")


class Authority:
    """The service's state: signer, store, and the policy file (re-read when it changes)."""

    def __init__(self, folder: str, policy_path: str = "") -> None:
        self.folder = private_folder(folder)
        self.signer = Signer(load_or_create_key(os.path.join(folder, KEY_NAME)))
        self.store = ApprovalStore(os.path.join(folder, STORE_NAME), self.signer)
        self.policy_path = policy_path
        self._policy: Any = None
        self._stamp: object = None
        self.notify: Any = lambda name, req: None

    @property
    def policy(self) -> Any:
        from jupyter_guard.policy.load import load_or_refuse

        try:
            st = os.stat(self.policy_path) if self.policy_path else None
            stamp: object = (st.st_mtime_ns, st.st_size, st.st_ino) if st else None
        except OSError as e:
            stamp = -(e.errno or 1)   # a vanished file is noticed, and refuses
        if self._policy is None or stamp != self._stamp:
            self._policy, self._stamp = load_or_refuse(self.policy_path or None), stamp
        return self._policy

    def may_approve(self, who: Caller) -> bool:
        policy = self.policy
        return not policy.errors and bool(policy.may("may_approve", who.name, who.groups))

    def sweep(self) -> None:
        for req in self.store.sweep():
            self.notify("approval-expired", req)

    # -- people ----------------------------------------------------------------------------
    def listing(self, who: Caller, status: str) -> dict[str, Any]:
        if status not in STATUSES:
            raise Refused(400, f"status must be one of {', '.join(STATUSES)}")
        self.sweep()
        may = self.may_approve(who)
        rows = self.visible(who, may)
        if status == "mine":
            rows = [r for r in rows if r["requester"] == who.name]
        if status == "pending":
            rows = [r for r in rows if r["status"] == "pending"]
        return {"requests": [public(r, who.name, may) for r in rows], "may_approve": may}

    def visible(self, who: Caller, may: bool) -> list[dict[str, Any]]:
        """Every request to an approver, else the caller's own; without the signed grant."""
        rows = self.store.listing()
        if not may:
            rows = [r for r in rows if r["requester"] == who.name]
        return [{**r, "grant": None} for r in rows]

    def decide(self, who: Caller, request_id: str, verdict: object, reason: str) -> dict[str, Any]:
        if verdict not in ("approve", "deny"):
            raise Refused(400, 'decision must be "approve" or "deny"')
        self.sweep()
        if not self.may_approve(who):
            raise Refused(403, f"{who.name} has no role that may approve")
        req = self.store.get(request_id)
        if req is None:
            raise Refused(404, f"no approval request {request_id}")
        if req["requester"] == who.name:
            raise Refused(403, f"{who.name} may not decide on their own request (four eyes)")
        minutes = int(getattr(self.policy, "approval_minutes", 60) or 60)
        try:
            req = self.store.decide(request_id, approver=who.name, verdict=str(verdict),
                                    reason=reason[:2000], lifetime_s=minutes * 60.0)
        except Conflict as e:
            raise Refused(409, str(e)) from e
        self.notify("approval-decided", req)
        return req

    # -- single-user servers, for their owner's kernels ------------------------------------
    def create(self, who: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
        _speaks_for(who, body.get("requester"))
        code = body.get("code")
        if not isinstance(code, str) or not code:
            raise Refused(400, "no code to request approval for")
        effect = body.get("effect")
        try:
            req = self.store.create(
                requester=who.name, kernel_id=str(body.get("kernel_id") or ""),
                msg_id=str(body.get("msg_id") or ""), code=code, rule=str(body.get("rule") or ""),
                reason=str(body.get("reason") or "")[:2000],
                effect=effect if isinstance(effect, dict) else None,
                event_id=str(body.get("event_id") or ""),
                request_id=str(body.get("request_id") or ""))
        except Conflict as e:
            raise Refused(409, str(e)) from e
        self.notify("approval-requested", req)
        return {**req, "grant": None}

    def spend(self, who: Caller, body: Mapping[str, Any]) -> dict[str, Any] | None:
        if body.get("requester") not in (None, who.name):
            return None        # a cell of another user: nothing of the owner's is spent for it
        self.sweep()
        got = self.store.spend(requester=who.name, code_sha256=str(body.get("code_sha256") or ""),
                               msg_id=str(body.get("msg_id") or ""),
                               kernel_id=str(body.get("kernel_id") or ""))
        if got is None:
            return None
        req, grant = got
        self.notify("approval-used", req)
        return {"request": {**req, "grant": None}, "grant": grant}

    def stamp(self, who: Caller, body: Mapping[str, Any], now: float | None = None
              ) -> dict[str, Any]:
        """A signed stamp for one execute_request of ``who``'s server: the user is always the
        caller, the groups are the hub's; the server names only the cell (and the facts the
        kernel checks itself, such as an approval signed by this service)."""
        _speaks_for(who, body.get("user"))
        digest, actor = body.get("code_sha256"), body.get("actor")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise Refused(400, "code_sha256 must be 64 lowercase hex digits")
        if not isinstance(actor, str) or not actor:
            raise Refused(400, "actor must be a non-empty string")
        extra = body.get("extra")
        record = {k: v for k, v in (extra if isinstance(extra, dict) else {}).items()
                  if k in OPTIONAL_FIELDS}
        record.update(user=who.name, groups=list(who.groups), actor=actor,
                      cell_id=str(body.get("cell_id") or ""), msg_id=str(body.get("msg_id") or ""),
                      code_sha256=digest, issued_at=round(time.time() if now is None else now, 3))
        return {"stamp": record, "signature": self.signer.sign(record)}


def _speaks_for(who: Caller, named: object) -> None:
    """A server names the user it meant; the service acts only for the token's owner."""
    if named not in (None, who.name):
        raise Refused(403, f"this server speaks for {who.name}, not {named!r}; on a shared "
                      "server, other users' cells run unsigned, as its owner")
