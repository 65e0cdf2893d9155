"""The server-side guard: every ``execute_request`` relayed by the server's kernel websocket is
stamped with the authenticated user, analysed, and refused before it reaches the kernel when the
policy blocks it. It holds even when the kernel never loaded the extension.

Extension point: jupyter_server 2.x reads the class that bridges a kernel websocket and its ZMQ
channels from ``web_app.settings["kernel_websocket_connection_class"]`` (the configurable
``ServerApp.kernel_websocket_connection_class``) for every new websocket. ``setup_gate`` puts a
subclass of the configured class there whose ``handle_incoming_message`` sees each message first.

A refused cell gets what a kernel would send: ``status: busy``, ``execute_input``, an ``error``
(``ename`` ``GuardBlocked``, ``evalue`` the one-line message), ``status: idle`` and an
``execute_reply`` with ``status: error``. Every cell the gate sees is logged as ``kind='server'``
by an ``AuditLog`` the server owns, completed from the kernel's ``execute_reply``.

The gate decides only what the text settles: intents that need the database (row counts, ``*``),
unknown names or paths and SQL it cannot parse are left to the kernel's guard and runtime layer.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from jupyter_guard.authority import PUBKEY_ENV
from jupyter_guard.errors import GuardBlocked
from jupyter_guard.identity import GATED_ENV, SERVER_USER_ENV, cell_actor
from jupyter_guard.model import UNKNOWN, Analysis, Intent, Verdict
from jupyter_guard.server.stamping import load_signer, sign_cell

log = logging.getLogger("jupyter_guard.gate")
V1 = "v1.kernel.websocket.jupyter.org"
SQL_CELL_MAGICS = ("%%guarded_sql", "%%sql")


@dataclass
class KernelState:
    """What the gate knows of one kernel across websockets."""

    session_tables: set[str] = field(default_factory=set)
    last_refused: dict[str, dict[str, Any]] = field(default_factory=dict)   # by user
    # execute_requests forwarded to the kernel: msg_id -> (user, code), the newest 1000
    forwarded: OrderedDict[str, tuple[str, str]] = field(default_factory=OrderedDict)

    def forward(self, msg_id: str, user: str, code: str) -> None:
        self.forwarded[msg_id] = (user, code)
        if len(self.forwarded) > 1000:
            self.forwarded.popitem(last=False)


class Gate:
    """Policy, audit log and per-kernel facts of the server process."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        self.kernels: dict[str, KernelState] = {}
        self._policy: Any = None
        self._policy_stamp: tuple[str, Any] = ("", -1.0)
        self._audit: Any = None
        self._spent: set[str] = set()
        self.signer: Any = None          # the authority's key (jupyter_guard.server.stamping)
        self.approvals_service: Any = None   # jupyter_guard.server.approval_api

    # -- policy and audit ------------------------------------------------------------------
    @property
    def policy(self) -> Any:
        from jupyter_guard.policy.load import load_or_refuse

        path = self.settings.get("policy") or ""
        try:
            st = os.stat(path) if path else None
            mtime = (st.st_mtime_ns, st.st_size, st.st_ino) if st else 0.0
        except OSError as e:
            mtime = float(-(e.errno or 1))   # a file that vanished is noticed, then refused
        if self._policy is None or self._policy_stamp != (path, mtime):
            self._policy = load_or_refuse(path or None)
            self._policy_stamp = (path, mtime)
            for w in self._policy.warnings:
                log.error("jupyter_guard policy problem: %s", w)
        return self._policy

    @property
    def audit(self) -> Any:
        if self._audit is None:
            from jupyter_guard.record.audit import AuditLog

            self._audit = AuditLog(self.settings["audit"], session_id=f"server-{os.getpid()}-"
                                   f"{hashlib.sha256(os.urandom(8)).hexdigest()[:8]}")
            atexit.register(self.close)
        return self._audit

    def close(self) -> None:
        """Flush the server's journal into the audit file (at exit; never raises)."""
        audit, self._audit = self._audit, None
        if audit is not None:
            try:
                audit.close()
            except Exception as e:  # noqa: BLE001 - at exit: the journal stays on disk and is ingested by the next reader
                log.warning("jupyter_guard gate: the audit log did not close cleanly: %s", e)

    def kernel(self, kernel_id: str) -> KernelState:
        return self.kernels.setdefault(kernel_id, KernelState())

    # -- deciding --------------------------------------------------------------------------
    def judge(self, code: str, user: str, groups: tuple[str, ...], actor: str,
              kernel_id: str) -> tuple[Verdict, tuple[Intent, ...], dict[str, Any] | None]:
        """(verdict, intents, facts for ``replay``) of a cell, by the kernel guard's own loop."""
        from jupyter_guard.guard.lineage import facts_of
        from jupyter_guard.policy.cell import decide_cell, recorded
        from jupyter_guard.policy.model import guard_command
        from jupyter_guard.policy.rules import Context

        policy = self.policy
        if policy.errors and not guard_command(code):   # a broken policy: nothing runs
            refused = Verdict("block", "guard-error", policy.broken_reason, None, policy.revision)
            return refused, (), None
        analysis, connection = analyse_cell(code)
        intents = tuple(placed(i, connection) for i in analysis.intents if decidable(i))
        audit = self.settings["audit"]
        own_policy = policy.source if self.settings.get("policy") else ""
        files = [audit, audit + ".journal", audit + ".lock", own_policy]
        ctx = Context(user=user, groups=groups, actor=actor, connection=connection,
                      guard_files=tuple(os.path.realpath(p) for p in files if p),
                      session_tables=frozenset(self.kernel(kernel_id).session_tables))
        _, verdicts = decide_cell(intents, policy, ctx, unverified_creates=True)
        facts = facts_of(intents, ctx)
        if facts is not None:
            facts["unverified_creates"] = True
        return recorded(verdicts), intents, facts

    def approval(self, user: str, code: str, msg_id: str, kernel_id: str
                 ) -> dict[str, Any] | None:
        """A signed approval of ``user`` for this exact code from the server's store, spent for
        this cell (``jupyter_guard.server.approval_api``); None when there is none."""
        service = self.approvals_service
        if service is None:
            return None
        try:
            return service.spend(kernel_id, msg_id,
                                 hashlib.sha256(code.encode("utf-8", "replace")).hexdigest())
        except Exception as e:   # noqa: BLE001 - an unreadable store approves nothing: the refusal stands
            log.error("jupyter_guard gate: approvals unavailable: %s", e)
            return None

    def log_error(self, text: str) -> None:
        log.error("jupyter_guard: %s", text)

    def note_reply(self, kernel_id: str, intents: tuple[Intent, ...], ok: bool) -> None:
        if not ok:
            return
        tables = self.kernel(kernel_id).session_tables
        for i in intents:
            if i.action in ("sql.create", "sql.replace") and i.key:
                tables.add(i.key)
            elif i.action == "sql.drop" and i.key:
                tables.discard(i.key)


