"""``%guard SUBCOMMAND``: status, reload, request, panel, unmask, explain."""
from __future__ import annotations

import shlex
from typing import Any

from jupyter_guard.errors import GuardConfigError
from jupyter_guard.guard.service import Guard

USAGE = ("usage: %guard status | reload | connections | request [reason] | panel | "
         "unmask on|off | explain CODE")


HELP = {
    "status": "%guard status\n  policy, mode, user, counts by decision, and the cells of this "
              "kernel by how they ended (ok, error, blocked)",
    "reload": "%guard reload\n  read the policy file again",
    "connections": "%guard connections\n  %%guarded_sql's connections: --alias names and "
                   "connection variables; * marks the current one",
    "request": "%guard request [REASON]\n  ask for approval of the last refused cell (someone "
               "else whose role may_approve approves it through the jupyter server: the Guard "
               "sidebar or `jupyter guard approve ID`; none in local mode)",
    "panel": "%guard panel\n  a live summary widget of what the guard did in this kernel",
    "unmask": "%guard unmask on|off\n  show sensitive values unmasked (roles with may_unmask; "
              "logged)",
    "explain": "%guard explain CODE\n  the decision for CODE or SQL, without running it",
}


def help_text(sub: str = "") -> str:
    if sub in HELP:
        return HELP[sub]
    return USAGE + "\n\n" + "\n".join(text for text in HELP.values()) + \
        "\n\n%guard SUBCOMMAND --help shows one"


def run(shell: Any, guard: Guard, line: str) -> Any:
    words = line.strip().split(None, 1)
    sub = words[0] if words else "status"
    rest = words[1] if len(words) > 1 else ""
    if sub in ("--help", "-h", "help") or rest.strip() in ("--help", "-h"):
        print(help_text("" if sub in ("--help", "-h", "help") else sub))
        return None
    if sub == "status":
        print(status_text(guard))
        return None
    if sub == "reload":
        from jupyter_guard.hooks.state import Busy

        with Busy():   # the guard reads its own policy file
            print(guard.reload_policy())
        return None
    if sub == "explain":
        from jupyter_guard.explain import explain_text

        print(explain_text(rest, guard.policy))
        return None
    if sub == "connections":
        from jupyter_guard.kernel import sql_params

        print(sql_params.connections_text(sql_params.CURRENT[0], shell.user_ns))
        return None
    if sub == "panel":
        from jupyter_guard.kernel.panel import panel

        return panel(guard)
    if sub in ("request", "unmask"):
        try:
            from jupyter_guard.kernel import approvals
        except ImportError:
            raise GuardConfigError(f"%guard {sub} is not available in this build") from None
        return approvals.command(
            shell, guard, sub, shlex.split(rest) if sub == "unmask" else [rest]
        )
    raise GuardConfigError(f"unknown %guard subcommand {sub!r}. {USAGE}")


def status_text(g: Guard) -> str:
    from jupyter_guard.kernel.stamped import identity_mode

    p = g.policy
    counts = ", ".join(
        f"{k} {g.counts.get(k, 0)}" for k in ("allow", "mask", "warn", "approval", "block")
    )
    broken = [f"BROKEN   every cell is refused: {e}" for e in p.errors]
    return "\n".join(broken + [
        f"policy   {p.name} ({p.source or 'packaged default'}), revision {p.revision}",
        f"mode     {p.mode}",
        f"user     {g.user}{' groups ' + ','.join(g.groups) if g.groups else ''}, actor {g.actor}",
        f"identity {identity_mode(g.user)}",
        f"audit    {g.settings['audit']}{_audit_health(g)}",
        f"session  {g.session_id}",
        f"counts   {counts}",
        f"cells    {cells_text()}",
        *parts_lines(),
    ])


def _audit_health(g: Guard) -> str:
    failure = getattr(g.audit, "failure", "") if g.audit is not None else "not recorded"
    if not failure:
        return ""
    waiting = getattr(g.audit, "waiting", 0)
    return f" (FAILING: {failure}; {waiting} bytes of events wait in memory)"


def parts_lines() -> list[str]:
    """One line per part of the guard and whether it is on (``extension.PARTS``)."""
    from jupyter_guard.kernel.cellhook import current

    kg = current()
    if kg is None:
        return []
    lines = [f"part     {name}: {state}" for name, state in kg.parts.items()]
    if kg.broken:
        lines.append(f"REFUSING every cell: {kg.broken}")
    return lines


def cells_text() -> str:
    """This kernel's cells by how they ended, one per cell, as the notebook showed them."""
    from jupyter_guard.kernel.cellhook import current

    outcomes = getattr(current(), "outcomes", None) or {}
    return ", ".join(f"{k} {outcomes.get(k, 0)}" for k in ("ok", "error", "blocked"))
