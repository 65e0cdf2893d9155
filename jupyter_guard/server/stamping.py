"""The server gate's half of signed identity: load the authority's key, sign each cell's stamp.

Kept apart from the gate so the gate only calls two functions. Without a usable key the server
still runs, loudly: its kernels get no public key, so every per-cell user claim in them is
``unverified`` and cells run as the kernel's owner (fail closed, never as a claimed user).
"""
from __future__ import annotations

import logging
from typing import Any

from jupyter_guard.authority import Signer, server_signer

log = logging.getLogger("jupyter_guard.gate")


def load_signer(serverapp: Any) -> Any:
    """The server's own key, or in hub mode (``JUPYTER_GUARD_HUB_SERVICE_URL``) the hub
    service's public key with stamps signed by the service; None without either."""
    # late: the hub client is needed only on JupyterHub
    from jupyter_guard.hub.client import hub_mode, hub_signer

    try:
        signer: Signer | Any = hub_signer() if hub_mode() else server_signer()
    except Exception as e:  # noqa: BLE001 - bad key file or no cryptography: kernels get no key (see above)
        serverapp.log.error("jupyter_guard: no authority key, per-cell identity is unverified "
                            "in this server's kernels: %s", e)
        return None
    serverapp.log.info("jupyter_guard: authority key loaded%s; kernels verify signed stamps",
                       " from the hub service" if hub_mode() else "")
    return signer


def sign_cell(gate: Any, msg: dict[str, Any], code: str, user: str, groups: tuple[str, ...],
              actor: str, part: dict[str, Any]) -> dict[str, Any]:
    """``{"stamp": ..., "signature": ...}`` for this execute_request ({} without a key)."""
    signer = getattr(gate, "signer", None)
    if signer is None:
        return {}
    meta = msg.get("metadata") or {}
    cell_id = str(meta.get("cellId") or "") if isinstance(meta, dict) else ""
    try:
        return dict(signer.stamp(user=user, groups=groups, actor=actor, cell_id=cell_id,
                                 msg_id=str(msg["header"].get("msg_id") or ""), code=code,
                                 extra=part))
    except Exception as e:  # noqa: BLE001 - an unsigned cell runs as the kernel's owner, never as `user`
        log.error("jupyter_guard could not sign the cell's stamp: %s", e)
        return {}
