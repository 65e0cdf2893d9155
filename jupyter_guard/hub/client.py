"""A single-user server in hub mode: the jupyter_guard server extension asks the hub service.

Hub mode is on when ``JUPYTER_GUARD_HUB_SERVICE_URL`` is set (the hub's ``Spawner.environment``).
The server then holds no private key and no approval store: ``HubSigner`` fetches the service's
public key (which the server gives its kernels) and asks the service to sign each cell's stamp;
``HubStore`` has the approval store's methods and forwards each to the service. Both speak with
the server's own hub token (``JUPYTERHUB_API_TOKEN``), so the service acts for the server's owner
and nobody else. Calls are short, synchronous HTTP with a timeout; a failure leaves the cell
unsigned (it runs as the kernel's owner) and approves nothing.
"""
from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from jupyter_guard.authority import code_hash

URL_ENV = "JUPYTER_GUARD_HUB_SERVICE_URL"
API = "jupyter-guard/api/"
TIMEOUT_S = 10.0
START_WAIT_S = 60.0           # the service may still be starting when the server starts


class HubError(Exception):
    """The service refused (``status``) or could not be reached (status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def service_url(env: Mapping[str, str] | None = None) -> str:
    """The service's URL in hub mode ('' otherwise), ending in '/'."""
    env = os.environ if env is None else env
    url = env.get(URL_ENV, "").strip()
    return url.rstrip("/") + "/" if url else ""


def hub_mode() -> bool:
    return bool(service_url())


class HubLink:
    """One kept-alive HTTP connection to the service (a cell's stamp is one round trip)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self._token = url, token
        parts = urllib.parse.urlsplit(url)
        self._https, self._host = parts.scheme == "https", parts.netloc
        self._path = parts.path.rstrip("/") + "/" + API
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"token {self._token}"}
        with self._lock:
            for attempt in (0, 1):
                reused = self._conn is not None
                try:
                    conn = self._connection()
                    conn.request("GET" if data is None else "POST", self._path + path, data,
                                 headers)
                    resp = conn.getresponse()
                    raw = resp.read()
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError,
                        BrokenPipeError) as e:
                    self._drop()
                    if not reused or attempt:   # a kept connection the service closed: once more
                        raise HubError(0, f"the guard's hub service at {self.url} could not "
                                       f"be reached ({e})") from e
                except (OSError, http.client.HTTPException) as e:
                    self._drop()
                    raise HubError(0, f"the guard's hub service at {self.url} could not be "
                                   f"reached ({e})") from e
        try:
            got = json.loads(raw or b"null")
        except ValueError as e:
            raise HubError(resp.status, f"the guard's hub service sent no JSON ({e})") from e
        if resp.status >= 400:
            message = got.get("message") if isinstance(got, dict) else None
            raise HubError(resp.status, f"the guard's hub service: {message or resp.reason}")
        return got

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, timeout=TIMEOUT_S)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def link(env: Mapping[str, str] | None = None) -> HubLink:
    env = os.environ if env is None else env
    token = env.get("JUPYTERHUB_API_TOKEN", "").strip()
    if not token:
        raise HubError(0, "hub mode without JUPYTERHUB_API_TOKEN: this server was not started by "
                       "JupyterHub; unset JUPYTER_GUARD_HUB_SERVICE_URL for local mode")
    return HubLink(service_url(env), token)


class HubSigner:
    """The gate's signer in hub mode: the service's public key; stamps signed by the service."""

    def __init__(self, hub: HubLink, wait_s: float = START_WAIT_S) -> None:
        self.hub = hub
        deadline = time.monotonic() + wait_s
        while True:
            try:
                got = hub.call("pubkey")
                break
            except HubError as e:
                if e.status or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        public = got.get("public_key") if isinstance(got, dict) else None
        if not isinstance(public, str) or not public:
            raise HubError(0, "the guard's hub service sent no public key")
        self.public = public

    def stamp(self, *, user: str, groups: tuple[str, ...], actor: str, cell_id: str,
              msg_id: str, code: str, now: float | None = None,
              extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The service's stamp (it names the server's owner and the hub's groups itself)."""
        got = self.hub.call("server/stamp", {
            "user": user, "actor": actor, "cell_id": cell_id, "msg_id": msg_id,
            "code_sha256": code_hash(code), "extra": dict(extra or {})})
        if not isinstance(got, dict) or set(got) != {"stamp", "signature"}:
            raise HubError(0, "the guard's hub service sent no stamp")
        return got

    def sign(self, record: Mapping[str, Any]) -> str:
        raise HubError(0, "in hub mode only the guard's hub service signs")


