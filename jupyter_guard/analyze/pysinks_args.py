"""What the handlers of ``pysinks`` share: the analysers they call (``Ctx``), their type
(``Handler``), and how they read a call's arguments.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from jupyter_guard.analyze.pyvalues import Scope, path_of
from jupyter_guard.model import UNKNOWN, Analysis, Intent

GUARD_ENV_PREFIX = "JUPYTER_GUARD"


@dataclass(frozen=True)
class Ctx:
    sql: Callable[[str, str], Analysis]      # (sql, dialect) -> Analysis
    shell: Callable[[str], Analysis]         # command -> Analysis
    python: Callable[[str], Analysis]        # nested source -> Analysis (exec of a constant)


Handler = Callable[[ast.Call, Scope, Ctx], Analysis]


def arg(call: ast.Call, pos: int, *names: str) -> ast.expr | None:
    if len(call.args) > pos and not isinstance(call.args[pos], ast.Starred):
        return call.args[pos]
    for k in call.keywords:
        if k.arg in names:
            return k.value
    return None


def path_arg(call: ast.Call, scope: Scope, pos: int = 0, *names: str) -> str:
    """The path argument at ``pos`` (or named one of ``names``), or ``UNKNOWN``."""
    node = arg(call, pos, *names)
    got = path_of(node, scope) if node is not None else None
    return got if got is not None else UNKNOWN


def one(*intents: Intent) -> Analysis:
    return Analysis(intents)
