"""The last net on the wire: messages the kernel sends that no display hook sees, masked.

IPython's display and stream hooks mask what is printed and displayed. Other messages carry
values too: the ``execute_reply`` of a failed cell (``ename``/``evalue``/``traceback``) and its
payloads (``%page``, ``set_next_input``), Shift+Tab inspection (``inspect_reply``), completion
(``complete_reply``), ``input()`` prompts (``input_request``), widget state (``comm_open``,
``comm_msg``), the metadata of displays, the echo of the code, made-up message types (their
name too) and content a cell hands over already packed (``bytes`` or JSON text, which the
session sends unread: unpacked, masked, packed again). ``install`` wraps the kernel's
``Session.send`` so that every string in those messages goes through the same detectors.
Streams and display data are masked before they get here and are not scanned twice.
"""
from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

from jupyter_guard.kernel.encoded_runs import shown
from jupyter_guard.kernel.wire_frames import FrameNet, from_session
from jupyter_guard.mask.text import MaskSettings

SCANNED = frozenset({"execute_reply", "inspect_reply", "complete_reply", "input_request",
                     "comm_open", "comm_msg", "error", "history_reply"})
"""Message types known to carry values; every other type but ``OWN`` is masked whole too."""
DISPLAYS = frozenset({"display_data", "execute_result", "update_display_data"})
"""Display messages: their data was masked when published; metadata is masked here."""
STREAMS = frozenset({"stream"})
"""Stream text is masked as it is written to ``sys.stdout``/``sys.stderr``."""
OWN = frozenset({"status"})
"""Messages left as they are when the kernel made them: its state and nothing else. (The echo
of the code, ``execute_input``, is masked like any message: a cell can send one with a made-up
request beside it, so "the code of the request it answers" proves nothing.)"""
STATES = frozenset({"busy", "idle", "starting", "restarting", "dead"})
WIRED = SCANNED | DISPLAYS | STREAMS
"""The message types ``WireNet`` knows; any other but ``OWN`` (``comm_close``,
``clear_output``, ``debug_reply``, a type a cell made up) is masked whole, metadata too."""

_TRUST = threading.local()


