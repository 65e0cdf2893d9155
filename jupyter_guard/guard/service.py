"""The per-kernel guard: settings, policy, identity, session facts, and the one decision path
(analyse -> enrich -> decide -> approvals -> record) that the cell hook, the SQL magic and the
runtime layer all use. Knows nothing of IPython (see ``kernel``)."""
from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from jupyter_guard.analyze.children import Reader
from jupyter_guard.analyze.python import analyze_python
from jupyter_guard.analyze.shell import analyze_shell
from jupyter_guard.config import resolve, resolve_user, store_files
from jupyter_guard.connections.base import for_dialect
from jupyter_guard.connections.conn import Conn
from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.decisions import Decisions
from jupyter_guard.guard.enrich import enrich
from jupyter_guard.guard.judge import Judgement, approve, sha256  # noqa: F401 - sha256: callers
from jupyter_guard.guard.lineage import facts_of, lineage_of
from jupyter_guard.guard.own_intents import _new_file, _real_twins, needs_database, opens_store
from jupyter_guard.guard.ports import Approvals, Cell, NoCell, Plugs
from jupyter_guard.guard.refusal import blocked_error, recorded_refusal
from jupyter_guard.hooks.child import read_text, walk_files
from jupyter_guard.hooks.state import busy_wrap
from jupyter_guard.model import Analysis, Decision, Intent, Verdict, combine
from jupyter_guard.policy.cell import decide_cell
from jupyter_guard.policy.load import load_or_refuse
from jupyter_guard.policy.model import Policy, guard_command
from jupyter_guard.policy.rules import Context

log = logging.getLogger("jupyter_guard")
Lineage = tuple[str, str, str, bool]


