"""The authority's keyed chain and its signed checkpoints (pure, stdlib plus ``cryptography``).

Each stored event is ``(gseq, body, prev_mac, mac)`` with ``mac = HMAC-SHA256(key, gseq, prev_mac,
body)``: one chain over every event, in the authority's order. The key lives in the authority's
0700 folder (``audit.mac.key``, 0600); whoever lacks it cannot recompute a chain that verifies.

A checkpoint is the JSON ``{"gseq", "mac", "count", "sessions": {id: [last_gseq, events, mac]},
"at"}`` of one written batch (the sessions it touched), signed with the authority's Ed25519 key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from typing import Any

import orjson

KEY_NAME = "audit.mac.key"


def canonical(value: Any) -> str:
    """The one text of a record: sorted keys, no spaces, ASCII.

    >>> canonical({"b": 1, "a": "é"})
    '{"a":"\\\\u00e9","b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def body_text(record: dict[str, Any]) -> str:
    """The stored text of an event: JSON with sorted keys (the MAC covers this exact text, so
    it need not be canonical; ``orjson`` makes it 8x faster than ``json``).

    >>> body_text({"b": 1, "a": "x"})
    '{"a":"x","b":1}'
    """
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:   # what orjson does not take (an integer past 64 bits): the json module
        return canonical(record)


def _message(gseq: int, prev_mac: str, body: str) -> bytes:
    return f"{gseq}\n{prev_mac}\n{body}".encode()


def mac(key: bytes, gseq: int, prev_mac: str, body: str) -> str:
    """The keyed link of event ``gseq``."""
    return hmac.digest(key, _message(gseq, prev_mac, body), "sha256").hex()


def unkeyed(gseq: int, prev_mac: str, body: str) -> str:
    """What a forger without the key would compute (verify names a chain made of these).

    >>> len(unkeyed(1, "", "{}"))
    64
    """
    return hashlib.sha256(_message(gseq, prev_mac, body)).hexdigest()


def load_or_create_key(folder: str) -> bytes:
    """The MAC key in ``folder`` (created 0600 in a 0700 folder); refuses one others may read."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, KEY_NAME)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if os.stat(path).st_mode & 0o077:
            raise PermissionError(f"jupyter_guard: the audit MAC key {path} is readable by other "
                                  f"accounts; fix: chmod 600 {path}") from None
        with open(path, "rb") as fh:
            key = bytes.fromhex(fh.read().decode().strip())
        if len(key) < 32:
            raise ValueError(f"jupyter_guard: the audit MAC key {path} is too short; "
                             "move it away to create a new one (old events no longer verify)"
                             ) from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.hex().encode())
    return key


def checkpoint(gseq: int, last_mac: str, count: int,
               sessions: dict[str, list[Any]], at: float) -> dict[str, Any]:
    return {"v": 1, "gseq": gseq, "mac": last_mac, "count": count, "sessions": sessions,
            "at": round(at, 3)}


def sign(signer: Any, record: dict[str, Any]) -> tuple[str, str]:
    """(body, signature) of a checkpoint, signed by ``jupyter_guard.authority.Signer``."""
    body = canonical(record)
    return body, signer.sign(record)


def signature_ok(public_b64: str, body: str, signature: str) -> bool:
    """Whether ``signature`` is the authority's over the checkpoint ``body``."""
    from jupyter_guard.authority import Verifier

    try:
        record = json.loads(body)
    except ValueError:
        return False
    return isinstance(record, dict) and Verifier(public_b64).verify_record(record, signature)
