"""The server-side guard: every ``execute_request`` relayed by the server's kernel websocket is
stamped with the authenticated user, analysed, and refused before it reaches the kernel when the
policy blocks it. It holds even when the kernel never loaded the extension.

The websocket side (``server/gate_socket.py``) hands each ``execute_request`` to the ``Gate`` of
this module, which keeps the policy, the server's audit log and what it knows of each kernel.

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
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.model import UNKNOWN, Analysis, Intent, Verdict

log = logging.getLogger("jupyter_guard.gate")
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

    def judge_request(self, code: str, expressions: Any, user: str, groups: tuple[str, ...],
                      actor: str, kernel_id: str
                      ) -> tuple[Verdict, tuple[Intent, ...], dict[str, Any] | None, str]:
        """``judge`` of the cell, then of each of the request's ``user_expressions`` (IPython
        evaluates them after the cell, as code): the first refused one refuses the request.
        Also the text the audit row holds: the cell, and each expression on a line of its own.

        ``(verdict, intents, facts, logged)``; the intents and facts are the cell's unless an
        expression is refused."""
        verdict, intents, facts = self.judge(code, user, groups, actor, kernel_id)
        items = list(expressions.items()) if isinstance(expressions, dict) else []
        if expressions and not isinstance(expressions, dict):
            items = [("user_expressions", expressions)]
        logged = code + "".join(f"\n# user_expressions[{str(k)[:80]!r}]: {e}" for k, e in items)
        if verdict.refuses:
            return verdict, intents, facts, logged
        for key, expr in items:
            if not isinstance(expr, str):
                v = Verdict("block", "guard-error", "a user expression must be text; the "
                            "request did not run", None, self.policy.revision)
                return v, (), None, logged
            v, its, fs = self.judge(expr, user, groups, actor, kernel_id)
            if v.refuses:
                v = replace(v, reason=f"user_expressions[{str(key)[:80]!r}]: {v.reason}")
                return v, its, fs, logged
        return verdict, intents, facts, logged

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
