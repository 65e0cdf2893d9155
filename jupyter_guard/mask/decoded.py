"""Values found in decoded text put back on the text as written (entities and URL escapes
decoded, zero-width characters dropped, dashes folded: ``normalize``), as arrays.

The numpy finders read the decoded text (``mixed.dense_values``); each value is then moved by
the length the tokens before it gained or lost. A value with no changed token and no folded
character in it is the same characters in both texts, so its mask (a block and a range of the
text) is moved with it. The others (a value written with an entity, a zero-width character
inside it) are mapped as ``Normalized.span`` maps spans, as arrays. A mask that keeps nothing
(``redact``, ``hash``) is its block alone. The text a mask keeps is kept from the text as
written where it holds no changed token nor folded character (an e-mail's domain after a
zero-width character before its '@'), or where it starts with one token decoded to one
character and holds no other (an '@' written '%40' or '&#64;'): its block is then followed by
that character (one block per pair, listed after the others). The rest's masks (made from the
decoded text, as the span path makes them) are listed after the blocks. Where two values then
overlap (two values in one decoded token), None: the span path decides.

>>> from jupyter_guard.mask.normalize import normalize
>>> from jupyter_guard.mask.shapes import _np
>>> np = _np()
>>> norm = normalize("&amp; 123-45-6789 x&#64;y.com")
>>> found = (np.array([2, 14]), np.array([13, 21]), (np.array([0, 1]), np.array([9, 15]), ()))
>>> starts, ends, (block, tails, extra) = mapped("&amp; 123-45-6789 x&#64;y.com", norm, found)
>>> starts.tolist(), ends.tolist(), tails.tolist(), block.tolist(), extra
([6, 18], [17, 29], [13, 24], [0, 3], ('█████@',))
"""
from __future__ import annotations

import operator
from typing import Any

from . import merge
from .merge import BLOCKS
from .mixed import Values, stand_in
from .normalize import Normalized
from .shapes import _np


def mapped(text: str, norm: Normalized, found: Values) -> Values | None:
    """``found`` (values of ``norm.text``: starts, ends, masks) as values of ``text``, or None
    where two of them overlap there."""
    np = _np()
    starts, ends, (block, tails, extra) = found
    if not len(starts):  # (look-alikes only: no map needed)
        return found
    clean = np.ones(len(starts), dtype=bool)
    shift: Any = 0
    if norm.source:
        norm_at, orig_at = norm.arrays
        gain = np.diff(orig_at, append=len(norm.source)) - np.diff(norm_at, append=len(norm.text))
        changed = np.concatenate(([0], np.cumsum(gain != 0)))
        first = np.maximum(np.searchsorted(norm_at, starts, "right") - 1, 0)
        last = np.maximum(np.searchsorted(norm_at, ends, "left") - 1, 0)
        clean = changed[last + 1] == changed[first]  # no changed piece from first to last
        shift = (orig_at - norm_at)[first]
    x, y, tail = starts + shift, ends + shift, tails + shift
    folded = norm.source or norm.text  # one character for one with ``text``
    where = None
    if folded is not text:
        where = np.flatnonzero(_units(text) != _units(folded))
        clean &= np.searchsorted(where, x) == np.searchsorted(where, y)
    more: list[str] = []
    if not clean.all():
        block = block.copy()
        blocks = (*BLOCKS, *extra)
        odd = np.flatnonzero(~clean)
        x[odd], y[odd] = _spans(norm, starts[odd], ends[odd])
        tail[odd] = y[odd]
        odd = odd[tails[odd] < ends[odd]]  # (a mask that keeps nothing is its block alone)
        if norm.source:  # the text a mask keeps has no changed token in it: moved with it
            near = odd
            piece = np.maximum(np.searchsorted(norm_at, tails[near], "right") - 1, 0)
            kept = changed[last[near] + 1] == changed[piece]
            moved = (orig_at - norm_at)[piece] + tails[near]
            if where is not None:
                kept &= np.searchsorted(where, moved) == np.searchsorted(where, y[near])
            tail[near[kept]] = moved[kept]
            odd = np.setdiff1d(odd, near[kept], assume_unique=True)
            more = _led(norm, odd, ends, block, tails, tail, y, blocks, where)
            odd = odd[block[odd] < len(blocks)]
        head = len(blocks) + len(more)
        block[odd] = head + _masks_of(norm.text, odd, block, tails, ends, blocks, more)
    if len(x) > 1 and (x[1:] < y[:-1]).any():
        return None
    return x, y, (block, tail, (*extra, *more))


