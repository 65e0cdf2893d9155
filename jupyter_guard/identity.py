"""Who runs a cell: the user (and groups) and the actor (a person, or ``agent:<name>``).

The kernel's own user comes from JupyterHub (``JUPYTERHUB_USER``, ``JUPYTERHUB_GROUPS``), the
server that started it (``JUPYTER_GUARD_SERVER_USER``), ``JUPYTER_GUARD_USER`` (or
``c.JupyterGuard.user``), then the OS login. A cell runs as another user only when the jupyter
server signed that user into the cell's ``execute_request`` (``jupyter_guard.authority``): the
server's public key is read once, when this module is imported by the loading guard; an unsigned
or bad claim leaves the kernel's own user (``cell_check`` says why).

The actor comes from ``JUPYTER_GUARD_ACTOR`` (the kernel's default) or, per cell, from
``metadata.jupyter_guard.actor`` of the ``execute_request``. Unsigned metadata can make the actor
stricter (``agent:*``) but never less strict: in a kernel started as ``agent:x``, a cell claiming
``human`` stays ``agent:x``; only a verified stamp sets a less strict actor.

Stdlib only (``cryptography`` only with a key): the kernel, the server gate and the CLI use it.
"""
from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_guard.authority import Checked, Verifier, kernel_verifier
from jupyter_guard.config import resolve_user

META_KEY = "jupyter_guard"               # execute_request metadata key, see docs/agents.md
SERVER_USER_ENV = "JUPYTER_GUARD_SERVER_USER"
GATED_ENV = "JUPYTER_GUARD_GATED"        # set by the server gate on the kernels it starts


def _load_verifier() -> Verifier | None:
    try:
        return kernel_verifier()
    except Exception:  # noqa: BLE001 - a bad key or no cryptography: no claim verifies, cells run as the owner
        return None


# Built once, when the guard loads: later environment changes do not swap the key.
_VERIFIER: Verifier | None = _load_verifier()
_ACTOR = re.compile(r"^(human|agent:[A-Za-z0-9_.@/+-]{1,64})$")


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()
    actor: str = "human"


def valid_actor(actor: object) -> bool:
    """
    >>> valid_actor("agent:copilot"), valid_actor("human"), valid_actor("agent:"), valid_actor(3)
    (True, True, False, False)
    """
    return isinstance(actor, str) and bool(_ACTOR.match(actor))


def resolve(configured_user: str = "", configured_actor: str = "",
            env: Mapping[str, str] | None = None) -> Identity:
    """The kernel's identity from its environment and configuration."""
    env = dict(os.environ if env is None else env)
    user, groups = resolve_user(configured_user, env)
    actor = env.get("JUPYTER_GUARD_ACTOR") or configured_actor or "human"
    return Identity(user, groups, actor if valid_actor(actor) else "agent:unknown")


def guard_meta(metadata: object) -> dict[str, Any]:
    """The ``jupyter_guard`` part of an ``execute_request``'s metadata ({} when absent or bad)."""
    if not isinstance(metadata, Mapping):
        return {}
    part = metadata.get(META_KEY)
    return dict(part) if isinstance(part, Mapping) else {}


def cell_actor(metadata: object, default: str = "human") -> str:
    """The actor of one cell: its metadata may mark it ``agent:*``, never relax an agent kernel.

    >>> cell_actor({"jupyter_guard": {"actor": "agent:copilot"}})
    'agent:copilot'
    >>> cell_actor({"jupyter_guard": {"actor": "human"}}, default="agent:bot")
    'agent:bot'
    >>> cell_actor({"jupyter_guard": {"actor": "root; DROP"}})
    'agent:unknown'
    """
    asked = guard_meta(metadata).get("actor")
    if asked is None or asked == "":
        return default
    if not valid_actor(asked):
        return "agent:unknown"          # a malformed mark is treated as the strictest actor
    if default.startswith("agent:") and not str(asked).startswith("agent:"):
        return default
    return str(asked)


def cell_check(metadata: object, msg_id: str = "", code: str = "") -> Checked:
    """Check the server's signed stamp on one cell (see ``jupyter_guard.authority``).

    Without the server's public key (a kernel no guarded server started) every claim is
    ``unverified``: a client could claim anyone, so the kernel keeps its own identity.

    >>> cell_check({"jupyter_guard": {"user": "gina"}}).status
    'unverified'
    >>> cell_check({}).status
    'none'
    """
    part = guard_meta(metadata)
    if _VERIFIER is not None:
        return _VERIFIER.check(part, msg_id, code)
    stamp = part.get("stamp")
    claimed = part.get("user") or (stamp.get("user") if isinstance(stamp, Mapping) else "")
    if not claimed and stamp is None:
        return Checked("none")
    return Checked("unverified", claimed=str(claimed or ""),
                   reason="this kernel has no authority key to verify the stamp")


def cell_user(metadata: object, msg_id: str = "", code: str = "") -> str:
    """The user of this cell from a stamp that verifies ('' when none: the kernel's owner).

    >>> cell_user({"jupyter_guard": {"user": "gina"}})
    ''
    """
    checked = cell_check(metadata, msg_id, code)
    return checked.user if checked.status == "verified" else ""


def cli_user(env: Mapping[str, str] | None = None) -> str:
    """Who runs a ``jupyter guard`` command: ``JUPYTER_GUARD_USER``, JupyterHub, the OS login."""
    env = os.environ if env is None else env
    for key in ("JUPYTER_GUARD_USER", "JUPYTERHUB_USER"):
        if env.get(key):
            return env[key]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def cli_groups(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    env = os.environ if env is None else env
    return tuple(g for g in env.get("JUPYTERHUB_GROUPS", "").split(",") if g)