@dataclass
class Guard:
    """One kernel's decision service. Its collaborators come in explicitly: the audit log and
    the running cell (``guard.ports.Cell``) at construction, what the kernel's parts add later
    through ``plug`` (``guard.ports.Plugs``), and two observer lists (``listeners`` get every
    recorded event, ``policy_listeners`` every reloaded policy). Nothing else is set from
    outside: self-protection puts back any attribute added to the object or swapped."""

    settings: dict[str, str]
    policy: Policy
    user: str
    groups: tuple[str, ...]
    actor: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    audit: Any = None                    # record.audit.AuditLog (or BrokenAudit), None: no audit
    cell: Cell = field(default_factory=NoCell)
    plugs: Plugs = field(default_factory=Plugs)
    listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    policy_listeners: list[Callable[[Policy, Policy], None]] = field(default_factory=list)
    # what the guard itself keeps for the session
    session_tables: set[str] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    last_blocked: dict[str, Any] | None = None   # the last refusal, for ``%guard request``
    recent: list[dict[str, Any]] = field(default_factory=list)
    unmasked: bool = False  # %guard unmask on (only for may_unmask roles)
    policy_stamp: tuple[Any, ...] = ()                 # (path, stat) of every policy file read
    audit_told: str = ""                               # the audit failure the user was told of
    audit_trouble: str = ""                            # an exception from the last audit write
    effect_state: Any = None                           # guard.effect.State, made when first used
    decisions: Decisions = field(default_factory=Decisions)   # read-only statements' allows

    @classmethod
    def create(cls, cfg: Any = None, env: dict[str, str] | None = None, *,
               cell: Cell | None = None,
               open_audit: Callable[[Guard], Any] | None = None) -> Guard:
        """The guard for ``cfg``/``env``; ``open_audit(guard)`` opens its audit log (it needs
        the session id and the guard's ``redact``)."""
        settings = resolve(cfg, env)
        policy = load_or_refuse(settings["policy"] or None)
        user, groups = resolve_user(settings["user"], env)
        from jupyter_guard.identity import valid_actor  # a malformed actor counts as an agent

        actor = settings["actor"] if valid_actor(settings["actor"]) else "agent:unknown"
        g = cls(settings, policy, user, groups, actor, cell=cell or NoCell())
        g.policy_stamp = _stamp(g._policy_files())
        if open_audit is not None:
            g.audit = open_audit(g)
        return g

    def plug(self, **parts: Any) -> None:
        """Register collaborators of the kernel's parts (the fields of ``Plugs``)."""
        self.plugs = replace(self.plugs, **parts)

    # the plugged collaborators, read where the guard's callers have always read them
    @property
    def approvals(self) -> Approvals | None:
        return self.plugs.approvals

    @property
    def runtime_sql(self) -> bool:
        return self.plugs.runtime_sql

    @runtime_sql.setter
    def runtime_sql(self, on: bool) -> None:   # tests and benchmarks on a bare guard: ``plug``
        self.plug(runtime_sql=on)

    @property
    def runtime_files(self) -> bool:
        return self.plugs.runtime_files

    @property
    def mask_settings(self) -> Callable[[], Any] | None:
        return self.plugs.mask_settings

    def redact(self, text: str) -> str:
        return self.plugs.redact(text)

    @property
    def ns(self) -> dict[str, Any]:
        return self.cell.namespace

    # -- the policy file --------------------------------------------------------------------
    def _policy_files(self) -> tuple[str, ...]:
        if not self.settings.get("policy"):
            return ()
        packaged = _packaged()   # changes only with a reinstall: not watched per cell
        return tuple(dict.fromkeys(f for f in (self.settings["policy"],) + self.policy.sources
                                   if f != packaged))

    def policy_changed(self) -> bool:
        """Whether a policy file changed on disk: one ``stat`` per watched file (the packaged
        default is not watched), compared with what was loaded."""
        for entry in self.policy_stamp:
            try:
                st = os.stat(entry[0])
            except OSError as e:
                if entry[1:] != (e.errno,):
                    return True
                continue
            if entry[1:] != (st.st_mtime_ns, st.st_size, st.st_ino):
                return True
        return False

    def reload_policy(self) -> str:
        """Read the policy file again (``%guard reload``, or a change noticed before a cell).
        A broken file refuses every cell; it never falls back to an older or default policy."""
        before = _stamp(self._policy_files())   # a change during the read is noticed next time
        new = load_or_refuse(self.settings["policy"] or None)
        if new.revision != self.policy.revision or new.errors != self.policy.errors:
            old, self.policy = self.policy, new
            for fn in list(self.policy_listeners):
                fn(old, new)
        files = self._policy_files()   # the new policy may extend other files
        self.policy_stamp = before if tuple(x[0] for x in before) == files else _stamp(files)
        if new.errors:
            return f"jupyter_guard: {new.broken_reason}"
        return f"jupyter_guard: policy {new.name} ({new.source or 'packaged default'}), " \
               f"revision {new.revision}, mode {new.mode}"

    # -- analysis ---------------------------------------------------------------------------
    def sql_analysis(self, text: str, dialect: str = "duckdb", params: Any = None) -> Analysis:
        """Static analysis in the database kind's own way (``connections.base``)."""
        analysis: Analysis = for_dialect(dialect).analyse(text, params)
        return analysis

    def shell_analysis(self, command: str, *, starting: bool = False) -> Analysis:
        """``starting``: the command starts now (the run-time layer), so a script that is not
        there cannot be read, rather than being left to be judged when it starts."""
        reader = Reader(read=read_text, python=self._python_text, starting=starting,
                        exists=os.path.lexists)
        return analyze_shell(command, sql=lambda s, d: self.sql_analysis(s, d).intents,
                             children=reader)

    def _python_text(self, code: str) -> Analysis:
        import ast

        return self.python_analysis(ast.parse(code))

    def python_analysis(self, tree: Any) -> Analysis:
        return analyze_python(
            tree, sql=self.sql_analysis, shell=self.shell_analysis, lookup=self.cell.lookup
        )

    def resolve_conn(self, via: str) -> Conn | None:
        """The connection a Python expression like ``con`` or ``duckdb`` denotes, if the guard can
        tell."""
        # late: connections.dbapi_async imports this module at load
        from jupyter_guard import connections

        for kind in connections.base.kinds():   # a module used as a connection (``duckdb``)
            module_conn: Conn | None = kind.module_connection(via)
            if module_conn is not None:
                return module_conn
        obj = self.namespace().get(via) if via.isidentifier() else None
        if obj is None:
            return None
        try:
            return connections.from_object(obj, via)
        except Exception:  # noqa: BLE001 - an object that is not a known connection: the SQL is judged by its text alone
            return None

    def namespace(self) -> dict[str, Any]:
        return self.cell.namespace

    def who(self) -> tuple[str, str]:
        """(user, actor) of the running cell: the server-stamped user and the cell's actor mark
        (see ``jupyter_guard.identity``), else the kernel's own."""
        try:
            user, actor = self.cell.identity()
            return user or self.user, actor or self.actor
        except Exception:  # noqa: BLE001 - a broken stamp: the cell runs as the kernel's own user, never as the claimed one
            return self.user, self.actor

    def groups_now(self) -> tuple[str, ...]:
        """The running cell's groups: the server-signed ones when its stamp verified, else the
        kernel's own."""
        groups = self.cell.groups()
        return self.groups if groups is None else groups

    # -- deciding ---------------------------------------------------------------------------
    def context(self, conn: Conn | None = None, actor: str | None = None, *, files: bool = True
                ) -> Context:
        """``files``: the working directory and the guard's own files, which only file intents
        look at (``os.getcwd`` alone is a system call)."""
        user, cell_actor = self.who()
        return Context(user=user, groups=self.groups_now(), actor=actor or cell_actor,
                       connection=conn.name if conn else "", cwd=os.getcwd() if files else "",
                       guard_files=self._guard_files() if files else (),
                       session_tables=frozenset(self.session_tables),
                       runtime_checks=self.runtime_files, walk=walk_files if files else None)

    def _guard_files(self) -> tuple[str, ...]:
        audit = self.settings.get("audit") or ""
        from jupyter_guard.authority_files import files as authority_files

        files = (*store_files(audit), *self._policy_files(), *authority_files())
        return _resolved(tuple(p for p in files if p))

    def opens_store(self, intents: tuple[Intent, ...]) -> tuple[Intent, ...]:
        return opens_store(intents, self.settings.get("audit") or "")

    @busy_wrap   # the guard's own work: the run-time hook stays out of it
    def judge(self, analysis: Analysis, *, conn: Conn | None = None, code: str = "",
              actor: str | None = None) -> Judgement:
        if self.policy.errors:   # a broken policy: only `%guard status|reload` runs
            v = Verdict("allow" if guard_command(code) else "block", "guard-error",
                        self.policy.broken_reason, None, self.policy.revision)
            return Judgement(v, (v,), analysis, ())
        key = self.decisions.key(self, analysis, conn, actor)
        if key is not None and (hit := self.decisions.get(key, analysis, self.policy)):
            return hit
        conns: dict[str, Conn | None] = {}  # each `via` resolved once per decision

        def resolve(via: str) -> Conn | None:
            if via not in conns:
                conns[via] = self.resolve_conn(via)
            return conns[via]

        intents = tuple(_new_file(i) for i in enrich(analysis.intents, conn, resolve,
                                                      self.policy))
        intents += _real_twins(intents)
        intents += self.opens_store(intents)
        if self.runtime_sql:  # decided again when the SQL reaches the database (enforce.sinks)
            intents = tuple(i for i in intents if not (i.via and needs_database(i) and (
                i.where == "param" or resolve(i.via) is None)))
            # SQL handed to a guarded DB-API driver is judged at run time, in its own dialect
            from jupyter_guard.connections.dbapi_proxy import runtime_judged

            sa, ns = self.plugs.sqlalchemy(), self.cell.namespace
            intents = tuple(i for i in intents if not (i.via and i.action.startswith("sql.")
                                                       and runtime_judged(i, ns, sa)))
        ctx = self.context(conn, actor, files=any(i.action.startswith("file.") for i in intents))
        _, verdicts = decide_cell(intents, self.policy, ctx, analysis.errors)
        overall = combine(verdicts)
        j = Judgement(overall, tuple(verdicts), analysis, intents, ctx=ctx)
        j.verdict, j.approved_by = approve(self, overall, code)
        if key is not None and not j.verdict.refuses and not j.approved_by:
            j.lineage = self._lineage(j)   # what the audit records of it: the same every time
            self.decisions.put(key, analysis, self.policy, j)
        return j

    def note_success(self, intents: Iterable[Intent]) -> None:
        """After statements ran. Ownership is no longer granted here: a table becomes the
        session's own only when the effect check saw it created (``enforce.effect_run``)."""
        # A dropped table stays "ours": the same statement may be checked twice (jupysql runs
        # some statements twice), and a table we dropped may be re-created by this session.

    # -- recording --------------------------------------------------------------------------
    @busy_wrap   # the guard's own work: the run-time hook stays out of it
    def begin(self, *, kind: str, code: str, judgement: Judgement | None, cell_id: str = "",
              execution_count: int | None = None, status: str = "running") -> str:
        v = judgement.verdict if judgement else Verdict("allow", "", "no rule matched")
        if v.decision == "allow" and judgement:
            v = next((x for x in judgement.verdicts if x.decision == "warn"), v)
        decision = v.decision
        lineage = self._lineage(judgement)
        if decision == "allow" and judgement and not self.unmasked and status != "error":
            shown = [n for d, k, n, sensitive in lineage if sensitive and d == "read"]
            if shown:   # what the cell shows of these columns is masked
                v = Verdict("mask", "sensitive-data", f"reads sensitive column(s) "
                            f"{', '.join(shown[:5])}, shown masked", None, self.policy.revision)
                decision = "mask"
        refusal = self._audit_refusal(status, code) if self.audit is not None else ""
        if refusal:   # known before writing: recorded as what it is, a guard-error refusal
            v = Verdict("block", "guard-error", refusal, None, self.policy.revision)
            decision, status = "block", "blocked"
        self.counts[decision] += 1
        server_event = ""
        try:
            at_id, at_count, server_event = self.cell.position()
            if not cell_id and execution_count is None:
                cell_id, execution_count = at_id, at_count
        except Exception:   # noqa: BLE001 - only the event's position is lost, never a decision
            pass
        event = {
            "ts": time.time(),
            "kind": kind,
            "decision": decision,
            "rule_id": v.rule_id,
            "reason": self.redact(v.reason),
            "code": self.redact(code)[:300],
            "cell_id": cell_id,
            "execution_count": execution_count,
            "status": status,
        }
        event_id = ""
        if self.audit is not None:
            try:
                event_id = self.audit.begin(
                    user=self.who()[0], actor=self.who()[1], notebook=self.cell.notebook,
                    cell_id=cell_id,
                    execution_count=execution_count, kind=kind, code=code, decision=decision,
                    rule_id=v.rule_id, reason=v.reason, status=status,
                    policy_revision=self.policy.revision, decision_id=v.decision_id,
                    lineage=lineage, groups=self.groups_now(),
                    facts=self._facts(judgement, v, status), server_event_id=server_event)
            except Exception as e:  # noqa: BLE001 - the event is not recorded: handled as an audit failure
                log.error("jupyter_guard could not write the audit event: %s", e)
                self.audit_trouble = f"{type(e).__name__}: {e}"
            refusal = refusal or self._audit_refusal(status, code)
            if refusal and status == "running" and event_id:   # found by this very write
                self.finish(event_id, status="blocked", duration_ms=0.0)
        event["event_id"] = event_id
        self.recent.append(event)
        del self.recent[:-200]
        for fn in list(self.listeners):
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - a panel listener's error must not undo a decision already made and recorded
                pass
        if refusal and (status == "running" or v.rule_id == "guard-error"):
            raise GuardBlocked("guard-error", refusal, approval_hint=False)
        return event_id

    def refusal_error(self, v: Verdict, dialect: str = "duckdb") -> GuardBlocked:
        """The error a refusal of ``v`` raises (``guard.judge.refuse``)."""
        return blocked_error(v, dialect)

    def _audit_refusal(self, status: str, code: str) -> str:
        """Tell the user once when the audit cannot be written (and once when it can again).
        Returns why a cell about to run is refused (``audit.on_failure: refuse``), else ""."""
        if getattr(self.audit, "failure", ""):
            self.audit.retry()   # the disk may have room again
        note = self.audit.take_notice() if hasattr(self.audit, "take_notice") else ""
        if note:
            print(f"jupyter_guard: {note}; nothing was lost.", file=sys.stderr)
        failure = getattr(self.audit, "failure", "") or self.audit_trouble
        self.audit_trouble = ""
        if not failure:
            if self.audit_told:
                self.audit_told = ""
                print("jupyter_guard: the audit journal is writable again; the events that "
                      "waited in memory are written.", file=sys.stderr)
            return ""
        refuse = self.policy.audit_on_failure != "warn"
        if not self.audit_told:
            self.audit_told = failure
            then = "cells are refused meanwhile" if refuse else "cells still run"
            print(f"jupyter_guard: the audit journal cannot be written ({failure}). Events wait "
                  f"in memory until it can; {then} (audit.on_failure: "
                  f"{'refuse' if refuse else 'warn'}). Fix: free disk space or make the audit "
                  "folder writable; `jupyter guard repair` rebuilds a damaged audit file.",
                  file=sys.stderr)
        if not refuse or status != "running" or guard_command(code):
            return ""
        return (f"the audit journal cannot be written ({failure}); this cell did not run "
                "(audit.on_failure: refuse). Free disk space or make the audit folder writable, "
                "then run it again")

    def _lineage(self, j: Judgement | None) -> list[Lineage]:
        if j is None:
            return []
        if j.lineage is not None:
            return j.lineage
        marked = j.ctx.sensitive_columns if j.ctx is not None else frozenset()
        return lineage_of(j.intents, j.analysis.vars_written, j.analysis.vars_read,
                          self.policy.is_sensitive_column, marked)

    def _facts(self, j: Judgement | None, v: Verdict, status: str) -> dict[str, Any] | None:
        """What ``replay`` needs, and the structured refusal (``refusal``) of a refused event
        or of one audit mode let through, as the user and the events API see it."""
        facts = None
        if j is not None and j.ctx is not None:
            facts = facts_of(j.intents, j.ctx)
            if facts is not None:
                if j.analysis.errors:
                    facts["errors"] = list(j.analysis.errors)
                if j.approved_by:
                    facts["approved_by"] = j.approved_by
        refusal = recorded_refusal(self, v, status) if j is not None else None
        if refusal is not None:
            facts = {**(facts or {}), "refusal": refusal}
        return facts

    def note(self, kind: str, code: str, decision: Decision, rule_id: str, reason: str,
             status: str = "ok") -> str:
        """Record an event that is not a cell (an unmasked display, an approval use)."""
        v = Verdict(decision, rule_id, reason, None, self.policy.revision)
        return self.begin(kind=kind, code=code, judgement=Judgement(v, (v,), Analysis(), ()),
                          status=status)

    @busy_wrap   # the guard's own work: the run-time hook stays out of it
    def finish(self, event_id: str, *, status: str, duration_ms: float, rows: int | None = None,
               lineage: Iterable[Lineage] = ()) -> None:
        if self.audit is not None and event_id:
            try:
                self.audit.finish(
                    event_id,
                    status=status,
                    duration_ms=duration_ms,
                    rows_affected=rows,
                    lineage=lineage,
                )
            except Exception as e:  # noqa: BLE001 - the decision was made and begun in the audit; a failed finish is logged, never raised into the cell
                log.error("jupyter_guard could not complete the audit event: %s", e)


