"""Static values in Python code: what string, path or callable an expression denotes.

``Scope`` follows a cell top to bottom: import aliases, simple assignments, function definitions;
names it has not seen are asked of ``lookup`` (the kernel's namespace, strings and paths only).
Unknown parts of a string become ``UNKNOWN`` so the SQL and shell analysers still see its shape.
"""
from __future__ import annotations

import ast
import base64
import binascii
import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_guard.model import UNKNOWN

Lookup = Callable[[str], Any]


@dataclass
class Scope:
    aliases: dict[str, str] = field(default_factory=dict)       # local name -> dotted module path
    values: dict[str, Any] = field(default_factory=dict)        # name -> str | PathValue | Ref
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] = field(
        default_factory=dict)
    lookup: Lookup | None = None
    # names bound in this cell -> the call chain that made their object (``made_of``), so SQL
    # handed to them is never tied to what the name held before the cell
    made: dict[str, str] = field(default_factory=dict)

    def child(self) -> Scope:
        return Scope(dict(self.aliases), dict(self.values), dict(self.functions), self.lookup,
                     dict(self.made))


@dataclass(frozen=True)
class PathValue:
    path: str


@dataclass(frozen=True)
class Ref:
    """A name bound to a module attribute or a callable, e.g. ``rm = os.remove``."""
    dotted: str


def dotted(node: ast.AST, scope: Scope) -> str:
    """Dotted name a callee resolves to.

    ``d.connect`` with ``import duckdb as d`` -> ``duckdb.connect``.
    """
    if isinstance(node, ast.Name):
        if node.id in scope.aliases:
            return scope.aliases[node.id]
        v = scope.values.get(node.id)
        if isinstance(v, Ref):
            return v.dotted
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value, scope)
        return f"{base}.{node.attr}" if base else f"?.{node.attr}"
    if isinstance(node, ast.Call):
        fn = dotted(node.func, scope)
        if fn in ("__import__", "importlib.import_module", "builtins.__import__") and node.args:
            mod = string_of(node.args[0], scope)
            return mod if mod and UNKNOWN not in mod else ""
        if fn in ("getattr", "builtins.getattr") and len(node.args) >= 2:
            base = dotted(node.args[0], scope)
            attr = string_of(node.args[1], scope)
            if attr and UNKNOWN not in attr:
                return f"{base}.{attr}" if base else f"?.{attr}"
            return f"{base}.{UNKNOWN}"
        if fn.endswith("get_ipython") or fn == "get_ipython":
            return "get_ipython()"
        return f"{fn}()" if fn else ""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
        # vars(os)['system'], os.__dict__['system'], globals()['x']
        key = string_of(node.slice, scope)
        base = dotted(node.value.value, scope) if node.value.attr == "__dict__" else ""
        return f"{base}.{key}" if base and key else ""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call):
        fn = dotted(node.value.func, scope)
        key = string_of(node.slice, scope)
        if fn == "vars" and node.value.args and key:
            return f"{dotted(node.value.args[0], scope)}.{key}"
    return ""


def made_of(value: ast.AST | None, scope: Scope) -> str:
    """What a name bound in the cell holds, as the call chain that made it, with import aliases
    and names bound earlier in the cell expanded; ``"?"`` when the guard cannot tell.

    >>> s = Scope(aliases={"pg": "pg8000.dbapi"})
    >>> s.made["pc"] = made_of(ast.parse("pg.connect(user='a')", mode="eval").body, s)
    >>> made_of(ast.parse("pc.cursor()", mode="eval").body, s), made_of(None, s)
    ('pg8000.dbapi.connect().cursor()', '?')
    """
    if isinstance(value, ast.Await):   # ``con = await asyncpg.connect(...)``
        value = value.value
    if not isinstance(value, (ast.Name, ast.Attribute, ast.Call)):
        return "?"
    d = dotted(value, scope)
    head = d.split(".", 1)[0].split("(", 1)[0]
    if not head.isidentifier() or UNKNOWN in d:
        return "?"
    if head in scope.made and not (isinstance(value, ast.Name) and value.id in scope.aliases):
        return "?" if scope.made[head] == "?" else scope.made[head] + d[len(head):]
    return d


