"""The table of Python calls that act: files, shell, network, SQL, DataFrame writers, the guard.

Each entry maps a resolved callee (``shutil.rmtree``) or a method name (``.unlink``) to a small
handler ``(call, scope, ctx) -> intents``. ``ctx`` gives the handlers the SQL and shell analysers.
The handlers for files, the network and SQL are in ``pysinks_files``, ``pysinks_net`` and
``pysinks_sql``; those for the shell, dynamic code and the guard itself are here.
"""
from __future__ import annotations

import ast
import shlex
from typing import Any

from jupyter_guard.analyze.pysinks_args import GUARD_ENV_PREFIX as GUARD_ENV_PREFIX
from jupyter_guard.analyze.pysinks_args import Ctx as Ctx
from jupyter_guard.analyze.pysinks_args import Handler, arg, one
from jupyter_guard.analyze.pysinks_files import (
    PATH_METHODS,
    copy,
    df_writer,
    file_op,
    move,
    open_call,
    os_open,
    path_method,
)
from jupyter_guard.analyze.pysinks_net import cloud_upload, upload, urlopen
from jupyter_guard.analyze.pysinks_net import host_of as host_of
from jupyter_guard.analyze.pysinks_sql import looks_like_sql as looks_like_sql
from jupyter_guard.analyze.pysinks_sql import sql_call
from jupyter_guard.analyze.pyvalues import Scope, dotted, is_path_expr, string_of
from jupyter_guard.model import UNKNOWN, Analysis, Intent

# re-exported: other modules import ``GUARD_ENV_PREFIX``, ``Ctx``, ``host_of`` and
# ``looks_like_sql`` from here


def _command_text(node: ast.AST | None, scope: Scope) -> str:
    if node is None:
        return UNKNOWN
    if isinstance(node, (ast.List, ast.Tuple)):
        parts = [string_of(e, scope) for e in node.elts]
        return shlex.join(p if p is not None else UNKNOWN for p in parts)
    s = string_of(node, scope)
    return s if s is not None else UNKNOWN


def shell_call(pos: int = 0, *names: str) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        return ctx.shell(_command_text(arg(call, pos, *names), scope))
    return h


