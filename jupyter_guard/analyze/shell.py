"""Shell analysis: a command line or script (``!cmd``, ``%%bash``, ``os.system``...) -> intents.

Pure and stdlib only. Lexing lives in ``shell_lex``, per-command rules in ``shell_cmds`` and
``shell_files``, redirections and pipes in ``shell_redirs``, the script's folder and the files it
wrote in ``shell_state``; this module walks the commands, resolves visible variables and aliases.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import replace

from jupyter_guard.analyze.children import Reader, is_python, strips, tamper
from jupyter_guard.analyze.shell_cmds import RULES
from jupyter_guard.analyze.shell_copies import database_copies, find_listing
from jupyter_guard.analyze.shell_dbcli import cli_exports
from jupyter_guard.analyze.shell_lex import (
    LexError,
    Simple,
    Word,
    fallback_tokens,
    parse,
    tokenize,
)
from jupyter_guard.analyze.shell_opts import Ctx, SqlAnalyzer
from jupyter_guard.analyze.shell_redirs import STDERR, piped, redirections
from jupyter_guard.analyze.shell_serve import serving
from jupyter_guard.analyze.shell_state import CHANGES, ScriptFiles
from jupyter_guard.analyze.shell_unknown import unknown_program
from jupyter_guard.model import UNKNOWN, UNSEEN_LATER, Analysis, Intent

__all__ = ["MAX_DEPTH", "SqlAnalyzer", "analyze_shell"]

MAX_DEPTH = 8
RESERVED = frozenset({"{", "}", "!", "if", "then", "elif", "else", "fi", "do", "done", "while",
                      "until", "esac", "time", "coproc", "[[", "]]"})
SKIPPED = frozenset({"for", "select", "case", "function"})   # header words, not commands
DECLARE = frozenset({"export", "declare", "typeset", "local", "readonly"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def analyze_shell(command: str, *, sql: SqlAnalyzer | None = None, depth: int = 0,
                  children: Reader | None = None, leaves: bool = False) -> Analysis:
    """Intents of every command a shell would run for ``command``; ``leaves``: its output goes
    to a file, a socket or another program (``subprocess.run(argv, stdout=f)``), not the cell.

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
    walker = _Walker(sql, depth, children)
    walker.leaves = leaves
    walker.piped = {id(c.pipe_in) for c in cmds if c.pipe_in is not None}
    out = Analysis(errors=errors)
    for cmd in cmds:
        out += walker.simple(cmd)
    return out