def call_trusted(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` as one of the paths that mask before sending (the stream's flush, the display
    publisher, the displayhook): displays and streams it sends are not scanned twice. A stream
    or display message sent any other way (``kernel.session.send(iopub, 'stream', ...)`` from a
    cell) is masked whole here."""
    before = getattr(_TRUST, "on", False)
    _TRUST.on = True
    try:
        return fn(*args, **kwargs)
    finally:
        _TRUST.on = before


BINARY_MIMES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
"""Base64 of binary pictures: masking would break them, so they pass as they are, but only
when they are pictures (``_picture``): any other text under such a key is masked as text."""
_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
          "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",), "image/bmp": (b"BM",)}


def _picture(mime: str, value: Any, settings: MaskSettings) -> bool:
    """Whether ``value`` (under ``mime``) is base64 of a picture of that kind that holds no
    value a detector or the known values find in its bytes read as Latin-1 (a picture's data
    is compressed: text in it is there to be read). ``display({'image/png': ssn}, raw=True)``,
    ``Image(data=text.encode(), format='png')``, a dict of metadata under an image key: not
    pictures, masked as text."""
    if not isinstance(value, str):
        return False
    try:
        raw = base64.b64decode(value, validate=False)
    except (ValueError, TypeError):
        return False
    if not raw.startswith(_MAGIC.get(mime, (b"\x00\x00\x00\x00\x00",))):
        return False
    text = raw.decode("latin-1")
    return shown(text, settings) == text


class _Memo:
    """``shown`` of short strings, remembered while the settings and the known values stay the
    same. The strings of a message are mostly the protocol's own and the session's constants
    (keys, ``status: ok``, the kernel's engine id, the client's session and user name): each
    cost 20-80 µs to scan, ~1 ms a cell for the reply's content, metadata and parent header.
    Every string is still masked; one seen before under the same settings and known values is
    masked as it was then (``shown`` depends on nothing else)."""

    LONGEST = 256
    SIZE = 4096

    def __init__(self) -> None:
        self.state: tuple[Any, ...] = ()
        self.memo: dict[str, str] = {}
        self.known: Any = None   # (``hooks.exits``, ``mask.text.KNOWN``), imported once

    def table(self, settings: MaskSettings) -> dict[str, str]:
        """The memo for ``settings`` and the known values as they are now (a fresh one when
        either changed: a thread still holding the old one fills that one)."""
        if self.known is None:
            from jupyter_guard.hooks import exits
            from jupyter_guard.mask.text import KNOWN

            self.known = (exits, KNOWN)
        exits, finders = self.known
        # what the known-value finders find changes only with these (``exits.remember`` adds
        # values, a removal bumps ``resets``; ``KNOWN`` lists the finders)
        state = (id(settings), settings, len(exits.known), exits.known.resets, len(finders))
        memo = self.memo
        if state != self.state or len(memo) >= self.SIZE:
            memo = self.memo = {}
            self.state = state
        return memo


_MEMO = _Memo()


def _shown(text: str, settings: MaskSettings, memo: dict[str, str]) -> str:
    if len(text) > _Memo.LONGEST:
        return shown(text, settings)
    out = memo.get(text)
    if out is None:
        out = memo[text] = shown(text, settings)
    return out


def mask_bundle(data: Any, settings: MaskSettings) -> Any:
    """Mask every string inside a mime bundle or JSON value (bytes and pictures are left alone)."""
    return _bundle(data, settings, _MEMO.table(settings))


def _bundle(data: Any, settings: MaskSettings, memo: dict[str, str]) -> Any:
    if isinstance(data, str):
        return _shown(data, settings, memo)   # values masked, and base64/hex runs that hide some
    if isinstance(data, dict):   # keys too: ``{email: 1}`` as JSON or widget state
        return {_shown(k, settings, memo) if isinstance(k, str) else k:
                v if k in BINARY_MIMES and _picture(k, v, settings) else _bundle(v, settings, memo)
                for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_bundle(v, settings, memo) for v in data)
    return data


def mask_buffers(buffers: Any, settings: MaskSettings) -> Any:
    """The binary buffers of a message (comm and widget state: ``Image(value=...)``, a comm's
    ``send(buffers=...)``): one holding a value masking would hide is sent masked, as UTF-8
    text; the others (pictures, arrays of numbers) as they are."""
    if not settings.active:
        return buffers
    out = []
    for buf in buffers:
        try:
            raw = bytes(memoryview(buf))
        except TypeError:   # not bytes-like: Session.send refuses it itself
            out.append(buf)
            continue
        text = raw.decode("latin-1")
        masked = shown(text, settings)
        out.append(buf if masked == text else masked.encode("utf-8"))
    return out


def _own(msg_type: str, content: Any, parent: Any) -> bool:
    """Whether a ``status`` is the kernel's own: a state and nothing else."""
    if not isinstance(content, dict) or msg_type != "status":
        return False
    return set(content) <= {"execution_state"} and content.get("execution_state") in STATES


def unpacked(content: Any) -> tuple[Any, bool]:
    """Content a cell handed ``Session.send`` already packed (``bytes``, or text: the session
    sends either as it is, unread), as the value its JSON packs (text that is no JSON: the
    text), and whether it came packed (then it is packed again, as JSON, after masking)."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        content = bytes(content).decode("utf-8", "surrogateescape")
    if not isinstance(content, str):
        return content, False
    try:
        return json.loads(content), True
    except ValueError:
        return content, True


def repacked(content: Any, packed: bool) -> Any:
    """``content`` as ``Session.send`` takes it: a dict, or the JSON text of any other value
    that came packed (text that was no JSON leaves as a JSON string a client can read)."""
    if not packed or isinstance(content, dict):
        return content
    return json.dumps(content, ensure_ascii=False)


def mask_message(msg_type: str, content: Any, metadata: Any,
                 settings: MaskSettings, parent: Any = None) -> tuple[Any, Any]:
    """``(content, metadata)`` of one outgoing message, masked as its type needs (``parent``:
    the request it answers)."""
    if not settings.active:
        return content, metadata
    content, packed = unpacked(content)
    if packed or not isinstance(content, dict):   # handed packed: read as the value it packs
        return repacked(mask_bundle(content, settings), packed), mask_bundle(metadata, settings)
    if msg_type in OWN and _own(msg_type, content, parent):
        return content, metadata
    if msg_type not in STREAMS and msg_type not in DISPLAYS:  # comm metadata, made-up types
        return mask_bundle(content, settings), mask_bundle(metadata, settings)
    if msg_type in STREAMS or msg_type in DISPLAYS:
        if not getattr(_TRUST, "on", False):  # not from a path that masked it: all of it
            return mask_bundle(content, settings), mask_bundle(metadata, settings)
        if msg_type in STREAMS:
            return content, metadata
    if msg_type in DISPLAYS:
        if isinstance(content, dict) and (content.get("metadata") or content.get("transient")):
            content = {**content, **{k: mask_bundle(content[k], settings)
                                     for k in ("metadata", "transient") if content.get(k)}}
        return content, mask_bundle(metadata, settings)
    return content, metadata


class _Parents:
    """Parent headers masked, the last one remembered: every message of a cell shares one
    parent (the request), so it is masked once. The request header a client sent is masked
    too: a made-up parent may carry values."""

    def __init__(self) -> None:
        self.last: tuple[Any, Any, Any] = (None, None, None)

    def mask(self, parent: Any, settings: MaskSettings) -> Any:
        if not isinstance(parent, dict) or not settings.active:
            return parent
        seen, was, masked = self.last
        if seen is parent and was == parent:
            return masked
        head = parent.get("header", parent)   # a whole request, or its header (Session.msg)
        new = mask_bundle(head, settings)
        masked = parent if new == head else {**parent, "header": new} if head is not parent \
            else new
        self.last = (parent, dict(parent), masked)
        return masked


class WireNet:
    """``Session.send`` of one kernel, wrapped; ``ensure`` wraps it again if user code put the
    original back (checked after every cell: one attribute lookup)."""

    def __init__(self, session: Any, get_settings: Callable[[], MaskSettings],
                 kernel: Any = None) -> None:
        self.session, self.get_settings = session, get_settings
        self.original = session.send
        self.send = self._make()
        session.send = self.send
        self.frames = None if kernel is None else FrameNet(
            kernel, session, self.settings, (mask_message, mask_bundle, mask_buffers))

    def settings(self) -> MaskSettings:
        try:
            return self.get_settings()
        except Exception:  # noqa: BLE001 - a broken settings source must not send raw values: default masking
            return MaskSettings()

    def _make(self) -> Callable[..., Any]:
        original, settings, heads = self.original, self.settings, _Parents()

        def send(stream: Any, msg_or_type: Any, content: Any = None, *args: Any,
                 **kwargs: Any) -> Any:
            now = settings()
            if isinstance(msg_or_type, dict):
                kind = msg_or_type.get("header", {}).get("msg_type", "")
                body, meta = mask_message(kind, msg_or_type.get("content"),
                                          msg_or_type.get("metadata"), now,
                                          msg_or_type.get("parent_header"))
                msg_or_type = {**msg_or_type, "content": body, "metadata": meta,
                               "header": mask_bundle(msg_or_type.get("header"), now),
                               "parent_header": heads.mask(msg_or_type.get("parent_header"),
                                                           now)}
                if msg_or_type.get("buffers"):
                    msg_or_type["buffers"] = mask_buffers(msg_or_type["buffers"], now)
            elif isinstance(msg_or_type, str):
                msg_or_type = _shown(msg_or_type, now, _MEMO.table(now))   # a made-up type
                parent = kwargs.get("parent", args[0] if args else None)
                content, meta = mask_message(msg_or_type, content, kwargs.get("metadata"),
                                             now, parent)
                if kwargs.get("metadata") is not None:
                    kwargs["metadata"] = meta
                if "parent" in kwargs:
                    kwargs["parent"] = heads.mask(parent, now)
                elif args:
                    args = (heads.mask(parent, now), *args[1:])
            if kwargs.get("header"):   # (the kernel never passes one: the session makes it)
                kwargs["header"] = mask_bundle(kwargs["header"], now)
            if kwargs.get("buffers"):
                kwargs["buffers"] = mask_buffers(kwargs["buffers"], now)
            elif len(args) > 2 and args[2]:   # (parent, ident, buffers) given by position
                args = (*args[:2], mask_buffers(args[2], now), *args[3:])
            with from_session():   # the frames it makes are masked: the socket passes them
                return original(stream, msg_or_type, content, *args, **kwargs)

        send.__wrapped__ = original  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
        return send

    def ensure(self) -> None:
        if self.session.__dict__.get("send") is not self.send:
            self.session.send = self.send
        if self.frames is not None:
            self.frames.ensure()

    def restore(self) -> None:
        if self.session.__dict__.get("send") is self.send:
            del self.session.send
        if self.frames is not None:
            self.frames.restore()


def install(session: Any, get_settings: Callable[[], MaskSettings],
            kernel: Any = None) -> WireNet:
    """Wrap ``session.send`` so that every message listed above leaves masked (and, given the
    ``kernel``, the frames a cell hands its IOPub socket: ``wire_frames``)."""
    return WireNet(session, get_settings, kernel)
