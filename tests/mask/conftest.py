"""A real ipykernel with masking installed directly (the kernel wiring is not needed here)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from jupyter_guard.kernel import display as _mask
from jupyter_guard.mask.settings import MaskSettings as _MS
_mask_settings = {"s": _MS(columns=("*email*", "*ssn*", "*card*", "*phone*"),
                           detectors=("email", "ssn", "card", "phone", "iban", "secret"),
                           strategy="partial")}
_masker = _mask.install(get_ipython(), lambda: _mask_settings["s"])
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel(ROOT)
    try:
        k.ok(SETUP)
        yield k
    finally:
        k.stop()