def placed(i: Intent, connection: str) -> Intent:
    """The gate asks no database: a table is placed by the connection as the cell names it
    (the variable handed the SQL, or ``%%guarded_sql``'s connection) and its name, so a table
    made through one connection exempts nothing reached through another. The kernel places it
    again in its database and decides again.

    >>> placed(Intent("sql.drop", "table", "main.t", via="pg"), "").key
    'gate(pg):t'
    """
    from jupyter_guard.guard.owned import PLACED
    from jupyter_guard.policy.rules import bare_table

    if i.action not in PLACED or i.key:
        return i
    return i.with_(key=f"gate({i.via or connection}):{bare_table(i.target)}")


def decidable(i: Intent) -> bool:
    """Whether the text alone settles this intent (else the kernel's guard decides it)."""
    from jupyter_guard.guard.own_intents import needs_database

    return not (needs_database(i) or UNKNOWN in i.target or i.action == "sql.unparsed"
                or i.where == "unknown" or i.columns == ("?",))


def analyse_cell(code: str) -> tuple[Analysis, str]:
    """(analysis, connection name) of a cell: SQL cell magics as SQL, the rest as IPython code."""
    from jupyter_guard.explain import analyse

    head, _, body = code.lstrip().partition("\n")
    if head.startswith(SQL_CELL_MAGICS):
        words = head.split()[1:]
        if "--dry-run" in words:
            return Analysis(), ""
        conn = next((w for w in words if not w.startswith("-") and "=" not in w), "")
        from jupyter_guard.analyze.sql import analyze_sql

        return analyze_sql(body, "duckdb"), conn
    return analyse(code), ""


