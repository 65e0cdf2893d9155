"""The children part of the kernel guard: every child process inherits the guard.

At load the kernel puts ``jupyter_guard/_child`` (an injected ``sitecustomize``) first on
``PYTHONPATH`` and its policy, audit file, user, actor and session in the environment, so every
Python child (``!python``, ``%%bash``, ``os.system``, ``subprocess``, ``os.exec*``,
``posix_spawn``) starts with the guard inside it (``child``). Taking that out of the kernel's
environment, or starting a child with an environment without it, is refused (``runtime_events``
and the shell analysis); other programs are judged before they start (``analyze.children``).
"""
from __future__ import annotations

import os
from typing import Any

from jupyter_guard.authority_files import KEY_ENV, STORE_ENV, paths
from jupyter_guard.hooks.child import CHILD_DIR, PARENT, env_drops_guard
from jupyter_guard.hooks.child_policy import POLICY_JSON, policy_json

__all__ = ["CHILD_DIR", "child_env", "env_drops_guard", "install"]


def child_env(guard: Any, environ: Any = None) -> dict[str, str]:
    """The variables every child inherits."""
    environ = os.environ if environ is None else environ
    old = [p for p in (environ.get("PYTHONPATH") or "").split(os.pathsep) if p and p != CHILD_DIR]
    env = {"PYTHONPATH": os.pathsep.join([CHILD_DIR, *old]), PARENT: guard.session_id,
           "JUPYTER_GUARD_AUDIT": guard.settings.get("audit") or "",
           "JUPYTER_GUARD_USER": guard.user, "JUPYTER_GUARD_ACTOR": guard.actor}
    env[POLICY_JSON] = policy_json(guard.policy)
    # the server's authority files as this kernel finds them: a child's first network event
    # then finds them without loading jupyter_core and platformdirs
    env[KEY_ENV], env[STORE_ENV] = paths(environ)
    if guard.settings.get("policy"):
        env["JUPYTER_GUARD_POLICY"] = os.path.abspath(guard.settings["policy"])
    return {k: v for k, v in env.items() if v}


def install(shell: Any, guard: Any) -> None:
    from jupyter_guard.hooks.state import Busy

    if not os.path.isfile(os.path.join(CHILD_DIR, "sitecustomize.py")):
        raise FileNotFoundError(f"{CHILD_DIR}/sitecustomize.py is missing")
    with Busy():   # the guard's own change of the environment
        for k, v in child_env(guard).items():
            os.environ[k] = v

    def adopt(old: Any, new: Any) -> None:
        """``%guard reload`` (or a changed file) swapped the policy: children get the new one."""
        with Busy():
            os.environ[POLICY_JSON] = policy_json(new)

    guard.on_policy(adopt)
