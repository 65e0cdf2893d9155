"""Shared pieces of the shell rules: the rule context, option parsing, intent helpers.

>>> parse_opts(["-rf", "data", "--", "-x"]).args
('data', '-x')
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from jupyter_guard.analyze.children import Reader
from jupyter_guard.model import Action, Analysis, Intent

SqlAnalyzer = Callable[[str, str], tuple[Intent, ...]]


@dataclass(frozen=True)
class Ctx:
    """What a rule knows about the command it looks at."""

    source: str                                   # the simple command as written
    depth: int
    sql: SqlAnalyzer | None
    stdin: str | None                             # visible stdin text (heredoc, <<<, echo |)
    stdin_fed: bool                               # stdin comes from a file or pipe we cannot see
    script: Callable[[str, int], Analysis]        # analyse a nested script at a depth
    command: Callable[[list[str], int], Analysis]  # analyse a nested argv at a depth
    children: Reader | None = None                # reads scripts, analyses Python (children.py)

    def nested(self, argv: list[str]) -> Analysis:
        return self.command(argv, self.depth + 1) if argv else Analysis()

    def nested_script(self, text: str) -> Analysis:
        return self.script(text, self.depth + 1)


Rule = Callable[[Ctx, list[str]], Analysis]


@dataclass(frozen=True)
class Opts:
    flags: frozenset[str]                          # "-r", "--recursive"
    values: tuple[tuple[str, str], ...]            # ("-d", "x=1"), ("--data", "@f")
    args: tuple[str, ...]

    def has(self, *names: str) -> bool:
        return any(n in self.flags for n in names) or any(k in names for k, _ in self.values)

    def get(self, *names: str) -> list[str]:
        return [v for k, v in self.values if k in names]


def parse_opts(args: list[str], short_arg: str = "", long_arg: tuple[str, ...] = (),
               permute: bool = True) -> Opts:
    """getopt-like: ``short_arg`` letters and ``long_arg`` names take a value.

    >>> o = parse_opts(["-XPOST", "-d", "a=1", "u", "--data=b"], "Xd", ("--data",))
    >>> o.get("-X"), o.get("-d", "--data"), o.args
    (['POST'], ['a=1', 'b'], ('u',))
    """
    flags: set[str] = set()
    values: list[tuple[str, str]] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            rest.extend(args[i:])
            break
        if a.startswith("--"):
            name, eq, val = a.partition("=")
            if eq:
                values.append((name, val))
            elif name in long_arg and i < len(args):
                values.append((name, args[i]))
                i += 1
            else:
                flags.add(name)
        elif a.startswith("-") and len(a) > 1:
            for k, ch in enumerate(a[1:], 1):
                if ch in short_arg:
                    val = a[k + 1:]
                    if not val and i < len(args):
                        val, i = args[i], i + 1
                    values.append(("-" + ch, val))
                    break
                flags.add("-" + ch)
        else:
            rest.append(a)
            if not permute:
                rest.extend(args[i:])
                break
    return Opts(frozenset(flags), tuple(values), tuple(rest))


def host_of(url: str) -> str:
    """The host of a URL or ``user@host:path``.

    >>> host_of("https://u:p@Example.com:8443/x?y"), host_of("me@box:/tmp/x")
    ('example.com', 'box')
    """
    rest = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url)
    rest = re.split(r"[/?#]", rest, maxsplit=1)[0]
    rest = rest.rpartition("@")[2]
    if rest.startswith("["):
        return rest[1:].partition("]")[0].lower()
    return rest.partition(":")[0].lower()


def is_remote(arg: str) -> bool:
    """``host:path`` / ``user@host:path`` / URLs, not local paths.

    >>> is_remote("me@box:/x"), is_remote("./a:b"), is_remote("data/x")
    (True, False, False)
    """
    if "://" in arg:
        return True
    head = arg.partition(":")[0]
    return ":" in arg and bool(head) and "/" not in head and not head.startswith(".")


def files(ctx: Ctx, action: Action, paths: tuple[str, ...] | list[str],
          recursive: bool = False) -> tuple[Intent, ...]:
    return tuple(Intent(action, "path", p, recursive=recursive, source=ctx.source) for p in paths)


def upload(ctx: Ctx, host: str, detail: str = "") -> Intent:
    return Intent("net.upload", "host", host, remote=True, source=ctx.source, detail=detail)


def download(ctx: Ctx, host: str, detail: str = "") -> Intent:
    return Intent("net.download", "host", host, remote=True, source=ctx.source, detail=detail)


def sql_intents(ctx: Ctx, text: str, dialect: str) -> Analysis:
    """Hand SQL to the SQL analyser; without one (or when it fails) say it was not parsed."""
    if ctx.sql is not None:
        try:
            return Analysis(tuple(i.with_(source=i.source or text) for i in ctx.sql(text, dialect)))
        except Exception as exc:  # noqa: BLE001 - a failing analyser must not allow
            err = f"shell: SQL analyser failed on {dialect} text: {exc}"
            return Analysis((Intent("sql.unparsed", source=text, detail=err),), (err,))
    return Analysis((Intent("sql.unparsed", source=text, detail=f"{dialect} via shell"),))


def stdin_sql(ctx: Ctx, dialect: str) -> Analysis:
    """SQL fed on stdin: analysed when visible, otherwise flagged as not parsed."""
    if ctx.stdin is not None:
        return sql_intents(ctx, ctx.stdin, dialect)
    if ctx.stdin_fed:
        return Analysis((Intent("sql.unparsed", source=ctx.source,
                                detail=f"{dialect} SQL read from stdin is not visible"),))
    return Analysis()


def demo(command: str) -> list[tuple[str, str]]:
    """(action, target) of what ``command`` does besides running commands (docstring examples).

    >>> demo("rm -rf data")
    [('file.delete', 'data')]
    """
    # late, and only for the docstring examples: shell imports this module's rules
    from jupyter_guard.analyze.shell import analyze_shell

    return [(i.action, i.target) for i in analyze_shell(command).intents
            if i.action != "shell.exec"]