class HubStore:
    """The approval store's methods, forwarded to the service (which keeps the store)."""

    def __init__(self, hub: HubLink) -> None:
        self.hub = hub

    def create(self, *, requester: str, kernel_id: str, msg_id: str, code: str, rule: str,
               reason: str, effect: Any = None, event_id: str = "",
               request_id: str = "") -> dict[str, Any]:
        from jupyter_guard.server.approval_store import Conflict

        body = {"requester": requester, "kernel_id": kernel_id, "msg_id": msg_id, "code": code,
                "rule": rule, "reason": reason, "effect": effect, "event_id": event_id,
                "request_id": request_id}
        return self._as(requester, lambda: self.hub.call("server/requests", body), Conflict)

    def get(self, request_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.hub.call(f"server/requests/{_safe(request_id)}"))
        except HubError as e:
            if e.status == 404:
                return None
            raise _unavailable(e) from e

    def decide(self, request_id: str, *, approver: str, verdict: str, reason: str = "",
               lifetime_s: float = 3600.0) -> dict[str, Any]:
        """Decided by the service as this server's owner (``approver``); it applies the
        policy's lifetime itself."""
        from jupyter_guard.server.approval_store import Conflict

        body = {"approver": approver, "decision": verdict, "reason": reason}
        return self._as(approver, lambda: self.hub.call(
            f"server/requests/{_safe(request_id)}/decide", body), Conflict)

    def spend(self, *, requester: str, code_sha256: str, msg_id: str, kernel_id: str
              ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        try:
            got = self.hub.call("server/spend", {"requester": requester,
                                                 "code_sha256": code_sha256, "msg_id": msg_id,
                                                 "kernel_id": kernel_id})
        except HubError as e:
            if e.status == 404:
                return None
            raise _unavailable(e) from e
        return dict(got["request"]), dict(got["grant"])

    def sweep(self) -> list[dict[str, Any]]:
        return []     # the service sweeps its store and tells approvers itself

    def listing(self) -> list[dict[str, Any]]:
        try:
            rows = self.hub.call("server/requests")["requests"]
        except HubError as e:
            raise _unavailable(e) from e
        return sorted((dict(r) for r in rows), key=lambda r: r["created_at"], reverse=True)

    @staticmethod
    def _as(user: str, call: Any, conflict: type[Exception]) -> dict[str, Any]:
        """The service acts for the token's owner; ``user`` is whom the server meant."""
        from tornado import web

        try:
            got = dict(call())
        except HubError as e:
            if e.status == 409:
                raise conflict(str(e)) from e
            if e.status in (400, 403, 404):
                raise web.HTTPError(e.status, str(e).replace("%", "%%")) from e
            raise _unavailable(e) from e
        if got.get("requester") != user and got.get("decided_by") != user:
            raise web.HTTPError(403, f"the guard's hub service acted for {got.get('requester')},"
                                f" not {user}")
        return got


def _unavailable(e: HubError) -> Exception:
    """The server's API answers 503 with the reason (approvals wait for the service)."""
    from tornado import web

    return web.HTTPError(503 if e.status in (0, 500, 502, 503) else e.status,
                         str(e).replace("%", "%%"))


def _safe(request_id: str) -> str:
    from urllib.parse import quote

    return quote(request_id, safe="")


def hub_signer() -> HubSigner:
    return HubSigner(link(), START_WAIT_S)


def hub_store() -> HubStore:
    """Without a token every call is refused by the service: nothing is approved (the signer
    reports the missing token when the server starts)."""
    return HubStore(HubLink(service_url(), os.environ.get("JUPYTERHUB_API_TOKEN", "").strip()))
