"""The gate on the server's kernel websockets: a mixin that sees each message first and hands
``execute_request``s to the ``Gate`` (``server/gate.py``), and ``setup_gate``, which installs it.

Extension point: jupyter_server 2.x reads the class that bridges a kernel websocket and its ZMQ
channels from ``web_app.settings["kernel_websocket_connection_class"]`` (the configurable
``ServerApp.kernel_websocket_connection_class``) for every new websocket. ``setup_gate`` puts a
subclass of the configured class there whose ``handle_incoming_message`` sees each message first.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.identity import cell_actor
from jupyter_guard.model import Analysis, Verdict
from jupyter_guard.server.gate import Gate, refusal, server_user
from jupyter_guard.server.kernel_env import pass_identity
from jupyter_guard.server.stamping import load_signer, sign_cell

log = logging.getLogger("jupyter_guard.gate")
V1 = "v1.kernel.websocket.jupyter.org"


class GateMixin:
    """Mixed into the server's kernel websocket connection class by ``setup_gate``."""

    _jg_gate: Gate

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        try:
            forward = self._jg_incoming(incoming_msg)
        except Exception as e:   # a broken gate refuses execute_requests, never lets them by
            log.exception("jupyter_guard gate failed")
            forward = self._jg_fail(incoming_msg, e)
        if forward is not None:
            super().handle_incoming_message(forward)   # type: ignore[misc]  # a mixin: its base is the connection class

    def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
        refused = getattr(self, "_jg_refused", None)
        if refused:   # the kernel's error for a refused cell gets the structured refusal
            try:
                from jupyter_guard.server.gate_refusal import annotate

                session: Any = self.session  # type: ignore[attr-defined]  # a mixin: the connection class has it
                outgoing_msg = annotate(session, outgoing_msg, refused)
            except Exception:   # the error reaches the client without its fields, never lost
                log.exception("jupyter_guard gate could not annotate a refusal")
        pending = getattr(self, "_jg_pending", None)
        if pending:
            try:
                self._jg_outgoing(stream, outgoing_msg, pending)
            except Exception:  # the reply still reaches the client; only the gate's note is lost
                log.exception("jupyter_guard gate could not read a kernel reply")
        super().handle_outgoing_message(stream, outgoing_msg)  # type: ignore[misc]  # a mixin: its base is the connection class

    # -- parsing ---------------------------------------------------------------------------
    def _jg_decode(self, ws_msg: Any) -> tuple[str, dict[str, Any], Any]:
        """(channel, message dict, raw parts) of a websocket message."""
        from jupyter_server.services.kernels.connection.base import (
            deserialize_binary_message,
            deserialize_msg_from_ws_v1,
        )

        session: Any = self.session  # type: ignore[attr-defined]  # a mixin: the connection class has it
        if getattr(self, "subprotocol", None) == V1:
            channel, parts = deserialize_msg_from_ws_v1(ws_msg)
            header = session.unpack(parts[0])
            if channel != "shell" or header.get("msg_type") != "execute_request":
                return channel, {"header": header}, parts
            msg = {"header": header, "parent_header": session.unpack(parts[1]),
                   "metadata": session.unpack(parts[2]), "content": session.unpack(parts[3])}
            return channel, msg, parts
        binary = isinstance(ws_msg, bytes)
        msg = deserialize_binary_message(ws_msg) if binary else json.loads(ws_msg)
        return msg.pop("channel", None) or "shell", msg, None

    def _jg_encode(self, channel: str, msg: dict[str, Any], parts: Any, ws_msg: Any) -> Any:
        from jupyter_client.jsonutil import json_default
        from jupyter_server.services.kernels.connection.base import (
            serialize_binary_message,
            serialize_msg_to_ws_v1,
        )

        if parts is not None:
            parts = list(parts)
            parts[2] = self.session.pack(msg["metadata"])  # type: ignore[attr-defined]  # a mixin: the connection class has it
            parts[3] = self.session.pack(msg["content"])  # type: ignore[attr-defined]  # a mixin: the connection class has it
            return serialize_msg_to_ws_v1(parts, channel)
        msg = {**msg, "channel": channel}
        if isinstance(ws_msg, bytes):
            return serialize_binary_message(msg)
        return json.dumps(msg, default=json_default)

    # -- the gate --------------------------------------------------------------------------
    def _jg_incoming(self, ws_msg: Any) -> Any:
        channel, msg, parts = self._jg_decode(ws_msg)
        if channel != "shell" or msg["header"].get("msg_type") != "execute_request":
            return ws_msg
        gate = self._jg_gate
        code = str((msg.get("content") or {}).get("code") or "")
        meta = msg.get("metadata")
        meta = dict(meta) if isinstance(meta, dict) else {}
        user, groups = self._jg_user()
        actor = cell_actor(meta, "human")
        kernel_id = str(getattr(self, "kernel_id", ""))
        state = gate.kernel(kernel_id)
        exprs = (msg.get("content") or {}).get("user_expressions")
        # the request's user_expressions run as code after the cell: each is judged as a cell
        verdict, intents, facts, logged = gate.judge_request(code, exprs, user, groups, actor,
                                                             kernel_id)
        stamp: dict[str, Any] = {"user": user, "actor": actor}   # replaces what the client claimed
        approved_by = ""
        msg_id = str(msg["header"].get("msg_id") or "")
        state.forward(msg_id, user, code)
        if verdict.refuses:
            # an approval is of a cell's code: a request with expressions gets none
            grant = gate.approval(user, code, msg_id, kernel_id) if logged == code else None
            if grant is None:
                from jupyter_guard.guard.judge import Judgement, refuse
                from jupyter_guard.server.gate_refusal import GateRefusals, refusal_code

                def log(v: Verdict, status: str) -> str:
                    shown = refusal(v, gate.policy).details   # what the user and agents see
                    kept = {**(facts or {}), "refusal": shown} if shown else facts
                    return self._jg_log(logged, user, groups, actor, v, msg, status, kept)

                sink = GateRefusals(log, lambda v: refusal(v, gate.policy))
                # the kernel raises the refusal in its turn, as any other error (Run All stops)
                err = refuse(sink, Judgement(verdict, (verdict,), Analysis(intents), intents),
                             kind="server", code=logged)
                event_id = str((sink.last_blocked or {}).get("recorded") or "")
                state.last_refused[user] = {"code": code, "rule_id": verdict.rule_id,
                                            "event_id": event_id, "ts": time.time()}
                msg["content"] = {**(msg.get("content") or {}), "code": refusal_code(err),
                                  "user_expressions": {}}
                self._jg_refused = getattr(self, "_jg_refused", None) or {}
                self._jg_refused[msg["header"].get("msg_id", "")] = err.details
                if event_id:   # the kernel's row of the raise joins this one: one cell
                    stamp["server_event"] = event_id
                stamp.update(sign_cell(gate, msg, msg["content"]["code"], user, groups, actor,
                                       stamp))
                msg["metadata"] = {**meta, "jupyter_guard": stamp}
                return self._jg_encode(channel, msg, parts, ws_msg)
            approved_by = str(grant["decision"]["approver"])
            stamp["approval"] = grant
            verdict = replace(verdict, decision="allow",
                              reason=f"approved by {approved_by}: {verdict.reason}")
        if code.lstrip().startswith("%guard") and user in state.last_refused:
            stamp["last_refused"] = state.last_refused[user]
        meta["jupyter_guard"] = stamp
        msg["metadata"] = meta
        if approved_by and facts is not None:
            facts["approved_by"] = approved_by
        if verdict.decision == "warn" and verdict.reason.startswith(("would block",
                                                                     "would approval")):
            # audit mode: the event says what enforce mode would have refused, as a refusal
            facts = {**(facts or {}), "refusal": refusal(verdict, gate.policy).details}
        event_id = self._jg_log(logged, user, groups, actor, verdict, msg, "running", facts)
        if event_id:   # the kernel's events of this cell name it: one cell, two layers
            stamp["server_event"] = event_id
        stamp.update(sign_cell(gate, msg, code, user, groups, actor, stamp))
        self._jg_pending = getattr(self, "_jg_pending", None) or {}
        self._jg_pending[msg["header"].get("msg_id", "")] = (event_id, intents, time.perf_counter(),
                                                             user)
        return self._jg_encode(channel, msg, parts, ws_msg)

    def _jg_user(self) -> tuple[str, tuple[str, ...]]:
        if not hasattr(self, "_jg_identity"):
            self._jg_identity = server_user(self.websocket_handler)  # type: ignore[attr-defined]  # a mixin: the connection class has it
        return self._jg_identity

    def _jg_log(self, code: str, user: str, groups: tuple[str, ...], actor: str, v: Verdict,
                msg: dict[str, Any], status: str, facts: dict[str, Any] | None = None) -> str:
        cell_id = str((msg.get("metadata") or {}).get("cellId") or "")
        try:
            return str(self._jg_gate.audit.begin(
                user=user, actor=actor, notebook="", cell_id=cell_id, execution_count=None,
                kind="server", code=code, decision=v.decision, rule_id=v.rule_id, reason=v.reason,
                status=status, policy_revision=v.policy_revision, decision_id=v.decision_id,
                groups=groups, facts=facts))
        except Exception as e:  # noqa: BLE001 - recording never decides; the refusal still stands
            log.error("jupyter_guard gate could not write the audit event: %s", e)
            return ""

    def _jg_fail(self, ws_msg: Any, err: Exception) -> Any:
        try:
            channel, msg, _ = self._jg_decode(ws_msg)
        except Exception:  # noqa: BLE001 - not a message the gate can read, so not an execute_request either
            return ws_msg    # not a message the gate can read, so not an execute_request either
        if channel != "shell" or msg["header"].get("msg_type") != "execute_request":
            return ws_msg
        self._jg_refuse(msg, self._jg_failed(msg, f"the server's guard failed on this cell "
                                             f"({type(err).__name__}: {err}); nothing ran"))
        return None

    def _jg_failed(self, msg: dict[str, Any], reason: str) -> GuardBlocked:
        """A failure of the gate refuses the cell on the one refuse path (a ``guard-error`` row,
        the structured refusal); if even that fails, the plain error."""
        try:
            from jupyter_guard.guard.judge import refuse_verdict
            from jupyter_guard.server.gate_refusal import GateRefusals

            code = str((msg.get("content") or {}).get("code") or "")
            meta = msg.get("metadata") if isinstance(msg.get("metadata"), dict) else {}
            user, groups = self._jg_user()
            actor = cell_actor(meta, "human")
            sink = GateRefusals(lambda v, status: self._jg_log(
                code, user, groups, actor, v, msg, status), lambda v: refusal(v))
            return refuse_verdict(sink, Verdict("block", "guard-error", reason), kind="server",
                                  code=code)
        except Exception:  # noqa: BLE001 - the cell is refused either way; the plain error says why
            return GuardBlocked("guard-error", reason, approval_hint=False)

    def _jg_refuse(self, request: dict[str, Any], message: str | GuardBlocked) -> None:
        """Answer an execute_request as a kernel would, without the kernel."""
        parent = request["header"]
        code = str((request.get("content") or {}).get("code") or "")
        session: Any = self.session  # type: ignore[attr-defined]  # a mixin: the connection class has it
        details = getattr(message, "details", None)
        tb = message._render_traceback_() if isinstance(message, GuardBlocked) else [
            f"\x1b[0;31m{message}\x1b[0m"]
        err: dict[str, Any] = {"ename": "GuardBlocked", "evalue": str(message), "traceback": tb}
        if details:
            err["jupyter_guard"] = details
        for channel, msg_type, content in (
                ("iopub", "status", {"execution_state": "busy"}),
                ("iopub", "execute_input", {"code": code, "execution_count": None}),
                ("iopub", "error", err),
                ("shell", "execute_reply", {"status": "error", "execution_count": None, **err}),
                ("iopub", "status", {"execution_state": "idle"})):
            self._jg_send(channel, session.msg(msg_type, content, parent=parent))

    def _jg_send(self, channel: str, msg: dict[str, Any]) -> None:
        from jupyter_client.jsonutil import json_default
        from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

        write = self.websocket_handler.write_message  # type: ignore[attr-defined]  # a mixin: the connection class has it
        pack = self.session.pack  # type: ignore[attr-defined]  # a mixin: the connection class has it
        if getattr(self, "subprotocol", None) == V1:
            write(serialize_msg_to_ws_v1(msg, channel, pack), binary=True)
        else:
            write(json.dumps({**msg, "channel": channel}, default=json_default))

    def _jg_outgoing(self, stream: Any, msg_list: list[Any], pending: dict[str, Any]) -> None:
        if isinstance(stream, str):
            stream = self.channels.get(stream)  # type: ignore[attr-defined]  # a mixin: the connection class has it
        if getattr(stream, "channel", None) != "shell":
            return
        session: Any = self.session  # type: ignore[attr-defined]  # a mixin: the connection class has it
        _, parts = session.feed_identities(msg_list)
        raw = [p.bytes if hasattr(p, "bytes") else p for p in parts[1:5]]
        header, parent = session.unpack(raw[0]), session.unpack(raw[1])
        if header.get("msg_type") != "execute_reply" or parent.get("msg_id") not in pending:
            return
        event_id, intents, start, user = pending.pop(parent["msg_id"])
        content = session.unpack(raw[3])
        ok = content.get("status") == "ok"
        kernel_refused = content.get("ename") == "GuardBlocked"
        status = "ok" if ok else ("blocked" if kernel_refused else "error")
        gate = self._jg_gate
        kernel_id = str(getattr(self, "kernel_id", ""))
        gate.note_reply(kernel_id, intents, ok)
        if kernel_refused:   # the kernel's own refusal is now the latest: `%guard request` uses it
            gate.kernel(kernel_id).last_refused.pop(user, None)
        if event_id:
            gate.audit.finish(event_id, status=status,
                              duration_ms=(time.perf_counter() - start) * 1000)


