"""Shell rules for commands that run other commands or SQL. One pure function each.

``RULES`` maps a command name (basename of argv[0]) to its rule; files and network rules live
in ``shell_files`` and ``shell_net``.
"""
from __future__ import annotations

import shlex

from jupyter_guard.analyze.children import (
    RUNNERS,
    interpreter_child,
    is_python,
    may_run_python,
    python_child,
    strips,
    tamper,
    unread,
    unread_script,
)
from jupyter_guard.analyze.shell_dbcli import statements
from jupyter_guard.analyze.shell_files import FILE_RULES
from jupyter_guard.analyze.shell_net import NET_RULES
from jupyter_guard.analyze.shell_opts import (
    Ctx,
    Rule,
    demo,  # noqa: F401 - used by docstring examples
    parse_opts,
    sql_intents,
    stdin_sql,
)
from jupyter_guard.analyze.shell_writers import WRITER_RULES
from jupyter_guard.model import Analysis, Intent

SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "fish"})


def shell(ctx: Ctx, argv: list[str]) -> Analysis:
    """``bash -c 'rm -rf d'``, ``bash <<EOF ... EOF``, ``echo ... | sh`` -> the script's intents.

    >>> demo("bash -c 'rm d'")
    [('file.delete', 'd')]
    """
    o = parse_opts(argv[1:], "oO", permute=False)
    if o.has("-c") and o.args:
        return ctx.nested_script(o.args[0])
    if o.args and not o.has("-s"):              # a script file: read it, or it is unread
        if ctx.children is None:
            return Analysis()
        text = ctx.children.read(o.args[0])
        if text is None:
            return Analysis((unread_script(ctx.children, argv[0], o.args[0], ctx.source),))
        return ctx.nested_script(text)
    if ctx.stdin is not None:
        return ctx.nested_script(ctx.stdin)
    if ctx.stdin_fed:
        if ctx.children is not None:
            return Analysis((unread(argv[0], "script read from stdin is not visible", ctx.source),))
        return Analysis((Intent("code.dynamic", "command", argv[0], source=ctx.source,
                                detail="shell script read from stdin is not visible"),))
    return Analysis()


def source(ctx: Ctx, argv: list[str]) -> Analysis:
    """``source f`` / ``. f``: the file runs in this shell; read it, or it is unread.

    >>> demo("source f")
    []
    """
    if len(argv) < 2 or ctx.children is None:
        return Analysis()
    text = ctx.children.read(argv[1])
    if text is None:
        return Analysis((unread_script(ctx.children, argv[0], argv[1], ctx.source),))
    return ctx.nested_script(text)


def eval_(ctx: Ctx, argv: list[str]) -> Analysis:
    """``eval "rm -rf d"`` -> the joined arguments analysed as a script.

    >>> demo("eval 'rm d'")
    [('file.delete', 'd')]
    """
    return ctx.nested_script(" ".join(argv[1:]))


def su(ctx: Ctx, argv: list[str]) -> Analysis:
    """``su -c 'cmd' user`` -> the command analysed as a script.

    >>> demo("su -c 'rm d' root")
    [('file.delete', 'd')]
    """
    o = parse_opts(argv[1:], "cgGs", ("--command", "--group", "--shell"))
    return sum((ctx.nested_script(c) for c in o.get("-c", "--command")), Analysis())


def python(ctx: Ctx, argv: list[str]) -> Analysis:
    """``python -c CODE`` / ``python <<EOF`` / ``perl -e CODE`` -> code.dynamic with the source.

    >>> demo("python -c 'print(1)'")
    [('code.dynamic', 'python')]
    """
    name = argv[0].rpartition("/")[2]
    if is_python(name):                         # guarded inside; refused if it drops the guard
        found = python_child(argv, ctx.children, ctx.source, ctx.stdin)
        if ctx.children is not None:
            return found
    elif ctx.children is not None:
        return interpreter_child(argv, ctx.children, ctx.source, ctx.nested_script, ctx.stdin)
    else:
        found = Analysis()
    flag = "-c" if name.startswith(("python", "pypy", "ipython")) else "-e"
    o = parse_opts(argv[1:], "cmWXeEIM" if flag == "-e" else "cmWX", ("--eval",), permute=False)
    code = o.get(flag, "--eval") or ([ctx.stdin] if ctx.stdin is not None and not o.args else [])
    return found + Analysis(tuple(Intent("code.dynamic", "command", argv[0], source=c,
                                         detail=f"{name} code run from the shell") for c in code))


