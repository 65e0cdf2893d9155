"""Shell lexer and parser: text -> simple commands (words, redirections, pipes, heredocs).

Pure and stdlib only. It does not expand anything; it only records where expansions are
(``$VAR``, ``$(...)``, backticks, ``<(...)``) so that ``shell.py`` can analyse the inside.

>>> [w.text for w in parse("rm -rf 'my data' | wc -l")[0].words]
['rm', '-rf', 'my data']
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

OPS = sorted(["&&", "||", ";;", "|&", "&>>", ">>", "<<<", "<<-", "<<", "<>", ">|", ">&", "<&",
              "&>", "|", "&", ";", "<", ">", "(", ")", "\n"], key=len, reverse=True)
REDIRS = frozenset({">>", "<<<", "<<-", "<<", "<>", ">|", ">&", "<&", "&>", "&>>", "<", ">"})
_OP_START = set("|&;<>()\n")
_FD_OUT = frozenset({">", ">>", ">|"})


class LexError(ValueError):
    """Unbalanced quote or substitution."""


@dataclass(frozen=True)
class Word:
    text: str                      # quotes removed, escapes resolved, expansions kept as written
    raw: str                       # as written
    quoted: bool = False
    expands: bool = False          # an unquoted / double-quoted ``$`` expansion is present
    subs: tuple[str, ...] = ()     # scripts inside $(...), `...`, <(...), >(...)


@dataclass(frozen=True)
class Op:
    value: str


@dataclass(frozen=True)
class Heredoc:
    body: str
    expand: bool                   # unquoted delimiter: $(...) in the body runs
    subs: tuple[str, ...] = ()


Token = Word | Op | Heredoc


@dataclass
class Simple:
    """One simple command: words, redirections (op, target), the command piped into it."""

    words: list[Word] = field(default_factory=list)
    redirs: list[tuple[str, Word | Heredoc | None]] = field(default_factory=list)
    pipe_in: Simple | None = None


def _balanced(s: str, i: int, open_: str = "(", close: str = ")") -> int:
    """Index just past the ``close`` matching an already-consumed ``open_`` at ``s[i-1]``."""
    depth = 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c in "'\"`":
            j = s.find(c, i + 1)
            while c != "'" and j > 0 and s[j - 1] == "\\":
                j = s.find(c, j + 1)
            if j < 0:
                raise LexError(f"unbalanced {c}")
            i = j + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise LexError(f"unbalanced {open_}")


def _dollar(s: str, i: int, subs: list[str]) -> tuple[int, str]:
    """Read an expansion at ``s[i] == '$'``; return (end, text as written)."""
    if s.startswith("$((", i):
        end = _balanced(s, i + 2)
        end = end + 1 if end < len(s) and s[end] == ")" else end
        return end, s[i:end]
    if s.startswith("$(", i):
        end = _balanced(s, i + 2)
        subs.append(s[i + 2:end - 1])
        return end, s[i:end]
    if s.startswith("${", i):
        end = _balanced(s, i + 2, "{", "}")
        subs.extend(substitutions(s[i + 2:end - 1]))
        return end, s[i:end]
    return i + 1, "$"


def _backtick(s: str, i: int, subs: list[str]) -> tuple[int, str]:
    j = i + 1
    while j < len(s) and s[j] != "`":
        j += 2 if s[j] == "\\" else 1
    if j >= len(s):
        raise LexError("unbalanced `")
    subs.append(s[i + 1:j].replace("\\`", "`"))
    return j + 1, s[i:j + 1]


def substitutions(s: str) -> tuple[str, ...]:
    """Scripts run by $(...) and backticks in double-quote-like text (heredoc bodies).

    >>> substitutions("hello $(rm -rf d) and `id`")
    ('rm -rf d', 'id')
    """
    subs: list[str] = []
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
        elif s[i] == "$":
            i = _dollar(s, i, subs)[0]
        elif s[i] == "`":
            i = _backtick(s, i, subs)[0]
        else:
            i += 1
    return tuple(subs)


def _dquote(s: str, i: int, out: list[str], subs: list[str]) -> tuple[int, bool]:
    """Read a double-quoted string starting after the opening quote."""
    expands = False
    while i < len(s):
        c = s[i]
        if c == '"':
            return i + 1, expands
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt != "\n":
                out.append(nxt if nxt in '$`"\\' else c + nxt)
            i += 2
        elif c == "$":
            i, text = _dollar(s, i, subs)
            var = i < len(s) and (s[i].isalnum() or s[i] in "_@*#?!")
            expands = expands or text != "$" or var
            out.append(text)
        elif c == "`":
            i, text = _backtick(s, i, subs)
            expands = True
            out.append(text)
        else:
            out.append(c)
            i += 1
    raise LexError('unbalanced "')


def tokenize(s: str) -> list[Token]:
    """Split a script into words, operators and heredoc bodies (replacing their delimiter)."""
    toks: list[Token] = []
    pending: list[tuple[int, str, bool, bool]] = []   # (token index, delim, quoted, strip tabs)
    want: bool | None = None                          # next word is a heredoc delimiter
    buf: list[str] = []
    subs: list[str] = []
    start, quoted, expands, started = 0, False, False, False
    i = 0

    def flush(end: int) -> None:
        nonlocal buf, subs, quoted, expands, started, want
        if started:
            w = Word("".join(buf), s[start:end], quoted, expands, tuple(subs))
            if want is not None:
                pending.append((len(toks), w.text, quoted, want))
                want = None
            toks.append(w)
        buf, subs, quoted, expands, started = [], [], False, False, False

    while i < len(s):
        c = s[i]
        if not started:
            start = i
        if c in " \t\r":
            flush(i)
            i += 1
        elif c == "\\" and s.startswith("\\\n", i):
            i += 2
        elif c == "#" and not started:
            nl = s.find("\n", i)
            i = len(s) if nl < 0 else nl
        elif c in "<>" and not started and s.startswith("(", i + 1):
            end = _balanced(s, i + 2)
            subs.append(s[i + 2:end - 1])
            buf.append(s[i:end])
            started = expands = True
            i = end
        elif c in _OP_START:
            fd = ""
            if started and c in "<>" and not quoted and "".join(buf).isdigit():
                fd = "".join(buf)                 # file descriptor number: 2>, 1>>
                buf, started = [], False
            flush(i)
            op = next(o for o in OPS if s.startswith(o, i))
            # ``2> f``: named apart (another output than the program's own); ``1>``, ``0<`` not
            toks.append(Op(fd + op if fd not in ("", "0", "1") and op in _FD_OUT else op))
            i += len(op)
            if op in ("<<", "<<-"):
                want = op == "<<-"
            if op == "\n" and pending:
                i = _bodies(s, i, toks, pending)
        else:
            started = True
            if c == "'":
                j = s.find("'", i + 1)
                if j < 0:
                    raise LexError("unbalanced '")
                buf.append(s[i + 1:j])
                quoted, i = True, j + 1
            elif c == '"':
                quoted = True
                i, e = _dquote(s, i + 1, buf, subs)
                expands = expands or e
            elif c == "\\":
                buf.append(s[i + 1:i + 2])
                quoted, i = True, i + 2
            elif c == "$":
                i, text = _dollar(s, i, subs)
                expands = True
                buf.append(text)
            elif c == "`":
                i, text = _backtick(s, i, subs)
                expands = True
                buf.append(text)
            else:
                buf.append(c)
                i += 1
    flush(len(s))
    if pending:
        _bodies(s, len(s), toks, pending)
    return toks


def _bodies(s: str, i: int, toks: list[Token], pending: list[tuple[int, str, bool, bool]]) -> int:
    """Read heredoc bodies starting at ``s[i]`` (just after a newline); return the new index."""
    for idx, delim, quoted, strip in pending:
        lines: list[str] = []
        while i < len(s):
            nl = s.find("\n", i)
            line = s[i:] if nl < 0 else s[i:nl]
            i = len(s) if nl < 0 else nl + 1
            if (line.lstrip("\t") if strip else line).rstrip("\r") == delim:
                break
            lines.append(line.lstrip("\t") if strip else line)
        body = "\n".join(lines)
        toks[idx] = Heredoc(body, not quoted, () if quoted else substitutions(body))
    pending.clear()
    return i


def fallback_tokens(s: str) -> list[Token]:
    """Whitespace splitting for text the lexer refuses (unbalanced quotes)."""
    toks: list[Token] = []
    for line in s.splitlines():
        for part in re.split(r"(&&|\|\||[;|&])|\s+", line):
            if not part:
                continue
            if part in OPS:
                toks.append(Op(part))
            else:
                text = part.strip("'\"")
                toks.append(Word(text, part, text != part, "$" in text))
        toks.append(Op("\n"))
    return toks


def parse(s: str, toks: list[Token] | None = None) -> list[Simple]:
    """Group tokens into simple commands; ``|`` links a command to the one piped into it."""
    toks = tokenize(s) if toks is None else toks
    cmds: list[Simple] = []
    cur, parens, j = Simple(), 0, 0

    def flush(nxt: Simple | None = None) -> Simple:
        if cur.words or cur.redirs:
            cmds.append(cur)
        return nxt or Simple()

    while j < len(toks):
        t = toks[j]
        j += 1
        if not isinstance(t, Op):
            if isinstance(t, Word):
                cur.words.append(t)
            continue
        v = t.value
        if v in REDIRS or v.lstrip("0123456789") in REDIRS:
            nxt = toks[j] if j < len(toks) else None
            cur.redirs.append((v, None if isinstance(nxt, Op) else nxt))
            j += 0 if isinstance(nxt, Op) else 1
        elif v == "(" and len(cur.words) == 1 and j < len(toks) and toks[j] == Op(")"):
            cur, j = Simple(), j + 1              # function definition: name() { ...; }
        elif v in ("|", "|&"):
            prev = cur
            cur = flush(Simple(pipe_in=prev))
        elif v == ")" and parens == 0:
            cur = Simple()                        # a case pattern like `a|b)`: not a command
        else:
            parens += {"(": 1, ")": -1}.get(v, 0)
            cur = flush()
    flush()
    return cmds
