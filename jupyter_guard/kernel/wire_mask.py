"""Masking, wired to the policy: ``sensitive.*`` keys -> MaskSettings; the audit log's ``code`` and
``reason`` pass through the same value detectors before they are written."""
from __future__ import annotations

import functools
import hashlib
import os
from typing import Any

from jupyter_guard.guard.service import Guard


def settings_for(guard: Guard) -> Any:
    from jupyter_guard.mask.text import MaskSettings

    p = guard.policy
    salt = os.environ.get("JUPYTER_GUARD_SALT") or hashlib.sha256(
        f"jupyter_guard:{guard.settings.get('audit', '')}".encode()).hexdigest()[:16]
    may = p.may("may_unmask", guard.user, guard.groups)
    return MaskSettings(columns=p.sensitive_columns, detectors=p.detectors, strategy=p.strategy,
                        per_column=dict(p.per_column), salt=salt, may_unmask=may,
                        unmasked=may and guard.unmasked)


def install(shell: Any, guard: Guard) -> None:
    from jupyter_guard.kernel import display as mask
    from jupyter_guard.mask.text import mask_text, strip_url_passwords

    cache: dict[str, Any] = {}

    def current() -> Any:
        key = f"{guard.policy.revision}:{guard.unmasked}"
        if key not in cache:
            cache.clear()
            cache[key] = settings_for(guard)
        return cache[key]

    audit_settings = settings_for(guard)

    @functools.lru_cache(maxsize=512)  # a cell run again is redacted once
    def redact(text: str) -> str:  # the audit file never holds a raw sensitive literal
        return strip_url_passwords(mask_text(text, audit_settings)) if text else text

    guard.plug(redact=redact, mask_settings=current)

    def unmasked(what: str) -> None:
        guard.note("runtime", f"unmasked display: {what}", "allow", "unmask",
                   f"{guard.user} saw unmasked values (role may_unmask)")

    # the masker stays alive through the display hooks it wraps
    mask.install(shell, current, lineage=marked_columns, on_unmasked=unmasked)


def marked_columns(obj: Any) -> frozenset[str]:
    """Columns of a frame (or a Series' name) that lineage marks sensitive (SQL taint, renames)."""
    from jupyter_guard.hooks.df_lineage import origins

    marks = origins(obj)
    if not marks:
        return frozenset()
    if "" in marks:
        return frozenset({str(getattr(obj, "name", ""))})
    return frozenset(c for c, o in marks.items() if o)