def _masks_of(text: str, odd: Any, block: Any, tails: Any, ends: Any, blocks: tuple[str, ...],
              more: list[str]) -> Any:
    """The masks of the values ``odd`` made from ``text`` (their block, then ``text[tail:end]``),
    each distinct one listed once at the end of ``more``; returns each value's number among
    those listed (a run of one pair repeated has one mask, not one string per value)."""
    np = _np()
    groups = merge.same_values(text, tails[odd], ends[odd])
    if groups is None:
        more += map(operator.add, map(blocks.__getitem__, block[odd].tolist()),
                    map(text.__getitem__, map(slice, tails[odd].tolist(), ends[odd].tolist())))
        return np.arange(len(odd))
    first, which = groups  # (one value of each kept text; a kept text's masks by block)
    pairs, number = np.unique(which * len(blocks) + block[odd], return_inverse=True)
    one = odd[first[pairs // len(blocks)]]
    more += map(operator.add, map(blocks.__getitem__, (pairs % len(blocks)).tolist()),
                map(text.__getitem__, map(slice, tails[one].tolist(), ends[one].tolist())))
    return number.reshape(-1)


def _led(norm: Normalized, odd: Any, ends: Any, block: Any, tails: Any, tail: Any, y: Any,
         blocks: tuple[str, ...], where: Any) -> list[str]:
    """Of the values ``odd`` (their masks keep text with a changed token in it), those whose
    kept text starts with a token decoded to one character and has no other changed token
    nor folded character (an e-mail written with '%40' or '&#64;' for its '@'): their mask
    becomes a new block (theirs and that character: one per pair, returned) and the text
    after the token as written (``block`` and ``tail`` are changed in place)."""
    np = _np()
    norm_at, orig_at = norm.arrays
    gain = np.diff(orig_at, append=len(norm.source)) - np.diff(norm_at, append=len(norm.text))
    changed = np.concatenate(([0], np.cumsum(gain != 0)))
    p = np.maximum(np.searchsorted(norm_at, tails[odd], "right") - 1, 0)
    after = np.minimum(p + 1, len(norm_at) - 1)
    last = np.maximum(np.searchsorted(norm_at, ends[odd], "left") - 1, 0)
    ok = ((p % 2 == 1) & (p + 1 < len(norm_at)) & (norm_at[p] == tails[odd])
          & (norm_at[after] - norm_at[p] == 1))
    ok &= changed[np.maximum(last, after) + 1] == changed[after]
    rest = orig_at[after]
    if where is not None:
        ok &= np.searchsorted(where, rest) == np.searchsorted(where, y[odd])
    if not ok.any():
        return []
    lead = odd[ok]
    code = _units(norm.text)[norm_at[p[ok]]].astype(np.int64)
    pairs, which = np.unique(block[lead].astype(np.int64) * (1 << 21) + code, return_inverse=True)
    block[lead] = len(blocks) + which.reshape(-1)
    tail[lead] = rest[ok]
    return [blocks[k >> 21] + chr(k & ((1 << 21) - 1)) for k in pairs.tolist()]


def _spans(norm: Normalized, a: Any, b: Any) -> tuple[Any, Any]:
    """``norm.span`` of each ``(a[k], b[k])``, as arrays: a start inside a decoded token moves
    to the token's start, an end inside one to its end."""
    np = _np()
    if not norm.source:
        return a, b
    norm_at, orig_at = norm.arrays
    norm_end = np.append(norm_at[1:], len(norm.text))
    orig_end = np.append(orig_at[1:], orig_at[-1] + len(norm.text) - norm_at[-1])
    same = orig_end - orig_at == norm_end - norm_at   # kept text, or a token left as it was
    i = np.maximum(np.searchsorted(norm_at, a, "right") - 1, 0)
    x = np.where(same[i], orig_at[i] + (a - norm_at[i]),
                 np.where(a < norm_end[i], orig_at[i], orig_end[i] + (a - norm_end[i])))
    j = np.maximum(np.searchsorted(norm_at, b, "left") - 1, 0)
    y = np.where(same[j], orig_at[j] + (b - norm_at[j]),
                 np.where(b <= norm_end[j], orig_end[j], orig_end[j] + (b - norm_end[j])))
    return x, y


def _units(text: str) -> Any:
    """One number per character of ``text`` (lone surrogates too)."""
    np = _np()
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


SPANS_MANY = 256
"""Fewer spans of decoded text are put back one by one (``Normalized.spans``); more are put
back as arrays (``from_spans``)."""


def from_spans(text: str, spans: list[tuple[int, int, str]], settings: Any) -> Values | None:
    """The values of ``text`` at ``spans`` (resolved: by start, not overlapping) with their
    masks (``masked``): for text dense with values of kinds that no numpy finder reads
    (key-like tokens, IP addresses joined by entities), no Python step per value."""
    np = _np()
    got = merge.arrays(spans, len(text))
    if got is None:
        return None
    each = list(zip(*spans))[2]  # (each span's kind, in C)
    names = list(dict.fromkeys(each))
    kinds = None  # (one kind: every value is the first's)
    if len(names) > 1:
        number = {n: k for k, n in enumerate(names)}
        kinds = np.fromiter(map(number.__getitem__, each), np.int64, count=len(spans))
    return masked(text, got[0], got[1], kinds, names, settings)


def from_raw(text: str, raw: list[tuple[int, int, str]], settings: Any) -> Values | None:
    """``from_spans`` of the spans ``raw`` before ``text.resolve`` (the scanner's and the
    known ones, in any order), resolved as arrays with the same rule (by start, the longest
    first, the earlier listed first; those starting inside a kept one dropped), or None for
    fewer than ``SPANS_MANY`` (or where ``from_spans`` declines): one transposition of the
    spans, no Python step per span."""
    np = _np()
    if len(raw) < SPANS_MANY:
        return None
    starts, ends = merge.column(raw, 0), merge.column(raw, 1)
    if (ends <= starts).any() or starts.min() < 0 or ends.max() > len(text):
        return None
    keep = merge.resolve(starts, ends, np.arange(len(raw)))
    names = list(dict.fromkeys(map(_NAME, raw)))
    kinds = None
    if len(names) > 1:
        number = {n: k for k, n in enumerate(names)}
        kinds = np.fromiter(map(number.__getitem__, map(_NAME, raw)), np.int64,
                            count=len(raw))[keep]
    return masked(text, starts[keep], ends[keep], kinds, names, settings)


_NAME = operator.itemgetter(2)


def masked(text: str, starts: Any, ends: Any, kinds: Any | None, names: list[str],
           settings: Any) -> Values | None:
    """The values of ``text`` at ``starts``/``ends`` (by start, not overlapping; ``kinds``
    numbers ``names``; None: all are the first's) with their masks, each as ``mask_value``
    masks it under its kind's strategy (``partial``: ``partial_value``, whatever the value),
    or None where a mask is not a block and one range (``merge.masks``). ``mapped`` then
    puts them on the text as written."""
    np = _np()
    raw = stand_in(text)
    if raw is None:
        return None
    plan = [settings.strategy_for(detector=n) for n in names]
    kinds = np.zeros(len(starts), dtype=np.int64) if kinds is None else kinds
    masks = merge.masks(np.frombuffer(raw, dtype=np.uint8), starts, ends, kinds, plan, text,
                        settings.salt)
    return None if masks is None else (starts, ends, masks)
