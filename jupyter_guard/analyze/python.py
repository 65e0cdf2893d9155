"""Python cell -> intents, with one walk over the AST IPython already parsed.

Follows the cell in order: imports and aliases, simple assignments (strings, paths, callables),
function definitions (analysed when *called*, with the call's arguments), threads and executors
(analysed as a call of their target), and IPython's own syntax (see ``magics``).
"""
from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

from jupyter_guard.analyze import magics, pysinks, pytamper
from jupyter_guard.analyze.pysinks_args import Ctx, arg
from jupyter_guard.analyze.pyvalues import (
    PathValue,
    Ref,
    Scope,
    dotted,
    is_path_expr,
    made_of,
    path_of,
    string_of,
)
from jupyter_guard.model import UNKNOWN, Analysis, Intent

SqlFn = Callable[[str, str], Analysis]
ShellFn = Callable[[str], Analysis]

_THREAD_STARTERS = {
    "threading.Thread": ("target", "args"),
    "multiprocessing.Process": ("target", "args"),
    "threading.Timer": ("function", "args"),
}
_SUBMITTERS = frozenset(
    {
        "submit",
        "run_in_executor",
        "to_thread",
        "apply_async",
        "map",
        "start_new_thread",
        "call_soon",
        "call_later",
        "create_task",
    }
)


def analyze_python(tree: ast.AST | str, *, sql: SqlFn, shell: ShellFn,
                   lookup: Callable[[str], Any] | None = None, depth: int = 0,
                   scope: Scope | None = None) -> Analysis:
    """All intents of a cell.

    >>> from jupyter_guard.model import Analysis, Intent
    >>> sh = lambda c: Analysis((Intent("shell.exec", "command", c.split()[0]),))
    >>> a = analyze_python("import os as o\\no.system('ls')", sql=lambda s, d: Analysis(), shell=sh)
    >>> [(i.action, i.target) for i in a.intents]
    [('shell.exec', 'ls')]
    """
    if isinstance(tree, str):
        text = tree
        try:
            tree = ast.parse(text)
        except SyntaxError as e:
            return Analysis((Intent("code.dynamic", source=text[:200], detail="unparsable code"),),
                            (f"Python could not be parsed: {e.msg} (line {e.lineno})",))
    walker = _Walker(sql, shell, lookup, depth, scope)
    walker.walk(tree)
    return walker.result


