"""Approvers are told: each change of a request is a ``jupyter_events`` event on the server's
event logger (``approval-requested``, ``approval-decided``, ``approval-used``,
``approval-expired``; schemas in ``jupyter_guard.server.events``) and, when the policy lists
``approvals.notify`` URLs, a JSON POST to each: Slack-compatible ``text`` plus the structured
fields. Posting runs in a background thread with a short timeout: a slow or dead webhook delays
nothing and is logged.
"""
from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from jupyter_guard.server.approval_store import iso
from jupyter_guard.server.events import schema_id

log = logging.getLogger("jupyter_guard.approvals")
TIMEOUT_S = 5.0
_WORDS = {"approval-requested": "asks for approval", "approval-decided": "",
          "approval-used": "ran the approved code", "approval-expired": "request expired"}


def event_data(req: dict[str, Any]) -> dict[str, Any]:
    """The event payload: ids, who, status; the code only by its hash."""
    return {"request_id": req["id"], "event_id": req.get("event_id") or None,
            "requested_by": req["requester"], "status": req["status"],
            "decided_by": req.get("decided_by"), "reason": req.get("reason"),
            "code_sha256": req.get("code_sha256"), "expires_at": iso(req.get("expires_at"))}


def message(name: str, req: dict[str, Any]) -> dict[str, Any]:
    """The webhook body: ``text`` for Slack-like receivers, the fields for everyone else."""
    who, rid, rule = req["requester"], req["id"], req.get("rule") or "-"
    if name == "approval-decided":
        text = f"jupyter_guard: {req.get('decided_by')} {req['status']} request {rid} of {who}"
    else:
        text = f"jupyter_guard: {who} {_WORDS.get(name, name)}: request {rid} (rule {rule})"
    if name == "approval-requested" and req.get("reason"):
        text += f": {req['reason']}"
    return {"text": text, "event": name, "request_id": rid, "requester": who,
            "status": req["status"], "rule": req.get("rule"), "reason": req.get("reason"),
            "decided_by": req.get("decided_by"), "code_sha256": req.get("code_sha256"),
            "created_at": iso(req.get("created_at")), "expires_at": iso(req.get("expires_at"))}


def post(url: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
        resp.read()


class Notifier:
    """Emits events and posts webhooks for request changes."""

    def __init__(self, event_logger: Any, urls: Callable[[], Iterable[str]]) -> None:
        self.logger, self.urls = event_logger, urls
        self.sent: list[tuple[str, str]] = []      # (event, request id), in order

    def __call__(self, name: str, req: dict[str, Any]) -> None:
        self.sent.append((name, req["id"]))
        if self.logger is not None:
            try:
                self.logger.emit(schema_id=schema_id(name), data=event_data(req))
            except Exception as e:   # noqa: BLE001 - an event that cannot be emitted is logged; nothing else
                log.error("jupyter_guard could not emit %s: %s", name, e)
        try:
            urls = [u for u in self.urls() if isinstance(u, str) and u]
        except Exception as e:   # noqa: BLE001 - a broken policy sends no webhook; the event above went out
            log.error("jupyter_guard: approvals.notify unreadable: %s", e)
            return
        if urls:
            body = message(name, req)
            threading.Thread(target=self._post_all, args=(urls, body), daemon=True,
                             name="jupyter-guard-notify").start()

    @staticmethod
    def _post_all(urls: list[str], body: dict[str, Any]) -> None:
        for url in urls:
            try:
                post(url, body)
            except Exception as e:   # noqa: BLE001 - a dead webhook is logged; approvals go on without it
                log.warning("jupyter_guard: approvals.notify %s failed: %s", url, e)
