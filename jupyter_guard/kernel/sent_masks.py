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

from typing import Any

from jupyter_guard.hooks.shown_pieces import PIECE, tokens
from jupyter_guard.mask.strategy import BLOCK

KEPT = frozenset({"comm_id", "target_name", "target_module", "execution_state", "method",
                  "status", "execution_count", "engine_info", "password", "wait",
                  "buffer_paths"})
"""Fields whose value is kept when it holds no short token (the protocol's, not a value)."""
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
