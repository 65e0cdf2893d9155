"""``%load_ext jupyter_guard``: build the guard, wire it into the shell, print one line.

Loading is all or nothing. Every part (``PARTS``) installs completely, or the kernel refuses every
cell with rule ``guard-error`` and a one-line message naming the part that failed and the fix. A
part that fails is tried once more (a race with another thread is the usual cause). The audit
ingest thread starts only after every part is in place.
"""
from __future__ import annotations

import atexit
import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.ports import set_approval_status
from jupyter_guard.guard.service import Guard
from jupyter_guard.kernel import approval_link
from jupyter_guard.kernel.cellhook import KernelGuard, banner
from jupyter_guard.kernel.running import RunningCell

log = logging.getLogger("jupyter_guard")

# (name shown by ``%guard status``, module whose ``install(shell, guard)`` sets the part up)
PARTS: tuple[tuple[str, str], ...] = (
    ("SQL sinks", "jupyter_guard.hooks.sinks"),
    ("structured refusals", "jupyter_guard.kernel.refusals"),   # before masking's Session.send
    ("database kinds", "jupyter_guard.connections"),   # entry points, DB-API drivers
    ("masking", "jupyter_guard.kernel.wire_mask"),
    ("run-time layer", "jupyter_guard.hooks.runtime"),
    ("jupysql templates", "jupyter_guard.hooks.jupysql"),
    ("children", "jupyter_guard.kernel.children"),
    ("approvals", "jupyter_guard.kernel.approvals"),
    ("client code", "jupyter_guard.kernel.client_code"),   # user_expressions, debugger
    ("self-protection", "jupyter_guard.kernel.extension"),   # ``install`` below: the seal
)
FIX = ("restart the kernel; if it fails again, reinstall jupyter_guard and report the error "
       "(`%guard status` shows every part)")


def load(shell: Any) -> KernelGuard:
    existing = getattr(shell, "_jupyter_guard_kernel", None)
    if existing is not None and existing.installed:
        print(banner(existing.guard))
        return existing
    from jupyter_guard.config import JupyterGuard
    from jupyter_guard.kernel import exit_order

    exit_order.install(shell)   # before the audit's close is registered: it runs after it
    cfg = JupyterGuard(parent=shell)
    guard = Guard.create(cfg, cell=RunningCell(shell), open_audit=_open_audit)
    set_approval_status(approval_link.unavailable)   # refusals say whether one is possible
    kg = KernelGuard(shell, guard)
    kg.install()
    # Bound before the runtime layer installs: self-protection snapshots these and would take
    # a later assignment for tampering.
    shell._jupyter_guard_kernel = kg
    sys.modules["jupyter_guard"]._kernel_guard = kg  # type: ignore[attr-defined]  # an attribute the guard sets on a module
    from jupyter_guard.kernel.magics import GuardMagics

    shell.register_magics(GuardMagics(shell, guard))
    # imported before self-protection seals the guard's modules; started once it has
    from jupyter_guard.authority_audit import shipper

    install_parts(shell, guard, kg)
    if guard.audit is not None:
        from jupyter_guard.hooks.state import Busy

        with Busy():   # the guard's own thread, not one user code started
            running = kg.running   # an ingest waits for the running cell to end
            guard.audit.start_ingest(interval=1.0, busy=lambda: running.cell is not None)
            sent = shipper.start(guard.audit)   # to the authority, when the server is one
        if sent is not None:   # registered after the audit's close, so it runs before it
            atexit.register(sent.stop)
    if not cfg.quiet:
        print(banner(guard))
    if kg.broken:
        print(f"jupyter_guard: {kg.broken}", file=sys.stderr)
    for w in guard.policy.warnings:
        print(f"jupyter_guard policy problem: {w}", file=sys.stderr)
    return kg


def install_parts(shell: Any, guard: Guard, kg: KernelGuard,
                  parts: tuple[tuple[str, str], ...] = PARTS) -> None:
    """Install every part, each tried twice; the first that fails twice breaks the kernel guard
    (every cell refused) and the parts after it are not installed."""
    for name, modname in parts:
        error = ""
        for _attempt in range(2):
            error = _install_one(modname, shell, guard)
            if not error:
                break
            log.warning("jupyter_guard: %s failed to install (%s), trying again", name, error)
        kg.parts[name] = error or "on"
        if error:
            kg.broken = (f"could not install its {name} ({error}), so every cell is refused; "
                         f"to fix: {FIX}")
            for later, _ in parts[parts.index((name, modname)) + 1:]:
                kg.parts[later] = "not installed"
            return


def _install_one(modname: str, shell: Any, guard: Guard) -> str:
    """'' when the part is in place, else why not."""
    try:
        mod = importlib.import_module(modname)
        fn: Callable[[Any, Guard], None] = mod.install
        fn(shell, guard)
        return ""
    except Exception as e:  # noqa: BLE001 - any failure is reported and refuses every cell (fail closed)
        return f"{type(e).__name__}: {e}"


def _open_audit(guard: Guard) -> Any:
    """The guard's audit log (``Guard.create`` calls this with the new guard)."""
    from jupyter_guard.record.audit import AuditLog

    path = guard.settings["audit"]
    import os

    from jupyter_guard.record.owner import MARKER

    os.environ[MARKER] = str(os.getpid())   # children: `jupyter guard compact` refuses to run
    try:
        # An ingest costs ~20 ms of CPU: once a second keeps readers within the 2 s promise
        # without taking a noticeable share of a busy kernel's time. The thread starts once
        # loading is done (``load``).
        audit = AuditLog(path, session_id=guard.session_id, redact=guard.redact,
                         background=False)
        atexit.register(audit.close)  # stop the ingest thread before the interpreter goes
        return audit
    except Exception as e:  # noqa: BLE001 - no audit: audit.on_failure decides (refuse by default), and says so
        from jupyter_guard.record.audit import BrokenAudit

        print(f"jupyter_guard: cannot write the audit file {path} ({e}); audit.on_failure "
              f"({guard.policy.audit_on_failure}) applies. Set JUPYTER_GUARD_AUDIT to a writable "
              "path.", file=sys.stderr)
        return BrokenAudit(path, f"{type(e).__name__}: {e}")


def install(shell: Any, guard: Guard) -> None:
    """The self-protection part: snapshot the guard once every other part is installed."""
    from jupyter_guard.hooks import state

    rt = state.current()
    protect = getattr(rt, "protect", None)
    if protect is None:
        raise RuntimeError("the run-time layer did not set up self-protection")
    protect.seal()


def unload(shell: Any) -> None:
    """The guard cannot be switched off from inside the kernel."""
    raise GuardBlocked("self-protection", "the guard cannot be unloaded from inside the kernel; "
                       "start a new kernel without it if your policy allows", approval_hint=False)
