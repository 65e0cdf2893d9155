"""Shell analysis: a command line or script (``!cmd``, ``%%bash``, ``os.system``...) -> intents.

Pure and stdlib only. Lexing lives in ``shell_lex``, per-command rules in ``shell_cmds`` and
``shell_files``; this module walks the commands, resolves visible variables and redirections.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import replace

from jupyter_guard.analyze.children import Reader, is_python, strips, tamper
from jupyter_guard.analyze.shell_cmds import RULES
from jupyter_guard.analyze.shell_copies import database_copies, database_input, find_listing
from jupyter_guard.analyze.shell_dbcli import cli_exports
from jupyter_guard.analyze.shell_lex import (
    Heredoc,
    LexError,
    Simple,
    Word,
    fallback_tokens,
    parse,
    tokenize,
)
from jupyter_guard.analyze.shell_opts import Ctx, SqlAnalyzer
from jupyter_guard.analyze.shell_serve import serving
from jupyter_guard.analyze.shell_unknown import unknown_program
from jupyter_guard.model import UNKNOWN, UNSEEN_LATER, Action, Analysis, Intent

__all__ = ["MAX_DEPTH", "SqlAnalyzer", "analyze_shell"]

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
STDERR = "another descriptor than the output"


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
        self.written: dict[str, str | None] = {}   # files this script wrote: text, None if unseen
        self.cwd = ""                # the folder ``cd`` moved into, relative to the start
        self.dirs: list[str] = []    # ``pushd``'s stack
        self.aliases: dict[str, str] = {}
        self.piped: set[int] = set()   # commands whose output is piped on (by ``id``)
        self.listing: tuple[tuple[str, ...], tuple[str, ...]] | None = None   # ``find … |``
        self.leaves = False   # the script's own output goes to a file or another program
        self.children = children if children is None else replace(
            children, read=self.read, exists=self.exists)
        self._base = children

    def script(self, text: str, depth: int) -> Analysis:
        return analyze_shell(text, sql=self.sql, depth=depth, children=self._nested(),
                             leaves=self.leaves)

    def _nested(self) -> Reader | None:
        """A nested script sees what this one wrote so far."""
        if self._base is None:
            return None
        return replace(self._base, read=self.read, exists=self.exists)

    def _here(self, path: str) -> str | None:
        """``path`` as the caller's reader must look it up: relative paths are in the folder
        ``cd`` moved into (None when that folder is known only when the script runs)."""
        if not self.cwd or path.startswith(("/", "~")):
            return path
        if UNKNOWN in self.cwd:
            return None
        return os.path.normpath(os.path.join(self.cwd, path))

    def read(self, path: str) -> str | None:
        if path in self.written:
            return self.written[path]
        here = self._here(path)   # ``cd x && bash s.sh`` runs x/s.sh
        if here is None:
            return None
        return self._base.read(here) if self._base is not None else None

    def exists(self, path: str) -> bool:
        if path in self.written:
            return True
        base, here = self._base, self._here(path)
        return base is not None and here is not None and (base.exists is None or base.exists(here))

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
        stdin, fed, red = self._redirections(cmd, source)
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
            stdin, fed = self._piped(cmd.pipe_in), True
            prev = [self.expand(w) for w in cmd.pipe_in.words]
            self.listing = find_listing([t for t, _ in prev]) if all(k for _, k in prev) else None
        argv = self._unaliased(argv)
        done = _unknown_targets(self.command(argv, self.depth, source, stdin, fed),
                                [t for t, k in args if not k and _LEADING_DYNAMIC.match(t)])
        done += Analysis(cli_exports(self.children, argv, source, self.leaves or id(cmd) in
                                     self.piped or any(i.action in ("file.write", "file.truncate")
                                                       and i.detail != STDERR
                                                       for i in red.intents),
                                     self.cwd, stdin, fed))
        self._remember(argv, stdin, done, red)
        found = self._expanded_later(self._rebased(out + done + red))
        self._cd(argv, all(k for _, k in args))
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
            i.with_(target=UNKNOWN) if i.action in _CHANGES and _IPY_EXPANSION.search(i.target)
            else i for i in found.intents), found.errors)

    def _rebased(self, found: Analysis) -> Analysis:
        """After ``cd data``, ``rm keep.csv`` deletes ``data/keep.csv``: relative paths of the
        files a command changes are taken from the folder ``cd`` moved into; after a ``cd`` to a
        folder known only when it runs, from any folder below the start (``**/keep.csv``, a
        pattern the policy expands against the disk).
        """
        if not self.cwd:
            return found
        out = []
        for i in found.intents:
            if i.action in _FILE_ACTIONS and i.target_kind == "path" and i.target and \
                    not i.target.startswith(("/", "~")) and UNKNOWN not in i.target:
                if self.cwd == UNKNOWN or UNKNOWN in self.cwd:   # any folder below the start
                    i = i.with_(target=os.path.join("**", i.target))
                else:
                    i = i.with_(target=os.path.normpath(os.path.join(self.cwd, i.target)))
            out.append(i)
        return Analysis(tuple(out), found.errors)

    def _stripping(self, assigns: list[Word], source: str) -> Analysis:
        """``PYTHONPATH= cmd``, ``export JUPYTER_GUARD_X=...``: the guard's child injection."""
        found = []
        for w in assigns:
            name, _, value = w.text.partition("=")
            if strips(name.rstrip("+"), value if not name.endswith("+") else "$" + name[:-1]):
                found.append(tamper("children", f"sets {name.rstrip('+')}", source))
        return Analysis(tuple(found))

    def _remember(self, argv: list[str], stdin: str | None, done: Analysis, red: Analysis) -> None:
        """Files this script writes, with their text when it is visible (``cat > f <<EOF``,
        ``echo ... > f``), so a later ``bash f`` in the same script reads what it will run."""
        text: str | None = None
        if argv and argv[0] == "cat" and len(argv) == 1:
            text = stdin
        elif argv and argv[0] in DATA_COMMANDS:
            text = " ".join(a for a in argv[1:]
                            if argv[0] != "echo" or not re.fullmatch(r"-[neE]+", a))
            text = text + "\n" if argv[0] == "echo" else text
        for i in red.intents:
            if i.action in ("file.write", "file.truncate"):
                prev = self.written.get(i.target, "") if i.action == "file.write" else ""
                self.written[i.target] = None if text is None or prev is None else prev + text
        for i in done.intents:
            if i.action in ("file.write", "file.truncate", "file.move") and i.target_kind == "path":
                self.written[i.target] = None
        if argv and argv[0] in ("cp", "mv") and len(argv) == 3 and not argv[1].startswith("-"):
            self.written[argv[2]] = self.read(argv[1])   # cp a.sh b.sh: b.sh holds what a.sh does

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
        copies = Analysis(database_copies(self.children, argv, source, self.cwd, stdin,
                                          self.listing) + serving(self.children, argv, source,
                                                                  self.cwd))
        out = Analysis((Intent("shell.exec", "command", argv[0], source=source),))
        if argv[0].rpartition("/")[2] != "mv":   # moving a protected file is named first
            out, copies = out + copies, Analysis()
        rule = RULES.get(argv[0].rpartition("/")[2])
        if rule is None and is_python(argv[0]):
            rule = RULES["python"]
        if rule is None and "/" in argv[0] and self.children is not None:
            text = self.read(argv[0])
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

    def _cd(self, argv: list[str], known: bool = True) -> None:
        """``cd data && cp wh.duckdb /tmp``: later relative paths are looked up in ``data`` too;
        after ``cd $(…)`` (a folder known only when it runs), anywhere below the start;
        ``popd`` goes back where ``pushd`` left."""
        if argv[0] == "pushd":
            self.dirs.append(self.cwd)
        if argv[0] == "popd":
            self.cwd = self.dirs.pop() if self.dirs else UNKNOWN
        elif argv[0] in ("cd", "pushd") and not known:
            self.cwd = UNKNOWN
        elif argv[0] in ("cd", "pushd") and len(argv) > 1 and not argv[-1].startswith("-"):
            self.cwd = os.path.join(self.cwd, os.path.expanduser(argv[-1]))
        elif argv[0] in ("cd", "pushd"):
            self.cwd = os.path.expanduser("~")

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
            side = op[0].isdigit()   # ``2> err.txt``: another descriptor than the output
            op = op.lstrip("0123456789")
            if isinstance(t, Heredoc):
                stdin, fed = t.body, True
                continue
            if t is None:
                continue
            path, known = self.expand(t)
            # ``> $(...)``: named only when it runs (``> out_$(date).csv`` keeps a name of its own)
            unseen = not known and op in _TRUNCATE and bool(_WHOLLY_DYNAMIC.fullmatch(path))
            if op == "<<<":
                stdin, fed = path, True
            elif op in ("<", "<&"):
                fed = fed or op == "<"
                if op == "<":
                    out.append(Intent("file.read", "path", path, source=source))
                    out.extend(database_input(self.children, path, source, self.cwd))
                    if self.children is not None:   # bash < s.sh: the script is visible
                        stdin = self.read(path)
            elif (op == ">&" and (path.isdigit() or path == "-")) or path in _NOT_FILES:
                continue
            elif path.startswith(("/dev/tcp/", "/dev/udp/")):
                out.append(Intent("net.upload", "host", path.split("/")[3], remote=True,
                                  source=source, detail="/dev/tcp redirection"))
            elif unseen:
                out.append(Intent("file.truncate", "path", UNKNOWN, source=source,
                                  detail=UNSEEN_LATER))
            elif op in _TRUNCATE or op in _APPEND:
                act: Action = "file.truncate" if op in _TRUNCATE else "file.write"
                out.append(Intent(act, "path", path, source=source,
                                  detail=STDERR if side else ""))
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
        if name == "cat" and len(words) == 2 and self.children is not None:
            return self.read(words[1][0])          # cat s.sh | bash
        return None


_CHANGES = frozenset({"file.delete", "file.truncate", "file.move"})
_FILE_ACTIONS = _CHANGES | {"file.write"}
_WHOLLY_DYNAMIC = re.compile(
    r"""["']?(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|\$\(.*\)|`.*`)["']?""", re.S)
"""An argument that is nothing but one expansion: the program gets whatever name it yields
(an argument with text of its own, ``copy_$(date).csv``, names a new file)."""
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
        if i.action in _CHANGES and any(u and u in i.target for u in unknown) else i
        for i in found.intents), found.errors)


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
