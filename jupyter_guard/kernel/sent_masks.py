"""A message that spells part of a known value, masked as its type allows (``sent_pieces``).

Output (``stream``, displays, ``error``) keeps its shape: every text the mask, pictures and a
display's id kept. An ``input()`` prompt becomes the mask. A reply keeps what the kernel fills
itself (``status``, ``execution_count``) and masks the rest (``user_expressions``,
``payload``). Any other message (comm and widget messages, made-up types, ``debug_event``,
``clear_output`` with more fields) keeps its top-level keys and its short protocol values
(``comm_id``, ``target_name``, ``method``) and has every other string made the mask, every
number 0, every key holding a short token replaced; its metadata is emptied.

>>> _blank({'method': 'update', 'state': {'value': '1', 'n': 7, 'on': True}}, True)
{'method': 'update', 'state': {'value': '████', '████1': 0, '████2': True}}
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any

from jupyter_guard.hooks.shown_pieces import PIECE, tokens
from jupyter_guard.mask.strategy import BLOCK

KEPT = frozenset({"comm_id", "target_name", "target_module", "execution_state", "method",
                  "status", "execution_count", "engine_info", "password", "wait",
                  "buffer_paths"})
"""Fields whose value is kept when it holds no short token (the protocol's, not a value)."""
KEPT_TYPES = frozenset({"stream", "display_data", "update_display_data", "execute_result",
                        "error", "comm_msg", "comm_open", "comm_close", "status"})
"""Protocol types a masked ``header`` keeps as its ``msg_type`` (the frontend reads it)."""
REPLY_KEPT = frozenset({"status", "execution_count", "engine_info"})
"""Fields of a reply kept as they are: the kernel fills them (a frontend reads ``status``)."""


def _short(text: str) -> bool:
    return any(len(t) <= PIECE for t in tokens(text))


def _blank(x: Any, top: bool = False) -> Any:
    """``x`` with every string the mask and every number 0, the protocol's fields kept."""
    if isinstance(x, str):
        return BLOCK
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, (int, float)):
        return 0
    if isinstance(x, (list, tuple)):
        return [_blank(v) for v in x]
    if not isinstance(x, dict):
        return BLOCK
    out: dict[Any, Any] = {}
    for at, (k, v) in enumerate(x.items()):
        key = k if top or not isinstance(k, str) or not _short(k) else f"{BLOCK}{at}"
        keep = k in KEPT and (not isinstance(v, str) or not _short(v))
        out[key] = v if keep and not isinstance(v, (dict, list)) else _blank(v)
    return out


def masked(kind: str, content: Any) -> Any:
    """``content`` of one message of type ``kind`` with every text the mask."""
    if not isinstance(content, dict):
        return _blank(content)
    out = dict(content)
    if kind == "stream":
        text = out.get("text")
        out["text"] = BLOCK + ("\n" if isinstance(text, str) and text.endswith("\n") else "")
    elif kind == "error":
        out.update(evalue=BLOCK, traceback=[BLOCK])
    elif kind in ("display_data", "update_display_data", "execute_result"):
        data = out.get("data")
        if isinstance(data, dict):
            out["data"] = {m: v if m.startswith("image/") else BLOCK for m, v in data.items()}
        out["metadata"] = {}
        if isinstance(out.get("transient"), dict):   # (its display id stays: updates find it)
            out["transient"] = {k: v for k, v in out["transient"].items() if k == "display_id"}
    elif kind == "input_request":
        out["prompt"] = BLOCK
    elif kind.endswith("_reply"):
        out = {k: v if k in REPLY_KEPT else _blank(v) for k, v in out.items()}
    else:
        out = _blank(out, top=True)
    return out


def masked_made(msg_or_type: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                made: frozenset[str]) -> tuple[Any, tuple[Any, ...]]:
    """``(msg_or_type, args)`` with what a cell made up beside the content masked (``made``:
    the lines ``sent_pieces`` read of it): a made-up type named by the mask, every string of a
    given ``header`` (its protocol type kept; a new id, date and version: a client parses
    them) and of a made-up ``parent`` the mask."""
    if isinstance(msg_or_type, dict):   # (a whole message: its header and parent inside)
        msg = dict(msg_or_type)
        if made & {"header", "type"} and isinstance(msg.get("header"), dict):
            msg["header"] = _header(msg["header"], "type" in made)
        if "parent" in made and isinstance(msg.get("parent_header"), dict):
            msg["parent_header"] = _blank(msg["parent_header"])
        return msg, args
    if "type" in made and isinstance(msg_or_type, str):
        msg_or_type = BLOCK
    listed = list(args)
    for key, at in (("parent", 0), ("header", 4)):
        if key not in made:
            continue
        value = kwargs.get(key, listed[at] if len(listed) > at else None)
        if not isinstance(value, dict):
            continue
        head = value.get("header", value) if key == "parent" else value
        if key == "header":
            new = _header(value, True)
        else:
            new = _blank(head) if isinstance(head, dict) else {}
        if key == "parent":
            new = {"header": new} if "header" in value else new
        if key in kwargs or len(listed) <= at:
            kwargs[key] = new
        else:
            listed[at] = new
    return msg_or_type, tuple(listed)


def _header(head: dict[str, Any], typed: bool) -> dict[str, Any]:
    """A header a cell made, masked: every string the mask but a protocol type (and, unless
    ``typed``, any type), a new id (a client refuses a message signed as one before), a date
    and a version a client parses."""
    new = {k: v if k == "msg_type" and (v in KEPT_TYPES or not typed) else _blank(v)
           for k, v in head.items()}
    version = head.get("version")
    new.update(msg_id=uuid.uuid4().hex, date=datetime.now(timezone.utc).isoformat(),
               version=version if isinstance(version, str)
               and re.fullmatch(r"\d\.\d", version) else "5.3")
    return new


_KEY = secrets.token_bytes(32)


def opaque_id(content: Any) -> Any:
    """``content`` with its ``transient.display_id`` replaced by a keyed digest of it (the same
    id always the same: updates still find their display; no piece glued in it shows)."""
    transient = content.get("transient") if isinstance(content, dict) else None
    if not isinstance(transient, dict) or not isinstance(transient.get("display_id"), str):
        return content
    digest = hmac.new(_KEY, transient["display_id"].encode("utf-8", "surrogatepass"),
                      hashlib.sha256).hexdigest()[:32]
    return {**content, "transient": {**transient, "display_id": digest}}


def masked_call(msg_or_type: Any, content: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """The ``Session.send`` arguments ``(msg_or_type, content)`` of a message, masked (its
    metadata emptied in ``kwargs``)."""
    if isinstance(msg_or_type, dict):
        kind = (msg_or_type.get("header") or {}).get("msg_type", "")
        return {**msg_or_type, "content": masked(kind, msg_or_type.get("content")),
                "metadata": {}}, content
    if kwargs.get("metadata"):
        kwargs["metadata"] = {}
    return msg_or_type, masked(str(msg_or_type), content)
