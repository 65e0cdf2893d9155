"""Shell analysis: a command line or script (``!cmd``, ``%%bash``, ``os.system``...) -> intents.

Pure and stdlib only. Lexing lives in ``shell_lex``, per-command rules in ``shell_cmds`` and
``shell_files``; this module walks the commands, resolves visible variables and redirections.
"""
from __future__ import annotations

import re
import shlex

from jupyter_guard.analyze.shell_cmds import RULES
from jupyter_guard.analyze.shell_lex import (Heredoc, LexError, Simple, Word, fallback_tokens,
                                             parse, tokenize)
from jupyter_guard.analyze.shell_opts import Ctx, SqlAnalyzer
from jupyter_guard.model import Action, Analysis, Intent

__all__ = ["SqlAnalyzer", "analyze_shell", "MAX_DEPTH"]

MAX_DEPTH = 8
DATA_COMMANDS = frozenset({"echo", "printf"})     # their arguments are data, never commands
RESERVED = frozenset({"{", "}", "!", "if", "then", "elif", "else", "fi", "do", "done", "while",
                      "until", "esac", "time", "coproc", "[[", "]]"})
SKIPPED = frozenset({"for", "select", "case", "function"})   # header words, not commands
DECLARE = frozenset({"export", "declare", "typeset", "local", "readonly"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_TRUNCATE = frozenset({">", ">|", "&>", ">&"})
_APPEND = frozenset({">>", "&>>", "<>"})
_NOT_FILES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})


def analyze_shell(command: str, *, sql: SqlAnalyzer | None = None, depth: int = 0) -> Analysis:
    """Intents of every command a shell would run for ``command``.

    >>> [(i.action, i.target, i.recursive) for i in analyze_shell("rm -rf data").intents]
    [('shell.exec', 'rm', False), ('file.delete', 'data', True)]
    >>> [(i.action, i.target) for i in analyze_shell("bash -c 'cat x > a.duckdb'").intents]
    [('shell.exec', 'bash'), ('shell.exec', 'cat'), ('file.truncate', 'a.duckdb')]
    >>> [i.action for i in analyze_shell("echo rm -rf /").intents]
    ['shell.exec']
    """
    if depth > MAX_DEPTH:
        return Analysis((Intent("shell.exec", "command", "<too deep>", source=command,
                                detail="nesting too deep"),))
    errors: tuple[str, ...] = ()
    try:
        cmds = parse(command, tokenize(command))
    except LexError as exc:
        errors = (f"shell: {exc}; analysed by splitting on whitespace",)
        cmds = parse(command, fallback_tokens(command))
    walker = _Walker(sql, depth)
    out = Analysis(errors=errors)
    for cmd in cmds:
        out += walker.simple(cmd)
    return out


