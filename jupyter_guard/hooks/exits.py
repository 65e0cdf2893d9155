"""One data-aware check at the file and network exits: bytes leaving the kernel are scanned with
the masking detectors and for values known to come from sensitive columns.

- ``known`` holds values read out of sensitive columns (``tolist``, ``to_dict``, ``values``,
  iteration: ``enforce.df_lineage`` registers them), so a 9-digit SSN joined into a string by hand
  is recognised even though no detector matches it.
- ``scan`` finds the first sensitive value in a text: e-mails wherever an ``@`` occurs, the other
  detectors on the first ``FULL`` characters and on a window of every ``STEP`` after (a cost
  bound for large files; see ``docs/threat-model.md``), known values token by token.
- ``refuse`` decides through the policy (rule ``exfiltration``) and raises ``GuardBlocked``.
Masked output passes: masked values match no detector and are no known value.
"""
from __future__ import annotations

import re
import sys
from typing import Any
from urllib.parse import unquote_plus

from jupyter_guard.model import Intent

FULL, STEP, WINDOW = 16_384, 65_536, 2_048
MAX_KNOWN = 2_000_000
_TOKEN = re.compile(r"[^\s,;|\"'<>()\[\]{}=&?/\\:\x00]{4,}")
_EMAIL_HINT = "@"
known: set[str] = set()
_DENSE = "\x00dense\x00"      # marks text decoded from UTF-16/32 (numpy string arrays)
DENSE_MAX = 65_536


lengths: set[int] = set()


def remember(values: Any) -> None:
    """Values read out of a sensitive column (strings of 4+ characters, bounded)."""
    if len(known) >= MAX_KNOWN:
        return
    try:
        new = {s for s in map(str, values) if len(s) >= 4 and s not in ("None", "nan")}
    except Exception:  # noqa: BLE001 - values that cannot be listed: the detectors still look at the bytes
        return
    known.update(new)
    lengths.update(len(s) for s in new)


def _text(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if raw.count(0) > len(raw) // 4:   # UTF-16/32 text (numpy '<U' arrays): drop the NULs
            return _DENSE + raw.replace(b"\x00", b"").decode("latin-1")
        return raw.decode("latin-1")
    return ""


def scan(data: Any, settings: Any) -> str:
    """The kind of the first sensitive value in ``data`` ('' if none)."""
    text = _text(data)
    if not text:
        return ""
    if "%" in text or "+" in text:
        text = text + "\n" + unquote_plus(text)   # URL-encoded values (query strings, bodies)
    found = _known(text)
    if found:
        return found
    enabled = settings.enabled
    if _EMAIL_HINT in text:
        for d in enabled:
            if d.name == "email" and next(iter(d.find(text)), None) is not None:
                return "email"
    parts = [text] if len(text) <= FULL + WINDOW else [text[:FULL]] + [
        text[i:i + WINDOW] for i in range(FULL, len(text), STEP)]
    for part in parts:
        for d in enabled:
            if d.name != "email" and next(iter(d.find(part)), None) is not None:
                return d.name
    return ""


def _known(text: str) -> str:
    if not known:
        return ""
    if text.startswith(_DENSE):   # fixed-width values with no separator between them
        body = text[len(_DENSE):DENSE_MAX]
        for n in lengths:
            if any(body[i:i + n] in known for i in range(max(len(body) - n + 1, 0))):
                return "values read from a sensitive column"
    if len(text) < 200 and text.strip().strip("\"'") in known:
        return "values read from a sensitive column"
    for tok in _TOKEN.findall(text):
        if tok in known or tok.strip(".-+@") in known:
            return "values read from a sensitive column"
    return ""


def refuse(guard: Any, rt: Any, kind: str, dest: str, how: str, *, host: str | None = None,
           data: Any = None) -> None:
    """Decide (rule ``exfiltration``) on sensitive data leaving to ``dest``; raise if refused.
    Data the policy lets out (an approval, a rule, audit mode) is counted against the budget."""
    from dataclasses import replace

    from jupyter_guard.hooks.state import Busy
    from jupyter_guard.kernel.cellhook import blocked_error
    from jupyter_guard.model import combine
    from jupyter_guard.policy.decide import decide

    label = kind if " " in kind else f"{kind} values"
    if host is not None:
        intent = Intent("net.upload", "host", host, remote=True, detail=dest,
                        source=f"{how}: sends {label} to {dest[:120]}")
    else:
        intent = Intent("df.export", "file", dest, columns=(label,), detail=how,
                        source=f"{how}({dest!r})")
    err = None
    with Busy():
        if rt is not None and rt.protect is not None:
            rt.protect.restore_guard()
        ctx = replace(guard.context(), sensitive_columns=frozenset({label}))
        v = combine(decide((intent,), guard.policy, ctx))
        code = f"{how}({dest[:200]!r}) holds {label}"
        if v.refuses and guard.approvals is not None:
            from jupyter_guard.guard.service import sha256

            approver = guard.approvals.consume(guard.user, sha256(code))
            v = replace(v, decision="allow", reason=f"approved by {approver}") if approver else v
        if v.refuses:
            from jupyter_guard.guard.service import Judgement
            from jupyter_guard.model import Analysis

            if host is not None:
                v = replace(v, reason=f"sends {label} to {host}, which is not in "
                            "network.allow_hosts")
            j = Judgement(v, (v,), Analysis((intent,)), (intent,))
            guard.begin(kind="runtime", code=code, judgement=j, status="blocked")
            guard.last_blocked = {"code": code, "verdict": v, "event_id": ""}
            err = blocked_error(v)
    if err is not None:
        raise err
    if data is not None:   # loaded with the guard (a class made from user code is tampering)
        sys.modules["jupyter_guard.hooks.exit_budget"].spend(guard, rt, data, how)
