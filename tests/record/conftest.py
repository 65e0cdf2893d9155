from __future__ import annotations

import sys
from pathlib import Path

import pytest

# record_helpers is imported by these tests and by the writer processes they start; make it
# importable under any --import-mode (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    return tmp_path / "audit.duckdb"
