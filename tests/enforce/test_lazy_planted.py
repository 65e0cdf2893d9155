"""A guard module planted in ``sys.modules`` before pandas is imported is not what masks pandas
(its own kernel: pandas must not be imported yet)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel


def test_a_module_planted_before_pandas_is_imported_is_not_used(kernel):
    kernel.ok("import sys, types\n"
              "sys.modules.update({'jupyter_guard.mask.' + 'render': types.ModuleType('fake')})")
    out = kernel.ok("import pandas as pd\n"
                    "pd.DataFrame({'salary': [123456], 'note': ['carl@example.net']})")
    assert "123456" not in out.everything() and "carl@example.net" not in out.everything()
