"""Approvals through the server: the only place a request is filed, decided and spent.

People (the server's authenticated identity; never an environment variable or a flag):

    GET  {base}jupyter-guard/api/approvals?status=pending|mine|all
         -> {"requests": [{id, requester, code, rule, reason, effect, status, created_at,
                           expires_at, decided_by, may_decide}], "may_approve": bool}
    POST {base}jupyter-guard/api/approvals/{id}   {"decision": "approve"|"deny", "reason"?}
         -> 200 the request; 403 own request or no role that may approve; 404 unknown;
            409 already decided or expired

Kernels (header ``X-Jupyter-Guard-Kernel: <token>``; the server put the token in the env of the
kernel it started, so it names that kernel and nothing else):

    POST {base}jupyter-guard/api/kernel/approvals        file a request from a ``%guard request``
    POST {base}jupyter-guard/api/kernel/approvals/spend  spend an approval for the running cell

A kernel can file a request only under a ``%guard request`` cell the gate forwarded to it (the
requester is the user the gate forwarded it for), and spend only for a cell the gate forwarded to
it, as that cell's user. A cell that reads the token can therefore act only as the users whose
cells this kernel runs, and can never decide.
"""
from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from jupyter_guard.server.approval_store import ApprovalStore, Conflict, default_path, public

API = "jupyter-guard/api"
TOKEN_HEADER = "X-Jupyter-Guard-Kernel"
URL_ENV, TOKEN_ENV = "JUPYTER_GUARD_SERVER_URL", "JUPYTER_GUARD_KERNEL_TOKEN"
STATUSES = ("pending", "mine", "all")
SWEEP_MS = 5000