def refusal(v: Verdict, policy: Any = None) -> GuardBlocked:
    """The gate's refusal, with its structured form; it suggests asking for an approval only when
    someone may give one under the policy."""
    from jupyter_guard.guard.refusal import masked
    from jupyter_guard.mask.text import MaskSettings
    from jupyter_guard.policy import refusal as structured

    details = structured.refusal(v, policy)
    if policy is not None:   # the statement and reason may quote sensitive literals
        details = masked(details, MaskSettings(
            columns=policy.sensitive_columns, detectors=policy.detectors,
            strategy=policy.strategy, per_column=dict(policy.per_column)))
    return GuardBlocked(v.rule_id or "policy", v.reason, decision=v.decision, details=details,
                        approval_hint=bool(details["approval"]["possible"]))


def server_user(handler: Any) -> tuple[str, tuple[str, ...]]:
    """The authenticated user of a request (the owner for shared-token logins) and groups."""
    from jupyter_guard.server.auth import owner_name, shared_token

    user = handler.current_user
    if shared_token(handler.identity_provider):
        name = owner_name()
    else:
        name = str(getattr(user, "username", "") or user)
    hub = getattr(user, "hub_user", None)
    groups = tuple(hub.get("groups") or ()) if isinstance(hub, dict) else ()
    return name, groups


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
        verdict, intents, facts = gate.judge(code, user, groups, actor, kernel_id)
        stamp: dict[str, Any] = {"user": user, "actor": actor}   # replaces what the client claimed
        approved_by = ""
        msg_id = str(msg["header"].get("msg_id") or "")
        state.forward(msg_id, user, code)
        if verdict.refuses:
            grant = gate.approval(user, code, msg_id, kernel_id)
            if grant is None:
                from jupyter_guard.guard.judge import Judgement, refuse
                from jupyter_guard.server.gate_refusal import GateRefusals, refusal_code

                def log(v: Verdict, status: str) -> str:
                    shown = refusal(v, gate.policy).details   # what the user and agents see
                    kept = {**(facts or {}), "refusal": shown} if shown else facts
                    return self._jg_log(code, user, groups, actor, v, msg, status, kept)

                sink = GateRefusals(log, lambda v: refusal(v, gate.policy))
                # the kernel raises the refusal in its turn, as any other error (Run All stops)
                err = refuse(sink, Judgement(verdict, (verdict,), Analysis(intents), intents),
                             kind="server", code=code)
                event_id = str((sink.last_blocked or {}).get("recorded") or "")
                state.last_refused[user] = {"code": code, "rule_id": verdict.rule_id,
                                            "event_id": event_id, "ts": time.time()}
                msg["content"] = {**(msg.get("content") or {}), "code": refusal_code(err)}
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
        event_id = self._jg_log(code, user, groups, actor, verdict, msg, "running", facts)
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
    _pass_identity(serverapp, gate.signer, gate)
    serverapp.log.info("jupyter_guard: server-side gate on kernel websockets (%s), policy %s, "
                       "audit %s", base.__name__, gate.policy.name, gate.settings["audit"])
    return gate


def _pass_identity(serverapp: Any, signer: Any = None, gate: Any = None) -> None:
    """Kernels this server starts get ``JUPYTER_GUARD_GATED=1`` (so they trust the user stamped on
    each cell) and ``JUPYTER_GUARD_SERVER_USER``: the owner, when the server
    only knows "someone holds the token" (every login is the owner). With an identity provider that
    names each user, who starts a kernel is not known here: every cell carries its user instead."""
    # late: only when the server sets up approvals
    from jupyter_guard.server.approval_api import TOKEN_ENV, URL_ENV
    from jupyter_guard.server.auth import owner_name, shared_token

    shared = shared_token(getattr(serverapp, "identity_provider", None))
    km = serverapp.kernel_manager
    start = km.start_kernel
    if getattr(start, "_jg_identity", False):
        return

    async def start_kernel(*args: Any, **kwargs: Any) -> Any:
        env = {**os.environ, **(kwargs.get("env") or {}), GATED_ENV: "1"}
        if shared:
            env[SERVER_USER_ENV] = owner_name()
        env.pop(PUBKEY_ENV, None)           # only this server's key, never a client's choice
        if signer is not None:
            env[PUBKEY_ENV] = signer.public
        for var in (URL_ENV, TOKEN_ENV):
            env.pop(var, None)
        service = getattr(gate, "approvals_service", None)
        if service is not None:   # the kernel's way to the approval store, as this kernel only
            kwargs["kernel_id"] = kwargs.get("kernel_id") or str(uuid.uuid4())
            env[URL_ENV] = serverapp.connection_url
            env[TOKEN_ENV] = service.kernel_token(kwargs["kernel_id"])
        kwargs["env"] = env
        return await start(*args, **kwargs)

    start_kernel._jg_identity = True  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
    km.start_kernel = start_kernel
