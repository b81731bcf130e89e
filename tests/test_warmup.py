"""The warm-up builds what a feed would build lazily, so the first requests find it built."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discovery.engine import Engine
from discovery.ranking.feedkinds import PUBLIC_KINDS
from discovery.signals.features import served_features
from discovery.snapshot import load_snapshot
from discovery.snapshot.load import GROWING
from discovery.store import Store
from discovery.warmup import warm_up
from discovery.world import generate_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("implicit")
    from discovery.signals.als import ALSParams, save_als

    path = tmp_path_factory.mktemp("warm") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=5)
    with Store.open(path, create=False) as store:
        save_als(store, load_snapshot(store, cache=False), ALSParams(factors=8, iterations=3))
    return path


def test_after_the_warm_up_no_feed_builds_a_structure(world: Path) -> None:
    engine = Engine.open(world)
    snap = engine.snapshot
    done = warm_up(engine)
    # what /metrics reports does not count the warm-up's feeds
    assert engine.candidate_counts == {"precomputed": 0, "online": 0}
    assert engine.ppr_cache_stats() == {"hit": 0, "kept": 0, "miss": 0}
    counts = np.bincount(snap.inter_user, minlength=snap.n_accounts)
    assert done.users[0] == int(np.argmax(counts)) and done.built
    assert set(done.built) <= set(snap.derived.keys())
    aligned = engine.artifacts["als"].aligned(snap)
    assert "known_users" in aligned.__dict__ and "gram" in aligned.model.__dict__
    if len(done.users) > 1:  # the second served account is one the model does not know
        assert aligned.user_row[done.users[1]] < 0
    # the columns catch-ups append to already have room (the first catch-up copies nothing)
    assert set(GROWING) <= snap.columns.buffers.keys()
    for name in GROWING:
        assert np.shares_memory(getattr(snap, name)[:1], snap.columns.buffers[name][:1]), name
    built = set(snap.derived.keys())
    for user in np.flatnonzero(counts)[:: max(1, len(np.flatnonzero(counts)) // 15)].tolist():
        engine.user_index(str(snap.handle[user]))  # as a request names the user
        for kind in PUBLIC_KINDS:  # and the features its impressions log
            served_features(engine, int(user), engine.feed(int(user), k=10, kind=kind).items)
        engine.interests(int(user))
    assert set(snap.derived.keys()) == built, set(snap.derived.keys()) - built


def test_a_cold_engine_builds_what_the_warm_up_builds(world: Path) -> None:
    """The warm-up is not empty: the same feeds on a cold engine build those structures."""
    cold = Engine.open(world)
    before = set(cold.snapshot.derived.keys())
    user = int(np.argmax(np.bincount(cold.snapshot.inter_user)))
    cold.feed(user, kind="explore")
    assert set(cold.snapshot.derived.keys()) - before


def test_an_empty_world_is_left_alone(tmp_path: Path) -> None:
    Store.open(tmp_path / "empty.db").close()
    done = warm_up(Engine.open(tmp_path / "empty.db"))
    assert done.users == [] and done.built == []


def test_the_server_warms_each_worker_before_serving(world: Path) -> None:
    from fastapi.testclient import TestClient

    from discovery.service import create_app

    app = create_app(world)
    with TestClient(app):
        snap = app.state.service.engine.snapshot
        assert "hashtag_clusters" in snap.derived and "ppr_state" in snap.derived


def test_a_failed_warm_up_leaves_the_server_serving(
    world: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    import discovery.warmup
    from discovery.service import create_app

    def broken(engine: Engine) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(discovery.warmup, "warm_up", broken)
    with TestClient(create_app(world)) as client:
        user = str(Engine.open(world).snapshot.handle[0])
        assert client.get(f"/v1/users/{user}/feed?kind=explore").status_code == 200
    assert "warm-up failed" in caplog.text
