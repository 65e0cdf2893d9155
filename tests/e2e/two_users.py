"""A test harness for a JupyterLab used by two people: alice holds the server's token, gina her
own (``GINA_TOKEN``), which the browser then keeps in a signed cookie. The server tells them apart
by these, as a real identity provider (JupyterHub, OAuth) would, so the guard's approval API sees
two authenticated users."""
from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import IdentityProvider, User

GINA_TOKEN = "gina-e2e-token-0123456789abcdef"
COOKIE = "jg-e2e-user"


class TwoUsers(IdentityProvider):
    async def get_user(self, handler: Any) -> User | None:
        auth = handler.request.headers.get("Authorization", "")
        token = handler.get_argument("token", "") or (
            auth[len("token "):] if auth.startswith("token ") else "")
        if token == GINA_TOKEN:
            if not getattr(handler, "_headers_written", False):
                handler.set_secure_cookie(COOKIE, "gina")
            handler._token_authenticated = True
            return User("gina", display_name="gina")
        if handler.get_secure_cookie(COOKIE) == b"gina":
            return User("gina", display_name="gina")
        anyone = await ensure_async(super().get_user(handler))
        return User("alice", display_name="alice") if anyone else None
