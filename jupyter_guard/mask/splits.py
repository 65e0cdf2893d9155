"""A detector's matches in a range by one C-level ``re.split`` (the bulk path's one pass): the
whole match as a group, and for the secret detector the non-word character before each match
consumed with it, then only where a match can start (see ``_split``).
"""
from __future__ import annotations

import functools
import operator
import re
from itertools import repeat
from operator import itemgetter
from typing import Any, cast

from .patterns import MAX_VALUE, PRECISE, SECRET_FIRST, compile_precise


@functools.lru_cache(maxsize=32)
def _splitter(pattern: str) -> re.Pattern[str]:
    """The pattern with the whole match as group 1 (``split`` then returns every match)."""
    return compile_precise("(" + pattern + ")")


@functools.lru_cache(maxsize=2)
def _bounded(pattern: str) -> re.Pattern[str]:
    """The secret pattern after the character its look-behinds read, as group 1 with it. The
    look-ahead asks for what one of its alternatives starts with (``SECRET_FIRST``) before
    they are tried one by one: in text dense with quoted pairs (``password="…" ``, JSON) half
    the non-word characters are followed by a quote or a space (the split took 30 ms a
    megabyte instead of 15), in a row of values of every kind most by a digit or a letter
    that starts no key word, prefix or token (22 ms instead of 12)."""
    return compile_precise(r"(\W(?=" + SECRET_FIRST + r")(?:" + pattern + "))")


KEY_OPEN = r"(?i:(?<![\w])"
"""How ``PRECISE["secret"]``'s key-word alternative opens (its key group is put right after)."""


@functools.lru_cache(maxsize=2)
def _layered(pattern: str) -> re.Pattern[str]:
    """``_bounded``'s pattern (the same matches) with its parts as groups: the character the
    look-behinds read (1), a key word's key up to its value (``k``) and the value (``v``,
    which ends that alternative), or a token (``t``: the other alternatives). The bulk path
    then takes keys and values from the split as they are, instead of building each key and
    each text between values again from the pieces."""
    bar = _top_bar(pattern)
    keyed, tokens = pattern[:bar], pattern[bar + 1:]
    head, sep, rest = keyed.partition("(?P<v>")
    if bar < 0 or not (sep and head.startswith(KEY_OPEN)):
        raise ValueError("the secret pattern no longer opens with its key-word alternative")
    keyed = KEY_OPEN + "(?P<k>" + head[len(KEY_OPEN):] + ")" + sep + rest
    return compile_precise(r"(\W)(?=" + SECRET_FIRST + r")(?:" + keyed + "|(?P<t>" + tokens
                           + "))")


def _split(pattern: re.Pattern[str], part: str) -> tuple[list[Any], re.Pattern[str], int]:
    """``split`` of ``part`` by ``pattern``, the whole match as group 1 (the secret pattern:
    ``_layered``'s groups), and how many boundary characters start each match (``part`` then
    had a space put first). A secret starts after
    a non-word character (both look-behinds refuse word characters) or at the start: consumed
    first, ``re`` skips to the next one (a character map) instead of trying every position
    (41 to 27 ms on a megabyte of values of all kinds). Same matches: none starts where the
    last ends (a key-word value ends before a space, a quote, ',' or ';', a token before what
    is not in its run nor '='), except after a value cut at ``MAX_VALUE``: then the plain one."""
    if pattern.pattern == PRECISE["secret"]:
        splitter = _layered(pattern.pattern)
        found = splitter.split(" " + part)
        named = found[splitter.groupindex["v"]::splitter.groups + 1]
        if max(map(len, filter(None, named)), default=0) < MAX_VALUE:
            return found, splitter, 1
    consuming = _consuming(pattern.pattern)
    if consuming is not None:
        splitter, outside = consuming
        found = splitter.split(" " + part)
        if outside.search("".join(map(itemgetter(-1), found[1::splitter.groups + 1]))) is None:
            return found, splitter, 1
    splitter = _splitter(pattern.pattern)
    return splitter.split(part), splitter, 0


_BEHIND = re.compile(r"\(\?<!\[((?:[^\]\\]|\\.)+)\]\)")


@functools.lru_cache(maxsize=32)
def _consuming(pattern: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """For a pattern that starts with a look-behind refusing one class of characters and has
    no alternative at its top: the pattern with a character outside that class consumed first
    (group 1 holds it and the match: ``re`` then skips to such a character instead of trying
    every position, as ``_bounded``), and a pattern of a character outside it. Same matches
    where each match ends with a character of the class (the caller checks): a match could
    only start right where the last ended if that character were outside it."""
    m = _BEHIND.match(pattern)
    if m is None or _top_branch(pattern):
        return None
    return (compile_precise("([^" + m.group(1) + "]" + pattern[m.end():] + ")"),
            compile_precise("[^" + m.group(1) + "]"))


def _top_branch(pattern: str) -> bool:
    """Whether ``pattern`` has a '|' outside every group and class."""
    return _top_bar(pattern) >= 0


def _top_bar(pattern: str) -> int:
    """Where ``pattern``'s first '|' outside every group and class is (-1: nowhere)."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0:
            return i
        i += 1
    return -1


def layered(found: list[Any], splitter: re.Pattern[str]
            ) -> tuple[list[str], list[list[str]], list[str], list[str | None]]:
    """``_layered``'s split (of a text with a space put first) as the text between matches (to
    each match's boundary character), what stands between that and each value (a list of one
    string a value: the boundary characters, then for key words their keys), the values, and
    the key words' values (None for a bare token). No string is built again (in C or Python)
    where every match is a key word's or none is."""
    stride, at = splitter.groups + 1, splitter.groupindex
    between, heads, values = found[0::stride], [found[1::stride]], found[at["t"]::stride]
    named = found[at["v"]::stride]
    if any(named):
        keys = found[at["k"]::stride]
        if all(named):  # (each value ends its match: the key is the match before it)
            heads.append(keys)
            values = named
        else:
            heads.append([k or "" for k in keys])
            values = [g or m for m, g in zip(values, named)]
    drop_space(between, heads)
    return between, heads, values, named


def drop_space(between: list[str], heads: list[list[str]]) -> None:
    """Take the space put first off the text: it starts the text before the first match, or
    where a match starts the text, that match's first head (its boundary character)."""
    if between[0] or not heads or len(between) < 2:
        between[0] = between[0][1:]
    else:
        heads[0][0] = heads[0][0][1:]


def named_values(values: list[str], named: list[str | None], bound: int = 0
                 ) -> tuple[list[list[str]], list[str]]:
    """The keys (each named match's text before its value group, which ends it; else its
    ``bound`` boundary characters), as ``layered``'s heads, and the values."""
    if all(named):  # (each value ends its match: ``removesuffix`` leaves its key, in C)
        whole = cast("list[str]", named)
        return [list(map(str.removesuffix, values, whole))], whole
    keys = [m[:-len(g)] if g else m[:bound] for m, g in zip(values, named)]  # (values not empty)
    return [keys], [g or m[bound:] for m, g in zip(values, named)]


def unbound(values: list[str]) -> tuple[list[list[str]], list[str]]:
    """Each value's first (boundary) character, as ``layered``'s heads, and the rest, in C."""
    firsts = list(map(operator.getitem, values, repeat(0)))
    return [firsts], cast("list[str]", list(map(operator.getitem, values, repeat(slice(1, None)))))