def runner(ctx: Ctx, argv: list[str]) -> Analysis:
    """``make``, ``git``, ``npm`` ...: they run code from files of their own (Makefiles, hooks,
    package scripts) that the guard does not read: unread, unless ``children.allow_unread``.

    >>> demo("make all")
    [('child.unread', 'make')]
    """
    out = Analysis((unread(argv[0], "runs code from its own files, which the guard does not "
                           "read", ctx.source),))
    own = FILE_RULES.get(argv[0].rpartition("/")[2]) or NET_RULES.get(argv[0].rpartition("/")[2])
    return out + own(ctx, argv) if own is not None else out   # git clean, git push, ...


def trap(ctx: Ctx, argv: list[str]) -> Analysis:
    """``trap 'rm -rf d' EXIT`` -> the command analysed as a script (it runs at the signal).

    >>> demo("trap 'rm d' EXIT"), demo("trap -p")
    ([('file.delete', 'd')], [])
    """
    args = argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    if not args or args[0].startswith("-") or len(args) < 2:
        return Analysis()
    return ctx.nested_script(args[0])


def unset(ctx: Ctx, argv: list[str]) -> Analysis:
    """``unset PYTHONPATH`` drops the guard from later Python children.

    >>> [a for a, _ in demo("unset PYTHONPATH")]
    ['guard.tamper']
    """
    return Analysis(tuple(tamper("children", f"unsets {n}", ctx.source) for n in argv[1:]
                          if strips(n, None)))


def alias(ctx: Ctx, argv: list[str]) -> Analysis:
    """``alias x='rm -rf d'`` -> the alias body analysed now (it may run later).

    >>> demo("alias x='rm d'")
    [('file.delete', 'd')]
    """
    bodies = [a.partition("=")[2] for a in argv[1:] if "=" in a]
    return sum((ctx.nested_script(b) for b in bodies), Analysis())


def busybox(ctx: Ctx, argv: list[str]) -> Analysis:
    """``busybox rm -rf d`` -> the applet as a command.

    >>> demo("busybox rm d")
    [('file.delete', 'd')]
    """
    return ctx.nested(argv[1:])


# Wrappers: (short options taking a value, long options taking a value, positionals to skip).
WRAPPERS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "sudo": ("ugCDhprtUT", ("--user", "--group", "--chdir", "--host", "--prompt"), 0),
    "doas": ("uC", (), 0), "nohup": ("", (), 0), "time": ("fo", (), 0), "exec": ("a", (), 0),
    "command": ("", (), 0), "builtin": ("", (), 0), "setsid": ("", (), 0),
    "nice": ("n", ("--adjustment",), 0), "ionice": ("cnp", ("--class", "--classdata"), 0),
    "stdbuf": ("ioe", ("--input", "--output", "--error"), 0), "unbuffer": ("", (), 0),
    "timeout": ("sk", ("--signal", "--kill-after"), 1), "chronic": ("", (), 0),
    "env": ("uCS", ("--unset", "--chdir", "--split-string"), 0),
}


def wrapper(ctx: Ctx, argv: list[str]) -> Analysis:
    """``sudo rm -r d``, ``env X=1 rm d``, ``timeout 5 rm d``, ... -> the wrapped command.

    >>> demo('sudo -u x timeout 5 rm d')
    [('file.delete', 'd')]
    """
    name = argv[0].rpartition("/")[2]
    short, long_, skip = WRAPPERS[name]
    o = parse_opts(argv[1:], short, long_, permute=False)
    rest = list(o.args[skip:])
    out = sum((ctx.nested_script(s) for s in o.get("-S", "--split-string")), Analysis())
    if name == "env":
        for n in o.get("-u", "--unset"):
            if strips(n, None):
                out += Analysis((tamper("children", f"env -u {n}", ctx.source),))
        while rest and "=" in rest[0] and not rest[0].startswith("="):
            n, _, v = rest.pop(0).partition("=")
            if strips(n, v):
                out += Analysis((tamper("children", f"env {n}=", ctx.source),))
        if (o.has("-i", "--ignore-environment") or (rest and rest[0] == "-")) and rest:
            rest = rest[1:] if rest[0] == "-" else rest
            if rest and may_run_python(rest[0]):
                out += Analysis((tamper(rest[0], "env -i", ctx.source),))
    if name == "command" and o.has("-v", "-V"):
        return out
    moved = o.get("-C", "--chdir") if name == "env" else o.get("-D", "--chdir") \
        if name == "sudo" else []
    if moved and rest:   # ``env -C data cp wh.duckdb ..``: its paths are relative to ``data``
        return out + ctx.nested_script(f"cd {shlex.quote(moved[-1])} && {shlex.join(rest)}")
    return out + ctx.nested(rest)


def xargs(ctx: Ctx, argv: list[str]) -> Analysis:
    """``... | xargs rm -rf`` -> the command with unknown targets ``*``.

    >>> demo('xargs rm')
    [('file.delete', '*')]
    """
    o = parse_opts(argv[1:], "IinPdLsEa", ("--replace", "--max-args", "--max-procs",
                                           "--delimiter", "--max-lines", "--arg-file"),
                   permute=False)
    cmd = list(o.args) or ["echo"]
    repl = (o.get("-I", "--replace") or [""])[0]
    return ctx.nested([("*" if repl and a == repl else a) for a in cmd] + ([] if repl else ["*"]))


