"""``%load_ext jupyter_guard``: build the guard, wire it into the shell, print one line."""
from __future__ import annotations

import atexit
import logging
import sys
from typing import Any

from jupyter_guard.enforce.guard import Guard
from jupyter_guard.enforce.kernel import KernelGuard, banner
from jupyter_guard.errors import GuardBlocked

log = logging.getLogger("jupyter_guard")


def load(shell: Any) -> KernelGuard:
    existing = getattr(shell, "_jupyter_guard_kernel", None)
    if existing is not None and existing.installed:
        print(banner(existing.guard))
        return existing  # type: ignore[no-any-return]
    from jupyter_guard.config import JupyterGuard

    cfg = JupyterGuard(parent=shell)
    guard = Guard.create(cfg)
    _open_audit(guard)
    kg = KernelGuard(shell, guard)
    kg.install()
    # Bound before the runtime layer installs: self-protection snapshots these and would take
    # a later assignment for tampering.
    shell._jupyter_guard_kernel = kg
    sys.modules["jupyter_guard"]._kernel_guard = kg  # type: ignore[attr-defined]
    from jupyter_guard.enforce.magic import GuardMagics

    shell.register_magics(GuardMagics(shell, guard))
    _install_optional(shell, guard)
    _seal()
    if not cfg.quiet:
        print(banner(guard))
    for w in guard.policy.warnings:
        print(f"jupyter_guard policy problem: {w}", file=sys.stderr)
    return kg


def _open_audit(guard: Guard) -> None:
    from jupyter_guard.record.audit import AuditLog

    path = guard.settings["audit"]
    import os

    from jupyter_guard.record.owner import MARKER

    os.environ[MARKER] = str(os.getpid())   # children: `jupyter guard compact` refuses to run
    try:
        # An ingest costs ~20 ms of CPU: once a second keeps readers within the 2 s promise
        # without taking a noticeable share of a busy kernel's time.
        guard.audit = AuditLog(path, session_id=guard.session_id, redact=lambda s: guard.redact(s),
                               interval=1.0)
        atexit.register(guard.audit.close)  # stop the ingest thread before the interpreter goes
    except Exception as e:  # no audit: audit.on_failure decides (refuse by default), and says so
        from jupyter_guard.record.audit import BrokenAudit

        guard.audit = BrokenAudit(path, f"{type(e).__name__}: {e}")
        print(f"jupyter_guard: cannot write the audit file {path} ({e}); audit.on_failure "
              f"({guard.policy.audit_on_failure}) applies. Set JUPYTER_GUARD_AUDIT to a writable "
              "path.", file=sys.stderr)


def _install_optional(shell: Any, guard: Guard) -> None:
    """Masking, the runtime layer and jupysql coverage: each optional, none may break loading."""
    for modname in ("jupyter_guard.enforce.sinks", "jupyter_guard.enforce.wire_mask", "jupyter_guard.enforce.runtime",
                    "jupyter_guard.enforce.jupysql", "jupyter_guard.enforce.approvals"):
        try:
            mod = __import__(modname, fromlist=["install"])
        except ImportError as e:
            if e.name != modname:
                log.error("jupyter_guard: %s failed to import: %s", modname, e)
            continue
        try:
            mod.install(shell, guard)
            if modname.endswith(".runtime"):
                guard.runtime_files = True
        except Exception as e:
            log.error("jupyter_guard: %s failed to install: %s", modname, e)
            print(f"jupyter_guard: {modname.rsplit('.', 1)[-1]} could not start ({e})", file=sys.stderr)


def _seal() -> None:
    """Self-protection snapshots the guard only once every optional part is installed."""
    rt = getattr(sys.modules.get("jupyter_guard.enforce.runtime"), "_RT", None)
    protect = getattr(rt, "protect", None)
    if protect is not None:
        protect.seal()


def unload(shell: Any) -> None:
    """The guard cannot be switched off from inside the kernel (CONTRACT section 1)."""
    raise GuardBlocked("self-protection", "the guard cannot be unloaded from inside the kernel; "
                       "start a new kernel without it if your policy allows", approval_hint=False)