class _Walker:
    """Walks one script's simple commands in order, remembering visible ``NAME=value``."""

    def __init__(self, sql: SqlAnalyzer | None, depth: int, children: Reader | None) -> None:
        self.sql, self.depth = sql, depth
        self.env: dict[str, str | None] = {}
        self.files = ScriptFiles(children)   # the folder ``cd`` moved into, the files written
        self.aliases: dict[str, str] = {}
        self.piped: set[int] = set()   # commands whose output is piped on (by ``id``)
        self.listing: tuple[tuple[str, ...], tuple[str, ...]] | None = None   # ``find … |``
        self.leaves = False   # the script's own output goes to a file or another program
        self.children = children if children is None else replace(
            children, read=self.files.read, exists=self.files.exists)
        self._base = children

    def script(self, text: str, depth: int) -> Analysis:
        return analyze_shell(text, sql=self.sql, depth=depth, children=self._nested(),
                             leaves=self.leaves)

    def _nested(self) -> Reader | None:
        """A nested script sees what this one wrote so far."""
        if self._base is None:
            return None
        return replace(self._base, read=self.files.read, exists=self.files.exists)

    def expand(self, w: Word) -> tuple[str, bool]:
        """The word with visible variables substituted, and whether everything was known."""
        if not w.expands:
            return w.text, True
        known = not w.subs and "`" not in w.text and "$(" not in w.text

        def sub(m: re.Match[str]) -> str:
            nonlocal known
            name = m.group(1) or m.group(2)
            val = self.env[name] if name in self.env else self.inherited(name)
            known = known and val is not None
            return m.group(0) if val is None else val
        text = _VAR.sub(sub, w.text)
        return text, known and "$" not in text

    def inherited(self, name: str) -> str | None:
        """A variable the command gets from the process that starts it (``os.environ['T']`` set
        in a cell names the file ``rm $T`` deletes); None when the caller did not say."""
        env = self.children.environ if self.children is not None else None
        return env(name) if env is not None else None

    def simple(self, cmd: Simple) -> Analysis:
        out = Analysis()
        for w in cmd.words + [t for _, t in cmd.redirs if t is not None]:
            for s in w.subs:
                out += self.script(s, self.depth + 1)
        words = self._strip_keywords(cmd.words)
        source = " ".join(w.raw for w in cmd.words) or " ".join(
            op + (t.raw if isinstance(t, Word) else "") for op, t in cmd.redirs)
        stdin, fed, red = redirections(cmd, source, self.expand, self.files.read,
                                       self.children, self.files.cwd)
        assigns: list[Word] = []
        while words and _ASSIGN.match(words[0].text) and not words[0].raw.startswith(("'", '"')):
            assigns.append(words.pop(0))
        out += self._stripping(assigns, source)
        if not words:
            self._assign(assigns)
            return out + red
        if words[0].text in DECLARE:
            declared = [w for w in words[1:] if _ASSIGN.match(w.text)]
            out += self._stripping(declared, source)
            self._assign(declared)
        head, known = self.expand(words[0])
        if not known or (words[0].expands and "IFS" in self.env):
            return out + Analysis((Intent("shell.exec", "command", words[0].raw, source=source,
                                          detail="dynamic command"),)) + red
        args = [self.expand(w) for w in words[1:]]
        argv = (shlex.split(head) if words[0].expands and head.strip() else [head]) + \
            [t for t, _ in args]
        self.listing = None
        if cmd.pipe_in is not None and stdin is None and not fed:
            stdin, fed = piped(cmd.pipe_in, self.expand, self.files.read, self.children), True
            prev = [self.expand(w) for w in cmd.pipe_in.words]
            self.listing = find_listing([t for t, _ in prev]) if all(k for _, k in prev) else None
        argv = self._unaliased(argv)
        done = _unknown_targets(self.command(argv, self.depth, source, stdin, fed),
                                [t for t, k in args if not k and _LEADING_DYNAMIC.match(t)])
        done += Analysis(cli_exports(self.children, argv, source, self.leaves or id(cmd) in
                                     self.piped or any(i.action in ("file.write", "file.truncate")
                                                       and i.detail != STDERR
                                                       for i in red.intents),
                                     self.files.cwd, stdin, fed))
        self.files.remember(argv, stdin, done, red)
        found = self._expanded_later(self.files.rebased(_partly_dynamic(out + done + red)))
        self.files.cd(argv, all(k for _, k in args))
        return found

    def _unaliased(self, argv: list[str]) -> list[str]:
        """``alias zz=rm`` then ``zz -f f``: the command is the alias's body (aliases of
        aliases too); an alias defined here is remembered."""
        seen: set[str] = set()
        while argv and argv[0] in self.aliases and argv[0] not in seen:
            seen.add(argv[0])
            try:
                argv = shlex.split(self.aliases[argv[0]]) + argv[1:]
            except ValueError:   # a body the guard cannot split: a command it cannot read
                return [f"*{argv[0]}", *argv[1:]]
        if argv and argv[0] == "alias":
            for a in argv[1:]:
                name, eq, body = a.partition("=")
                if eq:
                    self.aliases[name] = body
        return argv

    def _expanded_later(self, found: Analysis) -> Analysis:
        """Before a cell runs, ``!rm -r {td}`` names a path IPython fills in only when the line
        runs (``{td}``, ``$td``): the change is to a path known then, judged on the real one
        by the run-time layer (the pty child's command is judged expanded). Only in the cell's
        static check: when a child starts, braces are the shell's own."""
        if self.children is None or self.children.starting:
            return found
        return Analysis(tuple(
            i.with_(target=UNKNOWN) if i.action in CHANGES and _IPY_EXPANSION.search(i.target)
            else i for i in found.intents), found.errors)

    def _stripping(self, assigns: list[Word], source: str) -> Analysis:
        """``PYTHONPATH= cmd``, ``export JUPYTER_GUARD_X=...``: the guard's child injection."""
        found = []
        for w in assigns:
            name, _, value = w.text.partition("=")
            if strips(name.rstrip("+"), value if not name.endswith("+") else "$" + name[:-1]):
                found.append(tamper("children", f"sets {name.rstrip('+')}", source))
        return Analysis(tuple(found))

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
        copies = Analysis(database_copies(self.children, argv, source, self.files.cwd, stdin,
                                          self.listing) + serving(self.children, argv, source,
                                                                  self.files.cwd))
        out = Analysis((Intent("shell.exec", "command", argv[0], source=source),))
        if argv[0].rpartition("/")[2] != "mv":   # moving a protected file is named first
            out, copies = out + copies, Analysis()
        rule = RULES.get(argv[0].rpartition("/")[2])
        if rule is None and is_python(argv[0]):
            rule = RULES["python"]
        if rule is None and "/" in argv[0] and self.children is not None:
            text = self.files.read(argv[0])
            interp = _shebang(text)   # ./script.sh: judged as its interpreter (no #!: sh)
            interp = interp or (["sh"] if text is not None and not text.startswith("\x7fELF")
                                and "\x00" not in text[:1024] else [])
            if interp and interp[0].rpartition("/")[2] in RULES:
                return out + self.command(interp + argv, depth + 1, source, stdin, fed)
        if rule is None:   # a program with no rule: the paths it is given it may change
            return out + Analysis(unknown_program(argv, source)) + copies
        ctx = Ctx(source, depth, self.sql, stdin, fed, self.script,
                  lambda a, d: self.command(a, d, source, stdin, fed), self.children)
        return out + rule(ctx, argv) + copies

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


