"""A cell reading the hidden state of functions: the way to the guard's own marks.

The guard's checks live in functions that user code can reach (a driver method the guard
routed, a C type's replaced method). From one of them, ``__globals__`` leads to the guard
module's variables (``Busy``, ``judged_on``, the driver's kept bodies) and ``__closure__`` /
``cell_contents`` to the original methods its checks wrap; entering those marks ran a 30,000-row
DELETE unjudged. A cell that reads these attributes (by name, through ``getattr`` or
``__getattribute__`` with a name the analysis can build, or ``inspect.getclosurevars``) is
refused as self-protection. A name built only at run time is not seen here.
"""
from __future__ import annotations

import ast

from jupyter_guard.analyze.pyvalues import Scope, dotted, string_of

HIDDEN = ("__globals__", "__closure__", "cell_contents", "f_globals")
# the packages whose functions the guard routes or replaces, and the guard's own
GUARDED = frozenset({"psycopg", "psycopg2", "asyncpg", "pg8000", "sqlite3", "duckdb", "socket",
                     "_socket", "ssl", "io", "builtins", "os", "jupyter_guard", "pandas",
                     "pyodbc", "sqlalchemy", "urllib", "http", "requests", "subprocess"})
_GETTERS = ("getattr", "builtins.getattr", "object.__getattribute__", "inspect.getattr_static")


def reaches_hidden(node: ast.AST, scope: Scope) -> str | None:
    """Why ``node`` reads the hidden state of a function of a guarded package, or None.

    >>> s = Scope()
    >>> reaches_hidden(ast.parse("psycopg.Cursor.execute.__globals__").body[0].value, s)
    "reads a function's __globals__ (the guard's own state is reached that way)"
    >>> reaches_hidden(ast.parse("getattr(asyncpg.connect, '__glo' + 'bals__')").body[0].value,
    ...                s) is None
    False
    >>> reaches_hidden(ast.parse("my_function.__globals__").body[0].value, s) is None
    True
    >>> reaches_hidden(ast.parse("getattr(psycopg, 'connect')").body[0].value, s) is None
    True
    """
    name, base = "", None
    if isinstance(node, ast.Attribute):
        name, base = node.attr, node.value
    elif isinstance(node, ast.Call):
        func = dotted(node.func, scope)
        if func == "inspect.getclosurevars":
            name, base = "__closure__", node.args[0] if node.args else None
        elif (func in _GETTERS or func.endswith(".__getattribute__")) and node.args:
            one = func.endswith(".__getattribute__") and len(node.args) == 1
            key = node.args[0] if one else node.args[1] if len(node.args) > 1 else None
            base = node.func.value if one and isinstance(node.func, ast.Attribute) else \
                node.args[0]
            name = next((h for h in HIDDEN if h in (string_of(key, scope) or "")), "")
    if name not in HIDDEN or base is None or \
            dotted(base, scope).split(".")[0] not in GUARDED:
        return None
    return f"reads a function's {name} (the guard's own state is reached that way)"
