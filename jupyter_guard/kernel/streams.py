"""Masked ``sys.stdout``/``sys.stderr``: whole lines are masked as they are written, a partial line
is held back in a bounded window (a value may go on in the next write).

The window keeps the cost linear whatever the writes look like (1 MB in 1 KB pieces without a
newline, one character at a time with ``flush=True``): a partial line longer than ``WINDOW``
goes out up to ``HOLD`` characters from its end, cut outside any value detected there; a
``flush`` emits all but the last ``HOLD`` characters; the end of a cell emits everything.
"""
from __future__ import annotations

import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

from jupyter_guard.hooks import exit_streams
from jupyter_guard.hooks.digit_lines import Order, Tail
from jupyter_guard.hooks.shown_order import MixedOrder
from jupyter_guard.kernel.encoded_runs import Carry, shown
from jupyter_guard.kernel.replies import call_trusted
from jupyter_guard.mask.mixed import Values, mask_upto
from jupyter_guard.mask.text import MaskSettings, dense_values, find_spans, mask_spans, mask_text

if TYPE_CHECKING:
    from jupyter_guard.kernel.display import Masker

HOLD = 256
"""Characters of a partial line held back (a value may go on in the next write)."""
WINDOW = 65536
"""A partial line longer than this is emitted (masked) up to ``HOLD`` characters from its end,
cut outside any value detected there: the stream masker holds at most this much, so every
character is scanned a bounded number of times whatever the writes look like. Each emitted
piece pays a fixed cost (the encoded-run passes, a chunked scan): 1 MB written in 1 KB pieces
cost 32 ms of CPU with 4096, 19 ms with 16384; in process, 6.8-7.1 ms with 16384 and
5.7-5.9 with this (1 MB masked at once: 4.6). (A 10 KB line written in 5-character pieces after
a cell that ended with a flush once showed nothing: the encoded-run state of that cell was
carried over, and the new run taken for the rest of a run already masked. ``drain`` ends it.)"""
BLOCK = 1 << 20
"""A longer write is masked as if written in pieces of this size: every pass then reads text
still in the processor's cache (``print`` of 50 MB at once: ~10 ms a MB, against ~7 in blocks)."""


class Held:
    """A stream's held partial line (the writes since the last emitted piece, joined only when
    something is emitted: no copy of the window per small write) and its encoded-run state."""

    def __init__(self, order: Order | None = None) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.runs = Carry()   # base64/hex runs cut between two pieces
        # one-digit lines, read joined (``print(*ssn, sep='\n')``); ``order``: those of the
        # masker's other stream with them, in the order written (``digit_lines.Order``)
        self.tail = Tail(order)

    def _take(self) -> str:
        text = self.parts[0] if len(self.parts) == 1 else "".join(self.parts)
        self.parts, self.size = [], 0
        return text

    def _hold(self, text: str) -> None:
        self.parts, self.size = ([text], len(text)) if text else ([], 0)

    def write(self, s: str, settings: MaskSettings) -> list[str]:
        """The masked pieces to emit for the write ``s``."""
        if not settings.active:
            return [self._take() + s]
        if self.size + len(s) <= WINDOW and "\n" not in s and "\r" not in s:
            self.parts.append(s)   # (``_split`` would emit nothing: a partial line, held)
            self.size += len(s)
            return []
        out = []
        for i in range(0, len(s), BLOCK) if len(s) > BLOCK else (0,):
            emit, rest = _split(self._take() + (s[i:i + BLOCK] if len(s) > BLOCK else s),
                                settings, WINDOW)
            self._hold(rest)
            if emit:
                out.append(self.tail.take(self.runs.mask(emit, settings, bool(rest))))
        return [o for o in out if o]

    def flush(self, settings: MaskSettings) -> str:
        """What a flush emits: all but the last ``HOLD`` characters, cut outside any value
        (masking off: all of it)."""
        if not settings.active:
            return self._take()
        if self.size <= HOLD:
            return ""
        emit, rest = _split(self._take(), settings, HOLD)
        self._hold(rest)
        return self.tail.take(self.runs.mask(emit, settings, True)) if emit else emit

    def drain(self, settings: MaskSettings) -> str:
        """Everything held, masked; the cell is over, so an encoded run left open ends here (a
        run the next cell writes is judged, and shown, on its own)."""
        text, (runs, self.runs) = self._take(), (self.runs, Carry())
        return self.tail.take(runs.mask(mask_text(text, settings), settings, False)
                              if text else text, end=True)