def receiver(node: ast.AST, scope: Scope) -> str:
    """The object a method is called on, as an intent's ``via`` names it: its text, or, when
    its root name was bound in this cell, what made that object (``made_of``).

    >>> s = Scope(made={"cu": "psycopg.connect().cursor()"})
    >>> receiver(ast.parse("cu", mode="eval").body, s), receiver(ast.Name("con"), s)
    ('psycopg.connect().cursor()', 'con')
    """
    root = node
    while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
        root = root.func if isinstance(root, ast.Call) else root.value
    if isinstance(root, ast.Name) and root.id in scope.made:
        return made_of(node, scope)
    return ast.unparse(node)


def string_of(node: ast.AST | None, scope: Scope) -> str | None:
    """The string an expression builds, with UNKNOWN for parts that cannot be known; None if
    the expression is not string-like at all."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return node.value
        if isinstance(node.value, bytes):
            return node.value.decode("utf-8", "replace")
        return None if node.value is None else str(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for piece in node.values:
            if isinstance(piece, ast.Constant):
                parts.append(str(piece.value))
            elif isinstance(piece, ast.FormattedValue):
                s = string_of(piece.value, scope)
                parts.append(s if s is not None else UNKNOWN)
        return "".join(parts)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add):
            left, right = string_of(node.left, scope), string_of(node.right, scope)
            if left is None and right is None:
                return None
            return (left if left is not None else UNKNOWN) + (
                right if right is not None else UNKNOWN
            )
        if isinstance(node.op, ast.Mod):
            fmt = string_of(node.left, scope)
            if fmt is None:
                return None
            args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            vals = tuple(_or_unknown(string_of(a, scope)) for a in args)
            try:
                return fmt % vals
            except (TypeError, ValueError):
                return fmt
    if isinstance(node, ast.Name):
        v = scope.values.get(node.id)
        if isinstance(v, str):
            return v
        if isinstance(v, PathValue):
            return v.path
        if node.id not in scope.values and scope.lookup is not None:
            got = scope.lookup(node.id)
            if isinstance(got, (str, bytes)):
                return got if isinstance(got, str) else got.decode("utf-8", "replace")
            if got is not None and type(got).__name__.endswith("Path"):
                return str(got)
        return None
    if isinstance(node, ast.Subscript):
        base = string_of(node.value, scope)
        if base is not None and UNKNOWN not in base:
            try:  # constant indexes and slices: 'x ELBAT PORD'[::-1], s[2:]
                sl = node.slice
                key = (
                    slice(
                        *(
                            ast.literal_eval(p) if p is not None else None
                            for p in (sl.lower, sl.upper, sl.step)
                        )
                    )
                    if isinstance(sl, ast.Slice)
                    else ast.literal_eval(sl)
                )
                return base[key]
            except (ValueError, TypeError, IndexError, SyntaxError):
                pass
        return None if base is None else UNKNOWN
    if isinstance(node, ast.Call):
        return _call_string(node, scope)
    return None


def _or_unknown(s: str | None) -> str:
    return s if s is not None else UNKNOWN


def _call_string(node: ast.Call, scope: Scope) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute):
        recv = string_of(func.value, scope)
        args = [string_of(a, scope) for a in node.args]
        if recv is not None:
            if func.attr == "format":
                try:
                    return recv.format(*[_or_unknown(a) for a in args],
                                       **{k.arg: _or_unknown(string_of(k.value, scope))
                                          for k in node.keywords if k.arg})
                except (IndexError, KeyError, ValueError):
                    return recv
            if func.attr == "join" and node.args:
                seq = node.args[0]
                if isinstance(seq, (ast.List, ast.Tuple)):
                    return recv.join(_or_unknown(string_of(e, scope)) for e in seq.elts)
                return UNKNOWN
            if func.attr in ("decode", "encode"):
                return recv
            if func.attr in ("strip", "lower", "upper", "replace", "lstrip", "rstrip", "casefold"):
                try:
                    return str(getattr(recv, func.attr)(*[a for a in args if a is not None]))
                except (TypeError, ValueError, AttributeError):
                    return recv
            if func.attr == "__add__" and args and args[0] is not None:
                return recv + args[0]
    name = dotted(func, scope)
    arg0 = string_of(node.args[0], scope) if node.args else None
    if arg0 is not None and UNKNOWN not in arg0:
        try:
            if name in ("base64.b64decode", "base64.standard_b64decode", "base64.decodebytes"):
                return base64.b64decode(arg0).decode("utf-8", "replace")
            if name == "base64.b32decode":
                return base64.b32decode(arg0).decode("utf-8", "replace")
            if name in ("bytes.fromhex", "binascii.unhexlify", "binascii.a2b_hex"):
                return binascii.unhexlify(arg0).decode("utf-8", "replace")
            if name == "codecs.decode" and len(node.args) > 1:
                encoding = string_of(node.args[1], scope) or "utf-8"
                # text codecs (rot13, unicode_escape) take a str; typeshed's overloads name
                # only literal encodings, and this one is the cell's: a wrong pair raises below
                return str(codecs.decode(arg0, encoding))  # type: ignore[call-overload]  # the encoding is known only at run time
        except (ValueError, binascii.Error, LookupError, TypeError):
            return UNKNOWN
    if name in (
        "str",
        "os.path.join",
        "os.fspath",
        "posixpath.join",
        "os.path.abspath",
        "os.path.expanduser",
        "os.path.normpath",
        "pathlib.Path",
        "Path",
        "pathlib.PurePath",
    ):
        parts = [string_of(a, scope) for a in node.args]
        if parts and all(p is not None for p in parts):
            return "/".join(p for p in parts if p is not None) if len(parts) > 1 else parts[0]
        return UNKNOWN if parts else None
    if name == "chr" and node.args:
        c = node.args[0]
        if isinstance(c, ast.Constant) and isinstance(c.value, int):
            return chr(c.value)
    return None


def path_of(node: ast.AST | None, scope: Scope) -> str | None:
    """The path an expression denotes (``Path('data') / 'x.duckdb'`` -> ``data/x.duckdb``)."""
    if node is None:
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = path_of(node.left, scope), path_of(node.right, scope)
        if left is None and right is None:
            return None
        return f"{left or UNKNOWN}/{right or UNKNOWN}"
    bound = scope.values.get(node.id) if isinstance(node, ast.Name) else None
    if isinstance(bound, PathValue):
        return bound.path
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
            "joinpath", "with_name", "with_suffix", "resolve", "absolute", "expanduser"):
        base = path_of(node.func.value, scope)
        if base is None:
            return None
        if node.func.attr == "joinpath":
            return "/".join([base] + [_or_unknown(string_of(a, scope)) for a in node.args])
        return base if node.func.attr in ("resolve", "absolute", "expanduser") else UNKNOWN
    return string_of(node, scope)


def is_path_expr(node: ast.AST, scope: Scope) -> bool:
    if isinstance(node, ast.Call):
        return dotted(node.func, scope) in ("pathlib.Path", "Path", "pathlib.PosixPath",
                                            "pathlib.PurePath") or is_path_expr(node.func, scope)
    if isinstance(node, ast.Attribute):
        return node.attr in ("joinpath", "with_name", "with_suffix", "resolve", "absolute",
                             "parent") and is_path_expr(node.value, scope)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return is_path_expr(node.left, scope)
    if isinstance(node, ast.Name):
        if isinstance(scope.values.get(node.id), PathValue):
            return True
        if node.id not in scope.values and scope.lookup is not None:
            got = scope.lookup(node.id)
            return got is not None and type(got).__name__.endswith("Path")
    return False