def watch(ctx: Ctx, argv: list[str]) -> Analysis:
    """``watch -n 1 'rm f'`` -> the command analysed as a script (watch runs ``sh -c``).

    >>> demo("watch -n 1 'rm d'")
    [('file.delete', 'd')]
    """
    o = parse_opts(argv[1:], "nqd", ("--interval",), permute=False)
    return ctx.nested_script(" ".join(o.args))


def psql(ctx: Ctx, argv: list[str]) -> Analysis:
    """``psql -c 'DROP TABLE t'`` -> the SQL analyser's intents (dialect postgres).

    >>> demo("psql -c 'DROP TABLE t'")
    [('sql.unparsed', '')]
    """
    o = parse_opts(argv[1:], "cdhpUfvoPTFRL", ("--command", "--dbname", "--host", "--port",
                                                 "--username", "--file", "--set", "--output"))
    out = sum((sql_intents(ctx, c, "postgres") for c in o.get("-c", "--command")), Analysis())
    hidden = o.get("-f", "--file")
    out += Analysis(tuple(Intent("sql.unparsed", source=ctx.source,
                                 detail=f"postgres SQL file {f} is not visible") for f in hidden))
    return out if o.get("-c", "--command") or hidden else stdin_sql(ctx, "postgres")




def sql_cli(ctx: Ctx, argv: list[str]) -> Analysis:
    """``duckdb f -c SQL``, ``duckdb f "SQL"``, ``sqlite3 f "SQL"`` -> SQL analyser's intents.

    >>> demo("duckdb a.duckdb 'DROP TABLE t'")
    [('sql.unparsed', '')]
    """
    dialect = "sqlite" if argv[0].rpartition("/")[2].startswith("sqlite") else "duckdb"
    texts = statements(argv[1:])
    out = sum((sql_intents(ctx, t, dialect) for t in texts), Analysis())
    return out if texts else stdin_sql(ctx, dialect)


def mysql(ctx: Ctx, argv: list[str]) -> Analysis:
    """``mysql -e 'DROP TABLE t'`` -> SQL analyser's intents (dialect mysql).

    >>> demo("mysql -e 'DROP TABLE t'")
    [('sql.unparsed', '')]
    """
    o = parse_opts(argv[1:], "ehupPDS", ("--execute", "--user", "--host", "--port",
                                         "--database", "--socket"))
    texts = o.get("-e", "--execute")
    out = sum((sql_intents(ctx, t, "mysql") for t in texts), Analysis())
    return out if texts else stdin_sql(ctx, "mysql")


_STORE_CHANGES = frozenset({"compact", "repair"})


def jupyter(ctx: Ctx, argv: list[str]) -> Analysis:
    """``jupyter guard compact|repair`` from a kernel would rewrite the guard's own audit store.

    >>> demo("jupyter guard --audit a.duckdb compact --older-than 0d")
    [('guard.tamper', 'jupyter guard compact')]
    """
    words = argv[1:] if argv[0].rpartition("/")[2] == "jupyter-guard" else argv[2:] if \
        argv[1:2] == ["guard"] else []
    sub, skip = "", False
    for w in words:
        if skip or w.startswith("-"):
            skip = w == "--audit"
            continue
        sub = w
        break
    if sub in _STORE_CHANGES:
        return Analysis((Intent("guard.tamper", "guard", f"jupyter guard {sub}", source=ctx.source,
                                detail="changes the audit store: run it outside any kernel"),))
    return Analysis()


RULES: dict[str, Rule] = {
    **FILE_RULES,
    **WRITER_RULES,
    **dict.fromkeys(SHELLS, shell),
    "eval": eval_,
    "su": su,
    "runuser": su,
    **dict.fromkeys(
        (
            "python",
            "python3",
            "python2",
            "ipython",
            "pypy3",
            "pypy",
            "perl",
            "ruby",
            "node",
            "nodejs",
            "Rscript",
            "php",
            "deno",
            "bun",
        ),
        python,
    ),
    **dict.fromkeys(RUNNERS, runner),
    "unset": unset,
    "trap": trap,
    "source": source,
    ".": source,
    "alias": alias,
    "busybox": busybox,
    **dict.fromkeys(WRAPPERS, wrapper),
    "xargs": xargs,
    "watch": watch,
    "jupyter": jupyter,
    "jupyter-guard": jupyter,
    "psql": psql,
    "duckdb": sql_cli,
    "sqlite3": sql_cli,
    "sqlite": sql_cli,
    "mysql": mysql,
    **NET_RULES,
}
