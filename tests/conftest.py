from __future__ import annotations

import os
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


@pytest.fixture
def known_client(known_db: Path):
    """The API and pages over :func:`known_db`, in process (open mode: no tokens)."""
    from fastapi.testclient import TestClient

    from discovery.service import create_app

    with TestClient(create_app(known_db)) as client:
        yield client


# ------------------------------------------------------------- store backends
@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory):
    """One throwaway PostgreSQL server for the session (see tests/stores.py)."""
    from stores import PgCluster, require_pg

    cluster = PgCluster(require_pg()).start()
    # Side files of server databases (snapshot cache, media) stay inside the test's temp tree.
    old = os.environ.get("DISCOVERY_DATA_DIR")
    os.environ["DISCOVERY_DATA_DIR"] = str(tmp_path_factory.mktemp("pg-side-files"))
    yield cluster
    if old is None:
        os.environ.pop("DISCOVERY_DATA_DIR", None)
    else:
        os.environ["DISCOVERY_DATA_DIR"] = old
    cluster.stop()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest):
    """A fresh, empty PostgreSQL database (its URL), dropped after the test."""
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.database()
    yield url
    cluster.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The contract suite's backend parameter: a new SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "contract.db")
    return str(request.getfixturevalue("pg_url"))
