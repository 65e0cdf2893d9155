"""The checkpoint log: every signed checkpoint the authority commits, also appended as one JSON
line to a file outside the ledger, so a ledger rolled back together with its own checkpoints
is still caught by ``verify --authority``, which reads the log by itself.

Where the log lives decides what it proves. By default it is beside the ledger
(``<authority folder>/audit-checkpoints.jsonl``): that catches a rollback made through the
database alone, not one by an account that may also rewrite the log. Against the account that
runs the authority (the user, in local mode), point ``JUPYTER_GUARD_AUDIT_CHECKPOINT_LOG`` at a
file it may only append to: owned by root in a folder the user cannot write, made append-only
(``chattr +a``). Appending a forged line does not help: the newest signed checkpoint wins.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping

LOG_ENV = "JUPYTER_GUARD_AUDIT_CHECKPOINT_LOG"
LOG_NAME = "audit-checkpoints.jsonl"


def log_path(folder: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get(LOG_ENV, "").strip() or os.path.join(folder, LOG_NAME)


def append(path: str, body: str, signature: str) -> None:
    """Append one checkpoint (one ``write`` on an ``O_APPEND`` file: lines never interleave)."""
    line = json.dumps({"body": body, "signature": signature}, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read(path: str) -> list[tuple[str, str]]:
    """Every (body, signature) in a log, or in a single saved checkpoint (a JSON object with
    ``body`` and ``signature``); lines that are neither are left out (a forged line fails
    its signature in verify, a broken one proves nothing)."""
    out: list[tuple[str, str]] = []
    with open(path) as fh:
        text = fh.read()
    try:
        whole = json.loads(text)
        items = [whole] if isinstance(whole, dict) else []
    except ValueError:
        items = []
        for raw in text.splitlines():
            try:
                items.append(json.loads(raw))
            except ValueError:
                continue
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("body"), str) and \
                isinstance(item.get("signature"), str):
            out.append((item["body"], item["signature"]))
    return out
