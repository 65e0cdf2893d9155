"""The ONLY module that touches IPython's InteractiveShell: wires the guard into a kernel.

Interception point: ``shell.compile.ast_parse`` is wrapped, so the guard analyses the tree IPython
parses anyway (no second parse, no ``ast_transformers`` entry and its ``fix_missing_locations``
cost). A refused cell gets its body replaced by one statement that raises ``GuardBlocked``: nothing
of it runs, the cell ends in ``error`` with a one-line message. Any failure inside the guard is
refused the same way (fail closed) with rule ``guard-error``.
"""
from __future__ import annotations

import ast
import gc
import logging
import sys
import time
from collections import Counter, OrderedDict
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard import judge, oracles_pg
from jupyter_guard.guard.judge import Judgement, sha256
from jupyter_guard.guard.refusal import audit_note, blocked_error  # noqa: F401 - callers
from jupyter_guard.guard.service import Guard
from jupyter_guard.identity import guard_meta
from jupyter_guard.kernel.running import RunningCell
from jupyter_guard.kernel.stamped import cell_identity, request_msg_id
from jupyter_guard.model import Analysis, Verdict

log = logging.getLogger("jupyter_guard")
_REFUSALS: dict[str, GuardBlocked] = {}


def refuse(token: str) -> None:
    """Called by the one statement a refused cell is replaced with."""
    raise _REFUSALS.pop(token, None) or GuardBlocked("guard-error", "this cell was refused")


def _refusal_tree(err: GuardBlocked, filename: str) -> ast.Module:
    token = sha256(f"{id(err)}{time.time()}")[:16]
    _REFUSALS[token] = err
    text = f"__import__('jupyter_guard.kernel.cellhook', fromlist=['refuse']).refuse({token!r})"
    return _parse_uncollected(ast.parse, text, filename, "exec")   # (see there)


def _parse_uncollected(parse: Any, source: str, filename: str, symbol: str) -> Any:
    """``parse(...)`` with no garbage collection while CPython builds the tree's objects. CPython
    (3.11, 3.12) keeps the AST constructor's recursion count per interpreter, not per call: a
    collection started by one of the tree's allocations runs the user's ``__del__``s and
    ``gc.callbacks``, and anything there that builds a tree too (``ast.parse``, or a Python
    ``sys.unraisablehook`` formatting the refusal of a frame read the guard raised in that
    callback: ``traceback`` parses the line for its carets) leaves the count off, and the cell's
    parse fails with ``SystemError: AST constructor recursion depth mismatch``. What the
    collection would have freed is freed at the next one, after the parse."""
    was = gc.isenabled()
    if was:
        gc.disable()
    try:
        return parse(source, filename, symbol)
    finally:
        if was:
            gc.enable()


