"""The guard's settings: environment variables over the ``JupyterGuard`` configurable (traitlets,
in ``config_traits``, shared by kernel, magic, server and CLI) over defaults.

``c.JupyterGuard.policy = "/etc/guard/policy.yaml"`` in a Jupyter/IPython config file, or
``%config JupyterGuard.audit = "..."`` before ``%load_ext jupyter_guard``.
"""
from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_guard.config_traits import JupyterGuard as JupyterGuard

ENV = {"policy": "JUPYTER_GUARD_POLICY", "audit": "JUPYTER_GUARD_AUDIT",
       "user": "JUPYTER_GUARD_USER", "actor": "JUPYTER_GUARD_ACTOR"}
DEFAULTS = {"policy": "", "audit": "", "user": "", "actor": "human"}   # JupyterGuard's own


def __getattr__(name: str) -> Any:
    """``JupyterGuard`` is defined with traitlets, imported only by who configures it (a
    command that reads no config file resolves its settings without it)."""
    if name == "JupyterGuard":
        from jupyter_guard.config_traits import JupyterGuard

        return JupyterGuard
    raise AttributeError(name)


def default_audit_path() -> str:
    from jupyter_core.paths import jupyter_data_dir

    return str(Path(jupyter_data_dir()) / "guard" / "audit.duckdb")


def resolve(cfg: JupyterGuard | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The effective settings: environment over config over defaults."""
    env = dict(os.environ) if env is None else env
    out = {k: env.get(v) or str((getattr(cfg, k) if cfg is not None else DEFAULTS[k]) or "")
           for k, v in ENV.items()}
    out["audit"] = out["audit"] or default_audit_path()
    out["actor"] = out["actor"] or "human"
    return out


def resolve_user(
    configured: str = "", env: dict[str, str] | None = None
) -> tuple[str, tuple[str, ...]]:
    """(user, groups): the server's identity > JupyterHub > JUPYTER_GUARD_USER > the OS login."""
    env = dict(os.environ) if env is None else env
    groups = tuple(g for g in env.get("JUPYTERHUB_GROUPS", "").split(",") if g)
    for key in ("JUPYTER_GUARD_SERVER_USER", "JUPYTERHUB_USER"):
        if env.get(key):
            return env[key], groups
    if configured:
        return configured, groups
    try:
        return getpass.getuser(), groups
    except (KeyError, OSError):
        return f"uid-{os.getuid()}", groups


def store_files(audit: str) -> tuple[str, ...]:
    """The audit store's own files: the published file, journals, lock, archive and beside-files."""
    if not audit:
        return ()
    return (audit, *(audit + x for x in (".journal", ".lock", ".wal", ".archive", ".heads.json",
                                         ".ingested.json")))


def in_store(path: str, audit: str) -> bool:
    """Whether ``path`` is one of the audit store's files (``audit.duckdb``, ``audit.duckdb.*``,
    its ingest copies ``.audit.duckdb.*``), by absolute and resolved name."""
    try:
        full = os.path.abspath(os.path.expanduser(path))
        names = {full, os.path.realpath(full)}
    except (OSError, ValueError):
        return True   # a name the guard cannot resolve is treated as the store's
    for a in {os.path.abspath(audit), os.path.realpath(audit)}:
        head, base = os.path.split(a)
        for n in names:
            hidden = os.path.join(head, "." + base + ".")
            if n == a or n.startswith((a + ".", hidden)):
                return True
    return False
