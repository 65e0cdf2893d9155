"""The per-kernel guard: settings, policy, identity, session facts, and the one decision path
(analyse -> enrich -> decide -> approvals -> record) that the cell hook, the SQL magic and the
runtime layer all use. Knows nothing of IPython (see ``kernel``). Recording what it decides is
``guard/recording.py``; watching the policy files, ``guard/policy_files.py``."""
from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from jupyter_guard.analyze.children import Reader
from jupyter_guard.analyze.python import analyze_python
from jupyter_guard.analyze.shell import analyze_shell
from jupyter_guard.config import resolve, resolve_user, store_files
from jupyter_guard.connections.base import for_dialect
from jupyter_guard.connections.conn import Conn
from jupyter_guard.guard import owned, policy_files
from jupyter_guard.guard.decisions import Decisions
from jupyter_guard.guard.enrich import FrameLookup, enrich
from jupyter_guard.guard.judge import Judgement, approve, sha256  # noqa: F401 - sha256: callers
from jupyter_guard.guard.own_intents import (
    _new_file,
    _real_twins,
    needs_database,
    opens_store,
    resolved_own,
    unbound_frame,
)
from jupyter_guard.guard.ports import Approvals, Cell, NoCell, Plugs
from jupyter_guard.guard.recording import Listener, Recording
from jupyter_guard.hooks.child import read_text, walk_files
from jupyter_guard.hooks.event_paths import database_in
from jupyter_guard.hooks.state import busy_wrap
from jupyter_guard.model import Analysis, Intent, Verdict, combine
from jupyter_guard.policy.cell import decide_cell
from jupyter_guard.policy.load import load_or_refuse
from jupyter_guard.policy.model import Policy, guard_command
from jupyter_guard.policy.rules import Context

PolicyListener = Callable[[Policy, Policy], None]