_IPY_EXPANSION = re.compile(r"(?<!\{)\{[A-Za-z_][^{},]*\}(?!\})")
"""``{name}``/``{expr}`` in a ``!`` line: IPython's expansion (a shell brace list has a comma)."""
_LEADING_DYNAMIC = re.compile(r"""["']?(\$[A-Za-z_0-9@*#?!$-]|\$\{|\$\(|`)""")
"""An argument whose folder is an expansion (``$1``, ``"$@"``, ``$D/x``, ``${1}.csv``): the
command changes a file the guard cannot name before it runs (a function's ``rm -f "$1"``)."""


def _unknown_targets(found: Analysis, unknown: list[str]) -> Analysis:
    """Changes to a file named by an argument the guard cannot know before the command runs
    (``rm $(echo wh.duckdb)``, a variable nobody set) are changes to an unknown path."""
    if not unknown:
        return found
    return Analysis(tuple(
        i.with_(target=UNKNOWN, detail=UNSEEN_LATER)
        if i.action in CHANGES and any(u and u in i.target for u in unknown) else i
        for i in found.intents), found.errors)


_EXPANSION = re.compile(r"\$\((?:[^()]|\([^()]*\))*\)|`[^`]*`|\$\{[^}]*\}|"
                        r"\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#?!$-]")


def _partly_dynamic(found: Analysis) -> Analysis:
    """A changed file whose name is partly computed when the command runs (``w$(echo h.duck)db``,
    ``data/$f``) is judged as a shell pattern: the computed part as ``*`` (within a folder) and
    as ``*/**/*`` (across folders), which the policy expands against the disk, so a protected
    file it may name is refused and a new name (``out_$(date).csv``) is not.

    >>> [i.target for i in _partly_dynamic(Analysis((Intent("file.truncate", "path",
    ...     "w$(echo h.duck)db"),))).intents]
    ['w*db', 'w*/**/*db']
    """
    out: list[Intent] = []
    for i in found.intents:
        if i.action not in CHANGES or UNKNOWN in i.target or not _EXPANSION.search(i.target):
            out.append(i)
            continue
        out += [i.with_(target=_EXPANSION.sub("*", i.target)),
                i.with_(target=_EXPANSION.sub("*/**/*", i.target))]
    return Analysis(tuple(out), found.errors)


def _shebang(text: str | None) -> list[str]:
    """``#!/usr/bin/env bash`` -> ["bash"]; ``#!/bin/sh -e`` -> ["/bin/sh", "-e"].

    >>> _shebang("#!/usr/bin/env -S python3 -u"), _shebang("echo")
    (['python3', '-u'], [])
    """
    if not text or not text.startswith("#!"):
        return []
    words = text[2:].splitlines()[0].split()
    if words and words[0].rpartition("/")[2] == "env":
        words = words[1:]
        while words and words[0].startswith("-"):
            words = words[1:]
    return words