class KernelGuard:
    """Holds the shell hooks of one guarded kernel."""

    def __init__(self, shell: Any, guard: Guard) -> None:
        self.shell, self.guard = shell, guard
        if not isinstance(guard.cell, RunningCell):
            raise TypeError("the kernel guard needs a Guard built with its RunningCell")
        self.running: RunningCell = guard.cell
        self._orig_parse = shell.compile.ast_parse
        self._depth = 0
        self.installed = False
        self.parts: dict[str, str] = {}   # part name -> "on" or why it is not (``extension``)
        self.broken = ""                  # why every cell is refused: a part failed to install
        # cell text -> (analysis, the namespace lookups it made); see ``_python_analysis``
        self._analyses: OrderedDict[str, tuple[Analysis, tuple[tuple[str, Any], ...]]]
        self._analyses = OrderedDict()
        self.outcomes: Counter[str] = Counter()   # cells by how they ended: ok, error, blocked
        self.last_cell: dict[str, Any] | None = None   # the facts of the cell that ran last

    @property
    def _cell(self) -> dict[str, Any] | None:
        """The running cell's facts (shared with the guard through ``running``)."""
        return self.running.cell

    @_cell.setter
    def _cell(self, cell: dict[str, Any] | None) -> None:
        self.running.cell = cell

    # -- install ----------------------------------------------------------------------------
    def install(self) -> None:
        shell = self.shell
        shell.compile.ast_parse = self.ast_parse
        shell.events.register("pre_run_cell", self.pre_run_cell)
        shell.events.register("post_run_cell", self.post_run_cell)
        self.installed = True

    def uninstall(self) -> None:
        shell = self.shell
        shell.compile.ast_parse = self._orig_parse
        for name, fn in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                shell.events.unregister(name, fn)
            except ValueError:
                pass
        self.installed = False

    def _python_analysis(self, tree: ast.Module, source: str) -> Analysis:
        """The cell's analysis, reused when the same text comes again and every namespace value
        it looked up (plain ``str``/``bytes`` or nothing) is still the same."""
        hit = self._analyses.get(source)
        if hit is not None and all(_same(self.running.peek(name), v) for name, v in hit[1]):
            self._analyses.move_to_end(source)
            return hit[0]
        self.running.seen = []
        try:
            analysis = self.guard.python_analysis(tree)
            seen = tuple(self.running.seen)
        finally:
            self.running.seen = None
        if all(v is None or type(v) in (str, bytes) for _, v in seen):
            self._analyses[source] = (analysis, seen)
            if len(self._analyses) > 256:
                self._analyses.popitem(last=False)
        return analysis

    # -- hooks ------------------------------------------------------------------------------
    def pre_run_cell(self, info: Any) -> None:
        if self.guard.policy_changed():   # an edited policy file takes effect (or refuses) now
            print(self.guard.reload_policy(), file=sys.stderr)
        cell_id = getattr(info, "cell_id", None) or ""
        # IPython counts the cell before pre_run_cell when it stores history: the number the
        # user sees (In [n], the execute_reply's execution_count) is the one before
        count = self.shell.execution_count - (1 if getattr(info, "store_history", False) else 0)
        self._cell = {"raw": getattr(info, "raw_cell", ""), "cell_id": cell_id,
                      "count": count, "start": time.perf_counter(),
                      "event_id": "", "parsed": False, "judgement": None,
                      "msg_id": request_msg_id(self.shell)}
        # The execute_request's metadata: per-cell actor, and the user the server signed for.
        meta = getattr(info, "cell_meta", None) or {}
        self._cell.update(cell_identity(self.shell, self.guard, meta, self._cell["raw"]))
        notebook = guard_meta(meta).get("notebook")
        if isinstance(notebook, str) and notebook:   # a client that knows the path says it
            self.running.notebook = notebook[:1000]

    def post_run_cell(self, result: Any) -> None:
        cell, self._cell = self._cell, None
        self.last_cell = cell   # its request's ``user_expressions`` run as it did (client_code)
        err = result.error_before_exec or result.error_in_exec
        refused = (
            isinstance(err, GuardBlocked) or type(err).__name__ == "GuardBlocked"
        )  # or the gate
        status = "ok" if err is None else ("blocked" if refused else "error")
        if cell is not None and not getattr(result.info, "silent", False):
            self.outcomes[status] += 1   # one per cell, as the notebook showed it
        if not cell or cell.get("final"):
            return
        j: Judgement | None = cell.get("judgement")
        if err is None and j is not None:
            self.guard.note_success(j.intents)
        if not cell.get("event_id"):
            return
        self.guard.finish(cell["event_id"], status=status,
                          duration_ms=(time.perf_counter() - cell["start"]) * 1000)

    def ast_parse(self, source: str, filename: str = "<unknown>", symbol: str = "exec") -> Any:
        tree = _parse_uncollected(self._orig_parse, source, filename, symbol)
        if symbol != "exec" or self._depth:
            return tree
        self._depth += 1
        try:
            return self._check(tree, source, filename)
        except GuardBlocked as e:
            return _refusal_tree(e, filename)
        except Exception as e:  # a bug in the guard refuses the cell, never lets it through
            if oracles_pg.aborted(e):   # the user's transaction: no failure of the guard's
                return _refusal_tree(self._refuse_failure(source, oracles_pg.ABORTED), filename)
            log.exception("jupyter_guard failed while analysing a cell")
            err = self._refuse_failure(source, f"the guard failed while analysing this cell "
                                       f"({type(e).__name__}: {e}); nothing ran")
            return _refusal_tree(err, filename)
        finally:
            self._depth -= 1

    def _check(self, tree: ast.Module, source: str, filename: str) -> ast.Module:
        g = self.guard
        cell = self._cell
        top = cell is not None and not cell["parsed"]
        actor = (cell or {}).get("actor") or None
        raw = (cell or {}).get("raw") or source
        if self.broken and not (top and raw.strip() == "%guard status"):
            reason = f"jupyter_guard {self.broken}"
            if top:
                raise self._refuse_failure(raw, reason)
            raise GuardBlocked("guard-error", reason, approval_hint=False)
        j = g.judge(self._python_analysis(tree, source), code=raw if top else source, actor=actor)
        v = j.verdict
        if g.policy.mode == "audit":
            audit_note(j.verdicts, guard=g)
        if top and cell is not None and raw.lstrip().startswith("%%guarded_sql") and not v.refuses:
            cell["parsed"] = True   # the magic analyses and records its SQL itself
            return tree
        if top and cell is not None:
            cell["parsed"] = True
            cell["judgement"] = j
            status = "blocked" if v.refuses else "running"
            cell["event_id"] = g.begin(
                kind=_kind(raw),
                code=raw,
                judgement=j,
                cell_id=cell["cell_id"],
                execution_count=cell["count"],
                status=status,
            )
            cell["final"] = v.refuses
        if v.refuses:   # a top cell was recorded above; a nested parse is recorded here
            recorded = top and cell is not None
            raise judge.refuse(g, j, kind="runtime", code=source, record=not recorded,
                               shown=raw if top else source,
                               event_id=(cell or {}).get("event_id", ""))
        return tree

    def _refuse_failure(self, source: str, reason: str) -> GuardBlocked:
        """A guard failure refuses the cell on the one refuse path (``guard.judge.refuse``):
        a ``guard-error`` row, the structured refusal; if even that fails, the plain error."""
        cell = self._cell
        if cell is not None and not cell["parsed"]:   # the cell as the user wrote it
            source = cell.get("raw") or source
        try:
            v = Verdict("block", "guard-error", reason, None, self.guard.policy.revision)
            err = judge.refuse_verdict(self.guard, v, kind="python", code=source,
                                       cell_id=(cell or {}).get("cell_id", ""),
                                       execution_count=(cell or {}).get("count"))
            if cell is not None:
                cell.update(parsed=True, final=True,
                            event_id=(self.guard.last_blocked or {}).get("recorded", ""))
            return err
        except Exception:  # noqa: BLE001 - recording is best effort: the cell is refused either way
            return GuardBlocked("guard-error", reason, approval_hint=False)


def _same(now: Any, then: Any) -> bool:
    return now is then or (type(now) is type(then) and type(now) in (str, bytes) and now == then)


def _kind(raw: str) -> str:
    s = raw.lstrip()
    if s.startswith(("%%guarded_sql", "%%sql", "%sql")):
        return "sql"
    if s.startswith(("!", "%%bash", "%%sh", "%%script", "%%system")):
        return "shell"
    if s.startswith("%"):
        return "magic"
    return "python"


def banner(g: Guard) -> str:
    p = g.policy
    src = p.source or "packaged default"
    return (f"jupyter_guard on: policy {p.name} ({src}), mode {p.mode}, user {g.user}"
            f"{' (' + g.actor + ')' if g.actor != 'human' else ''}, audit {g.settings['audit']}")


def current() -> KernelGuard | None:
    mod = sys.modules.get("jupyter_guard")
    return getattr(mod, "_kernel_guard", None) if mod else None
