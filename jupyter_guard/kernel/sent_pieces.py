"""Every message the kernel sends, judged as one joined stream (``hooks.shown_pieces``).

``install`` wraps the kernel's ``Session.send`` below ``replies.WireNet`` (which masks values
whole first): whatever API made a message and whatever its type or channel (``print``,
``display``, an error, a comm or widget update, ``kernel.session.send`` of a type a cell made
up, a ``status`` with more fields, an ``input()`` prompt on stdin, a reply's
``user_expressions``), its texts are read here in the order sent, and beside them what a cell
may make up (``_made_up``: a type the protocol does not define, the fields of a ``header`` it
gives, a made-up ``parent``; ``DisplayIds``: the changing part of a display id), each in its own
place. Only the kernel's own ``status`` (a state and nothing else, about a request it answers)
and its one echo of the code of the request it answers are not read; that echo begins a cell.

A message whose pieces may begin a known value is held, with every message after it, until the
run can no longer become one (a longer text, other pieces), ``HOLD`` messages are held, or a
message that cannot wait goes out (``unheld``: a reply, an ``input()`` prompt; the kernel's
``status`` goes out at once and releases nothing, as a cell can send one): then they leave in
order, those spelling a known value masked. A message that cannot wait is masked if it
completes a value, and a prompt also when its pieces go on a run that may still become one.
Output for a person is masked in place; when the message that completes a value is one no
person reads (``refused``: comm and widget messages, made-up types, ``debug_event``, a made-up
``status``), it leaves masked too and its sender gets ``GuardBlocked`` (rule ``exfiltration``),
decided and recorded in the audit by ``sent_refusal`` (a ``blocked`` event naming the channel
and the message type), after this module's lock is let go. What is masked in place is not
recorded message by message, as no display masking is: the cell's own event says ``mask`` when
it read a sensitive column.
The run goes on across cells (a new cell's output may end a value the last one began) when made
of whole messages (``Run.boundary``: short numbers of an earlier cell's table complete no value
with this cell's). Nothing is judged until a value is known, nor with masking off.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.shown_pieces import PIECE, Run, other_lines, output_lines, tokens
from jupyter_guard.kernel import sent_refusal
from jupyter_guard.kernel.sent_masks import masked_call, masked_made, opaque_id
from jupyter_guard.mask.text import MaskSettings

OUTPUT = frozenset({"stream", "display_data", "update_display_data", "execute_result",
                    "error"})
"""Output messages, read as ``shown_pieces.message_views`` reads them."""
PERSON = OUTPUT | {"clear_output", "input_request", "execute_input"}
"""Messages for a person (with every ``*_reply``): a hit masks them in place."""
STATES = frozenset({"busy", "idle", "starting", "restarting", "dead"})
HOLD = 128
"""Messages held at most; past it the oldest leave (masked if found), ``KEEP`` stay."""
KEEP = 96
"""Messages kept held past ``HOLD`` (a value of ``shown_pieces.LONGEST`` characters at one a
message, every other one: its first piece is among them)."""


def unheld(kind: str) -> bool:
    """Whether a message cannot wait: a reply (the ``idle`` status that follows it ends a
    frontend's request), an ``input()`` prompt (the kernel waits for its answer)."""
    return kind.endswith("_reply") or kind == "input_request"


def refused(kind: str) -> bool:
    """Whether a message no person reads completing a value is refused (not only masked)."""
    return kind not in PERSON and not kind.endswith("_reply")


class _Held:
    __slots__ = ("call", "made", "masked", "number")

    def __init__(self, number: int, call: tuple[Any, ...], made: frozenset[str]) -> None:
        self.number, self.call, self.masked, self.made = number, call, False, made

    def masked_call(self) -> tuple[Any, ...]:
        """Its ``Session.send`` arguments, masked when it spells part of a value."""
        stream, msg_or_type, content, args, kwargs = self.call
        if self.masked:
            msg_or_type, content = masked_call(msg_or_type, content, kwargs)
            if self.made:
                msg_or_type, args = masked_made(msg_or_type, args, kwargs, self.made)
            if "display_id" in self.made:
                if isinstance(msg_or_type, dict):
                    msg_or_type = {**msg_or_type, "content": opaque_id(msg_or_type["content"])}
                else:
                    content = opaque_id(content)
        return stream, msg_or_type, content, args, kwargs


class SentPieces:
    """``Session.send`` of one kernel, reading every message as one stream."""

    def __init__(self, session: Any, get_settings: Callable[[], MaskSettings]) -> None:
        self.session, self.get_settings = session, get_settings
        self.original = session.send
        self.lock = threading.RLock()
        self.run = Run()
        self.held: list[_Held] = []
        self.number = 0
        self.ids = DisplayIds()
        self.echoed: tuple[str, ...] = ()   # the requests whose code the kernel echoed last
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
            kind, body, meta, parent = _parts(msg_or_type, content, args, kwargs)
            call = (stream, msg_or_type, content, args, kwargs)
            with self.lock:
                own = _own(kind, body, parent)
                if own and (self._answers(parent) if kind == "status"   # (sent now, held
                            else self._echo(parent)):
                    return self.original(stream, msg_or_type, content, *args, **kwargs)
                if not (exits.known and self._settings_active()):  # output stays held)
                    self.release()
                    return self.original(stream, msg_or_type, content, *args, **kwargs)
                header = kwargs.get("header", args[4] if len(args) > 4 else None)
                if isinstance(msg_or_type, dict):   # (its header the session's: what differs)
                    header = _differs(msg_or_type.get("header"), self.session)
                extra = _made_up(kind, header, parent,
                                 lambda h: bool(_msg_id(h)) and self._answers(h))
                if kind in OUTPUT:
                    extra += self.ids.line(body)
                sent, hit = self._judge(kind, body, meta, call, extra)
            if hit and refused(kind):   # decided and recorded with no lock held (the audit's
                sent_refusal.refuse(kind, stream)   # notices and listeners may send messages)
            return sent

        send.__wrapped__ = self.original  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
        return send

    def _answers(self, parent: Any) -> bool:
        """Whether a ``status`` is about a request the kernel answers or echoed (a made-up
        ``parent`` beside it is read: ``{'msg_id': c}``)."""
        msg_id = _msg_id(parent)
        return not msg_id or msg_id in self.echoed or msg_id in _requests()

    def _echo(self, parent: Any) -> bool:
        """Whether an echo of the code of its request is the kernel's: its request is the one
        the kernel is answering (``get_parent``) and was not echoed before. A new cell begins
        there (``Run.boundary``); any other echo is read as a message."""
        msg_id = _msg_id(parent)
        current = _requests()
        if not msg_id or (current and msg_id != current[0]) or msg_id in self.echoed:
            return False
        self.echoed = (*self.echoed[-7:], msg_id)
        self.run.boundary()
        return True

    def _judge(self, kind: str, body: Any, meta: Any, call: tuple[Any, ...],
               extra: list[tuple[Any, list[str]]]) -> tuple[Any, bool]:
        """(what ``Session.send`` returned, whether this message completed a value)."""
        self.number += 1
        entry = _Held(self.number, call, frozenset(
            k[0] if isinstance(k, tuple) else k for k, got in extra
            if any(len(t) <= PIECE for t in got)))
        try:
            lines = (output_lines if kind in OUTPUT else other_lines)(kind, body, meta) + extra
            hit, live = self.run.read_lines(lines, entry.number)
        except Exception:  # noqa: BLE001 - pieces that cannot be read: the message is masked whole
            lines, hit, live = [], entry.number, None
        self.held.append(entry)
        if hit is not None:
            for h in self.held:
                if h.number >= hit:
                    h.masked = True
        if unheld(kind):   # it cannot wait: all leave now (a prompt masked if its pieces go on
            if kind == "input_request" and live is not None and any(  # a run)
                    len(t) <= PIECE for _, got in lines for t in got):
                entry.masked = True
            self.held.pop()
            self.release()
            stream, msg_or_type, content, args, kwargs = entry.masked_call()
            sent = self.original(stream, msg_or_type, content, *args, **kwargs)
            return sent, hit is not None   # (the kernel reads what it sent: a reply's status)
        if live is None:
            self.release()
        elif len(self.held) > HOLD:
            self._send(self.held[:-KEEP])
            del self.held[:-KEEP]
        else:
            self._send([h for h in self.held if h.number < live])
            self.held = [h for h in self.held if h.number >= live]
        return None, hit is not None

    def release(self) -> None:
        """Send every held message, in order (the cell's output ends, or a reply goes out)."""
        with self.lock:
            held, self.held = self.held, []
            self._send(held)

    def _send(self, held: list[_Held]) -> None:
        for h in held:
            stream, msg_or_type, content, args, kwargs = h.masked_call()
            try:
                self.original(stream, msg_or_type, content, *args, **kwargs)
            except Exception:  # noqa: BLE001 - a closed socket: the message is lost, as it would have been
                pass

    def ensure(self) -> None:
        if self.session.__dict__.get("send") is not self.send:
            self.session.send = self.send


def _parts(msg_or_type: Any, content: Any, args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> tuple[str, Any, Any, Any]:
    """``(type, content, metadata, parent)`` of a ``Session.send`` call."""
    if isinstance(msg_or_type, dict):
        kind = (msg_or_type.get("header") or {}).get("msg_type", "")
        return (kind, msg_or_type.get("content"), msg_or_type.get("metadata"),
                msg_or_type.get("parent_header"))
    parent = kwargs.get("parent", args[0] if args else None)
    if isinstance(msg_or_type, str):
        return msg_or_type, content, kwargs.get("metadata"), parent
    return "", content, None, parent


_VERSION = "5.3"   # (the protocol's version the session writes in its headers)
_REPLY = re.compile(r"[a-z]+(?:_[a-z]+)*_reply")
_CLASS = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")


def _common(a: str, b: str) -> int:
    """The length of the common beginning of ``a`` and ``b``."""
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def _changed(prev: str, now: str) -> str:
    """The part of display id ``now`` that differs from ``prev``, widened to whole runs of
    letters, of digits or of other characters (``'bar-10'`` after ``'bar-9'``: ``'10'``)."""
    if prev == now:
        return ""
    start = _common(prev, now)
    end = _common(prev[start:][::-1], now[start:][::-1])
    stop = len(now) - end
    for m in _CLASS.finditer(now):
        if m.start() <= start < m.end() or (start == stop and m.end() == start):
            start = m.start()
        if m.start() < stop <= m.end():
            stop = m.end()
    return now[start:stop]


class DisplayIds:
    """The changing part of each message's ``transient.display_id`` (a piece glued to text:
    ``display(x, display_id='bar-' + c)``), read as one more line: the part that differs from
    the id before (the first id's part is read when the second shows it; an id sent again,
    its part again). Display ids a frontend makes are UUIDs: each differs whole, one long
    token, no piece."""

    def __init__(self) -> None:
        self.last, self.part, self.whole = "", "", True

    def line(self, body: Any) -> list[tuple[Any, list[str]]]:
        transient = body.get("transient") if isinstance(body, dict) else None
        now = transient.get("display_id") if isinstance(transient, dict) else None
        if not isinstance(now, str) or not now:
            return []
        prev, self.last = self.last, now
        if prev == now:
            return [("display_id", [self.part])]
        part = _changed(prev, now) if prev else now
        got = [part]
        if self.whole and prev and part != now:   # (the first id's part, seen only now)
            got.insert(0, _changed(now, prev))
        self.part, self.whole = part, part == now
        return [("display_id", got)]


def _requests() -> tuple[str, ...]:
    """The ids of the requests the kernel answers now (shell, control); () outside a kernel."""
    try:
        from IPython import get_ipython

        kernel = get_ipython().kernel
        return tuple(_msg_id(kernel.get_parent(c)) for c in ("shell", "control"))
    except Exception:  # noqa: BLE001 - no kernel to ask (a bare session)
        return ()


def _msg_id(parent: Any) -> str:
    head = parent.get("header", parent) if isinstance(parent, dict) else None
    msg_id = head.get("msg_id") if isinstance(head, dict) else None
    return msg_id if isinstance(msg_id, str) else ""


def _differs(header: Any, session: Any) -> Any:
    """The fields of a whole message's header a cell may have made: its id and type, and any
    other that is not the session's own (user, session, version) or a date."""
    if not isinstance(header, dict):
        return None
    own = {"username": getattr(session, "username", None),
           "session": getattr(session, "session", None), "version": _VERSION}
    return {f: v for f, v in header.items() if f != "date" and (f not in own or v != own[f])}


def _made_up(kind: str, header: Any, parent: Any, known: Callable[[Any], bool]
             ) -> list[tuple[Any, list[str]]]:
    """Token lines of what a cell may make up beside a message's content, each read in its own
    place: a type the protocol does not define, the fields of a ``header`` it hands over (the
    kernel's own messages have the session make theirs), and those of a ``parent`` header that
    is no request the kernel answers or echoed (``known``: not a made-up ``{'msg_id': c}``)."""
    lines: list[tuple[Any, list[str]]] = []
    if kind not in sent_refusal.PROTOCOL and _REPLY.fullmatch(kind) is None:
        lines.append(("type", tokens(kind)))
    for key, head in (("header", header), ("parent", parent)):
        if key == "parent" and isinstance(head, dict):
            head = head.get("header", head)
            if known(head):
                continue
        if isinstance(head, dict):   # (each field in its own place)
            lines += [((key, f), tokens(str(v))) for f, v in list(head.items())[:16]
                      if isinstance(v, (str, int))]
    return lines


def _own(kind: str, content: Any, parent: Any) -> bool:
    """Whether a message is the kernel's own and holds nothing to read: a ``status`` with a
    state and nothing else, the echo of the code of the request it answers."""
    if not isinstance(content, dict):
        return False
    if kind == "status":
        return set(content) <= {"execution_state"} and content.get("execution_state") in STATES
    if kind == "execute_input":
        request = parent.get("content") if isinstance(parent, dict) else None
        return isinstance(request, dict) and content.get("code") == request.get("code")
    return False


def install(session: Any, get_settings: Callable[[], MaskSettings]) -> SentPieces:
    """Wrap ``session.send``: every message is read as one stream."""
    return SentPieces(session, get_settings)
