"""``mask_text`` on a long text holds the garbage collector back (``mask.quiet``) and puts it
back as it found it: after an error, when calls nest or run in several threads at once, and
without turning on a collector that other code turned off. Masks are unchanged."""
from __future__ import annotations

import gc
import threading

import pytest

from jupyter_guard.mask import quiet as quiet_mod
from jupyter_guard.mask import text as text_mod
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

LONG = "password=hunter22&amp;" * 3000


def test_the_collector_is_paused_inside_and_put_back_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = gc.get_threshold()
    seen: list[int] = []
    real = text_mod._mask_text

    def spy(text: str, settings: MaskSettings) -> str:
        seen.append(gc.get_threshold()[0])
        return real(text, settings)

    monkeypatch.setattr(text_mod, "_mask_text", spy)
    got = mask_text(LONG, MaskSettings())
    assert got == real(LONG, MaskSettings()) and "hunter" not in got
    short = "mail jane@example.com, ssn 123-45-6789, password=hunter22"
    assert mask_text(short, MaskSettings()) == reference.mask_text(short, MaskSettings())
    assert seen[0] == 0 and gc.get_threshold() == before  # (then the spy called outside)


def test_put_back_after_an_error_and_a_disabled_collector_stays_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = gc.get_threshold()

    def boom(text: str, settings: MaskSettings) -> str:
        raise RuntimeError("x")

    monkeypatch.setattr(text_mod, "_mask_text", boom)
    gc.disable()
    try:
        with pytest.raises(RuntimeError):
            mask_text(LONG, MaskSettings())
        assert not gc.isenabled() and gc.get_threshold() == before
    finally:
        gc.enable()


def test_nested_and_concurrent_calls_put_the_first_thresholds_back() -> None:
    before = gc.get_threshold()
    inside = threading.Event()
    release = threading.Event()
    errors: list[AssertionError] = []

    def hold() -> None:
        try:
            with quiet_mod.quiet():
                inside.set()
                assert release.wait(30)
        except AssertionError as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=hold)
    t.start()
    assert inside.wait(30)
    with quiet_mod.quiet(), quiet_mod.quiet():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0  # (the other thread is still masking)
    release.set()
    t.join(30)
    assert not t.is_alive() and not errors
    assert gc.get_threshold() == before
