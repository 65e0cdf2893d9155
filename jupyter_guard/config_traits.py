"""The ``JupyterGuard`` configurable (traitlets), shared by kernel, magic, server and CLI.

``jupyter_guard.config`` resolves the settings (environment over this over defaults) and hands
this class out on first use, so a command that reads no config file never imports traitlets.
"""
from __future__ import annotations

from traitlets import Bool, Unicode
from traitlets.config import Configurable


class JupyterGuard(Configurable):
    """Settings of jupyter_guard (see README, "Configuration")."""

    policy = Unicode(
        "",
        help="Path of the policy YAML file (default: the packaged default policy). "
        "Env: JUPYTER_GUARD_POLICY.",
    ).tag(config=True)
    audit = Unicode("", help="Path of the DuckDB audit file (default: <jupyter data dir>/guard/"
                    "audit.duckdb). Env: JUPYTER_GUARD_AUDIT.").tag(config=True)
    user = Unicode("", help="Who runs the kernel when no server or JupyterHub identity is known. "
                   "Env: JUPYTER_GUARD_USER.").tag(config=True)
    actor = Unicode("human", help="'human' or 'agent:<name>' for kernels driven by an AI agent. "
                    "Env: JUPYTER_GUARD_ACTOR.").tag(config=True)
    quiet = Bool(False, help="Do not print the one-line banner on load.").tag(config=True)
