"""Python calls that act on files: ``os``/``shutil`` functions, ``open``, ``pathlib.Path``
methods, and DataFrame writers (``df.to_csv(path)``), each a handler for ``pysinks``' tables.
"""
from __future__ import annotations

import ast

from jupyter_guard.analyze.pysinks_args import Ctx, Handler, arg, one, path_arg
from jupyter_guard.analyze.pyvalues import Scope, path_of, string_of
from jupyter_guard.model import UNKNOWN, Action, Analysis, Intent


def file_op(action: Action, recursive: bool = False, pos: int = 0, *names: str) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        return one(Intent(action, "path", path_arg(call, scope, pos, *names), recursive=recursive,
                           source=ast.unparse(call)))
    return h


def move(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    src = ast.unparse(call)
    return one(Intent("file.move", "path", path_arg(call, scope, 0, "src"), source=src),
                Intent("file.write", "path", path_arg(call, scope, 1, "dst"), source=src))


def copy(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    src = ast.unparse(call)
    return one(Intent("file.read", "path", path_arg(call, scope, 0, "src"), source=src),
                Intent("file.truncate", "path", path_arg(call, scope, 1, "dst"), source=src))


def open_call(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    mode = string_of(arg(call, 1, "mode"), scope) or "r"
    path = path_arg(call, scope, 0, "file")
    if "w" in mode or "x" in mode:
        return one(Intent("file.truncate", "path", path, source=ast.unparse(call)))
    if "a" in mode or "+" in mode:
        return one(Intent("file.write", "path", path, source=ast.unparse(call)))
    return one(Intent("file.read", "path", path, source=ast.unparse(call)))


def os_open(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    flags = ast.unparse(arg(call, 1, "flags") or ast.Constant(0))
    path = path_arg(call, scope, 0, "path")
    if "O_TRUNC" in flags or "O_CREAT" in flags:
        return one(Intent("file.truncate", "path", path, source=ast.unparse(call)))
    if "O_WRONLY" in flags or "O_RDWR" in flags or "O_APPEND" in flags:
        return one(Intent("file.write", "path", path, source=ast.unparse(call)))
    return Analysis()


def df_writer(pos: int = 0, *names: str) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        node = arg(call, pos, *names)
        if node is None:
            return Analysis()  # to_json() / to_string() returning a string: nothing leaves
        from jupyter_guard.analyze.sql_tree import is_remote  # sqlglot: children need it late

        dest = path_of(node, scope) or UNKNOWN
        attr = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        out = [Intent("df.export", "file", dest, remote=is_remote(dest), source=ast.unparse(call),
                      detail=attr)]
        if attr != "to_sql" and not is_remote(dest):
            out.append(Intent("file.truncate", "path", dest, source=ast.unparse(call)))
        return Analysis(tuple(out))
    return h


def path_method(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    """Methods on a ``pathlib.Path`` value."""
    assert isinstance(call.func, ast.Attribute)
    base = path_of(call.func.value, scope) or UNKNOWN
    m = call.func.attr
    src = ast.unparse(call)
    if m in ("unlink", "rmdir"):
        return one(Intent("file.delete", "path", base, source=src))
    if m in ("rename", "replace"):
        return one(Intent("file.move", "path", base, source=src),
                    Intent("file.write", "path", path_arg(call, scope, 0, "target"), source=src))
    if m in ("write_text", "write_bytes"):
        return one(Intent("file.truncate", "path", base, source=src))
    if m == "open":
        mode = string_of(arg(call, 0, "mode"), scope) or "r"
        act: Action = "file.truncate" if ("w" in mode or "x" in mode) else "file.write" if (
            "a" in mode or "+" in mode) else "file.read"
        return one(Intent(act, "path", base, source=src))
    if m in ("read_text", "read_bytes"):
        return one(Intent("file.read", "path", base, source=src))
    if m in ("chmod", "touch", "symlink_to", "hardlink_to"):
        return one(Intent("file.write", "path", base, source=src))
    return Analysis()


PATH_METHODS = frozenset({"unlink", "rmdir", "rename", "replace", "write_text", "write_bytes",
                          "open", "read_text", "read_bytes", "chmod", "touch", "symlink_to",
                          "hardlink_to"})
