"""jupysql under the guard: a ``{{var}}`` template is checked where jupysql renders it.

jupysql renders ``%sql``/``%%sql`` text with jinja2 and the user namespace
(``sql.command.SQLCommand._var_expand``). The guard wraps that one method: the rendering is
jupysql's own (same text, same values), and a value that changes the statement's structure
(``jupyter_guard.analyze.template``) refuses the cell with rule ``template-injection`` before
anything reaches the database. What the rendered SQL *does* is judged where it reaches the
database (``enforce.sinks``), like any SQL built at run time.
"""
from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

from jupyter_guard.analyze.template import is_template, structure_change
from jupyter_guard.guard.service import Guard
from jupyter_guard.model import Intent, Verdict

log = logging.getLogger("jupyter_guard")


def check(guard: Guard, template: str, render: Any) -> None:
    """Raise the refusal when a value changes the template's structure."""
    from jupyter_guard.guard.judge import refuse_verdict
    from jupyter_guard.guard.refusal import note_if_audit

    why = structure_change(template, render)
    if not why:
        return
    intent = Intent("sql.other", "none", "", source=template, detail="jupysql template")
    v = Verdict("block", "template-injection",
                f"a template value changes the statement's structure: {why}; pass values as "
                "parameters (%%guarded_sql :name) or check them first", intent,
                guard.policy.revision)
    if guard.policy.mode == "audit":
        v = Verdict("warn", v.rule_id, f"would block: {v.reason}", intent, v.policy_revision)
        note_if_audit(guard, (v,))
        guard.note("runtime", template, "warn", v.rule_id, v.reason)
        return
    raise refuse_verdict(guard, v, kind="runtime", code=template, intents=(intent,))


def patch(guard: Guard, module: ModuleType) -> None:
    cls = getattr(module, "SQLCommand", None)
    original = getattr(cls, "_var_expand", None)
    if original is None or getattr(original, "_jupyter_guard", False):
        return

    def _var_expand(self: Any, sql: str, user_ns: Any) -> Any:
        rendered = original(self, sql, user_ns)
        if isinstance(sql, str) and is_template(sql):
            check(guard, sql, lambda text: original(self, text, user_ns))
        return rendered

    _var_expand._jupyter_guard = True  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
    _var_expand.__wrapped__ = original  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
    cls._var_expand = _var_expand  # type: ignore[union-attr]  # jupysql's class, imported only when present


def install(shell: Any, guard: Guard) -> None:
    from jupyter_guard.hooks import lazy

    lazy.when_imported("sql.command", lambda module: patch(guard, module))
