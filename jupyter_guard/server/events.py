"""The guard's ``jupyter_events``: versioned schemas registered on the server's ``event_logger``
and a relay that emits one event per decision the audit records, whichever layer made it (the
server gate or a kernel), so hub operators route them with the handlers and listeners they
already use.

Schemas (``$id`` ``https://events.jupyter.org/jupyter_guard/<name>/v1``, version ``"1"``):

- ``cell-decided``: every final audit event (a cell, a SQL statement, a run-time refusal).
- ``approval-requested``, ``approval-decided`` (approved or denied), ``approval-used``,
  ``approval-expired``: emitted by the server's approval store as requests change
  (``jupyter_guard.server.approval_notify``), never read back from the user-writable audit file.
- ``guard-tamper``: a refused attempt to switch the guard off or write its files
  (rule ``self-protection``).

No code and no values: the payloads carry ids, who, the decision and the (masked) reason; a
refused cell's ``refusal`` (also for what audit mode let through) is the structured refusal its
user was shown (``schemas/refusal.v1.json``: rule, reason, the refused statement masked, effect,
approvability, rewrite), so agents and operators read refusals as data. The
relay polls the audit file (``poll``; the extension calls it every second): events become
final in each session's chain order, so a per-session ``seq`` watermark emits each exactly once.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from jupyter_guard.record.hint import hint_path

log = logging.getLogger("jupyter_guard.events")
BASE = "https://events.jupyter.org/jupyter_guard"


def schema_id(name: str) -> str:
    return f"{BASE}/{name}/v1"


def _schema(name: str, description: str, props: dict[str, str], required: list[str]
            ) -> dict[str, Any]:
    types = {"string": ["string", "null"], "integer": ["integer", "null"], "array": "array",
             "boolean": "boolean", "object": ["object", "null"]}
    properties: dict[str, Any] = {}
    for key, kind in props.items():
        properties[key] = {"title": key, "type": types[kind]}
        if kind == "array":
            properties[key]["items"] = {"type": "string"}
    return {"$id": schema_id(name), "version": "1", "title": f"jupyter_guard {name}",
            "description": description, "type": "object", "properties": properties,
            "required": required}


_CELL = {"event_id": "string", "ts": "string", "user": "string", "actor": "string",
         "groups": "array", "layer": "string", "kind": "string", "decision": "string",
         "rule_id": "string", "reason": "string", "status": "string", "session_id": "string",
         "notebook": "string", "cell_id": "string", "execution_count": "integer",
         "code_sha256": "string", "policy_revision": "string", "decision_id": "string",
         "refusal": "object"}
_APPROVAL = {"request_id": "string", "event_id": "string", "requested_by": "string",
             "status": "string", "decided_by": "string", "reason": "string",
             "code_sha256": "string", "expires_at": "string"}
SCHEMAS: dict[str, dict[str, Any]] = {
    "cell-decided": _schema("cell-decided", "The guard decided a cell, statement or run-time "
                            "action, and it ran, failed or was refused (status).", _CELL,
                            ["event_id", "user", "decision", "status", "layer"]),
    "approval-requested": _schema("approval-requested", "Someone asked for approval of a "
                                  "refused cell.", _APPROVAL, ["request_id", "requested_by"]),
    "approval-decided": _schema("approval-decided", "A request was approved or denied "
                                "(by decided_by).", _APPROVAL, ["request_id", "status"]),
    "approval-used": _schema("approval-used", "An approved request was spent: the code ran "
                             "once.", _APPROVAL, ["request_id"]),
    "approval-expired": _schema("approval-expired", "A pending or approved request passed its "
                                "expiry unused.", _APPROVAL, ["request_id", "status"]),
    "guard-tamper": _schema("guard-tamper", "A refused attempt to switch the guard off, patch "
                            "it, or write its audit or policy file.", _CELL,
                            ["event_id", "user", "status"]),
}


def register(event_logger: Any) -> None:
    """Register every schema on a ``jupyter_events.EventLogger`` (idempotent)."""
    for schema in SCHEMAS.values():
        if schema["$id"] not in event_logger.schemas:
            event_logger.register_event_schema(schema)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() + "Z"


class Relay:
    """Emits the audit's new decisions on an event logger (approval events come from the
    server's approval store, not from the audit file, where anyone may write a row)."""

    def __init__(self, audit_path: str, event_logger: Any,
                 policy: Callable[[], Any] | None = None) -> None:
        self.path, self.logger, self.policy = audit_path, event_logger, policy
        self.lineage = LiveLineage(audit_path)
        self.seqs: dict[str, int] = {}
        self.stamp: tuple[Any, ...] | None = None
        self.primed = False

    def poll(self) -> int:
        """Emit what is new since the last poll; returns how many events. The first poll only
        notes where the audit stands (history is not re-emitted). Never raises."""
        try:
            st = os.stat(self.path)
        except OSError:
            self.primed = True      # no audit yet: everything that comes is new
            return 0
        try:   # an ingest that only added a delta file replaces the hint, not the catalog
            hint = os.stat(hint_path(self.path))
            stamp: tuple[Any, ...] = (st.st_mtime, st.st_ino, hint.st_mtime_ns, hint.st_ino)
        except OSError:
            stamp = (st.st_mtime, st.st_ino)
        if stamp == self.stamp:
            return 0
        try:
            return self._poll(stamp)
        except Exception as e:   # noqa: BLE001 - an unreadable audit only delays events; retried
            log.warning("jupyter_guard events: audit not readable yet: %s", e)
            return 0

    def _poll(self, stamp: tuple[Any, ...]) -> int:
        from jupyter_guard.record.store import connect_readonly

        con = connect_readonly(self.path)
        try:
            cur = con.execute("""SELECT e.* FROM events e LEFT JOIN (SELECT unnest(?::VARCHAR[])
                AS session_id, unnest(?::BIGINT[]) AS seq) w USING (session_id)
                WHERE e.seq IS NOT NULL AND e.seq > coalesce(w.seq, 0)
                ORDER BY e.ts, e.session_id, e.seq""", [list(self.seqs), list(self.seqs.values())])
            names = [d[0] for d in cur.description]
            events = [dict(zip(names, r)) for r in cur.fetchall()]
        finally:
            con.close()
        emitted = 0
        for e in events:
            self.seqs[e["session_id"]] = max(self.seqs.get(e["session_id"], 0), int(e["seq"]))
            if self.primed:
                emitted += self._cell(e)
        if self.primed and events and self.policy is not None:
            self.lineage.send(self.policy(), [self._key(e) for e in events])
        self.primed, self.stamp = True, stamp
        return emitted

    @staticmethod
    def _key(e: dict[str, Any]) -> str:
        """The event's cell (``record.views.CELL_KEY``, computed here)."""
        if e.get("server_event_id"):
            return str(e["server_event_id"])
        if e["kind"] == "server":
            return str(e["event_id"])
        if e.get("execution_count") is not None:
            return f"{e['session_id']}#{e['execution_count']}"
        return str(e["event_id"])

    def _cell(self, e: dict[str, Any]) -> int:
        data = {"event_id": e["event_id"], "ts": _iso(e["ts"]), "user": e["user_name"],
                "actor": e["actor"], "groups": list(e["groups"] or []),
                "layer": "server" if e["kind"] == "server" else "kernel", "kind": e["kind"],
                "decision": e["decision"], "rule_id": e["rule_id"], "reason": e["reason"],
                "status": e["status"], "session_id": e["session_id"], "notebook": e["notebook"],
                "cell_id": e["cell_id"], "execution_count": e["execution_count"],
                "code_sha256": e["code_sha256"], "policy_revision": e["policy_revision"],
                "decision_id": e["decision_id"], "refusal": recorded_refusal(e.get("facts"))}
        self.logger.emit(schema_id=schema_id("cell-decided"), data=data)
        if e["rule_id"] == "self-protection":
            self.logger.emit(schema_id=schema_id("guard-tamper"), data=data)
            return 2
        return 1


