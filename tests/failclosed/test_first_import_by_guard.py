"""pandas imported for the first time by one of the guard's own modules (``.pl()`` on a
relation makes the guard import its masking module, which imports pandas) still gets the
guard's pandas set-up: the set-up waits for the guard module to finish importing instead of
failing on it half-imported ("could not set up for pandas"), which left frames unmasked."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.kernelutil import guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("first", [
    "con.sql('SELECT ssn FROM customers').pl()",
    "con.sql('SELECT ssn FROM customers').arrow().read_all()",
])
def test_pandas_first_imported_inside_the_guard_is_set_up(tmp_path: Path, first: str) -> None:
    with guarded_kernel(tmp_path, warehouse=20, connect=True) as k:
        assert k.ok("import sys; print('pandas' in sys.modules)").text.strip() == "False"
        r = k.ok(first)
        assert "could not set up" not in r.everything(), r.everything()
        html = k.ok("import pandas as pd\n"
                    "pd.DataFrame({'email': ['jane.doe@example.com'], 'n': [1]})").mimes()
        assert "jane.doe" not in html.get("text/html", "x jane.doe") and "█" in html["text/html"]
        k.blocked("df = con.sql('SELECT * FROM customers').df()\n"
                  "getattr(df, 'to_' + 'csv')('out.csv')", "exfiltration")
        assert not (tmp_path / "out.csv").exists()
