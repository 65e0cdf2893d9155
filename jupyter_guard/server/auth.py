"""Who a request to the server speaks for: the owner of a single-user server, or the login that
jupyter-server's identity provider authenticated. The API handlers and the gate both ask here."""
from __future__ import annotations

import getpass
import os
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

# Identity providers that only know "someone holds the token": everyone they let in is the
# server's owner, so their random anonymous usernames are replaced by the owner's name.
SHARED_TOKEN_PROVIDERS: tuple[type[IdentityProvider], ...] = (
    IdentityProvider, PasswordIdentityProvider,
)


def shared_token(provider: Any) -> bool:
    """Whether ``provider`` lets in anyone who holds the token (so: the owner)."""
    return type(provider) in SHARED_TOKEN_PROVIDERS


def owner_name() -> str:
    """Who owns a single-user server: the JupyterHub user, else ``JUPYTER_GUARD_USER``, else the
    login."""
    for var in ("JUPYTERHUB_USER", "JUPYTER_GUARD_USER"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return getpass.getuser()


def requesting_user(handler: Any) -> str:
    """The user name a request speaks for: the owner on shared-token servers, else its login."""
    if shared_token(handler.identity_provider):
        return owner_name()
    return str(handler.current_user.username)
