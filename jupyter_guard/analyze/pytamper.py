"""What in a Python cell reaches for the guard itself: its modules, its state, the IPython hooks it
uses, the environment settings it reads, the raw socket past its checked sends.

Pure checks over one AST node and the cell's ``Scope``; each returns the reasons found (``""`` or
``[]`` when none), and the walker (``analyze/python.py``) turns each into a ``guard.tamper``
intent, which the self-protection rule refuses.
"""
from __future__ import annotations

import ast

from jupyter_guard.analyze.introspection import reaches_hidden
from jupyter_guard.analyze.pysinks_args import GUARD_ENV_PREFIX
from jupyter_guard.analyze.pyvalues import Scope, dotted, string_of
from jupyter_guard.model import UNKNOWN

# the socket classes whose sends the guard checks: their C base reached past them sends unchecked
_SOCKET_TYPES = frozenset({"socket.socket", "socket.SocketType", "_socket.socket",
                           "_socket.SocketType", "ssl.SSLSocket"})
_HIERARCHY = frozenset({"__base__", "__bases__", "__mro__", "mro"})
_GUARD_ATTRS = frozenset(
    {
        "ast_transformers",
        "input_transformers_post",
        "input_transformers_cleanup",
        "events",
        "compile",
        "ast_parse",
        "run_cell",
        "run_cell_async",
        "should_run_async",
        "transform_cell",
        "transform_ast",
        "display_formatter",
        "displayhook",
        "system",
        "system_piped",
        "system_raw",
        "getoutput",
        "run_cell_magic",
        "run_line_magic",
        "extension_manager",
        "magics_manager",
        "custom_exceptions",
        "showtraceback",
        "CustomTB",
        "set_custom_exc",
        "kernel",
        "builtin_trap",
        "user_global_ns",
        "_showtraceback",
        "InteractiveTB",
    }
)
# Methods that change a container in place: called on anything of the guard's (its known values,
# its patch ledgers, its policy's lists), they change what the guard decides.
_MUTATORS = frozenset({"clear", "pop", "popitem", "update", "add", "discard", "remove", "append",
                       "extend", "insert", "setdefault", "__setitem__", "__delitem__",
                       "difference_update", "intersection_update", "sort", "reverse"})


def call_tampers(name: str, node: ast.Call, scope: Scope) -> list[tuple[str, ast.AST]]:
    """The reasons (each with the node it is about) a call named ``name`` reaches the guard.

    >>> import ast
    >>> call = ast.parse("sys.modules.get('jupyter_guard.hooks')").body[0].value
    >>> [why for why, _ in call_tampers("sys.modules.get", call, Scope())]
    ["reaches the guard's module through sys.modules"]
    """
    out: list[tuple[str, ast.AST]] = []
    low = name.lower()
    if hidden := reaches_hidden(node, scope):
        out.append((hidden, node))
    if "jupyter_guard" in low and any(
        w in low for w in ("unload", "uninstall", "disable", "setattr", "remove")
    ):
        out.append(("calls into the guard to switch it off", node))
    if name in ("setattr", "delattr", "object.__setattr__", "builtins.setattr") and node.args:
        target = node.args[0]
        why = target_tamper(
            target,
            scope,
            deleting=name == "delattr",
            attr=string_of(node.args[1], scope) if len(node.args) > 1 else None,
        )
        if why:
            out.append((why, target))
    if name in ("super", "builtins.super") and len(node.args) == 2 and \
            dotted(node.args[0], scope) in _SOCKET_TYPES:
        out.append(("reaches the raw socket type past the guard's checked sends", node))
    text = ast.unparse(node.func)
    method = text.rsplit(".", 1)[-1]
    if name.startswith("jupyter_guard.") and method in _MUTATORS:
        out.append(("changes the guard's own state", node))
    if name == "sys.modules.get" and node.args and \
            "jupyter_guard" in (string_of(node.args[0], scope) or ""):
        out.append(("reaches the guard's module through sys.modules", node))
    if text.endswith("events.unregister") or (
        method in ("clear", "remove", "pop", "popitem", "__delitem__", "__setitem__", "update")
        and any(a in text for a in ("ast_transformers", "input_transformers", "callbacks"))
    ):
        out.append(("removes IPython hooks the guard uses", node))
    return out


def reach_tamper(node: ast.Subscript | ast.Attribute, scope: Scope) -> str:
    """A handle on the guard's modules that attribute checks cannot follow: a module out of
    ``sys.modules`` by name, or a guard module's ``__dict__``."""
    why = reaches_hidden(node, scope) or ""
    if why:
        pass
    elif isinstance(node, ast.Subscript) and dotted(node.value, scope) == "sys.modules":
        key = string_of(node.slice, scope) or ""
        if "jupyter_guard" in key:
            why = "reaches the guard's module through sys.modules"
    elif isinstance(node, ast.Attribute) and node.attr == "__dict__" and \
            dotted(node.value, scope).startswith("jupyter_guard"):
        why = "reaches the guard's own variables"
    elif isinstance(node, ast.Attribute) and node.attr in _HIERARCHY and \
            dotted(node.value, scope) in _SOCKET_TYPES:
        why = "reaches the raw socket type past the guard's checked sends"
    return why


def target_tamper(
    target: ast.AST, scope: Scope, *, deleting: bool = False, attr: str | None = None
) -> str:
    """Why assigning to (or deleting) ``target`` changes the guard, or ``""``."""
    why = ""
    if isinstance(target, ast.Subscript):
        base = dotted(target.value, scope)
        key = string_of(target.slice, scope) or ""
        if base == "os.environ" and (
            key.upper().startswith(GUARD_ENV_PREFIX) or UNKNOWN in key
        ):
            why = f"changes {key} in the environment"
        elif base == "sys.modules" and ("jupyter_guard" in key or UNKNOWN in key):
            why = "removes the guard's module"
        elif base.startswith("jupyter_guard"):   # e.__dict__[...] =, known_map[...] =
            why = "changes the guard's own state"
    elif isinstance(target, ast.Attribute) or attr is not None:
        owner = dotted(
            target.value if isinstance(target, ast.Attribute) else target, scope
        )
        if attr is not None:
            name = attr
        else:
            name = target.attr if isinstance(target, ast.Attribute) else ""
        if "jupyter_guard" in owner or owner.startswith("jupyter_guard"):
            why = "changes the guard's own code"
        elif name in _GUARD_ATTRS or (name or "").startswith("__jg"):
            why = f"replaces IPython's {name}"
    return why