_ORDERS: weakref.WeakKeyDictionary[Any, Order] = weakref.WeakKeyDictionary()


def order_of(masker: Masker) -> Order:
    """The one order of ``masker``'s streams (its stdout and stderr read together)."""
    order = _ORDERS.get(masker)
    if order is None:
        order = _ORDERS[masker] = MixedOrder()
    return order


class _StreamState:
    """Per-stream masking state: the held partial line and any wrapper assigned over us."""

    def __init__(self, masker: Masker) -> None:
        self.masker, self.held, self.inner = masker, Held(order_of(masker)), None
        self.bound: Any = None   # the stream's masked ``write``, bound (``get_write``)
        # masking was on when a write last asked: a partial line is then held without asking
        # again (asking cost more than holding it); off, every write asks (and passes through)
        self.masking = False
        self.lock = threading.RLock()


_CLASSES: dict[type, type] = {}


def _masked_class(base: type) -> type:
    """A subclass of the stream's class whose ``write`` masks, line-buffered.

    ``write`` is a property: IPython's history tee assigns ``stream.write`` around each cell and
    puts back what it found; assigning the unmasked method back is caught and ignored, so
    masking survives (``isinstance`` checks on the stream's class still hold).
    """
    if base in _CLASSES:
        return _CLASSES[base]
    base_write, base_flush = base.write, base.flush  # type: ignore[attr-defined]  # any text stream class

    def masked_write(self: Any, s: Any) -> Any:
        st: _StreamState | None = self.__dict__.get("_jg_mask")
        if st is None or not isinstance(s, str):
            return base_write(self, s)
        with st.lock:
            held = st.held
            if st.masking and held.size + len(s) <= WINDOW and "\n" not in s \
                    and "\r" not in s:
                held.parts.append(s)   # a partial line, held: nothing is emitted, so no
                held.size += len(s)    # settings are asked for (what emits it asks)
                return len(s)
            settings = st.masker.settings()
            st.masking = settings.active
            for out in held.write(s, settings):
                base_write(self, out)
        return len(s)

    def get_write(self: Any) -> Any:
        st = self.__dict__.get("_jg_mask")
        if st is None:
            return masked_write.__get__(self)
        if st.inner is not None:
            return st.inner
        bound = st.bound   # one bound method per stream, not one per ``stream.write`` lookup
        if bound is None:
            bound = st.bound = masked_write.__get__(self)
        return bound

    def set_write(self: Any, fn: Any) -> None:
        st = self.__dict__.get("_jg_mask")
        func = getattr(fn, "__func__", None)
        if st is None:
            self.__dict__["write"] = fn
        elif getattr(fn, "__self__", None) is self and func in (base_write, masked_write):
            st.inner = None  # someone restoring the plain method: keep masking
        else:
            st.inner = fn  # a wrapper (e.g. the history tee) that calls what it found: us

    def flush(self: Any) -> Any:
        """Emit what cannot be part of a value still being written (``print(c, flush=True)``
        one character at a time shows with a delay of ``HOLD`` characters, masked whole)."""
        st: _StreamState | None = self.__dict__.get("_jg_mask")
        if st is not None and st.held.size:
            with st.lock:
                settings = st.masker.settings()   # (off since the line began: all of it goes)
                st.masking = settings.active
                out = st.held.flush(settings)
                if out:
                    base_write(self, out)
        return base_flush(self)

    def drain(self: Any) -> None:
        """Emit everything held (the cell is over: nothing more of a value is coming). The
        kernel flushes ``sys.stdout`` and ``sys.stderr`` after every cell, before its reply: a
        stream still in place is sent then (a flush here too would make the cell wait once
        more for the I/O thread); one a cell put aside is flushed now."""
        st: _StreamState | None = self.__dict__.get("_jg_mask")
        if st is None:
            return
        with st.lock:
            out = st.held.drain(st.masker.settings())
            if out:
                base_write(self, out)
        if out and sys.stdout is not self and sys.stderr is not self:
            base_flush(self)

    members = {"write": property(get_write, set_write), "flush": flush, "_jg_drain": drain,
               "__module__": base.__module__}
    base_send = getattr(base, "_flush", None)
    if callable(base_send):  # ipykernel's OutStream sends what ``write`` masked from here
        def _flush(self: Any) -> Any:
            return call_trusted(base_send, self)
        members["_flush"] = _flush
    cls = type(base.__name__, (base,), members)
    _CLASSES[base] = cls
    return cls


