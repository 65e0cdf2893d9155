"""The table of Python calls that act: files, shell, network, SQL, DataFrame writers, the guard.

Each entry maps a resolved callee (``shutil.rmtree``) or a method name (``.unlink``) to a small
handler ``(call, scope, ctx) -> intents``. ``ctx`` gives the handlers the SQL and shell analysers.
"""
from __future__ import annotations

import ast
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_guard.analyze.pyvalues import (
    Scope,
    dotted,
    is_path_expr,
    path_of,
    receiver,
    string_of,
)
from jupyter_guard.model import UNKNOWN, Action, Analysis, Intent

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


def _p(call: ast.Call, scope: Scope, pos: int = 0, *names: str) -> str:
    node = arg(call, pos, *names)
    got = path_of(node, scope) if node is not None else None
    return got if got is not None else UNKNOWN


def _one(*intents: Intent) -> Analysis:
    return Analysis(intents)


def file_op(action: Action, recursive: bool = False, pos: int = 0, *names: str) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        return _one(Intent(action, "path", _p(call, scope, pos, *names), recursive=recursive,
                           source=ast.unparse(call)))
    return h


def _move(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    src = ast.unparse(call)
    return _one(Intent("file.move", "path", _p(call, scope, 0, "src"), source=src),
                Intent("file.write", "path", _p(call, scope, 1, "dst"), source=src))


def _copy(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    src = ast.unparse(call)
    return _one(Intent("file.read", "path", _p(call, scope, 0, "src"), source=src),
                Intent("file.truncate", "path", _p(call, scope, 1, "dst"), source=src))


def _open(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    mode = string_of(arg(call, 1, "mode"), scope) or "r"
    path = _p(call, scope, 0, "file")
    if "w" in mode or "x" in mode:
        return _one(Intent("file.truncate", "path", path, source=ast.unparse(call)))
    if "a" in mode or "+" in mode:
        return _one(Intent("file.write", "path", path, source=ast.unparse(call)))
    return _one(Intent("file.read", "path", path, source=ast.unparse(call)))


def _os_open(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    flags = ast.unparse(arg(call, 1, "flags") or ast.Constant(0))
    path = _p(call, scope, 0, "path")
    if "O_TRUNC" in flags or "O_CREAT" in flags:
        return _one(Intent("file.truncate", "path", path, source=ast.unparse(call)))
    if "O_WRONLY" in flags or "O_RDWR" in flags or "O_APPEND" in flags:
        return _one(Intent("file.write", "path", path, source=ast.unparse(call)))
    return Analysis()


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


def sql_call(pos: int = 0, *names: str, dialect: str = "duckdb") -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        node = arg(call, pos, *names)
        text = string_of(node, scope) if node is not None else None
        if text is None or not looks_like_sql(text):
            return Analysis()
        found = ctx.sql(text, dialect)
        unparsed = found.errors or any(i.action == "sql.unparsed" for i in found.intents)
        if unparsed and (UNKNOWN in text or _other_dialect(text, dialect)):
            # only its run-time value, or its connection's own dialect (SQLite's untyped
            # columns), can judge it: the SQL sinks do that, and refuse what they cannot read
            return Analysis()
        via = receiver(call.func.value, scope) if isinstance(call.func, ast.Attribute) else ""
        via = "duckdb" if dotted(call.func, scope).startswith("duckdb.") else via
        return Analysis(tuple(i.with_(via=via) for i in found.intents), found.errors)
    return h


def _other_dialect(text: str, dialect: str) -> bool:
    """``text`` reads as SQL in the dialect of another database the guard wraps at run time.

    >>> _other_dialect("create table t(e, s)", "duckdb"), _other_dialect("DROP TABLE (", "duckdb")
    (True, False)
    """
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    for other in ("sqlite", "postgres"):
        if other != dialect:
            try:
                if all(t is not None for t in sqlglot.parse(text, read=other)):
                    return True
            except (ParseError, TokenError):
                continue
    return False


SQL_KEYWORDS = frozenset({"select", "with", "insert", "update", "delete", "drop", "create", "alter",
                          "truncate", "copy", "export", "attach", "detach", "merge", "replace",
                          "pivot", "unpivot", "summarize", "describe", "show", "install", "load",
                          "pragma", "set", "call", "begin", "commit", "rollback", "from", "import",
                          "vacuum", "checkpoint", "use", "grant", "revoke", "upsert", "values",
                          "explain", "table", "analyze", "reset", "force", "prepare", "execute"})


def looks_like_sql(text: str) -> bool:
    """A string whose first word is an SQL keyword (after comments and parentheses).

    >>> looks_like_sql("  -- note\\n DROP TABLE t"), looks_like_sql("a > 1")
    (True, False)
    """
    body = text
    while True:
        body = body.lstrip().lstrip("(")
        if body.startswith("--"):
            body = body.partition("\n")[2]
        elif body.startswith("/*"):
            body = body.partition("*/")[2]
        else:
            break
    word = body.split(None, 1)[0].lower() if body.split() else ""
    return word.rstrip(";") in SQL_KEYWORDS or word.startswith(UNKNOWN)


def _upload(method: str | None = None) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        verb = (method or string_of(arg(call, 0, "method"), scope) or "").upper()
        url_node = arg(call, 0 if method else 1, "url")
        url = string_of(url_node, scope) or UNKNOWN
        has_body = any(k.arg in ("data", "json", "files", "content") for k in call.keywords)
        upload = has_body or verb in ("POST", "PUT", "PATCH")
        return _one(Intent("net.upload" if upload else "net.download", "host", host_of(url),
                           remote=True, source=ast.unparse(call), detail=url))
    return h


def _urlopen(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    target = arg(call, 0, "url")
    has_body = arg(call, 1, "data") is not None
    url = string_of(target, scope)
    if isinstance(target, ast.Call) and dotted(target.func, scope).endswith("Request"):
        url = string_of(arg(target, 0, "url"), scope)
        has_body = has_body or arg(target, 1, "data") is not None
    url = url or UNKNOWN
    return _one(Intent("net.upload" if has_body else "net.download", "host", host_of(url),
                       remote=True, source=ast.unparse(call), detail=url))


def _cloud_upload(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    bucket = string_of(arg(call, 1, "Bucket", "bucket"), scope) or UNKNOWN
    return _one(Intent("net.upload", "host", bucket, remote=True, source=ast.unparse(call)))


def host_of(url: str) -> str:
    """
    >>> host_of("https://api.example.com:8443/x?y=1"), host_of("s3://bucket/key")
    ('api.example.com', 'bucket')
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    return rest.split("/", 1)[0].split("@")[-1].split(":")[0].lower() or UNKNOWN


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


def _tamper(why: str) -> Handler:
    def h(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
        return _one(Intent("guard.tamper", "guard", why, source=ast.unparse(call)))
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
    return _one(
        Intent("code.dynamic", source=ast.unparse(call)[:200], detail="code built at run time")
    )


def path_method(call: ast.Call, scope: Scope, ctx: Ctx) -> Analysis:
    """Methods on a ``pathlib.Path`` value."""
    assert isinstance(call.func, ast.Attribute)
    base = path_of(call.func.value, scope) or UNKNOWN
    m = call.func.attr
    src = ast.unparse(call)
    if m in ("unlink", "rmdir"):
        return _one(Intent("file.delete", "path", base, source=src))
    if m in ("rename", "replace"):
        return _one(Intent("file.move", "path", base, source=src),
                    Intent("file.write", "path", _p(call, scope, 0, "target"), source=src))
    if m in ("write_text", "write_bytes"):
        return _one(Intent("file.truncate", "path", base, source=src))
    if m == "open":
        mode = string_of(arg(call, 0, "mode"), scope) or "r"
        act: Action = "file.truncate" if ("w" in mode or "x" in mode) else "file.write" if (
            "a" in mode or "+" in mode) else "file.read"
        return _one(Intent(act, "path", base, source=src))
    if m in ("read_text", "read_bytes"):
        return _one(Intent("file.read", "path", base, source=src))
    if m in ("chmod", "touch", "symlink_to", "hardlink_to"):
        return _one(Intent("file.write", "path", base, source=src))
    return Analysis()


PATH_METHODS = frozenset({"unlink", "rmdir", "rename", "replace", "write_text", "write_bytes",
                          "open", "read_text", "read_bytes", "chmod", "touch", "symlink_to",
                          "hardlink_to"})

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
    "os.rename": _move,
    "os.replace": _move,
    "os.renames": _move,
    "shutil.move": _move,
    "shutil.copy": _copy,
    "shutil.copy2": _copy,
    "shutil.copyfile": _copy,
    "shutil.copytree": _copy,
    "open": _open,
    "io.open": _open,
    "builtins.open": _open,
    "codecs.open": _open,
    "os.open": _os_open,
    **{n: shell_call(0, "args", "cmd", "command") for n in _SHELL_FUNCS},
    **dict.fromkeys(_EXEC_FUNCS, _exec_family),
    **{
        f"{lib}.{verb}": _upload(verb)
        for lib in ("requests", "httpx")
        for verb in ("post", "put", "patch", "get", "delete", "head")
    },
    "requests.request": _upload(),
    "httpx.request": _upload(),
    "urllib.request.urlopen": _urlopen,
    "urllib2.urlopen": _urlopen,
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
    "upload_file": _cloud_upload, "upload_fileobj": _cloud_upload, "put_object": _cloud_upload,
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
