"""A user's own follows are exact in their PageRank while the follow matrix lags its rebuild
(ranking/own_row.py): after following two accounts and dropping one, the lagging engine's
vector equals a freshly loaded engine's, in every mode that has an index."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from discovery import Engine
from discovery.ranking import affinity
from discovery.settings import Settings
from discovery.world import generate_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("own") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=13)
    return path


def _opened(tmp_path: Path, world: Path, settings: Settings) -> tuple[Path, Engine]:
    """A copy of the world and an engine on it."""
    path = tmp_path / "w.db"
    shutil.copy(world, path)
    return path, Engine.open(path, settings=settings)


def _user(engine: Engine) -> int:
    """The first account that follows exactly five others."""
    snap = engine.snapshot
    return int(np.argmax(np.bincount(snap.follow_src, minlength=snap.n_accounts) == 5))


def _follow_and_drop(engine: Engine, user: int) -> tuple[list[int], int]:
    """``user`` follows two accounts and unfollows one; the engine catches up."""
    snap = engine.snapshot
    now = set(snap.following(user).tolist())
    new = [a for a in range(snap.n_accounts) if a != user and a not in now][:2]
    dropped = min(now)
    aid = lambda i: int(snap.account_id[i])  # noqa: E731
    with engine.store.transaction():
        engine.store.add_follows([(aid(user), aid(a), 1) for a in new])
        engine.store.remove_follows([(aid(user), aid(dropped))])
    engine.refresh()
    return new, dropped


@pytest.mark.parametrize(
    ("mode", "weighted", "tolerance"),
    [
        ("exact", True, 1e-4),  # two power iterations to tol 1e-5 apart
        ("exact", False, 1e-4),
        ("push", True, 1e-2),  # forward push at eps 3e-6 on each side
        ("push", False, 1e-2),
        ("fora", True, 3e-2),  # plus random walks
    ],
)
def test_own_follows_are_exact_while_the_matrix_lags(
    tmp_path: Path,
    world: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    weighted: bool,
    tolerance: float,
) -> None:
    settings = Settings(ppr_mode=mode, weighted_edges=weighted, precomputed_max_age=0)
    path, engine = _opened(tmp_path, world, settings)
    snap = engine.snapshot
    user = _user(engine)
    matrix = snap.follow_matrix()
    affinity.user_ppr(engine.context(user))  # cached on the old graph
    new, dropped = _follow_and_drop(engine, user)
    assert engine.snapshot.follow_matrix() is matrix  # the graph lags: not rebuilt

    got = affinity.user_ppr(engine.context(user))
    fresh = Engine.open(path, settings=settings)
    want = affinity.user_ppr(fresh.context(user))
    assert fresh.snapshot.follow_matrix() is not matrix
    assert np.abs(got.dense() - want.dense()).sum() < tolerance
    assert got[np.array(new)].min() > 0 and got[dropped] < want[dropped] + tolerance

    # without the own row, the lagging vector is far from the fresh one
    monkeypatch.setattr(affinity, "own_row", lambda *args: None)
    lagging = affinity.user_ppr(engine.context(user))
    assert np.abs(lagging.dense() - want.dense()).sum() > 0.1


def test_the_own_row_vector_is_cached_and_goes_with_the_rebuild(
    tmp_path: Path, world: Path
) -> None:
    """Asked again, the corrected vector comes from the cache; once more follows pass the lag
    (0.1 % of ~3,900 edges: the fourth change) the matrix is rebuilt with the user's row, and
    the vector is recomputed on it."""
    path, engine = _opened(tmp_path, world, Settings(precomputed_max_age=0))
    user = _user(engine)
    matrix = engine.snapshot.follow_matrix()
    _follow_and_drop(engine, user)
    first = affinity.user_ppr(engine.context(user))
    assert affinity.user_ppr(engine.context(user)) is first
    assert engine.snapshot.follow_matrix() is matrix
    _follow_and_drop(engine, user)
    assert engine.snapshot.follow_matrix() is not matrix
    assert engine.snapshot.follow_graph().overlay == {}
    second = affinity.user_ppr(engine.context(user))
    assert second is not first
    fresh = Engine.open(path, settings=Settings(precomputed_max_age=0))
    assert np.abs(second.dense() - affinity.user_ppr(fresh.context(user)).dense()).sum() < 1e-4


@pytest.mark.parametrize(("mode", "tolerance"), [("exact", 1e-4), ("push", 1e-2)])
def test_own_likes_weigh_in_at_once_while_the_weighted_graph_lags(
    tmp_path: Path, world: Path, monkeypatch: pytest.MonkeyPatch, mode: str, tolerance: float
) -> None:
    """Three likes and a comment on a followed account's posts raise that edge's weight by 5
    in the user's own PageRank at once, while the like-weighted graph keeps its lag: the
    vector equals a freshly loaded engine's, and the account gains mass."""
    settings = Settings(ppr_mode=mode, weighted_edges=True, precomputed_max_age=0)
    path, engine = _opened(tmp_path, world, settings)
    snap = engine.snapshot
    user = _user(engine)
    weighted = affinity.follow_adjacency(snap, True)
    before = affinity.user_ppr(engine.context(user))
    target = int(snap.following(user)[0])
    liked = set(snap.inter_post[snap.user_interactions(user)].tolist())
    posts = [p for p in np.flatnonzero(snap.post_author == target) if p not in liked][:3]
    assert len(posts) == 3
    aid, pid = int(snap.account_id[user]), [int(snap.post_id[p]) for p in posts]
    with engine.store.transaction():
        rows = [(aid, p, "like", 10**9 + i, None) for i, p in enumerate(pid)]
        engine.store.add_interactions([*rows, (aid, pid[0], "comment", 10**9 + 5, None)])
    engine.refresh()
    assert affinity.follow_adjacency(engine.snapshot, True) is weighted  # lags: not rebuilt
    index = affinity._ppr_index(engine.snapshot, True)
    row = affinity.own_row(engine.snapshot, user, index, True)
    assert row is not None and row.new[0].tolist() == row.old[0].tolist()
    assert (row.new[1] - row.old[1]).tolist() == [5.0 if a == target else 0.0 for a in row.new[0]]

    got = affinity.user_ppr(engine.context(user))
    want = affinity.user_ppr(Engine.open(path, settings=settings).context(user))
    assert np.abs(got.dense() - want.dense()).sum() < tolerance
    assert got[target] - before[target] > 0.05  # 0.159 -> 0.233 here
    monkeypatch.setattr(affinity, "own_row", lambda *args: None)  # the lagging row instead
    lagging = affinity.user_ppr(engine.context(user))
    assert np.abs(lagging.dense() - want.dense()).sum() > 3 * tolerance

    monkeypatch.undo()  # an unlike takes its weight back at once too
    with engine.store.transaction():
        assert engine.store.remove_interactions([(aid, pid[1], "like")]) == 1
    engine.refresh()
    row = affinity.own_row(engine.snapshot, user, index, True)
    assert row is not None and (row.new[1] - row.old[1]).max() == 4.0
