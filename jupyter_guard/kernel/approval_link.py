"""The kernel's line to the jupyter server's approval store (``jupyter_guard.server.approval_api``).

The server that started this kernel put its URL and a token naming this kernel in the kernel's
environment; both are read once, when the guard loads. Without them, or without the server's
public key, the kernel is in local mode: no approval can exist for it, and ``%guard request`` and
the refusals say so. Calls are plain HTTP (``urllib``) with a timeout; any failure means "not
approved".
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

URL_ENV, TOKEN_ENV = "JUPYTER_GUARD_SERVER_URL", "JUPYTER_GUARD_KERNEL_TOKEN"
TOKEN_HEADER = "X-Jupyter-Guard-Kernel"
TIMEOUT_S = 30.0
LOCAL = ("approvals need the jupyter server's authority and this kernel has none (local mode: "
         "no server started it); run the notebook in a jupyter server with the guard extension")


class LinkError(Exception):
    """The server refused or could not be reached; the message says which."""


class Link:
    def __init__(self, url: str, token: str) -> None:
        self.url, self._token = url.rstrip("/") + "/", token

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the server as the guard's own work (the run-time exits stay out of it)."""
        from jupyter_guard.hooks.state import Busy

        with Busy():
            return self._post(path, body)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            self.url + "jupyter-guard/api/kernel/" + path, data=json.dumps(body).encode(),
            method="POST", headers={"Content-Type": "application/json",
                                    TOKEN_HEADER: self._token})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                data = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise LinkError(_message(e)) from e
        except (OSError, ValueError) as e:
            raise LinkError(f"the jupyter server could not be reached ({e})") from e
        if not isinstance(data, dict):
            raise LinkError("the jupyter server sent something that is not a JSON object")
        return data


def _message(e: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(e.read() or b"{}").get("message") or e)
    except (OSError, ValueError):
        return str(e)


def _load() -> Link | None:
    url, token = os.environ.get(URL_ENV, "").strip(), os.environ.get(TOKEN_ENV, "").strip()
    return Link(url, token) if url and token else None


# Built once, when the guard loads (like the verifier in ``jupyter_guard.identity``).
_LINK: Link | None = _load()


def link() -> Link | None:
    """The server link when approvals are possible here (server key and link), else None."""
    from jupyter_guard import identity

    return _LINK if identity._VERIFIER is not None else None


def unavailable() -> str:
    """Why no approval is possible in this kernel, '' when one is."""
    return "" if link() is not None else LOCAL