class ApprovalService:
    """The store, who may decide (the gate's policy), kernel tokens, and notifications."""

    def __init__(self, gate: Any, store: ApprovalStore, notify: Any) -> None:
        self.gate, self.store, self.notify = gate, store, notify
        self.tokens: dict[str, str] = {}                  # token -> kernel id
        self._copies = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jupyter-guard-copy")

    def kernel_token(self, kernel_id: str) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = kernel_id
        return token

    def may_approve(self, user: str, groups: tuple[str, ...]) -> bool:
        return bool(self.gate.policy.may("may_approve", user, groups))

    def sweep(self) -> None:
        for req in self.store.sweep():
            self.notify("approval-expired", req)

    def create(self, kernel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        msg_id = str(body.get("msg_id") or "")
        seen = self.gate.kernel(kernel_id).forwarded.get(msg_id)
        if seen is None or not seen[1].lstrip().startswith("%guard request"):
            raise web.HTTPError(403, "requests come only from a `%guard request` cell the server "
                                "ran in this kernel")
        code = body.get("code")
        if not isinstance(code, str) or not code:
            raise web.HTTPError(400, "no code to request approval for")
        effect = body.get("effect")
        try:
            req = self.store.create(
                requester=seen[0], kernel_id=kernel_id, msg_id=msg_id, code=code,
                rule=str(body.get("rule") or ""), reason=str(body.get("reason") or "")[:2000],
                effect=effect if isinstance(effect, dict) else None,
                event_id=str(body.get("event_id") or ""),
                request_id=str(body.get("request_id") or ""))
        except Conflict as e:
            raise web.HTTPError(409, str(e)) from e
        self._mirror("request", req)
        self.notify("approval-requested", req)
        return req

    def spend(self, kernel_id: str, msg_id: str, code_sha256: str) -> dict[str, Any] | None:
        """The grant for the cell ``msg_id`` the gate forwarded to this kernel, or None."""
        seen = self.gate.kernel(kernel_id).forwarded.get(msg_id)
        if seen is None:
            return None
        self.sweep()
        got = self.store.spend(requester=seen[0], code_sha256=code_sha256, msg_id=msg_id,
                               kernel_id=kernel_id)
        if got is None:
            return None
        req, grant = got
        self._mirror("use", req)
        self.notify("approval-used", req)
        return grant

    def decide(self, request_id: str, me: str, groups: tuple[str, ...], verdict: str,
               reason: str) -> dict[str, Any]:
        self.sweep()
        if not self.may_approve(me, groups):
            raise web.HTTPError(403, f"{me} has no role that may approve")
        req = self.store.get(request_id)
        if req is None:
            raise web.HTTPError(404, f"no approval request {request_id}")
        if req["requester"] == me:
            raise web.HTTPError(403, f"{me} may not decide on their own request (four eyes)")
        minutes = int(getattr(self.gate.policy, "approval_minutes", 60) or 60)
        try:
            req = self.store.decide(request_id, approver=me, verdict=verdict, reason=reason,
                                    lifetime_s=minutes * 60.0)
        except Conflict as e:
            raise web.HTTPError(409, str(e)) from e
        self.notify("approval-decided", req)
        self._mirror("decision", req)
        return req

    def _mirror(self, what: str, req: dict[str, Any]) -> None:
        """A copy in the audit file, for reports: nothing reads it to decide."""
        try:
            audit = self.gate.audit
            if what == "request":
                audit.request_approval(req["event_id"], requested_by=req["requester"],
                                       code=req["code"], reason=req["reason"],
                                       expires_in_s=req["expires_at"] - req["created_at"],
                                       request_id=req["id"])
            elif what == "use":   # after the decision's copy (one worker, in order)
                self._copies.submit(self._copy_use, req)
            else:   # under the store's lock, which may be held a while: not on the event loop
                self._copies.submit(self._copy_decision, req)
        except Exception as e:   # noqa: BLE001 - the store decides; a missing copy in the audit only lags
            self.gate.log_error(f"approval {req['id']} not copied to the audit: {e}")

    def _copy_use(self, req: dict[str, Any]) -> None:
        try:
            self.gate.audit.use_approval(req["id"])
        except Exception as e:   # noqa: BLE001 - the copy is for reports only; the store holds the use
            self.gate.log_error(f"use of {req['id']} not copied to the audit: {e}")

    def _copy_decision(self, req: dict[str, Any]) -> None:
        import datetime as dt

        from jupyter_guard.record.approvals import decide_approval

        try:
            decide_approval(self.gate.settings["audit"], req["id"], decided_by=req["decided_by"],
                            verdict="approved" if req["status"] == "approved" else "denied",
                            lifetime=dt.timedelta(seconds=max(0.0, req["expires_at"]
                                                              - req["decided_at"])))
        except Exception as e:   # noqa: BLE001 - the copy is for reports only; the store holds the decision
            self.gate.log_error(f"decision on {req['id']} not copied to the audit: {e}")


class _Base(APIHandler):
    def initialize(self, service: ApprovalService) -> None:
        self.service = service

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise web.HTTPError(400, f"the body is not JSON: {e}") from e
        if not isinstance(data, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        return data


class ApprovalsHandler(_Base):
    auth_resource = "jupyter_guard"

    @web.authenticated
    async def get(self) -> None:
        # late: the gate imports this module when it sets up approvals
        from jupyter_guard.server.gate import server_user

        status = self.get_argument("status", "pending")
        if status not in STATUSES:
            raise web.HTTPError(400, f"status must be one of {', '.join(STATUSES)}")
        me, groups = server_user(self)
        svc = self.service
        svc.sweep()
        may = svc.may_approve(me, groups)
        rows = svc.store.listing()
        if status == "mine" or not may:
            rows = [r for r in rows if r["requester"] == me]
        if status == "pending":
            rows = [r for r in rows if r["status"] == "pending"]
        self.finish({"requests": [public(r, me, may) for r in rows], "may_approve": may})


class ApprovalHandler(_Base):
    auth_resource = "jupyter_guard"

    @web.authenticated
    async def post(self, request_id: str) -> None:
        # late: the gate imports this module when it sets up approvals
        from jupyter_guard.server.gate import server_user

        data = self.body()
        verdict = data.get("decision")
        if verdict not in ("approve", "deny"):
            raise web.HTTPError(400, 'decision must be "approve" or "deny"')
        me, groups = server_user(self)
        req = self.service.decide(request_id, me, groups, str(verdict),
                                  str(data.get("reason") or "")[:2000])
        self.finish(public(req, me, self.service.may_approve(me, groups)))


class _KernelBase(_Base):
    """Authenticated by the kernel token alone (a header, so no cookie and no XSRF)."""

    def check_xsrf_cookie(self) -> None:
        return None

    def kernel_id(self) -> str:
        token = self.request.headers.get(TOKEN_HEADER, "")
        kernel_id = self.service.tokens.get(token) if token else None
        if kernel_id is None:
            raise web.HTTPError(403, "not a kernel this server started")
        return kernel_id


def _open(method: Any) -> Any:
    try:
        from jupyter_server.auth.decorator import allow_unauthenticated
    except ImportError:   # older jupyter_server: every handler may run unauthenticated
        return method
    return allow_unauthenticated(method)


class KernelRequestHandler(_KernelBase):
    @_open
    async def post(self) -> None:
        req = self.service.create(self.kernel_id(), self.body())
        self.set_status(201)
        self.finish({"id": req["id"], "requester": req["requester"],
                     "expires_at": public(req, "", False)["expires_at"]})


class KernelSpendHandler(_KernelBase):
    @_open
    async def post(self) -> None:
        kernel_id = self.kernel_id()
        data = self.body()
        grant = self.service.spend(kernel_id, str(data.get("msg_id") or ""),
                                   str(data.get("code_sha256") or ""))
        if grant is None:
            raise web.HTTPError(404, "no approval for this code and cell")
        self.finish({"grant": grant})


def setup_approvals(serverapp: Any, gate: Any) -> ApprovalService:
    """The store beside the key, the handlers, the expiry sweep, and the gate's link to them."""
    # late: the hub client is needed only on JupyterHub
    from jupyter_guard.hub.client import hub_mode, hub_store
    from jupyter_guard.server.approval_notify import Notifier

    # hub mode: the store is the hub service's (this server keeps none)
    hub = hub_mode()
    store: Any = hub_store() if hub else ApprovalStore(default_path(), gate.signer)

    def urls() -> Any:   # in hub mode the service posts the webhooks (once, for everyone)
        return () if hub else getattr(gate.policy, "approval_notify", ())

    service = ApprovalService(gate, store, Notifier(getattr(serverapp, "event_logger", None),
                                                    urls))
    gate.approvals_service = service
    base = serverapp.web_app.settings["base_url"]
    kw = {"service": service}
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base, API, "approvals"), ApprovalsHandler, kw),
        (url_path_join(base, API, r"approvals/(?P<request_id>[^/]+)"),
         ApprovalHandler, kw),
        (url_path_join(base, API, "kernel/approvals"), KernelRequestHandler, kw),
        (url_path_join(base, API, "kernel/approvals/spend"), KernelSpendHandler, kw),
    ])
    from tornado.ioloop import PeriodicCallback

    service.timer = PeriodicCallback(service.sweep, SWEEP_MS)  # type: ignore[attr-defined]  # the tornado timer is kept on the object
    service.timer.start()  # type: ignore[attr-defined]  # the tornado timer is kept on the object
    return service
