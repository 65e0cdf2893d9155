"""A refusal of ``sent_pieces`` (a message no person reads completing a known value) decided
and recorded on the path every run-time exit takes (``guard.judge.verdict`` and
``refuse_verdict``, as ``hooks.exits.refuse`` does): one ``blocked`` event of kind ``runtime``,
rule ``exfiltration``, in the running cell, or in the session with no cell when none runs (a
widget callback, a thread after its cell ended), as the running cell's user (else the
kernel's owner). Its code and reason name the channel and the message type, never a value: a
type the protocol does not define, and a stream that is none of the kernel's channels, are not
named at all (a cell picks those names: any spelling of a value, letters for digits included,
would be written into the audit).
In ``mode: audit`` the call is not refused and a ``warn`` event records what would have been.

Only a hit comes here (the send path stays as fast as before). Recording cannot turn into a
silent pass: an event the audit cannot write waits in memory and later cells follow
``audit.on_failure`` (``Guard.begin``); any other failure still refuses the call.

>>> _kind_named("comm_msg"), _kind_named("x_progress")
("'comm_msg'", 'a made-up type (its name is not recorded)')
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from jupyter_guard.errors import GuardBlocked

log = logging.getLogger("jupyter_guard")

PROTOCOL = frozenset({
    "comm_open", "comm_msg", "comm_close", "comm_info_request", "debug_event", "status",
    "clear_output", "display_data", "update_display_data", "execute_result", "stream", "error",
    "execute_input", "input_request", "shutdown_request", "interrupt_request",
    "kernel_info_request",
})
"""Message types the Jupyter protocol defines: named in the audit as they are."""
CHANNELS = (("iopub", ("iopub_socket", "iopub_thread")),
            ("shell", ("shell_stream", "shell_socket")), ("stdin", ("stdin_socket",)),
            ("control", ("control_stream", "control_socket")))
REASON = ("a value read from a sensitive column was sent a few characters at a time; the "
          "{kind} message on {channel} that completed it left masked. Send masked "
          "values, or ask for a role that may unmask")


def _kind_named(kind: str) -> str:
    """How the audit names a message type: a protocol's as it is, a made-up one not at all."""
    if kind in PROTOCOL:
        return f"'{kind}'"
    return "a made-up type (its name is not recorded)"


def channel_of(stream: Any) -> str:
    """The kernel channel a ``Session.send`` stream is (``iopub``, ``shell``, ``stdin``,
    ``control``) as ``the iopub channel``, else ``a stream that is no kernel channel`` (its
    class name is the cell's to choose)."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        for name, attrs in CHANNELS:
            for attr in attrs:
                mine = getattr(kernel, attr, None)
                if mine is not None and (stream is mine or stream is getattr(mine, "socket", 0)):
                    return f"the {name} channel"
            if name == "shell" and stream in (getattr(kernel, "shell_streams", None) or ()):
                return "the shell channel"
    except Exception:  # noqa: BLE001 - only the channel's name is lost, never the refusal
        pass
    return "a stream that is no kernel channel"


def _guard() -> tuple[Any, Any]:
    """(the kernel's ``Guard``, the run-time layer or None); (None, None) outside a kernel."""
    from jupyter_guard.hooks.state import current
    from jupyter_guard.kernel.cellhook import current as kernel_guard

    rt = current()
    if rt is not None and getattr(rt, "guard", None) is not None:
        return rt.guard, rt
    kg = kernel_guard()
    return (getattr(kg, "guard", None), None)


def refuse(kind: str, stream: Any) -> None:
    """Decide and record (rule ``exfiltration``) a ``kind`` message sent on ``stream`` that
    completed a known value; raise the ``GuardBlocked`` unless the policy lets it pass (audit
    mode, an approval). Called with no lock of ``sent_pieces`` held."""
    channel = channel_of(stream)
    named = _kind_named(kind)
    reason = REASON.format(kind=named, channel=channel)
    try:
        err = _decide(named, channel, reason)
    except GuardBlocked:
        raise
    except Exception as e:  # noqa: BLE001 - the guard could not decide or record: refused all the same
        log.error("jupyter_guard could not record a refused %s message: %s", channel, e)
        raise GuardBlocked("exfiltration", reason, approval_hint=False) from None
    if err is not None:
        raise err


def _decide(named: str, channel: str, reason: str) -> GuardBlocked | None:
    from jupyter_guard.guard.judge import refuse_verdict, verdict
    from jupyter_guard.hooks.state import Busy
    from jupyter_guard.model import Intent

    guard, rt = _guard()
    if guard is None:   # no kernel guard to record on (a test's bare masker): refused
        return GuardBlocked("exfiltration", reason, approval_hint=False)
    label = "known values"
    code = f"Session.send: a {named} message on {channel} completes a known value"
    intent = Intent("df.export", "host", f"jupyter: {channel}", columns=(label,),
                    remote=True, detail="Session.send", source=code)
    with Busy():   # the guard's own work: its journal writes are no user file exit
        if rt is not None and rt.protect is not None:
            rt.protect.restore_guard()
        ctx = replace(guard.context(files=False), sensitive_columns=frozenset({label}))
        v = verdict(guard, intent, ctx, code)
        if v.refuses:
            err = refuse_verdict(guard, replace(v, reason=reason), kind="runtime", code=code,
                                 intents=(intent,))
            err.details = None   # (its short fields would go on the run its error and reply join)
            return err
        if v.decision == "warn":   # audit mode: what would have been refused, logged
            guard.note("runtime", code, "warn", v.rule_id or "exfiltration", reason)
    return None
