"""The jupyter server as the audit authority: mounts ``jupyter_guard.authority_audit`` on the
server, with the server's own Ed25519 key, its folder, and who each kernel token stands for.

A kernel token names the kernel the server started; the events it sends are recorded as the
users whose cells the gate forwarded to that kernel (an event claiming anyone else is recorded
as the kernel's user: the owner on a shared-token server, else the last user the gate forwarded
a cell for). Settings (environment): ``JUPYTER_GUARD_AUDIT_DSN`` (PostgreSQL: hub mode),
``JUPYTER_GUARD_AUDIT_COPY`` (the governance DuckDB copy; default
``<authority folder>/audit-authority.duckdb``; ``0`` for none).
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from jupyter_guard.authority_audit.service import AuditAuthority, Principal

DSN_ENV, COPY_ENV = "JUPYTER_GUARD_AUDIT_DSN", "JUPYTER_GUARD_AUDIT_COPY"
COPY_NAME = "audit-authority.duckdb"


def resolver(serverapp: Any, gate: Any) -> Any:
    from jupyter_guard.server.auth import owner_name, shared_token

    shared = shared_token(getattr(serverapp, "identity_provider", None))

    def resolve(token: str) -> Principal | None:
        service = getattr(gate, "approvals_service", None)
        kernel_id = service.tokens.get(token) if service is not None and token else None
        if kernel_id is None:
            return None
        if shared:
            owner = owner_name()
            return Principal(kernel_id, owner, frozenset({owner}))
        forwarded = list(gate.kernel(kernel_id).forwarded.values())
        users = frozenset(u for u, _ in forwarded)
        return Principal(kernel_id, forwarded[-1][0] if forwarded else "unknown", users)

    return resolve


def setup_audit_authority(serverapp: Any, gate: Any) -> AuditAuthority | None:
    """Mount the authority's handlers and start the mover; None when it cannot start (said in
    the log: kernels then keep their record local, as without a server)."""
    from jupyter_guard.authority_audit.handlers import mount
    from jupyter_guard.authority_files import paths
    from jupyter_guard.hub.client import hub_mode

    if hub_mode():
        # a single-user server on JupyterHub runs as its user: the record is the hub service's
        # (under its own account); the kernels and this server's gate send their events there
        from jupyter_guard.authority_audit.shipper import KERNEL_ID_HEADER, destination

        where, audit = destination(), str(gate.settings.get("audit") or "")
        if where is not None and audit:
            where[1][KERNEL_ID_HEADER] = "server"
            folder = os.path.dirname(os.path.abspath(audit))
            os.makedirs(folder, exist_ok=True)   # the gate's audit log's own folder
            _GateSender(gate, None, folder, where).start()
        serverapp.log.info("jupyter_guard: hub mode: the audit record is the hub service's")
        return None
    if not callable(getattr(gate.signer, "sign", None)):
        serverapp.log.info("jupyter_guard: no audit authority in this server (no signing key); "
                           "kernels keep their record local")
        return None
    folder = os.path.dirname(paths()[0])
    try:
        authority = AuditAuthority.open(folder, dsn=os.environ.get(DSN_ENV, "").strip(),
                                        signer=gate.signer)
    except Exception as e:  # noqa: BLE001 - no authority audit: kernels get 404 and keep their local record
        serverapp.log.error("jupyter_guard: the audit authority cannot start: %s", e)
        return None
    mount(serverapp.web_app, serverapp.web_app.settings["base_url"], authority,
          resolver(serverapp, gate))
    copy = os.environ.get(COPY_ENV, "").strip() or os.path.join(folder, COPY_NAME)
    if copy != "0":
        from jupyter_guard.authority_audit.mover import Mover, MoverThread

        thread = MoverThread(Mover(authority.ledger, copy),
                             alive=lambda: os.path.isdir(folder))
        thread.start()
        gate.audit_mover = thread
    gate.audit_authority = authority
    _GateSender(gate, authority, folder).start()
    serverapp.log.info("jupyter_guard: audit authority (%s), governance copy %s",
                       "PostgreSQL" if os.environ.get(DSN_ENV) else "local ledger", copy)
    return authority


class _GateSender(threading.Thread):
    """The server gate's own events (cells it refused before any kernel saw them) go into the
    ledger in process, once the gate has opened its audit log; in hub mode (``where``: the
    service's URL and headers) to the hub service, with the server's hub token."""

    def __init__(self, gate: Any, authority: AuditAuthority | None, folder: str,
                 where: tuple[str, dict[str, str]] | None = None) -> None:
        super().__init__(name="jupyter-guard-gate-audit", daemon=True)
        self.gate, self.authority, self.folder, self.where = gate, authority, folder, where

    def run(self) -> None:
        from jupyter_guard.authority_audit.shipper import Shipper

        while getattr(self.gate, "_audit", None) is None:
            if not os.path.isdir(self.folder):   # the server's data went away (a test's)
                return
            time.sleep(1.0)
        authority, principal = self.authority, Principal("server", "", trusted=True)

        class InProcess(Shipper):
            def _post(self, batch: list[dict[str, Any]]) -> list[Any]:
                assert authority is not None   # in process only when this server is one
                return authority.receive(principal, batch)

        journal = self.gate._audit._journal
        sender = InProcess(journal, "", "") if self.where is None else \
            Shipper(journal, self.where[0], "", headers=self.where[1])
        sender.start()
        while os.path.isdir(self.folder):
            time.sleep(5.0)
        sender.stop(flush_s=0.0)