class MaskedStream:
    """Switches one stream object to its masked class; ``restore`` switches it back."""

    def __init__(self, stream: Any, masker: Masker) -> None:
        self.stream, self.base = stream, type(stream)
        stream.__dict__.pop("write", None)  # a tee of the running cell: it restores over us
        stream.__dict__["_jg_mask"] = _StreamState(masker)
        stream.__class__ = _masked_class(self.base)
        self.echo = stream.__dict__.get("_original_stdstream_copy")
        if type(self.echo) is int:  # ipykernel copies captured output there raw: mask it too
            exit_streams.ECHOES[self.echo] = _echo_masker(masker)

    def drain(self) -> None:
        self.stream._jg_drain()

    def restore(self) -> None:
        self.drain()
        if type(self.echo) is int:
            exit_streams.ECHOES.pop(self.echo, None)
        self.stream.__class__ = self.base
        self.stream.__dict__.pop("_jg_mask", None)
        self.stream.__dict__.pop("write", None)


def _echo_masker(masker: Masker) -> Any:
    def mask(data: Any) -> Any:
        try:
            text = bytes(data).decode("utf-8", "replace")
        except TypeError:  # not a buffer: os.write raises on it
            return data
        masked = shown(text, masker.settings())
        return data if masked == text else masked.encode("utf-8")
    return mask


class _MaskingProxy:
    """Stands in for a stream whose class cannot be switched: masks like the masked class,
    forwards the rest."""

    def __init__(self, inner: Any, masker: Masker) -> None:
        self._inner, self._masker, self._held = inner, masker, Held(order_of(masker))

    def write(self, s: Any) -> int:
        if not isinstance(s, str):
            return int(self._inner.write(s))
        for out in self._held.write(s, self._masker.settings()):
            self._inner.write(out)
        return len(s)

    def flush(self) -> None:
        out = self._held.flush(self._masker.settings())
        if out:
            self._inner.write(out)
        self._inner.flush()

    def drain(self) -> None:
        out = self._held.drain(self._masker.settings())
        if out:
            self._inner.write(out)
            self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class SwappedStream:
    def __init__(self, name: str, masker: Masker) -> None:
        self.name, self.orig = name, getattr(sys, name)
        setattr(sys, name, _MaskingProxy(self.orig, masker))

    def drain(self) -> None:
        current = getattr(sys, self.name)
        if isinstance(current, _MaskingProxy):
            current.drain()

    def restore(self) -> None:
        current = getattr(sys, self.name)
        if isinstance(current, _MaskingProxy):
            current.drain()
            setattr(sys, self.name, self.orig)


def _split(text: str, settings: MaskSettings, limit: int) -> tuple[str, str]:
    """``(masked text to emit, raw text to hold)``: whole lines go out; of a partial line longer
    than ``limit``, all but the last ``HOLD`` characters, cut outside any detected value.

    What goes out is scanned once, with what is held (so a value crossing the cut is seen
    whole); the held part is at most ``limit`` long, so each character is scanned a bounded
    number of times over all writes.
    """
    cut = max(text.rfind("\n"), text.rfind("\r")) + 1
    if len(text) - cut <= limit:
        return (mask_text(text[:cut], settings) if cut else ""), text[cut:]
    found = dense_values(text, settings)  # a long line dense with values: arrays, in numpy
    if found is not None:
        return _split_dense(text, found, limit)
    spans = find_spans(text, settings)
    cut = len(text) - HOLD
    for a, b, _ in spans:
        if a < cut < b:  # never split a value: hold it whole, or (held too long) emit it whole
            cut = a if cut - a <= limit - HOLD else b
            break
    return mask_spans(text, spans, settings, cut), text[cut:]


def _split_dense(text: str, found: Values, limit: int) -> tuple[str, str]:
    """``_split`` of a long partial line from the arrays of its values (the same cut)."""
    starts, ends, _ = found
    cut = len(text) - HOLD
    k = int(ends.searchsorted(cut, side="right"))  # the first value that ends past the cut
    if k < len(starts) and starts[k] < cut:  # it holds the cut: never split a value
        a, b = int(starts[k]), int(ends[k])
        cut = a if cut - a <= limit - HOLD else b
    return mask_upto(text, found, cut), text[cut:]