class _Walker:
    """Walks one script's simple commands in order, remembering visible ``NAME=value``."""

    def __init__(self, sql: SqlAnalyzer | None, depth: int) -> None:
        self.sql, self.depth = sql, depth
        self.env: dict[str, str | None] = {}

    def script(self, text: str, depth: int) -> Analysis:
        return analyze_shell(text, sql=self.sql, depth=depth)

    def expand(self, w: Word) -> tuple[str, bool]:
        """The word with visible variables substituted, and whether everything was known."""
        if not w.expands:
            return w.text, True
        known = not w.subs and "`" not in w.text and "$(" not in w.text

        def sub(m: re.Match[str]) -> str:
            nonlocal known
            val = self.env.get(m.group(1) or m.group(2))
            known = known and val is not None
            return m.group(0) if val is None else val
        text = _VAR.sub(sub, w.text)
        return text, known and "$" not in text

    def simple(self, cmd: Simple) -> Analysis:
        out = Analysis()
        for w in cmd.words + [t for _, t in cmd.redirs if t is not None]:
            for s in w.subs:
                out += self.script(s, self.depth + 1)
        words = self._strip_keywords(cmd.words)
        source = " ".join(w.raw for w in cmd.words) or " ".join(
            op + (t.raw if isinstance(t, Word) else "") for op, t in cmd.redirs)
        stdin, fed, red = self._redirections(cmd, source)
        assigns: list[Word] = []
        while words and _ASSIGN.match(words[0].text) and not words[0].raw.startswith(("'", '"')):
            assigns.append(words.pop(0))
        if not words:
            self._assign(assigns)
            return out + red
        if words[0].text in DECLARE:
            self._assign([w for w in words[1:] if _ASSIGN.match(w.text)])
        head, known = self.expand(words[0])
        if not known or (words[0].expands and "IFS" in self.env):
            return out + Analysis((Intent("shell.exec", "command", words[0].raw, source=source,
                                          detail="dynamic command"),)) + red
        argv = (shlex.split(head) if words[0].expands and head.strip() else [head]) + \
            [self.expand(w)[0] for w in words[1:]]
        if cmd.pipe_in is not None and stdin is None and not fed:
            stdin, fed = self._piped(cmd.pipe_in), True
        return out + self.command(argv, self.depth, source, stdin, fed) + red

    def command(self, argv: list[str], depth: int, source: str = "",
                stdin: str | None = None, fed: bool = False) -> Analysis:
        if depth > MAX_DEPTH:
            return analyze_shell("", depth=depth)
        if not argv or not argv[0]:
            return Analysis()
        source = source or shlex.join(argv)
        if "*" in argv[0]:                        # xargs' unknown input used as the command
            return Analysis((Intent("shell.exec", "command", argv[0], source=source,
                                    detail="dynamic command"),))
        out = Analysis((Intent("shell.exec", "command", argv[0], source=source),))
        rule = RULES.get(argv[0].rpartition("/")[2])
        if rule is None:
            return out
        ctx = Ctx(source, depth, self.sql, stdin, fed, self.script,
                  lambda a, d: self.command(a, d, source, stdin, fed))
        return out + rule(ctx, argv)

    def _strip_keywords(self, words: list[Word]) -> list[Word]:
        words = list(words)
        while words and not words[0].quoted and words[0].text in RESERVED | SKIPPED:
            if words[0].text in SKIPPED - {"function"}:
                return []
            words = words[2:] if words[0].text == "function" else words[1:]
        return words

    def _assign(self, words: list[Word]) -> None:
        for w in words:
            name, _, _ = w.text.partition("=")
            value, known = self.expand(Word(w.text.partition("=")[2], w.raw, w.quoted,
                                            w.expands, w.subs))
            self.env[name.rstrip("+")] = value if known and not name.endswith("+") else None

    def _redirections(self, cmd: Simple, source: str) -> tuple[str | None, bool, Analysis]:
        """(visible stdin text, stdin is fed, intents of the redirections)."""
        stdin: str | None = None
        fed = False
        out: list[Intent] = []
        for op, t in cmd.redirs:
            if isinstance(t, Heredoc):
                stdin, fed = t.body, True
                continue
            if t is None:
                continue
            path = self.expand(t)[0]
            if op == "<<<":
                stdin, fed = path, True
            elif op in ("<", "<&"):
                fed = fed or op == "<"
                if op == "<":
                    out.append(Intent("file.read", "path", path, source=source))
            elif (op == ">&" and (path.isdigit() or path == "-")) or path in _NOT_FILES:
                continue
            elif path.startswith(("/dev/tcp/", "/dev/udp/")):
                out.append(Intent("net.upload", "host", path.split("/")[3], remote=True,
                                  source=source, detail="/dev/tcp redirection"))
            elif op in _TRUNCATE or op in _APPEND:
                act: Action = "file.truncate" if op in _TRUNCATE else "file.write"
                out.append(Intent(act, "path", path, source=source))
        return stdin, fed, Analysis(tuple(out))

    def _piped(self, prev: Simple) -> str | None:
        """What the previous command of a pipe writes, when it is visible (echo, cat <<EOF)."""
        words = [self.expand(w) for w in prev.words]
        if not words or not all(k for _, k in words):
            return None
        name = words[0][0]
        if name in DATA_COMMANDS:
            args = [t for t, _ in words[1:]]
            while args and name == "echo" and re.fullmatch(r"-[neE]+", args[0]):
                args.pop(0)
            return " ".join(args)
        if name == "cat" and len(words) == 1:
            return next((t.body for _, t in prev.redirs if isinstance(t, Heredoc)), None)
        return None
