"""The compressed streams a socket sends to an allowed host, followed over its sends for the
exfiltration budget's count (``exit_socket._spend``): several at once per socket, each send
offered to each (``exit_inflate.Inflating``)."""
from __future__ import annotations

import weakref
from typing import Any

from jupyter_guard.hooks import exit_budget, exit_inflate

TAIL = 256   # inflated bytes remembered per stream (``exit_socket.TAIL``)

# socket -> the compressed streams it is sending (``exit_inflate.Inflating``), until their ends
_streams: weakref.WeakKeyDictionary[Any, list[exit_inflate.Inflating]] = \
    weakref.WeakKeyDictionary()
LIVE = 8
"""Streams followed at once per socket (the least recently fed is dropped past it)."""
MISSES = 64
"""Sends in a row a stream may not go on in before it is dropped."""


def inflated(rt: Any, sock: Any, chunk: bytes, how: str, prev: bytes = b"") -> None:
    """Count the values the compressed streams sent to an allowed host hold, as each send
    inflates (gzip, zlib, raw deflate, bz2, xz, zip members: a ``Content-Encoding`` body,
    ``gzip.compress`` bytes on a socket, a stream after plain bytes; ``prev``, the socket's last
    bytes, may hold its header's start). Several at once: each send is offered to every stream
    under way (one that errors on it keeps its state: interleaved streams), then looked at for
    new ones, and so is what follows a stream's end. At most ``exit_inflate.STREAM_MAX`` bytes
    inflated per stream, past that the send is refused."""
    try:
        live = _streams.get(sock) or []
    except TypeError:   # not weak-referenceable: read on this send alone
        live = []
    outs: list[tuple[exit_inflate.Inflating, bytes]] = []
    took: list[exit_inflate.Inflating] = []
    missed: list[exit_inflate.Inflating] = []
    shadows: list[exit_inflate.Inflating] = []   # streams as they were before a send they took
    try:
        for state in live:
            was = state.copy()   # kept too when the send turns out to be taken twice
            out = state.offer(chunk)
            if out is None:
                state.misses += 1
                missed.append(state)
                continue
            outs.append((state, out))
            if was is not None:
                was.misses += 1
                shadows.append(was)
            if state.done:
                if rest := state.rest:   # back to back: another stream may follow
                    outs += exit_inflate.Inflating.found(rest, 2)
            else:
                took.append(state)
        new = exit_inflate.Inflating.found(chunk)
        new += exit_inflate.Inflating.joined(prev, chunk)
    except exit_inflate.TooLarge:
        forget(sock)
        exit_budget.refuse_unread(rt.guard, rt, how, exit_inflate.STREAM_MAX)
        return
    outs += new
    new_live = [s for s, _ in new if not s.done]
    if len(outs) - len(new) + len(new_live) > 1:   # read two ways: each kept, and without it
        missed += shadows
    for state in took:
        state.misses = 0
    kept = sorted(took + [s for s in new_live if not s.guess] + [
        s for s in missed if s.misses < MISSES], key=lambda s: s.misses) + \
        [s for s in new_live if s.guess]
    for state, out in outs:
        before, state.tail = state.tail, (state.tail + out)[-TAIL:]
        if out:
            exit_budget.spend_new(rt.guard, rt, before, before + out, how)
    forget(sock)
    if kept:
        try:
            _streams[sock] = kept[:LIVE]
        except TypeError:
            pass


def forget(sock: Any) -> None:
    try:
        _streams.pop(sock, None)
    except TypeError:
        pass
