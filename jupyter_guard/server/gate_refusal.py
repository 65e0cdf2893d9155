"""A refusal by the server gate, delivered as a kernel error.

The gate does not answer a refused ``execute_request`` itself: it replaces the cell's code with one
statement that raises the refusal, and lets the kernel run that in its turn. The refused code never
reaches the kernel, and the notebook sees what it sees for any other error: the refusal comes after
the cells queued before it, with its busy and idle states and its execution count, and the kernel
aborts the cells queued after it (``stop_on_error``), so Run All stops there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.judge import Judgement
from jupyter_guard.model import Verdict


@dataclass
class GateRefusals:
    """The gate as a ``guard.judge.Refuser``: a refused cell ends on the kernel's one refuse path
    (``guard.judge.refuse``), recorded by the gate's own audit writer and raised with the gate's
    structured refusal (its policy; no kernel guard runs in the server)."""

    log: Callable[[Verdict, str], str]       # (verdict, status) -> the audit row's id
    error: Callable[[Verdict], GuardBlocked]
    last_blocked: dict[str, Any] | None = None

    def begin(self, *, kind: str, code: str, judgement: Judgement | None, cell_id: str = "",
              execution_count: int | None = None, status: str = "running") -> str:
        v = judgement.verdict if judgement is not None else Verdict("block", "", "")
        return self.log(v, status)

    def refusal_error(self, v: Verdict, dialect: str = "duckdb") -> GuardBlocked:
        return self.error(v)


def refusal_code(err: Any) -> str:
    """One Python statement that raises ``err``'s message (class name ``GuardBlocked``, the same
    one-line traceback, the structured refusal as ``details``) in any Python kernel, guarded or not.

    >>> from jupyter_guard.errors import GuardBlocked
    >>> code = refusal_code(GuardBlocked("destructive-ddl", "drops t", approval_hint=False))
    >>> try:
    ...     exec(code)
    ... except PermissionError as e:
    ...     print(type(e).__name__, e, e.rule_id)
    GuardBlocked Blocked by jupyter_guard [destructive-ddl]: drops t. destructive-ddl
    """
    tb = err._render_traceback_()
    details = getattr(err, "details", None)
    return ("raise type('GuardBlocked', (PermissionError,), {'_render_traceback_': "
            f"lambda self: {tb!r}, 'details': {details!r}, 'rule_id': {err.rule_id!r}}})"
            f"({str(err)!r})")


def annotate(session: Any, msg_list: list[Any], refused: dict[str, Any]) -> list[Any]:
    """The kernel's ``error`` and ``execute_reply`` for a cell the gate refused, with the
    structured refusal under ``jupyter_guard`` (content, and the reply's metadata), re-signed.
    Every other message is returned as it came."""
    idents, parts = session.feed_identities(msg_list)
    raw = [p.bytes if hasattr(p, "bytes") else p for p in parts]
    if len(raw) < 5:
        return msg_list
    header, parent = session.unpack(raw[1]), session.unpack(raw[2])
    kind, msg_id = header.get("msg_type"), parent.get("msg_id")
    if kind not in ("error", "execute_reply") or msg_id not in refused:
        return msg_list
    details = refused[msg_id] if kind == "error" else refused.pop(msg_id)
    content = session.unpack(raw[4])
    if kind == "execute_reply" and content.get("status") != "error":
        return msg_list
    content["jupyter_guard"] = details
    frames = [raw[1], raw[2], raw[3], session.pack(content)]
    if kind == "execute_reply":
        frames[2] = session.pack({**session.unpack(raw[3]), "jupyter_guard": details})
    from jupyter_client.session import DELIM

    return [*idents, DELIM, session.sign(frames), *frames, *raw[5:]]
