"""Every message a cell's output sends, judged as one joined stream (``hooks.shown_pieces``).

``install`` wraps the kernel's ``Session.send`` below ``replies.WireNet`` (which masks values
whole first): whatever API made a message (``print``, ``display``, ``publish_display_data``,
``update_display``, ``warnings``, the displayhook, an error), its texts are read here in the
order sent. A message whose pieces may begin a known value is held, with every output message
after it, until the run can no longer become one (a longer text, other pieces), ``HOLD``
messages are held, or the cell ends (its reply, its ``idle`` status, an ``input()`` prompt):
then they leave in order, those spelling a known value masked whole. A run begins with the
``busy`` status of each ``execute_request``: the output of every parent is read in it (a cell
that gives its prints other parents splits nothing). Nothing is judged until a value is known,
nor with masking off.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.shown_pieces import Run, message_views
from jupyter_guard.mask.strategy import BLOCK
from jupyter_guard.mask.text import MaskSettings

JUDGED = frozenset({"stream", "display_data", "update_display_data", "execute_result",
                    "error"})
"""Output messages read as pieces."""
ORDERED = frozenset({"clear_output", "comm_msg", "comm_open", "comm_close"})
"""Output messages with no text read here: held in their place while others are held."""
HOLD = 128
"""Messages held at most; past it the oldest leave (masked if found), ``KEEP`` stay."""
KEEP = 96
"""Messages kept held past ``HOLD`` (a value of ``shown_pieces.LONGEST`` characters at one a
message, every other one: its first piece is among them)."""


def _masked(kind: str, content: Any) -> Any:
    """``content`` of one output message with every text the mask."""
    if not isinstance(content, dict):
        return content
    out = dict(content)
    if kind == "stream":
        text = out.get("text")
        out["text"] = BLOCK + ("\n" if isinstance(text, str) and text.endswith("\n") else "")
    elif kind == "error":
        out.update(evalue=BLOCK, traceback=[BLOCK])
    else:
        data = out.get("data")
        if isinstance(data, dict):
            out["data"] = {m: v if m.startswith("image/") else BLOCK for m, v in data.items()}
        out["metadata"] = {}
        if isinstance(out.get("transient"), dict):   # (its display id stays: updates find it)
            out["transient"] = {k: v for k, v in out["transient"].items() if k == "display_id"}
    return out


class _Held:
    __slots__ = ("call", "masked", "number")

    def __init__(self, number: int, call: tuple[Any, ...]) -> None:
        self.number, self.call, self.masked = number, call, False


class SentPieces:
    """``Session.send`` of one kernel, reading output messages as one stream per cell."""

    def __init__(self, session: Any, get_settings: Callable[[], MaskSettings]) -> None:
        self.session, self.get_settings = session, get_settings
        self.original = session.send
        self.lock = threading.RLock()
        self.run = Run()
        self.held: list[_Held] = []
        self.number = 0
        self.cell: Any = None   # the execute request whose output ``run`` reads
        self.send = self._make()
        session.send = self.send

    def _settings_active(self) -> bool:
        try:
            return bool(self.get_settings().active)
        except Exception:  # noqa: BLE001 - a broken settings source: judge (never less masking)
            return True

    def _make(self) -> Callable[..., Any]:
        def send(stream: Any, msg_or_type: Any, content: Any = None, *args: Any,
                 **kwargs: Any) -> Any:
            kind, body, meta = _parts(msg_or_type, content, kwargs)
            with self.lock:
                if kind in JUDGED and exits.known and self._settings_active():
                    return self._judge(kind, body, meta, (stream, msg_or_type, content, args,
                                                          kwargs))
                if kind in ORDERED and self.held:
                    self.number += 1
                    self.held.append(_Held(self.number, (stream, msg_or_type, content, args,
                                                         kwargs)))
                    return None
                self.release()
                if kind == "status":   # a cell begins: a new run (output of any parent is one)
                    cell = _request(msg_or_type, args, kwargs)
                    if cell is not None and cell != self.cell:
                        self.run, self.cell = Run(), cell
                return self.original(stream, msg_or_type, content, *args, **kwargs)

        send.__wrapped__ = self.original  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
        return send

    def _judge(self, kind: str, body: Any, meta: Any, call: tuple[Any, ...]) -> Any:
        self.number += 1
        entry = _Held(self.number, call)
        try:
            hit, live = self.run.read(message_views(kind, body, meta), entry.number)
        except Exception:  # noqa: BLE001 - pieces that cannot be read: the message is masked whole
            hit, live = entry.number, None
        self.held.append(entry)
        if hit is not None:
            for h in self.held:
                if h.number >= hit:
                    h.masked = True
        if live is None:
            self.release()
            return None
        if len(self.held) > HOLD:
            self._send(self.held[:-KEEP])
            del self.held[:-KEEP]
        else:
            self._send([h for h in self.held if h.number < live])
            self.held = [h for h in self.held if h.number >= live]
        return None

    def release(self) -> None:
        """Send every held message, in order (the cell's output ends, or a reply goes out)."""
        with self.lock:
            held, self.held = self.held, []
            self._send(held)

    def _send(self, held: list[_Held]) -> None:
        for h in held:
            stream, msg_or_type, content, args, kwargs = h.call
            if h.masked:
                msg_or_type, content = _mask_call(msg_or_type, content, kwargs)
            try:
                self.original(stream, msg_or_type, content, *args, **kwargs)
            except Exception:  # noqa: BLE001 - a closed socket: the message is lost, as it would have been
                pass

    def ensure(self) -> None:
        if self.session.__dict__.get("send") is not self.send:
            self.session.send = self.send


def _parts(msg_or_type: Any, content: Any, kwargs: dict[str, Any]) -> tuple[str, Any, Any]:
    if isinstance(msg_or_type, dict):
        kind = (msg_or_type.get("header") or {}).get("msg_type", "")
        return kind, msg_or_type.get("content"), msg_or_type.get("metadata")
    if isinstance(msg_or_type, str):
        return msg_or_type, content, kwargs.get("metadata")
    return "", content, None


def _request(msg_or_type: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The id of the ``execute_request`` a message answers (its parent), or None."""
    if isinstance(msg_or_type, dict):
        parent = msg_or_type.get("parent_header")
    else:
        parent = kwargs.get("parent", args[0] if args else None)
    if not isinstance(parent, dict):
        return None
    head = parent.get("header", parent)
    if not isinstance(head, dict) or head.get("msg_type") != "execute_request":
        return None
    return head.get("msg_id")


def _mask_call(msg_or_type: Any, content: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    if isinstance(msg_or_type, dict):
        kind = (msg_or_type.get("header") or {}).get("msg_type", "")
        return {**msg_or_type, "content": _masked(kind, msg_or_type.get("content")),
                "metadata": {}}, content
    if kwargs.get("metadata"):
        kwargs["metadata"] = {}
    return msg_or_type, _masked(str(msg_or_type), content)


def install(session: Any, get_settings: Callable[[], MaskSettings]) -> SentPieces:
    """Wrap ``session.send``: output messages are read as one stream per cell."""
    return SentPieces(session, get_settings)
