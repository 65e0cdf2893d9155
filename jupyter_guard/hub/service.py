"""The hub service's tornado app: ``python -m jupyter_guard.hub``, started by JupyterHub as a
managed service under its own OS account (see the README's JupyterHub section).

Under the service's prefix (``JUPYTERHUB_SERVICE_PREFIX``, e.g. ``/services/jupyter-guard/``):

    GET  jupyter-guard/api/pubkey                       the public key (no login: it is public)
    GET  jupyter-guard/api/approvals?status=            the same API as a jupyter server's, so
    POST jupyter-guard/api/approvals/{id}               ``jupyter guard approve --url`` works too
    POST jupyter-guard/api/server/stamp                 a single-user server's cell stamp
    GET  jupyter-guard/api/server/requests[/{id}]       raw rows (no grants) its owner may see
    POST jupyter-guard/api/server/requests              file a request of its owner
    POST jupyter-guard/api/server/requests/{id}/decide  decide as its owner
    POST jupyter-guard/api/server/spend                 spend its owner's approval for one cell
    POST jupyter-guard/api/kernel/audit/events          a kernel's journal events (``hub.audit``)
    GET  jupyter-guard/api/audit/checkpoint             the audit ledger's latest signed checkpoint

Every call except ``pubkey`` is authenticated by the hub (``HubOAuthenticated``: a token in the
``Authorization`` header, or the hub's OAuth cookie in a browser); the caller is the hub user the
token belongs to, with the hub's groups.
"""
from __future__ import annotations

import json
import os
import signal
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from jupyter_guard.hub.authority import POLICY_ENV, Authority, Caller, Refused, default_folder

API = "jupyter-guard/api"
SWEEP_MS = 5000


class _Handler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]  # HubOAuthenticated is untyped
    def initialize(self, authority: Authority) -> None:
        self.authority = authority

    def caller(self) -> Caller:
        model = self.get_current_user()
        if not model or model.get("kind", "user") != "user":
            raise web.HTTPError(403, "only hub users act here")
        groups = model.get("groups") or ()
        return Caller(str(model["name"]), tuple(str(g) for g in groups))

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise web.HTTPError(400, f"the body is not JSON: {e}") from e
        if not isinstance(data, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        return data

    def answer(self, fn: Any, *args: Any, status: int = 200) -> None:
        try:
            result = fn(*args)
        except Refused as e:
            raise web.HTTPError(e.status, str(e)) from e
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(result))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))


class PubkeyHandler(_Handler):
    def get(self) -> None:
        self.answer(lambda: {"public_key": self.authority.signer.public})


class ApprovalsHandler(_Handler):
    @web.authenticated
    def get(self) -> None:
        self.answer(self.authority.listing, self.caller(), self.get_argument("status", "pending"))


class ApprovalHandler(_Handler):
    @web.authenticated
    def post(self, request_id: str) -> None:
        from jupyter_guard.server.approval_store import public

        who, data = self.caller(), self.body()

        def decided() -> dict[str, Any]:
            req = self.authority.decide(who, request_id, data.get("decision"),
                                        str(data.get("reason") or ""))
            return public(req, who.name, self.authority.may_approve(who))

        self.answer(decided)


class StampHandler(_Handler):
    @web.authenticated
    def post(self) -> None:
        self.answer(self.authority.stamp, self.caller(), self.body())


class ServerRequestsHandler(_Handler):
    @web.authenticated
    def get(self) -> None:
        who = self.caller()
        self.answer(lambda: {"requests": self.authority.visible(
            who, self.authority.may_approve(who))})

    @web.authenticated
    def post(self) -> None:
        self.answer(self.authority.create, self.caller(), self.body(), status=201)


class ServerRequestHandler(_Handler):
    @web.authenticated
    def get(self, request_id: str) -> None:
        who = self.caller()
        rows = [r for r in self.authority.visible(who, self.authority.may_approve(who))
                if r["id"] == request_id]
        if not rows:
            raise web.HTTPError(404, f"no approval request {request_id}")
        self.answer(lambda: rows[0])


class ServerDecideHandler(_Handler):
    @web.authenticated
    def post(self, request_id: str) -> None:
        who, data = self.caller(), self.body()
        if data.get("approver") not in (None, who.name):
            raise web.HTTPError(403, f"this server speaks for {who.name}, not "
                                f"{data.get('approver')!r}: decide through your own server")
        self.answer(lambda: {**self.authority.decide(who, request_id, data.get("decision"),
                                                     str(data.get("reason") or "")),
                             "grant": None})


class SpendHandler(_Handler):
    @web.authenticated
    def post(self) -> None:
        got = self.authority.spend(self.caller(), self.body())
        if got is None:
            raise web.HTTPError(404, "no approval for this code and cell")
        self.answer(lambda: got)


def make_app(authority: Authority, prefix: str, audit: Any = None) -> web.Application:
    """The service's routes; ``audit`` (a ``hub.audit.AuditHolder``) mounts the audit record."""
    kw = {"authority": authority}
    routes: list[tuple[str, type[web.RequestHandler], dict[str, Any]]] = [
        ("pubkey", PubkeyHandler, kw),
        ("approvals", ApprovalsHandler, kw),
        (r"approvals/(?P<request_id>[^/]+)", ApprovalHandler, kw),
        ("server/stamp", StampHandler, kw),
        ("server/requests", ServerRequestsHandler, kw),
        (r"server/requests/(?P<request_id>[^/]+)", ServerRequestHandler, kw),
        (r"server/requests/(?P<request_id>[^/]+)/decide", ServerDecideHandler, kw),
        ("server/spend", SpendHandler, kw),
    ]
    handlers: list[Any] = [(url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler)]
    handlers += [(url_path_join(prefix, API, p), cls, k) for p, cls, k in routes]
    if audit is not None:
        from jupyter_guard.hub.audit import routes as audit_routes

        handlers += audit_routes(prefix, audit)
    # cookie logins are checked for XSRF by HubOAuth itself (token logins need no check)
    return web.Application(handlers, cookie_secret=os.urandom(32))


def main() -> None:
    import logging

    from tornado.ioloop import IOLoop, PeriodicCallback

    from jupyter_guard.server.approval_notify import Notifier

    logging.basicConfig(level=logging.INFO, format="[jupyter-guard service] %(message)s")
    authority = Authority(default_folder(), os.environ.get(POLICY_ENV, "").strip())
    notifier = Notifier(None, lambda: getattr(authority.policy, "approval_notify", ()))
    authority.notify = notifier
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/jupyter-guard/")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    from jupyter_guard.hub.audit import AuditHolder

    audit = AuditHolder(authority.folder, authority.signer)
    audit.get()   # opened now when it can be (else on the first batch a kernel sends)
    app = make_app(authority, prefix, audit)
    app.listen(url.port or 80, url.hostname or "127.0.0.1")
    logging.info("authority in %s (uid %d), listening on %s%s", authority.folder, os.getuid(),
                 url.geturl(), prefix)
    PeriodicCallback(authority.sweep, SWEEP_MS).start()
    loop = IOLoop.current()
    signal.signal(signal.SIGTERM, lambda *_: loop.add_callback_from_signal(loop.stop))
    try:
        loop.start()
    except KeyboardInterrupt:   # the hub stops its services with SIGINT, then SIGTERM
        pass
    logging.info("stopped")
