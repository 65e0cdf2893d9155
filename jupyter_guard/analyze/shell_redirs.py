"""A shell command's redirections and pipes: the files ``>``, ``>>``, ``<>`` and ``<`` name (and the
socket of ``> /dev/tcp/host/port``), and the text a command's stdin visibly holds (a heredoc,
``<<<``, ``echo … |``, ``cat s.sh |``), for ``shell.py``'s walk.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from jupyter_guard.analyze.children import Reader
from jupyter_guard.analyze.shell_copies import database_input
from jupyter_guard.analyze.shell_lex import Heredoc, Simple, Word
from jupyter_guard.model import UNKNOWN, UNSEEN_LATER, Action, Analysis, Intent

DATA_COMMANDS = frozenset({"echo", "printf"})     # their arguments are data, never commands
_TRUNCATE = frozenset({">", ">|", "&>", ">&"})
_APPEND = frozenset({">>", "&>>"})
_IN_PLACE = frozenset({"<>"})
"""``1<> f``, ``exec 3<> f``: opened for reading and writing, not truncated, so what the
command writes lands over the file's first bytes (a database file is corrupted): an overwrite,
as ``open(f, 'r+b')`` is."""
_NOT_FILES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
STDERR = "another descriptor than the output"
_WHOLLY_DYNAMIC = re.compile(
    r"""["']?(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|\$\(.*\)|`.*`)["']?""", re.S)
"""An argument that is nothing but one expansion: the program gets whatever name it yields
(an argument with text of its own, ``copy_$(date).csv``, names a new file)."""

Expand = Callable[[Word], tuple[str, bool]]   # a word -> (its text, everything was known)
Read = Callable[[str], str | None] # a path -> the text the script sees there


def redirections(cmd: Simple, source: str, expand: Expand, read: Read,
                 children: Reader | None, cwd: str) -> tuple[str | None, bool, Analysis]:
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
        path, known = expand(t)
        # ``> $(...)``: named only when it runs (``> out_$(date).csv`` keeps a name of its own)
        unseen = not known and op in _TRUNCATE | _IN_PLACE and bool(_WHOLLY_DYNAMIC.fullmatch(path))
        if op == "<<<":
            stdin, fed = path, True
        elif op in ("<", "<&"):
            fed = fed or op == "<"
            if op == "<":
                out.append(Intent("file.read", "path", path, source=source))
                out.extend(database_input(children, path, source, cwd))
                if children is not None:   # bash < s.sh: the script is visible
                    stdin = read(path)
        elif (op == ">&" and (path.isdigit() or path == "-")) or path in _NOT_FILES:
            continue
        elif path.startswith(("/dev/tcp/", "/dev/udp/")):
            out.append(Intent("net.upload", "host", path.split("/")[3], remote=True,
                              source=source, detail="/dev/tcp redirection"))
        elif unseen:
            out.append(Intent("file.truncate", "path", UNKNOWN, source=source,
                              detail=UNSEEN_LATER))
        elif op in _TRUNCATE or op in _APPEND or op in _IN_PLACE:
            act: Action = "file.write" if op in _APPEND else "file.truncate"
            out.append(Intent(act, "path", path, source=source,
                              detail=STDERR if side else ""))
    return stdin, fed, Analysis(tuple(out))


def piped(prev: Simple, expand: Expand, read: Read, children: Reader | None) -> str | None:
    """What the previous command of a pipe writes, when it is visible (echo, cat <<EOF)."""
    words = [expand(w) for w in prev.words]
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
    if name == "cat" and len(words) == 2 and children is not None:
        return read(words[1][0])          # cat s.sh | bash
    return None
