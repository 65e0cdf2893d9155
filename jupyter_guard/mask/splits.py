"""A detector's matches in a range by one C-level ``re.split`` (the bulk path's one pass): the
whole match as a group, and for the secret detector the non-word character before each match
consumed with it, then only where a match can start (see ``_split``).
"""
from __future__ import annotations

import functools
import re
from operator import itemgetter
from typing import Any

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


def _split(pattern: re.Pattern[str], part: str) -> tuple[list[Any], re.Pattern[str], int]:
    """``split`` of ``part`` by ``pattern``, the whole match as group 1, and how many boundary
    characters start each match (``part`` then had a space put first). A secret starts after
    a non-word character (both look-behinds refuse word characters) or at the start: consumed
    first, ``re`` skips to the next one (a character map) instead of trying every position
    (41 to 27 ms on a megabyte of values of all kinds). Same matches: none starts where the
    last ends (a key-word value ends before a space, a quote, ',' or ';', a token before what
    is not in its run nor '='), except after a value cut at ``MAX_VALUE``: then the plain one."""
    if pattern.pattern == PRECISE["secret"]:
        splitter = _bounded(pattern.pattern)
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
            return True
        i += 1
    return False
