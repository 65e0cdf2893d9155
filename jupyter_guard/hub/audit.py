"""The audit record kept by the hub service: the authority's ledger mounted in the service, under
the service's own OS account, written for the user the hub names from the caller's token.

Single-user servers' kernels ship their journals here (``authority_audit/shipper.py`` in hub
mode) with their server's hub token; the hub says whose token it is, and every event is recorded
as that user (a claim of anyone else is kept as ``claimed_user``). The kernel's id is taken from
a header and recorded beside the user: it only tells the user's kernels apart, it names nobody.

Settings (the service's environment): ``JUPYTER_GUARD_AUDIT_DSN`` (the PostgreSQL ledger, written
by an INSERT-only role; without it, the SQLite ledger in the service's 0700 folder),
``JUPYTER_GUARD_AUDIT_COPY`` (the governance DuckDB copy the mover keeps; default
``<service folder>/audit-authority.duckdb``; ``0`` for none).
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from jupyter_guard.authority_audit.handlers import (
    CHECKPOINT_PATH,
    EVENTS_PATH,
    CheckpointHandler,
    EventsHandler,
)
from jupyter_guard.authority_audit.service import AuditAuthority, Principal

DSN_ENV, COPY_ENV = "JUPYTER_GUARD_AUDIT_DSN", "JUPYTER_GUARD_AUDIT_COPY"
COPY_NAME = "audit-authority.duckdb"
KERNEL_HEADER = "X-Jupyter-Guard-Kernel-Id"
RETRY_S = 10.0
_KERNEL_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
log = logging.getLogger("jupyter_guard.hub")


class AuditHolder:
    """The service's audit authority, opened when first possible (a PostgreSQL that is not up
    yet is tried again at most every ``RETRY_S``; meanwhile kernels get 503 and keep their
    journal, so nothing is lost)."""

    def __init__(self, folder: str, signer: Any, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ if env is None else env)
        self.folder, self.signer = folder, signer
        self.dsn = env.get(DSN_ENV, "").strip()
        self.copy = env.get(COPY_ENV, "").strip() or os.path.join(folder, COPY_NAME)
        self.error = ""
        self._authority: AuditAuthority | None = None
        self._next = 0.0
        self._lock = threading.Lock()
        self.mover: Any = None

    def get(self) -> AuditAuthority | None:
        with self._lock:
            if self._authority is None and time.monotonic() >= self._next:
                self._next = time.monotonic() + RETRY_S
                try:
                    self._authority = AuditAuthority.open(self.folder, dsn=self.dsn,
                                                          signer=self.signer)
                    self.error = ""
                except Exception as e:  # noqa: BLE001 - no ledger: kernels get 503 and resend later; the journal keeps every event
                    self.error = f"{type(e).__name__}: {e}"
                    log.error("the audit ledger cannot be opened: %s", self.error)
                    return None
                self._start_mover(self._authority)
            return self._authority

    def _start_mover(self, authority: AuditAuthority) -> None:
        if self.copy == "0":
            return
        from jupyter_guard.authority_audit.mover import Mover, MoverThread

        self.mover = MoverThread(Mover(authority.ledger, self.copy))
        self.mover.start()
        log.info("audit ledger %s, governance copy %s",
                 "PostgreSQL" if self.dsn else "SQLite", self.copy)


def principal_for(model: Any, kernel: str) -> Principal | None:
    """The principal of a hub user's kernel (None for anything but a user)."""
    if not isinstance(model, dict) or model.get("kind", "user") != "user" or not model.get("name"):
        return None
    name = str(model["name"])
    kernel = kernel if _KERNEL_ID.fullmatch(kernel or "") else "kernel"
    return Principal(f"{name}/{kernel}", name, frozenset({name}))


class _HubAudit(HubOAuthenticated):  # type: ignore[misc]  # HubOAuthenticated is untyped
    def initialize(self, holder: AuditHolder) -> None:
        self.holder, self.resolve = holder, lambda token: None

    def prepare(self) -> None:
        authority = self.holder.get()
        if authority is None:
            raise web.HTTPError(503, "the audit ledger of the guard's hub service is not "
                                f"available ({self.holder.error or 'starting'}); kernels keep "
                                "their journal and send again")
        self.authority = authority
        if principal_for(self.get_current_user(), "") is None:
            raise web.HTTPError(403, "only hub users' servers and kernels send audit events; "
                                "use the server's hub token")

    def principal(self) -> Principal | None:
        return principal_for(self.get_current_user(),
                             self.request.headers.get(KERNEL_HEADER, ""))


class HubEventsHandler(_HubAudit, EventsHandler):  # type: ignore[misc]  # initialize takes the holder
    """POST events: stored as the hub user of the caller's token."""


class HubCheckpointHandler(_HubAudit, CheckpointHandler):  # type: ignore[misc]  # as above
    """GET the latest signed checkpoint (any hub user)."""


def routes(prefix: str, holder: AuditHolder) -> list[tuple[str, type[web.RequestHandler],
                                                            dict[str, Any]]]:
    kw = {"holder": holder}
    return [(url_path_join(prefix, EVENTS_PATH), HubEventsHandler, kw),
            (url_path_join(prefix, CHECKPOINT_PATH), HubCheckpointHandler, kw)]