def setup_gate(serverapp: Any) -> Gate:
    """Install the gate on a jupyter server (called by ``jupyter_guard.server.extension``)."""
    from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

    from jupyter_guard.config import JupyterGuard, resolve

    settings = serverapp.web_app.settings
    base = settings.get("kernel_websocket_connection_class") or ZMQChannelsWebsocketConnection
    if isinstance(base, str):
        from traitlets.utils.importstring import import_item

        base = import_item(base)
    existing = getattr(base, "_jg_gate", None)
    if existing is not None:
        return existing
    gate = Gate(resolve(JupyterGuard(parent=serverapp)))
    gated = type(f"Guarded{base.__name__}", (GateMixin, base), {"_jg_gate": gate})
    settings["kernel_websocket_connection_class"] = gated
    gate.signer = load_signer(serverapp)
    # late: only when the server sets up approvals
    from jupyter_guard.server.approval_api import setup_approvals

    setup_approvals(serverapp, gate)
    # late, like approvals: the audit authority mounts only on a server that runs the gate
    from jupyter_guard.server.audit_authority import setup_audit_authority

    setup_audit_authority(serverapp, gate)
    pass_identity(serverapp, gate.signer, gate)
    serverapp.log.info("jupyter_guard: server-side gate on kernel websockets (%s), policy %s, "
                       "audit %s", base.__name__, gate.policy.name, gate.settings["audit"])
    return gate