def _exec_family(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    # os.execv(path, args) / os.spawnv(mode, path, args) / os.execl(path, arg0, arg1...)
    name = dotted(call.func, scope).rsplit(".", 1)[-1]
    args = call.args[1:] if name.startswith("spawn") or name == "posix_spawn" else call.args
    parts: list[str] = []
    for a in args[1:]:
        parts.append(_command_text(a, scope) if isinstance(a, (ast.List, ast.Tuple))
                     else shlex.quote(string_of(a, scope) or UNKNOWN))
    return ctx.shell(
        " ".join(parts) if parts else (string_of(args[0], scope) if args else None) or UNKNOWN
    )


def _tamper(why: str) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        return one(Intent("guard.tamper", "guard", why, source=ast.unparse(call)))
    return h


def _environ_call(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    key = string_of(arg(call, 0, "key"), scope) or ""
    if key.upper().startswith(GUARD_ENV_PREFIX) or UNKNOWN in key:
        return _tamper(f"changes {key or 'a guard setting'} in the environment")(call, scope, ctx)
    return Analysis()


def _dynamic(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    node = arg(call, 0, "source", "code", "expression")
    text = string_of(node, scope)
    if text is not None and UNKNOWN not in text:
        return ctx.python(text)
    return one(
        Intent("code.dynamic", source=ast.unparse(call)[:200], detail="code built at run time")
    )


_SHELL_FUNCS = (
    "os.system",
    "os.popen",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "commands.getoutput",
    "pty.spawn",
    "asyncio.create_subprocess_shell",
    "sh.Command",
    "plumbum.local",
)
_EXEC_FUNCS = tuple(
    f"os.{n}"
    for n in (
        "execv",
        "execve",
        "execl",
        "execle",
        "execlp",
        "execlpe",
        "execvp",
        "execvpe",
        "spawnv",
        "spawnve",
        "spawnl",
        "spawnle",
        "spawnlp",
        "spawnvp",
        "posix_spawn",
        "posix_spawnp",
    )
) + ("asyncio.create_subprocess_exec",)

FUNCTIONS: dict[str, Handler] = {
    **{
        n: file_op("file.delete", False, 0, "path")
        for n in ("os.remove", "os.unlink", "os.rmdir", "os.removedirs", "pathlib.Path.unlink")
    },
    "shutil.rmtree": file_op("file.delete", True, 0, "path"),
    "os.truncate": file_op("file.truncate", False, 0, "path"),
    "os.rename": move,
    "os.replace": move,
    "os.renames": move,
    "shutil.move": move,
    "shutil.copy": copy,
    "shutil.copy2": copy,
    "shutil.copyfile": copy,
    "shutil.copytree": copy,
    "open": open_call,
    "io.open": open_call,
    "builtins.open": open_call,
    "codecs.open": open_call,
    "os.open": os_open,
    **{n: shell_call(0, "args", "cmd", "command") for n in _SHELL_FUNCS},
    **dict.fromkeys(_EXEC_FUNCS, _exec_family),
    **{
        f"{lib}.{verb}": upload(verb)
        for lib in ("requests", "httpx")
        for verb in ("post", "put", "patch", "get", "delete", "head")
    },
    "requests.request": upload(),
    "httpx.request": upload(),
    "urllib.request.urlopen": urlopen,
    "urllib2.urlopen": urlopen,
    "duckdb.sql": sql_call(0, "query"),
    "duckdb.execute": sql_call(0, "query"),
    "duckdb.query": sql_call(0, "query"),
    "duckdb.executemany": sql_call(0, "query"),
    "pandas.read_sql": sql_call(0, "sql"),
    "pandas.read_sql_query": sql_call(0, "sql"),
    "sqlalchemy.text": sql_call(0, "text"),
    "sqlalchemy.sql.text": sql_call(0, "text"),
    "os.putenv": _environ_call,
    "os.unsetenv": _environ_call,
    "os.environ.pop": _environ_call,
    "os.environ.__setitem__": _environ_call,
    "os.environ.__delitem__": _environ_call,
    "os.environ.setdefault": _environ_call,
    "os.environ.update": _tamper("rewrites the environment"),
    "os.environ.clear": _tamper("clears the environment"),
    "sys.modules.pop": _tamper("removes modules"),
    "sys.modules.clear": _tamper("clears modules"),
    "sys.addaudithook": _tamper("adds an audit hook"),
    "sys.settrace": _tamper("installs a tracer"),
    "exec": _dynamic,
    "eval": _dynamic,
    "compile": _dynamic,
    "builtins.exec": _dynamic,
    "builtins.eval": _dynamic,
    "builtins.compile": _dynamic,
}

METHODS: dict[str, Handler] = {
    "execute": sql_call(0, "query", "statement", "sql", "operation"),
    "executemany": sql_call(0, "query", "statement", "sql", "operation"),
    "sql": sql_call(0, "query"), "query": sql_call(0, "query"),
    "exec_driver_sql": sql_call(0, "statement"), "executescript": sql_call(0, "sql_script"),
    "read_sql": sql_call(0, "sql"), "read_sql_query": sql_call(0, "sql"),
    "upload_file": cloud_upload, "upload_fileobj": cloud_upload, "put_object": cloud_upload,
    **{m: df_writer(0, "path_or_buf", "path", "buf", "excel_writer", "fname", "name")
       for m in ("to_csv", "to_parquet", "to_json", "to_pickle", "to_excel", "to_feather", "to_hdf",
                 "to_orc", "to_stata", "to_xml", "to_html", "to_markdown", "to_string", "to_latex",
                 "to_sql", "write_csv", "write_parquet")},
}


# psycopg2's statement methods are C code: taken from the class (``psycopg2.extensions.cursor
# .execute(cur, sql)``) and applied to a guarded cursor, they run without the guard
_PG2_METHODS = frozenset({"execute", "executemany", "callproc", "copy_expert", "copy_from",
                          "copy_to", "cursor"})


def handler_for(call: ast.Call, scope: Scope) -> Handler | None:
    """The handler for ``call``, by its resolved name or else by its method, or ``None``.

    >>> call = ast.parse("shutil.rmtree('data')").body[0].value
    >>> handler_for(call, Scope()) is FUNCTIONS["shutil.rmtree"]
    True
    """
    name = dotted(call.func, scope)
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    if name.startswith("psycopg2.") and "(" not in name and \
            name.rsplit(".", 1)[-1] in _PG2_METHODS and name.count(".") >= 2:
        return _tamper(f"calls {name} taken from its class, which runs psycopg2's C code "
                       "around the guard: call the method on the cursor or connection itself")
    if isinstance(call.func, ast.Attribute):
        m = call.func.attr
        if m in PATH_METHODS and is_path_expr(call.func.value, scope):
            return path_method
        if m in METHODS:
            return METHODS[m]
    return None


def intents_for_call(call: ast.Call, scope: Scope, ctx: Ctx) -> Any:
    h = handler_for(call, scope)
    return h(call, scope, ctx) if h is not None else None
