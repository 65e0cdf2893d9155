"""The exfiltration budget: distinct sensitive values that leave the kernel unmasked (to a host in
``network.allow_hosts``, or through an exit the policy let through), for every role.

``exfiltration.max_sensitive_values_per_cell`` and ``..._per_session`` (0: no limit). Over either,
the action is refused (rule ``exfiltration``) and so is every later exit carrying sensitive
values, until someone approves the request (``%guard request``; an approval resets the count).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.model import Decision

CODE = "exfiltration budget exhausted: sensitive values leaving this session"


@dataclass
class Budget:
    cell: Any = None
    in_cell: set[str] = field(default_factory=set)
    in_session: set[str] = field(default_factory=set)
    locked: bool = False


BUDGET = Budget()


def readings(data: Any, *, inflate: bool = True) -> list[str]:
    """``data`` as text and what a reader gets back from it: URL-decoded (a query string, a form
    body), its base64, base32, hex and base85 runs decoded (``encoded.decoded``, of both), the
    strings of a pickle in it (at its start or after a 4-byte length: ``exit_bytes.pickled``,
    pieces of 1-3 characters joined), and a
    whole compressed stream in it inflated (``exit_inflate.streams``, at most
    ``exit_inflate.INFLATE_MAX`` bytes; ``inflate=False``: the socket check follows streams over
    several sends itself). Text with no run to decode costs one RE2 pass more."""
    from urllib.parse import unquote_plus

    from jupyter_guard.hooks import encoded, exit_inflate
    from jupyter_guard.hooks.exit_bytes import pickled

    text = exits._text(data)
    out = [text, unquote_plus(text)] if "%" in text or "+" in text else [text]
    out += [h for t in list(out) if (h := encoded.decoded(t))]
    if isinstance(data, (bytes, bytearray, memoryview)):   # a pickle, or one after a length
        out += [exits._text(p) for p in (pickled(data), pickled(data[4:])) if p]
    if inflate and isinstance(data, (bytes, bytearray, memoryview)):
        for inner in exit_inflate.streams(bytes(data)):
            out += readings(inner)
    return out


def values_in(data: Any, settings: Any) -> set[str]:
    """Distinct sensitive values in ``data`` (as sent, or as ``readings`` gives it back): known
    values and every detector match."""
    from jupyter_guard.mask.text import find_spans

    found: set[str] = set()
    for text in readings(data):
        found |= {t for t in exits._TOKEN.findall(text) if t in exits.known}
        found |= {text[a:b] for a, b, _ in find_spans(text, settings)}
    return found


def known_sent(data: Any) -> set[str]:
    """Values read from sensitive columns in raw bytes, as sent or as ``readings`` gives them
    back (URL-decoded, base64 or hex decoded; the socket check inflates streams itself). Known
    values only, as the socket checks: the detectors would count every address an SMTP envelope
    or a driver's SQL names."""
    return {t[a:b] for t in readings(data, inflate=False) for a, b, _ in exits.known_spans(t)}


def spend_new(guard: Any, rt: Any, before: bytes, data: bytes, how: str) -> None:
    """``spend`` on the known values in ``data`` that ``before`` (its start, already counted)
    did not hold: plain bytes sent after a counted value on the same socket still flow."""
    new = known_sent(data) - (known_sent(before) if before else set())
    if new:
        spend(guard, rt, "\n".join(sorted(new)), how)


def _cell(rt: Any) -> Any:
    kg = getattr(rt, "kg", None)
    cell = getattr(kg, "_cell", None) or {}
    return cell.get("count"), cell.get("cell_id")


def spend(guard: Any, rt: Any, data: Any, how: str) -> None:
    p = guard.policy
    if not (p.max_values_per_cell or p.max_values_per_session):
        return
    from jupyter_guard.hooks.exit_files import FX

    settings = FX.exports.settings() if FX is not None else None
    values = values_in(data, settings) if settings is not None else set()
    if not values:   # plain data flows even when the budget is spent
        return
    key = _cell(rt)
    if key != BUDGET.cell:
        BUDGET.cell, BUDGET.in_cell = key, set()
    cell, session = BUDGET.in_cell | values, BUDGET.in_session | values
    over = (p.max_values_per_cell and len(cell) > p.max_values_per_cell) or (
        p.max_values_per_session and len(session) > p.max_values_per_session)
    if over or BUDGET.locked:
        from jupyter_guard.guard.judge import sha256

        if guard.approvals is None or not guard.approvals.consume(guard.user, sha256(CODE)):
            BUDGET.locked = True
            _refuse(guard, rt, how, len(cell), len(session))
            return
        BUDGET.locked, cell, session = False, set(values), set(values)   # approved: a new count
    BUDGET.in_cell, BUDGET.in_session = cell, session


def refuse_unread(guard: Any, rt: Any, how: str, limit: int) -> None:
    """Refuse (``exfiltration``) a send whose values cannot be counted: a compressed body that
    inflates past ``limit`` bytes (a zip bomb must not hold the kernel, nor pass uncounted)."""
    _refuse(guard, rt, how, 0, 0, lock=False, reason=(
        f"{how} sends a compressed stream that inflates past {limit >> 20} MB, so the sensitive "
        "values in it cannot be counted against the exfiltration budget; send it uncompressed "
        "or in smaller parts"))


def _refuse(guard: Any, rt: Any, how: str, cell: int, session: int, *,
            reason: str = "", lock: bool = True) -> None:
    from jupyter_guard.guard.judge import Judgement, refuse
    from jupyter_guard.hooks.state import Busy
    from jupyter_guard.model import Analysis, Intent, Verdict

    p = guard.policy
    intent = Intent("df.export", "file", "exfiltration budget", detail=how, source=CODE)
    reason = reason or (
        f"{how} would let sensitive values out beyond the exfiltration budget ({cell} this "
        f"cell, max {p.max_values_per_cell or '-'}; {session} this session, max "
        f"{p.max_values_per_session or '-'}); later exits are refused until an approval")
    decision: Decision = "warn" if p.mode == "audit" else "block"
    v = Verdict(decision, "exfiltration", reason, intent, p.revision)
    with Busy():
        j = Judgement(v, (v,), Analysis((intent,)), (intent,))
        err = refuse(guard, j, kind="runtime", code=CODE) if v.refuses else None
        if err is None:
            guard.begin(kind="runtime", code=CODE, judgement=j, status="running")
    if err is not None:
        BUDGET.locked = BUDGET.locked or lock
        raise err
    BUDGET.locked = BUDGET.locked and not lock
