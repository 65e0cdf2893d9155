"""Frames put on the kernel's IOPub socket past ``Session.send``, masked.

``replies.WireNet`` masks what ``Session.send`` sends. A cell can build the frames itself and
hand them to the socket: ``kernel.iopub_socket.send_multipart(session.serialize(msg))`` (the
session's key is in the kernel, so the message is signed and a frontend accepts it). The
``send_multipart`` of the kernel's IOPub thread (which ``iopub_socket`` sends through) is
wrapped here: frames that do not come from the wrapped ``Session.send`` are unpacked, masked like a
message a cell made up (content, metadata, headers, buffers) and signed again; frames that are
no message are masked as text. What ``Session.send`` itself sends passes untouched (one
thread-local test).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

DELIM = b"<IDS|MSG>"
_SENDING = threading.local()


@contextmanager
def from_session() -> Iterator[None]:
    """Frames sent within come from the wrapped ``Session.send`` (already masked)."""
    before = getattr(_SENDING, "on", False)
    _SENDING.on = True
    try:
        yield
    finally:
        _SENDING.on = before


class FrameNet:
    """The ``send_multipart`` of a kernel's IOPub thread, wrapped; ``ensure`` wraps again."""

    def __init__(self, kernel: Any, session: Any, get_settings: Callable[[], Any],
                 masks: Any) -> None:
        """``masks``: ``replies``' ``mask_message``, ``mask_bundle`` and ``mask_buffers``
        (given, as ``replies`` imports this module)."""
        self.session, self.get_settings, self.masks = session, get_settings, masks
        self.wrapped: list[tuple[Any, Any, Any]] = []   # (object, original, wrapper)
        # (``iopub_socket.send_multipart`` is the thread's; setting an attribute on the
        # socket object would set it on the zmq socket below, which the thread calls)
        thread: Any = getattr(kernel, "iopub_thread", None)
        original = getattr(thread, "send_multipart", None)
        if original is not None:
            wrapper = self._make(original)
            thread.send_multipart = wrapper
            self.wrapped.append((thread, original, wrapper))

    def _make(self, original: Any) -> Callable[..., Any]:
        def send_multipart(parts: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(_SENDING, "on", False):
                return original(parts, *args, **kwargs)
            masked = self.masked(parts)
            with from_session():
                return original(masked, *args, **kwargs)
        return send_multipart

    def masked(self, parts: Any) -> list[bytes]:
        """``parts`` as a message a cell made up is sent: masked, and signed again."""
        mask_message, mask_bundle, mask_buffers = self.masks
        settings = self.get_settings()
        frames = [bytes(getattr(p, "bytes", p)) for p in parts]
        if not settings.active:
            return frames
        if DELIM not in frames or len(frames) - frames.index(DELIM) < 6:
            return list(mask_buffers(frames, settings))   # no message: its bytes as text
        at = frames.index(DELIM)
        head, parent, meta, content = (self.session.unpack(f) for f in frames[at + 2:at + 6])
        kind = head.get("msg_type", "") if isinstance(head, dict) else ""
        content, meta = mask_message(kind, content, meta, settings, parent)
        packed = [self.session.pack(x) for x in (mask_bundle(head, settings),
                                                 mask_bundle(parent, settings), meta, content)]
        return [*frames[:at], DELIM, self.session.sign(packed), *packed,
                *mask_buffers(frames[at + 6:], settings)]

    def ensure(self) -> None:
        for obj, _, wrapper in self.wrapped:
            if obj.__dict__.get("send_multipart") is not wrapper:
                obj.send_multipart = wrapper

    def restore(self) -> None:
        for obj, _, wrapper in self.wrapped:
            if obj.__dict__.get("send_multipart") is wrapper:
                del obj.send_multipart
        self.wrapped = []
