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


@pytest.fixture(scope="package")
def session_audit(work_root: Path) -> Path:
    """An audit file from scripted sessions in real kernels (see governance_session)."""
    from governance_session import build

    folder = work_root / "governance"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "keep.csv").write_text("id\n1\n")
    return build(folder)
