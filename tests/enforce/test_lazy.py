"""pandas is set up when user code imports it, not at ``%load_ext``: masking and data-aware writers
still cover it, even when the import finder was taken out of ``sys.meta_path``."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel


def test_load_does_not_import_pandas(kernel):
    out = kernel.ok("import sys\n"
                    "print('pandas' in sys.modules, 'pandas.io.formats.style' in sys.modules)")
    assert "False False" in out.everything()


def test_pandas_imported_after_finder_removed_is_still_guarded(kernel):
    kernel.ok("import sys\n"
              "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'AfterImport']")
    out = kernel.ok("import pandas as pd\n"
                    "df = pd.DataFrame({'email': ['ann@example.com'], 'note': ['x']})\n"
                    "print(repr(df))\ndf")
    assert "ann@example.com" not in out.everything() and "@example.com" in out.everything()
    kernel.blocked("df.to_csv('lazy_out.csv')", "exfiltration")
    out_file = kernel.workdir / "lazy_out.csv"
    assert not out_file.exists() or out_file.stat().st_size == 0


def test_styler_is_masked_without_importing_it_at_load(kernel):
    out = kernel.ok("import pandas as pd\n"
                    "pd.DataFrame({'contact_email': ['bob@example.org']}).style")
    assert "bob@example.org" not in out.everything() and "@example.org" in out.everything()