@dataclass
class Guard(Recording):
    """One kernel's decision service. Its collaborators come in explicitly: the audit log and
    the running cell (``guard.ports.Cell``) at construction, what the kernel's parts add later
    through ``plug`` (``guard.ports.Plugs``), and two observer lists (``listen``: every recorded
    event, ``on_policy``: every reloaded policy). Nothing else is set from outside:
    self-protection puts back any attribute added to the object or swapped. Recording what it
    decides is the other half of the class (``guard/recording.py``)."""

    settings: dict[str, str]
    policy: Policy
    user: str
    groups: tuple[str, ...]
    actor: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    audit: Any = None                    # record.audit.AuditLog (or BrokenAudit), None: no audit
    cell: Cell = field(default_factory=NoCell)
    plugs: Plugs = field(default_factory=Plugs)
    # the observer lists, added to through ``listen``/``on_policy`` (read as tuples)
    _listeners: list[Listener] = field(default_factory=list, init=False, repr=False)
    _policy_listeners: list[PolicyListener] = field(default_factory=list, init=False, repr=False)
    # what the guard itself keeps for the session
    session_tables: set[str] = field(default_factory=set)   # places (``guard.owned``)
    _counts: Counter[str] = field(default_factory=Counter, init=False)   # read: ``counts``
    last_blocked: dict[str, Any] | None = None   # the last refusal, for ``%guard request``
    recent: list[dict[str, Any]] = field(default_factory=list)
    _unmasked: bool = field(default=False, init=False)   # read: ``unmasked``; ``set_unmasked``
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
        g.policy_stamp = policy_files.stamp(g._policy_files())
        if open_audit is not None:
            g.audit = open_audit(g)
        return g

    @property
    def policy_listeners(self) -> tuple[PolicyListener, ...]:
        return tuple(self._policy_listeners)

    def on_policy(self, fn: PolicyListener) -> None:
        """``fn(old, new)`` whenever a reload swaps the policy (added once)."""
        if fn not in self._policy_listeners:
            self._policy_listeners.append(fn)

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
        return policy_files.watched(self.settings.get("policy") or "", self.policy.sources)

    def policy_changed(self) -> bool:
        """Whether a policy file changed on disk since it was read (``guard/policy_files.py``)."""
        return policy_files.changed(self.policy_stamp)

    def reload_policy(self) -> str:
        """Read the policy file again (``%guard reload``, or a change noticed before a cell).
        A broken file refuses every cell; it never falls back to an older or default policy."""
        # stamped first: a change during the read is noticed next time
        before = policy_files.stamp(self._policy_files())
        new = load_or_refuse(self.settings["policy"] or None)
        if new.revision != self.policy.revision or new.errors != self.policy.errors:
            old, self.policy = self.policy, new
            for fn in list(self._policy_listeners):
                fn(old, new)
        files = self._policy_files()   # the new policy may extend other files
        same = tuple(x[0] for x in before) == files
        self.policy_stamp = before if same else policy_files.stamp(files)
        if new.errors:
            return f"jupyter_guard: {new.broken_reason}"
        return f"jupyter_guard: policy {new.name} ({new.source or 'packaged default'}), " \
               f"revision {new.revision}, mode {new.mode}"

    # -- analysis ---------------------------------------------------------------------------
    def sql_analysis(self, text: str, dialect: str = "duckdb", params: Any = None) -> Analysis:
        """Static analysis in the database kind's own way (``connections.base``)."""
        analysis: Analysis = for_dialect(dialect).analyse(text, params)
        return analysis

    def shell_analysis(self, command: str, *, starting: bool = False,
                       environ: Any = None, leaves: bool = False) -> Analysis:
        """``starting``: the command starts now (the run-time layer), so a script that is not
        there cannot be read, rather than being left to be judged when it starts. Its
        ``$VARIABLES`` are read from ``environ`` (the environment the child is given; the
        kernel's own, which children inherit, when None). ``leaves``: its output goes to a
        file, a socket or another program, not back to the kernel."""
        reader = Reader(read=read_text, python=self._python_text, starting=starting,
                        exists=os.path.lexists, database=database_in,
                        environ=_variables(environ))
        return analyze_shell(command, sql=lambda s, d: self.sql_analysis(s, d).intents,
                             children=reader, leaves=leaves)

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
        return resolved_own(tuple(p for p in files if p))

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

        mine = owned.names(self.session_tables, analysis.intents)   # placed: only these
        frames = FrameLookup(self.cell.namespace)
        intents = tuple(_new_file(i) for i in enrich(analysis.intents, conn, resolve,
                                                      self.policy, mine, frames))
        if frames.used:
            key = None   # a frame's columns decided it: they may differ when the text comes again
        intents += _real_twins(intents)
        intents += self.opens_store(intents)
        if self.runtime_sql:  # decided again when the SQL reaches the database (enforce.sinks)
            intents = tuple(i for i in intents if not (i.via and needs_database(i) and (
                i.where == "param" or resolve(i.via) is None or unbound_frame(
                    i, self.cell.namespace))) and not (
                i.via == "%sql" and owned.undecided(i, mine)))   # jupysql: SQLAlchemy judges it
            # SQL handed to a guarded DB-API driver is judged at run time, in its own dialect
            from jupyter_guard.connections.dbapi_proxy import runtime_judged

            sa, ns = self.plugs.sqlalchemy(), self.cell.namespace
            intents = tuple(i for i in intents if not (i.via and i.action.startswith("sql.")
                                                       and runtime_judged(i, ns, sa)))
        ctx = self.context(conn, actor, files=any(    # a database file copied: is it the guard's?
            i.action.startswith("file.") or i.detail.startswith("copies database file")
            for i in intents))
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


def _variables(environ: Any) -> Any:
    """``name -> value`` of the environment a child gets (``os.environ`` when None; a mapping of
    str or of bytes, as ``subprocess`` and ``os.exec*`` take them)."""
    env: Any = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        try:
            val = env.get(name)
            if val is None:
                val = env.get(name.encode())
        except (AttributeError, TypeError):   # not a mapping: the child's variables are unknown
            return None
        return os.fsdecode(val) if isinstance(val, bytes) else val
    return get