@lru_cache(maxsize=1)
def _packaged() -> str:
    from jupyter_guard.policy.load import default_path

    try:
        return str(default_path())
    except FileNotFoundError:
        return ""


def _stamp(files: tuple[str, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for f in files:
        try:
            st = os.stat(f)
            out.append((f, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError as e:
            out.append((f, e.errno))
    return tuple(out)


@lru_cache(maxsize=16)
def _resolved(names: tuple[str, ...]) -> tuple[str, ...]:
    """The guard's own files, resolved once per set of names (as the runtime layer resolves the
    package and policy file once): a judged file write cost ~30 us more when they were resolved
    per decision. Both the resolved and the absolute names are kept."""
    return tuple(dict.fromkeys(_realpaths(names) + tuple(os.path.abspath(p) for p in names)))


def _realpaths(paths: Iterable[str]) -> tuple[str, ...]:
    """``os.path.realpath`` of each path; files in one folder resolve the folder once (a final
    component that is not a symlink resolves to itself, so this is the same answer)."""
    folders: dict[str, str] = {}
    out = []
    for p in paths:
        head, name = os.path.split(p)
        if not name or name in (".", "..") or os.path.islink(p):
            out.append(os.path.realpath(p))
            continue
        if head not in folders:
            folders[head] = os.path.realpath(head)
        out.append(os.path.join(folders[head], name))
    return tuple(out)
