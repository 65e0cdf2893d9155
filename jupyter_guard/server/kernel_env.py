"""The environment of the kernels a gated server starts: the mark that the server stamps each
cell's user, the owner's name, the authority's public key and the kernel's way to the approvals.
"""
from __future__ import annotations

import os
import uuid
from typing import Any

from jupyter_guard.authority import PUBKEY_ENV
from jupyter_guard.identity import GATED_ENV, SERVER_USER_ENV


def pass_identity(serverapp: Any, signer: Any = None, gate: Any = None) -> None:
    """Kernels this server starts get ``JUPYTER_GUARD_GATED=1`` (so they trust the user stamped on
    each cell) and ``JUPYTER_GUARD_SERVER_USER``: the owner, when the server
    only knows "someone holds the token" (every login is the owner). With an identity provider that
    names each user, who starts a kernel is not known here: every cell carries its user instead."""
    # late: only when the server sets up approvals
    from jupyter_guard.server.approval_api import TOKEN_ENV, URL_ENV
    from jupyter_guard.server.auth import owner_name, shared_token

    shared = shared_token(getattr(serverapp, "identity_provider", None))
    km = serverapp.kernel_manager
    start = km.start_kernel
    if getattr(start, "_jg_identity", False):
        return

    async def start_kernel(*args: Any, **kwargs: Any) -> Any:
        env = {**os.environ, **(kwargs.get("env") or {}), GATED_ENV: "1"}
        if shared:
            env[SERVER_USER_ENV] = owner_name()
        env.pop(PUBKEY_ENV, None)           # only this server's key, never a client's choice
        if signer is not None:
            env[PUBKEY_ENV] = signer.public
        for var in (URL_ENV, TOKEN_ENV):
            env.pop(var, None)
        service = getattr(gate, "approvals_service", None)
        if service is not None:   # the kernel's way to the approval store, as this kernel only
            kwargs["kernel_id"] = kwargs.get("kernel_id") or str(uuid.uuid4())
            env[URL_ENV] = serverapp.connection_url
            env[TOKEN_ENV] = service.kernel_token(kwargs["kernel_id"])
        kwargs["env"] = env
        return await start(*args, **kwargs)

    start_kernel._jg_identity = True  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
    km.start_kernel = start_kernel
