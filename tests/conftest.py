from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def known_db(tmp_path: Path) -> Path:
    from worlds import build_known_world

    path = tmp_path / "known.db"
    build_known_world(path).close()
    return path
