"""Signed approvals: the records the authority signs and the checks a kernel makes before it lets
an approved statement run.

A decision is ``{type: "approval", request_id, code_sha256, requester, approver, expires_at,
uses: 1}``, signed by the jupyter server's key when an approver decides. When a kernel spends it,
the server adds a signed receipt ``{type: "spend", request_id, msg_id, kernel_id, spent_at}``
naming the execute_request it was spent for. A kernel honours an approval only when both
signatures verify with the server's public key, the decision is for this code, this user and has
not expired, and the receipt names the request the kernel is running now. Nothing else (an audit
row, a flag in kernel memory, an environment variable) can make a statement approved.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

DECISION_FIELDS = ("type", "request_id", "code_sha256", "requester", "approver", "expires_at",
                   "uses")
RECEIPT_FIELDS = ("type", "request_id", "msg_id", "kernel_id", "spent_at")


def decision(*, request_id: str, code_sha256: str, requester: str, approver: str,
             expires_at: float) -> dict[str, Any]:
    """The record an approver's decision is (unsigned).

    >>> sorted(decision(request_id="r", code_sha256="h", requester="a", approver="g",
    ...                 expires_at=1.0))[:3]
    ['approver', 'code_sha256', 'expires_at']
    """
    return {"type": "approval", "request_id": request_id, "code_sha256": code_sha256,
            "requester": requester, "approver": approver, "expires_at": round(expires_at, 3),
            "uses": 1}


def receipt(*, request_id: str, msg_id: str, kernel_id: str, now: float | None = None
            ) -> dict[str, Any]:
    """The record of one spend: for which execute_request of which kernel (unsigned)."""
    return {"type": "spend", "request_id": request_id, "msg_id": msg_id, "kernel_id": kernel_id,
            "spent_at": round(time.time() if now is None else now, 3)}


def problem(verifier: Any, grant: object, *, user: str, code_sha256: str | None, msg_id: str,
            now: float | None = None) -> str:
    """Why ``grant`` (``{decision, signature, receipt, receipt_signature}``) cannot approve this
    statement, '' when it can. ``verifier`` is the kernel's ``authority.Verifier``.
    ``code_sha256=None``: any statement of the cell the receipt names (the server matched the
    code when it spent the approval for that cell)."""
    if verifier is None:
        return "no authority key in this kernel (local mode)"
    if not isinstance(grant, Mapping):
        return "malformed approval"
    dec, rec = grant.get("decision"), grant.get("receipt")
    if not isinstance(dec, Mapping) or tuple(sorted(dec)) != tuple(sorted(DECISION_FIELDS)) \
            or dec.get("type") != "approval":
        return "malformed approval"
    if not isinstance(rec, Mapping) or tuple(sorted(rec)) != tuple(sorted(RECEIPT_FIELDS)) \
            or rec.get("type") != "spend":
        return "malformed spend receipt"
    if not verifier.verify_record(dec, grant.get("signature")):
        return "approval not signed by this server"
    if not verifier.verify_record(rec, grant.get("receipt_signature")):
        return "spend receipt not signed by this server"
    if rec["request_id"] != dec["request_id"]:
        return "receipt is for another request"
    if not msg_id or rec["msg_id"] != msg_id:
        return "approval was spent for another cell"
    if code_sha256 is not None and dec["code_sha256"] != code_sha256:
        return "approval is for other code"
    if dec["requester"] != user:
        return f"approval is for {dec['requester']}, not {user}"
    if dec["uses"] != 1:
        return "malformed approval (uses)"
    expires = dec["expires_at"]
    if not isinstance(expires, (int, float)) or (time.time() if now is None else now) > expires:
        return "approval expired"
    return ""
