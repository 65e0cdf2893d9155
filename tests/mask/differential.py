"""What the differential suites of a masking fast path share: the settings every text is
masked under (``SETTINGS``), a value written into a text (``put``), a text masked with the
path's hook made to answer as if the path were not there (``masked_without``), and the checks
that a text masks the same without the path (``same_without``) and as the reference masker
does (``same_as_reference``)."""
from __future__ import annotations

import pytest

from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

DEFAULT = MaskSettings()
ALL = MaskSettings(detectors=tuple(DETECTORS))
HASH = MaskSettings(strategy="hash")
SETTINGS = (DEFAULT, ALL, HASH)


def put(text: str, at: int, value: str) -> str:
    """``value`` written over ``text`` at ``at`` with a space on each side."""
    at = max(0, min(at, len(text) - len(value) - 2))
    return text[:at] + " " + value + " " + text[at + len(value) + 2:]


def masked_without(monkeypatch: pytest.MonkeyPatch, owner: object, hook: str, answer: object,
                   text: str, s: MaskSettings) -> str:
    """``text`` masked under ``s`` while ``owner.hook`` answers ``answer`` whatever it is asked
    (the path as it was before it)."""
    with monkeypatch.context() as m:
        m.setattr(owner, hook, lambda *a: answer)
        return mask_text(text, s)


def same_without(monkeypatch: pytest.MonkeyPatch, owner: object, hook: str, answer: object,
                 text: str, name: str) -> None:
    """``text`` masks the same with the path and without it, under every one of ``SETTINGS``."""
    for s in SETTINGS:
        assert mask_text(text, s) == masked_without(monkeypatch, owner, hook, answer, text, s), \
            name


def same_as_reference(text: str, name: str) -> None:
    """``text`` masks under the default settings as the reference masker masks it."""
    assert mask_text(text, DEFAULT) == reference.mask_text(text, DEFAULT), name
