"""Masking strategies: how a sensitive value is shown. Pure, vectorised over the rows given.

>>> mask_value("jane@example.com", "partial")
'█████@example.com'
>>> mask_value("4111 1111 1111 1111", "partial")
'████1111'
>>> mask_value("123-45-6789", "redact")
'████'
>>> mask_value("jane@example.com", "hash", salt="s") == mask_value("jane@example.com", "hash", salt="s")
True
"""
from __future__ import annotations

import hashlib
from typing import Literal, get_args

import numpy as np
import pandas as pd

Strategy = Literal["redact", "partial", "hash", "null"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

BLOCK = "████"
EMAIL_BLOCK = "█████"
KEEP = 4
"""``partial`` keeps the last ``KEEP`` characters of values at least ``MIN_PARTIAL`` long."""
MIN_PARTIAL = 8
HASH_CHARS = 8


def check_strategy(name: str) -> str:
    """Return ``name`` if it is a strategy, else raise ``ValueError`` listing them."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown masking strategy {name!r}; use one of {', '.join(STRATEGIES)}")
    return name


def hash_value(value: str, salt: str = "") -> str:
    """Salted SHA-256 prefix: equal values look equal, so masked columns still group by eye."""
    digest = hashlib.sha256(f"{salt}\x00{value}".encode()).hexdigest()
    return f"h:{digest[:HASH_CHARS]}"


def partial_value(value: str) -> str:
    """Keep an email's domain, or the last ``KEEP`` characters of a long enough value."""
    at = value.rfind("@")
    if at > 0 and "." in value[at:]:
        return EMAIL_BLOCK + value[at:]
    stripped = value.strip()
    if len(stripped) < MIN_PARTIAL:
        return BLOCK
    return BLOCK + stripped[-KEEP:]


def mask_value(value: str, strategy: str, salt: str = "") -> str:
    """Mask one value found in free text (``null`` leaves an empty string)."""
    if strategy == "partial":
        return partial_value(value)
    if strategy == "hash":
        return hash_value(value, salt)
    if strategy == "null":
        return ""
    return BLOCK


def apply_strategy(values: pd.Series, strategy: str, salt: str = "") -> pd.Series:
    """Mask every non-null value of ``values`` (only the rows to be shown: keep it small).

    Returns an object Series with the same index; nulls stay null. Vectorised with
    ``Series.str`` for ``partial`` and a dict-cached ``map`` for ``hash``.
    """
    out = values.astype(object, copy=True)
    present = values.notna().to_numpy()
    if strategy == "null" or not present.any():
        out[present] = None
        return out
    if strategy == "redact":
        out[present] = BLOCK
        return out
    text = values[present].astype(object).map(str).astype(object)
    if strategy == "hash":
        unique = {v: hash_value(v, salt) for v in pd.unique(text.to_numpy())}
        out[present] = text.map(unique).to_numpy()
        return out
    stripped = text.str.strip()
    floats = values[present].map(lambda v: isinstance(v, float)).to_numpy(bool)
    long_enough = (stripped.str.len() >= MIN_PARTIAL).to_numpy(bool) & ~floats
    kept = np.where(long_enough, (BLOCK + stripped.str[-KEEP:]).to_numpy(object), BLOCK)
    domain = text.str.extract(r"^[^@]+(@[^@]*\.[^@]*)$", expand=False)
    is_email = domain.notna().to_numpy(bool)
    kept[is_email] = EMAIL_BLOCK + domain.to_numpy(object)[is_email]
    out[present] = kept
    return out