def recorded_refusal(facts: Any) -> dict[str, Any] | None:
    """The structured refusal an audit event's ``facts`` (JSON text) recorded, else None."""
    if not facts:
        return None
    try:
        value = json.loads(facts) if isinstance(facts, str) else facts
    except ValueError:
        return None
    refusal = value.get("refusal") if isinstance(value, dict) else None
    return refusal if isinstance(refusal, dict) else None


class LiveLineage:
    """The policy key ``openlineage.transport``: OpenLineage events of each cell sent through
    openlineage-python's client as the cell's events reach the audit (sessions stay open)."""

    def __init__(self, audit_path: str) -> None:
        self.path = audit_path
        self.config = ""
        self.client: Any = None
        self.sent: set[str] = set()
        self.started: set[str] = set()

    def send(self, policy: Any, keys: list[str]) -> int:
        config = getattr(policy, "openlineage_transport", "") or ""
        keys = [k for k in dict.fromkeys(keys) if k not in self.sent]
        if not config or not keys:
            return 0
        try:
            if config != self.config:
                from openlineage.client import OpenLineageClient

                self.client = OpenLineageClient(config={"transport": json.loads(config)})
                self.config = config
            from jupyter_guard.record.export import openlineage_events
            from jupyter_guard.record.openlineage import client_event

            count = 0
            for doc in openlineage_events(self.path, cells=keys, started=self.started,
                                          ends=False):
                self.client.emit(client_event(doc))
                count += 1
            self.sent.update(keys)
            return count
        except Exception as e:   # noqa: BLE001 - lineage is an observer: the audit keeps it all
            log.warning("jupyter_guard: OpenLineage events not sent (%s); "
                        "`jupyter guard export --openlineage` has them", e)
            return 0


def setup_events(serverapp: Any, audit_path: str, interval_ms: int = 1000,
                 policy: Callable[[], Any] | None = None) -> Relay | None:
    """Register the schemas on the server's event logger and start the relay."""
    event_logger = getattr(serverapp, "event_logger", None)
    if event_logger is None:
        return None
    register(event_logger)
    relay = Relay(audit_path, event_logger, policy)
    relay.poll()
    from tornado.ioloop import PeriodicCallback

    # poll's count is for the tests; tornado ignores what a callback returns
    relay.timer = PeriodicCallback(relay.poll, interval_ms)  # type: ignore[attr-defined, arg-type]  # the tornado timer is kept on the object
    relay.timer.start()  # type: ignore[attr-defined]  # the tornado timer is kept on the object
    return relay
