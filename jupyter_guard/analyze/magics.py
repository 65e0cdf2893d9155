"""IPython's own syntax, analysed as what it does.

At AST time ``%%bash`` is ``get_ipython().run_cell_magic('bash', '', body)``, ``!cmd`` is
``get_ipython().system(cmd)`` and ``%rm -rf x`` is ``get_ipython().run_line_magic('rm', '-rf x')``.
"""
from __future__ import annotations

import shlex

from jupyter_guard.analyze.pysinks import GUARD_ENV_PREFIX, Ctx
from jupyter_guard.analyze.template import is_template, skeleton
from jupyter_guard.model import Analysis, Intent

SHELL_CELL_MAGICS = frozenset({"bash", "sh", "zsh", "system", "sx"})
SCRIPT_SHELLS = frozenset(
    {"bash", "sh", "zsh", "dash", "ksh", "/bin/bash", "/bin/sh", "/usr/bin/env"}
)
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "prun", "capture", "debug", "python", "python3",
                                "pypy", "markdown"})
SHELL_ALIASES = frozenset({"rm", "mv", "cp", "rmdir", "mkdir", "ln", "cat", "ls", "ll", "lf", "lk",
                           "lx", "ldir", "sx", "system", "bash", "sh"})
PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug"})
SQL_MAGICS = frozenset({"sql"})
GUARD_NAMES = ("jupyter_guard",)


def _tamper(why: str, src: str) -> Analysis:
    return Analysis((Intent("guard.tamper", "guard", why, source=src),))


def line_magic(name: str, line: str, ctx: Ctx) -> Analysis:
    src = f"%{name} {line}".strip()
    if name in ("unload_ext", "reload_ext") and any(g in line for g in GUARD_NAMES):
        return _tamper(f"%{name} of the guard", src)
    if name in ("env", "set_env") and GUARD_ENV_PREFIX in line.upper():
        return _tamper("changes a guard setting in the environment", src)
    if name == "config" and "jupyterguard" in line.replace(" ", "").lower():
        return _tamper("reconfigures the guard", src)
    if name in ("reset", "reset_selective") and "jupyter_guard" in line:
        return _tamper("removes the guard's names", src)
    if name in ("sx", "system"):
        return ctx.shell(line)
    if name in SHELL_ALIASES:
        return ctx.shell(f"{name} {line}")
    if name == "alias":
        parts = line.split(None, 1)
        return ctx.shell(parts[1]) if len(parts) > 1 else Analysis()
    if name in PYTHON_LINE_MAGICS:
        return ctx.python(_strip_options(line))
    if name in SQL_MAGICS:
        return _sql_magic(line, "", ctx)
    if name in ("run", "load"):
        return Analysis((Intent("code.dynamic", "file", line.strip(), source=src,
                                detail=f"%{name} runs code from a file"),))
    return Analysis()


def cell_magic(name: str, line: str, body: str, ctx: Ctx) -> Analysis:
    src = f"%%{name} {line}".strip()
    if name in SHELL_CELL_MAGICS:
        return ctx.shell(body)
    if name == "script":
        interp = (line.split() or [""])[0]
        if interp in SCRIPT_SHELLS or interp.endswith(("/bash", "/sh", "/zsh")):
            return ctx.shell(body)
        if interp.startswith("python") or interp.endswith(("/python", "/python3")):
            return ctx.python(body)
        return Analysis((Intent("shell.exec", "command", interp or "?", source=src),))
    if name in ("perl", "ruby", "javascript", "js", "html", "svg", "latex", "markdown"):
        return Analysis((Intent("shell.exec", "command", name, source=src),)
                        if name in ("perl", "ruby") else ())
    if name in PYTHON_CELL_MAGICS:
        return ctx.python(body) + (ctx.python(_strip_options(line)) if line.strip() else Analysis())
    if name in ("writefile", "file"):
        args = shlex.split(line) if line.strip() else []
        append = "-a" in args or "--append" in args
        paths = [a for a in args if not a.startswith("-")]
        return Analysis((Intent("file.write" if append else "file.truncate", "path",
                                paths[0] if paths else "?", source=src),))
    if name in SQL_MAGICS:
        return _sql_magic(line, body, ctx)
    return Analysis()


def _strip_options(line: str) -> str:
    """``%timeit -n 3 -r 1 f()`` -> ``f()``."""
    words = line.split()
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in ("-n", "-r", "-o", "-p", "-T", "-D", "-s", "-l") else 1
    return " ".join(words[i:])


def _sql_magic(line: str, body: str, ctx: Ctx) -> Analysis:
    """jupysql: ``%sql [conn] SQL`` / ``%%sql [conn] [--options] [var <<]`` + body."""
    text = body
    if not text.strip():
        words = line.split()
        while words and (words[0].startswith("-") or "://" in words[0] or words[0].endswith("<<")):
            words = words[1:]
        text = " ".join(words)
        if len(words) == 1 and words[0].isidentifier():
            return Analysis()   # `%sql con`: connects through a variable, runs no SQL
    if not text.strip():
        return Analysis()
    if is_template(text):   # jupysql renders {{var}} at run time; the values are checked there
        text = skeleton(text)
    found = ctx.sql(text, "duckdb")
    # jupysql's connection is not a name the guard can resolve here: what needs the database
    # (row counts, the columns behind *) is decided when the SQL reaches it (the SQL sinks)
    return Analysis(tuple(i.with_(via=i.via or "%sql") for i in found.intents), found.errors)