class _Walker:
    def __init__(self, sql: SqlFn, shell: ShellFn, lookup: Callable[[str], Any] | None,
                 depth: int, scope: Scope | None) -> None:
        self.scope = scope or Scope(lookup=lookup)
        self.sql, self.shell, self.depth = sql, shell, depth
        self.intents: list[Intent] = []
        self.errors: list[str] = []
        self.written: list[str] = []
        self.read: list[str] = []
        self.ctx = Ctx(sql=sql, shell=shell, python=self._nested)

    @property
    def result(self) -> Analysis:
        return Analysis(tuple(self.intents), tuple(self.errors), tuple(dict.fromkeys(self.written)),
                        tuple(dict.fromkeys(self.read)))

    def _nested(self, source: str) -> Analysis:
        if self.depth > 6:
            return Analysis((Intent("code.dynamic", detail="nesting too deep"),))
        return analyze_python(source, sql=self.sql, shell=self.shell, lookup=self.scope.lookup,
                              depth=self.depth + 1, scope=self.scope.child())

    def add(self, a: Analysis | None, node: ast.AST | None = None) -> None:
        if a is None:
            return
        line = getattr(node, "lineno", None)
        for i in a.intents:
            self.intents.append(
                i
                if i.span or line is None
                else i.with_(span=(line, getattr(node, "col_offset", 0)))
            )
        self.errors.extend(a.errors)

    # -- the walk ---------------------------------------------------------------------------
    def walk(self, tree: ast.AST) -> None:
        for stmt in getattr(tree, "body", [tree]):
            self.statement(stmt)

    def statement(self, node: ast.AST) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self._import(node)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.scope.functions[node.name] = node
            self.written.append(node.name)
            for d in node.decorator_list:
                self.expression(d)
            return
        if isinstance(node, ast.ClassDef):
            self.written.append(node.name)
            for stmt in node.body:  # methods run later: analyse their bodies conservatively
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.scope.functions[f"{node.name}.{stmt.name}"] = stmt
                else:
                    self.statement(stmt)
            return
        if isinstance(node, ast.Assign):
            self.expression(node.value)
            for t in node.targets:
                self._bind(t, node.value)
            return
        if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            if node.value is not None:
                self.expression(node.value)
            self._bind(node.target, node.value if isinstance(node, ast.AnnAssign) else None)
            return
        if isinstance(node, ast.Delete):
            for t in node.targets:
                self._check_target(t, deleting=True)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self.statement(child)
            elif isinstance(child, ast.expr):
                self.expression(child)
            elif isinstance(
                child, (ast.withitem, ast.excepthandler, ast.comprehension, ast.match_case)
            ):
                for sub in ast.iter_child_nodes(child):
                    self.statement(sub) if isinstance(sub, ast.stmt) else self.expression(sub)
                if isinstance(child, ast.withitem) and isinstance(child.optional_vars, ast.Name):
                    self.scope.made[child.optional_vars.id] = made_of(child.context_expr,
                                                                      self.scope)
            if isinstance(node, (ast.For, ast.AsyncFor)) and child is node.target:
                for n in ast.walk(child):   # a loop variable: what it holds is not known
                    if isinstance(n, ast.Name):
                        self.scope.made[n.id] = "?"

    def expression(self, node: ast.AST) -> None:
        for sub in _walk_expr(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                self.read.append(sub.id)
            elif isinstance(sub, ast.Call):
                self.call(sub)
            elif isinstance(sub, (ast.Subscript, ast.Attribute)) and \
                    isinstance(sub.ctx, ast.Load):
                self._check_reach(sub)
            elif isinstance(sub, ast.NamedExpr):
                self._bind(sub.target, sub.value)
            elif isinstance(sub, ast.Lambda):
                pass

    # -- calls ------------------------------------------------------------------------------
    def call(self, node: ast.Call) -> None:
        name = dotted(node.func, self.scope)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if attr in ("run_cell_magic", "run_line_magic", "system", "getoutput", "system_raw",
                    "system_piped", "run_cell", "ex", "ev", "safe_execfile", "run_code") and (
                name.startswith("get_ipython()") or UNKNOWN in name or attr.startswith("run_")):
            self.add(self._ipython(attr, node), node)
            return
        if UNKNOWN in name and isinstance(node.func, ast.Call):
            self.add(Analysis((Intent("code.dynamic", source=ast.unparse(node)[:200],
                                      detail="callee computed at run time"),)), node)
        local = name if name in self.scope.functions else (
            node.func.id if isinstance(node.func, ast.Name) else None)
        if local is not None and local in self.scope.functions:
            self._call_function(self.scope.functions[local], node)
            return
        if name in _THREAD_STARTERS or (attr in _SUBMITTERS and node.args):
            self._thread(name, attr, node)
        self._check_tamper_call(name, node)
        self.add(pysinks.intents_for_call(node, self.scope, self.ctx), node)

    def _ipython(self, attr: str, node: ast.Call) -> Analysis:
        args = [string_of(a, self.scope) for a in node.args]
        s = [a if a is not None else UNKNOWN for a in args] + ["", "", ""]
        if attr == "run_cell_magic":
            return magics.cell_magic(s[0], s[1], s[2], self.ctx)
        if attr == "run_line_magic":
            return magics.line_magic(s[0], s[1], self.ctx)
        if attr in ("system", "getoutput", "system_raw", "system_piped"):
            return self.shell(s[0])
        return self._nested(s[0]) if args and args[0] is not None else Analysis(
            (Intent("code.dynamic", source=ast.unparse(node)[:200]),))

    def _call_function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
                       call: ast.Call) -> None:
        if self.depth > 6:
            return
        inner = self.scope.child()
        params = [a.arg for a in fn.args.args]
        for p, a in zip(params, call.args):
            self._bind_value(inner, p, a)
        for k in call.keywords:
            if k.arg:
                self._bind_value(inner, k.arg, k.value)
        for p in params:
            inner.values.setdefault(p, UNKNOWN)
        given = {**dict(zip(params, call.args)), **{k.arg: k.value for k in call.keywords if k.arg}}
        for p in params:
            inner.made[p] = made_of(given.get(p), self.scope)
        body: list[ast.stmt] = fn.body if isinstance(fn.body, list) else [ast.Expr(fn.body)]
        self.add(
            analyze_python(
                ast.Module(body=body, type_ignores=[]),
                sql=self.sql,
                shell=self.shell,
                depth=self.depth + 1,
                scope=inner,
            ),
            call,
        )

    def _bind_value(self, scope: Scope, name: str, value: ast.AST) -> None:
        if is_path_expr(value, self.scope):
            scope.values[name] = PathValue(path_of(value, self.scope) or UNKNOWN)
            return
        s = string_of(value, self.scope)
        scope.values[name] = s if s is not None else UNKNOWN

    def _thread(self, name: str, attr: str, node: ast.Call) -> None:
        if name in _THREAD_STARTERS:
            tkw, akw = _THREAD_STARTERS[name]
            target = arg(node, 1, tkw)
            args = arg(node, 3 if name != "threading.Timer" else 2, akw)
        else:
            first = 1 if attr in ("run_in_executor", "call_later") else 0
            target = node.args[first] if len(node.args) > first else None
            rest = node.args[first + 1:]
            args = ast.Tuple(elts=list(rest), ctx=ast.Load()) if rest else None
            if attr == "map" and rest:
                seq = rest[0]
                args = (
                    ast.Tuple(elts=[seq.elts[0]], ctx=ast.Load())
                    if isinstance(seq, (ast.List, ast.Tuple)) and seq.elts
                    else None
                )
        if target is None or isinstance(target, ast.Call):
            return
        elts = list(args.elts) if isinstance(args, (ast.Tuple, ast.List)) else []
        fake = ast.Call(func=target, args=elts, keywords=[])
        ast.copy_location(fake, node)
        self.call(fake)

    # -- the guard's own body (``pytamper``) ------------------------------------------------------
    def _check_tamper_call(self, name: str, node: ast.Call) -> None:
        for why, about in pytamper.call_tampers(name, node, self.scope):
            self._tamper(why, about)

    def _tamper(self, why: str, node: ast.AST) -> None:
        """A ``guard.tamper`` intent for ``node``, which the self-protection rule refuses."""
        self.add(Analysis((Intent("guard.tamper", "guard", why,
                                  source=ast.unparse(node)[:200]),)), node)

    def _check_reach(self, node: ast.Subscript | ast.Attribute) -> None:
        if why := pytamper.reach_tamper(node, self.scope):
            self._tamper(why, node)

    def _check_target(
        self, target: ast.AST, *, deleting: bool = False, attr: str | None = None
    ) -> None:
        if why := pytamper.target_tamper(target, self.scope, deleting=deleting, attr=attr):
            self._tamper(why, target)

    # -- bindings ---------------------------------------------------------------------------
    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for a in node.names:
            if isinstance(node, ast.Import):
                local = a.asname or a.name.split(".")[0]
                self.scope.aliases[local] = a.name if a.asname else a.name.split(".")[0]
            else:
                mod = node.module or ""
                self.scope.aliases[a.asname or a.name] = f"{mod}.{a.name}" if mod else a.name
            self.written.append(a.asname or a.name.split(".")[0])
            self.scope.made.pop(a.asname or a.name.split(".")[0], None)

    def _bind(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            self.scope.made[target.id] = made_of(value, self.scope)
            self.written.append(target.id)
            self.scope.values.pop(target.id, None)
            self.scope.aliases.pop(target.id, None)
            if value is None:
                return
            if isinstance(value, ast.Lambda):
                self.scope.functions[target.id] = value
            elif is_path_expr(value, self.scope):
                self.scope.values[target.id] = PathValue(path_of(value, self.scope) or UNKNOWN)
            elif (s := string_of(value, self.scope)) is not None:
                self.scope.values[target.id] = s
            elif isinstance(value, (ast.Attribute, ast.Name, ast.Call)) and (
                d := dotted(value, self.scope)
            ):
                if isinstance(value, ast.Name) and value.id in self.scope.functions:
                    self.scope.functions[target.id] = self.scope.functions[value.id]
                elif not d.endswith(")") and "." in d:
                    self.scope.values[target.id] = Ref(d)
        elif isinstance(target, (ast.Tuple, ast.List)):
            vals = (
                value.elts
                if isinstance(value, (ast.Tuple, ast.List))
                else [None] * len(target.elts)
            )
            for t, v in zip(target.elts, vals):
                self._bind(t, v)
        else:
            self._check_target(target)


def _walk_expr(node: ast.AST) -> Iterator[ast.AST]:
    """Pre-order walk that does not enter lambdas (they run when called)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, ast.Lambda):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(n))))
