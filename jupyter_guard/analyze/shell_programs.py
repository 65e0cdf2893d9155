"""What the little languages of text tools run and write: ``awk`` programs (``system()``, pipes
to and from commands, ``print > file``, gawk's ``-i inplace``) and ``sed`` scripts (``w file``,
``s///w file``, ``e command``, ``s///e``). A command they run is analysed as a script; one they
build at run time, or a file named by a variable, is ``child.unread`` (the guard cannot say what
it is before it runs). Pure: text in, pieces out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
# a regex literal where an operand may start (after these characters, or at the start)
_REGEX_BEFORE = set("(~!,{;&|\n") | {""}


@dataclass
class Found:
    """Commands a program runs (text), files it writes (path, truncates?), and what it does that
    cannot be known before it runs (reasons)."""

    commands: list[str] = field(default_factory=list)
    fed: list[str] = field(default_factory=list)     # commands reading what the program prints
    writes: list[tuple[str, bool]] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)


def _skeleton(prog: str) -> tuple[str, list[str]]:
    """The awk program with each string literal replaced by ``"<n>"`` and each regex literal by
    ``//``, and the strings' texts."""
    out: list[str] = []
    strings: list[str] = []
    i, prev = 0, ""
    while i < len(prog):
        ch = prog[i]
        if ch == "#":                                     # a comment, to the end of the line
            j = prog.find("\n", i)
            i = len(prog) if j < 0 else j
            continue
        if ch == '"':
            m = _STRING.match(prog, i)
            if m is None:
                out.append(prog[i:])
                break
            out.append(f'"{len(strings)}"')
            strings.append(_unescape(m.group(1)))
            i, prev = m.end(), '"'
            continue
        if ch == "/" and prev in _REGEX_BEFORE:
            j = i + 1
            while j < len(prog) and prog[j] not in "/\n":
                j += 2 if prog[j] == "\\" else 1
            out.append("//")
            i, prev = j + 1, "/"
            continue
        out.append(ch)
        if not ch.isspace():
            prev = ch
        elif ch == "\n":
            prev = "\n"
        i += 1
    return "".join(out), strings


_LIT = r'"(\d+)"'
_SYSTEM = re.compile(r"\bsystem\s*\(")
_SYSTEM_LIT = re.compile(r"\bsystem\s*\(\s*" + _LIT + r"\s*\)")
_PIPE = re.compile(r"(?<![|])\|&?(?![|])")
_PRINT = re.compile(r"\bprintf?\b")


def awk(prog: str) -> Found:
    """What an awk program runs and writes.

    >>> f = awk('BEGIN{system("rm -rf d")}'); f.commands, f.unread
    (['rm -rf d'], [])
    >>> awk('{print $1 > "out.csv"; print >> "log"}').writes
    [('out.csv', True), ('log', False)]
    >>> f = awk('{ "date" | getline d; print $0 | "sort" }'); f.commands, f.fed
    (['date'], ['sort'])
    >>> awk('/a|b/ && $2 > 5 || x { print $1, ($2 > 1) }').__dict__
    {'commands': [], 'fed': [], 'writes': [], 'unread': []}
    >>> awk('{system($0)}').unread
    ['runs a command it builds at run time: system(']
    """
    code, strings = _skeleton(prog)
    found = Found()
    lits = {m.start(): strings[int(m.group(1))] for m in _SYSTEM_LIT.finditer(code)}
    for m in _SYSTEM.finditer(code):
        if m.start() in lits:
            found.commands.append(lits[m.start()])
        else:
            found.unread.append("runs a command it builds at run time: system(")
    for m in _PIPE.finditer(code):
        before = re.search(_LIT + r"\s*$", code[:m.start()])
        after = re.match(r"\s*" + _LIT + r"(?!\s*[\w\"(])", code[m.end():])
        if re.match(r"\s*getline\b", code[m.end():]):
            if before is not None:
                found.commands.append(strings[int(before.group(1))])
            else:
                found.unread.append("reads the output of a command built at run time")
        elif after is not None and m.group() == "|":
            found.fed.append(strings[int(after.group(1))])
        else:
            found.unread.append("pipes into a command built at run time")
    for m in _PRINT.finditer(code):
        depth, j = 0, m.end()
        while j < len(code) and (depth or code[j] not in ";}\n"):   # to the statement's end
            c = code[j]
            depth += (c == "(") - (c == ")")
            if c == ">" and depth == 0:
                append = code[j + 1:j + 2] == ">"
                target = re.match(r"\s*" + _LIT + r"(?!\s*[\w\"(])", code[j + 1 + append:])
                if target is not None:
                    found.writes.append((strings[int(target.group(1))], not append))
                else:
                    found.unread.append("writes to a file named at run time")
                break
            j += 1
    return found


def sed(script: str) -> Found:
    """What a sed script runs (``e``, ``s///e``) and writes (``w``, ``W``, ``s///w``).

    >>> sed('1e rm -rf d').commands, sed('s/a/b/w out.txt').writes, sed('$!N;w x').writes
    (['rm -rf d'], [('out.txt', True)], [('x', True)])
    >>> sed('s/x/y/g;/a/d;y/ab/cd/').__dict__
    {'commands': [], 'fed': [], 'writes': [], 'unread': []}
    >>> sed('s/.*/rm &/e').unread
    ['runs its own pattern space as a command (e)']
    """
    found = Found()
    i, n = 0, len(script)

    def rest_of_line(k: int) -> tuple[str, int]:
        j = script.find("\n", k)
        j = n if j < 0 else j
        return script[k:j].strip(), j

    def delimited(k: int, parts: int) -> int:
        d = script[k]
        k += 1
        for _ in range(parts):
            while k < n and script[k] != d:
                k += 2 if script[k] == "\\" else 1
            k += 1
        return k

    while i < n:
        c = script[i]
        if c in " \t\n;{}!,0123456789$~+":
            i += 1
            continue
        if c == "/" or (c == "\\" and i + 1 < n):          # an address: /re/ or \cREc
            i = delimited(i if c == "/" else i + 1, 1)
            while i < n and script[i] in "IM":
                i += 1
            continue
        if c == "s" and i + 1 < n:
            i = delimited(i + 1, 2)
            while i < n and script[i] not in ";\n}":
                f = script[i]
                if f == "w":
                    path, i = rest_of_line(i + 1)
                    found.writes.append((path, True))
                    break
                if f == "e":
                    found.unread.append("runs its own pattern space as a command (e)")
                i += 1
            continue
        if c == "y" and i + 1 < n:
            i = delimited(i + 1, 2)
            continue
        if c in "aicrRbtT:#":                               # text, a file it reads, a label
            _, i = rest_of_line(i + 1) if c in "aicrR#" else (None, _label_end(script, i + 1))
            continue
        if c in "wW":
            path, i = rest_of_line(i + 1)
            found.writes.append((path, True))
            continue
        if c == "e":
            cmd, i = rest_of_line(i + 1)
            if cmd:
                found.commands.append(cmd)
            else:
                found.unread.append("runs its own pattern space as a command (e)")
            continue
        i += 1
    return found


def _label_end(script: str, k: int) -> int:
    m = re.compile(r"[^;\n]*").match(script, k)
    return m.end() if m else len(script)
