"""Rebuilds beside the serving structures (:mod:`discovery.snapshot.rebuild`): a structure whose
lag ran out keeps serving, exactly as a lagging one did before; the one swapped in equals a
build at the copy's moment; a user's own follows stay exact through every interleaving of
catch-ups and swaps; what changed exactly meanwhile is never installed; a failed build falls
back to building on use; and a server's feeds settle on what a fresh engine serves."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.engine import Engine
from discovery.ranking.stats import follower_counts
from discovery.settings import Settings
from discovery.snapshot import INTERACTIONS_LAG, Snapshot, load_snapshot
from discovery.snapshot.rebuild import Rebuilder, begin
from discovery.snapshot.state import FollowGraph
from discovery.snapshot.turns import MachineTurns
from test_snapshot_derive import catch_up, tiny
from worlds import NOW, build_known_world


def truth(snap: Snapshot, user: int) -> list[int]:
    """Whom ``user`` follows, read from the arrays."""
    return sorted(set(snap.follow_dst[snap.follow_src == user].tolist()))


def unfollow(snap: Snapshot, src: int, dst: int) -> None:
    """What the loader does for a removed edge: new arrays, the change noted, invalidate."""
    keep = ~((snap.follow_src == src) & (snap.follow_dst == dst))
    snap.follow_src, snap.follow_dst = snap.follow_src[keep], snap.follow_dst[keep]
    snap.follow_time = snap.follow_time[keep]
    snap.note_follow_changes(np.array([src]), np.array([dst]), added=False)
    snap.invalidate({"follows"})


def follow(snap: Snapshot, src: int, dst: int) -> None:
    snap.note_follow_changes(np.array([src]), np.array([dst]), added=True)
    snap.follow_src = np.append(snap.follow_src, np.int32(src))
    snap.follow_dst = np.append(snap.follow_dst, np.int32(dst))
    snap.follow_time = np.append(snap.follow_time, NOW + 1)
    snap.invalidate({"follows"})


def serving(n_accounts: int = 100, n_follows: int = 2_000) -> Snapshot:
    snap = tiny(n_accounts=n_accounts, n_follows=n_follows)  # account 0 follows 1..20
    snap.derived.beside = True
    snap.follow_graph(), snap.followers_matrix(), follower_counts(snap)
    return snap


def test_a_stale_structure_serves_until_its_successor_built_at_the_copy_is_swapped_in():
    snap = serving()
    graph, counts = snap.follow_graph(), follower_counts(snap)
    catch_up(snap, "follows", 3)  # 0 -> 99 (3 rows), past the lag of 2 changes
    assert snap.follow_graph() is graph and follower_counts(snap) is counts  # still serving
    assert sorted(snap.derived.stale()) == ["follow_graph", "follower_counts"]
    assert snap.following(0).tolist() == [*range(1, 21), 99]  # own follows stay exact

    job = begin(snap)
    assert job is not None
    at_copy = (snap.follow_src.copy(), snap.follow_dst.copy())
    unfollow(snap, 0, 5)  # during the build: after the copy was taken
    follow(snap, 3, 50)
    job.build()
    assert snap.follow_graph() is graph  # nothing swapped before finish
    job.finish(snap)

    new = snap.follow_graph()
    expected = FollowGraph.build(*at_copy, snap.n_accounts).matrix
    assert new is not graph and (new.matrix != expected).nnz == 0  # as built at the copy
    assert snap.derived.stale() == []
    assert sorted(job.installed) == ["follow_graph", "follower_counts", "followers_matrix"]
    np.testing.assert_array_equal(
        follower_counts(snap), np.bincount(at_copy[1], minlength=snap.n_accounts)
    )
    for user in (0, 3, 5, 50, 99):  # the changes after the copy came across with the overlay
        assert snap.following(user).tolist() == truth(snap, user), user
    assert new.overlay == {0: {5: False}, 3: {50: True}}  # 0 -> 99 is in the new matrix
    # the lag clock runs from the copy: its two changes since, and one more, go past it
    assert snap.derived.stale() == []
    follow(snap, 4, 9)
    assert "follow_graph" in snap.derived.stale()


def test_without_beside_a_lagging_structure_is_dropped_as_before():
    snap = tiny(n_accounts=100, n_follows=2_000)
    graph = snap.follow_graph()
    catch_up(snap, "follows", 3)
    assert "follow_graph" not in snap.derived and snap.derived.stale() == []
    assert begin(snap) is None and snap.follow_graph() is not graph


def test_what_changed_exactly_during_the_build_is_not_installed():
    snap = serving()
    snap.derive_of("lagging", lambda s: len(s.inter_user), depends_on=("posts", INTERACTIONS_LAG))
    catch_up(snap, "follows", 3)
    catch_up(snap, "interactions", 1_001)  # past 2 % of 0 rows + 1,000
    assert sorted(snap.derived.stale()) == ["follow_graph", "follower_counts", "lagging"]
    job = begin(snap)
    assert job is not None
    snap.columns.edited("accounts")  # an account renamed: the follow structures are dropped
    snap.invalidate({"accounts"})  # (a new one they take in: tests/test_snapshot_grow.py)
    catch_up(snap, "posts")  # and "lagging" reads the posts exactly
    job.build()
    job.finish(snap)
    assert job.installed == []  # all three were dropped by the catch-ups meanwhile
    assert snap.derived.stale() == [] and "follow_graph" not in snap.derived
    assert snap.following(0).tolist() == truth(snap, 0)  # rebuilt on use, from the arrays
    assert snap.derived.get("lagging") is None


def test_a_structure_a_request_built_on_the_replaced_one_goes_with_it():
    snap = tiny(n_accounts=100, n_follows=2_000)
    snap.derived.beside = True
    graph = snap.follow_graph()
    catch_up(snap, "follows", 3)
    job = begin(snap)
    assert job is not None
    transposed = snap.followers_matrix()  # a request, on the stale graph, after the copy
    assert snap.derived.get("followers_matrix") is transposed
    job.build()
    job.finish(snap)
    assert snap.follow_graph() is not graph and "followers_matrix" not in snap.derived
    assert (snap.followers_matrix() != snap.follow_matrix().T).nnz == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["follow", "unfollow", "begin", "build", "finish"]),
            st.integers(0, 5),
            st.integers(0, 5),
        ),
        max_size=40,
    )
)
def test_own_follows_stay_exact_through_any_interleaving_of_catch_ups_and_swaps(steps):
    """Random follows, unfollows and rebuild phases on six accounts (every change is past the
    lag): after each step every user's follows equal the arrays'; once quiet and rebuilt, the
    swapped-in matrix holds exactly the arrays' edges."""
    snap = tiny(n_accounts=6, n_follows=8)
    snap.derived.beside = True
    snap.follow_graph()
    job, built = None, False
    for op, a, b in steps:
        if op == "follow" and a != b and b not in truth(snap, a):
            follow(snap, a, b)
        elif op == "unfollow" and b in truth(snap, a):
            unfollow(snap, a, b)
        elif op == "begin" and job is None:
            job, built = begin(snap), False
        elif op == "build" and job is not None:
            job.build()
            built = True
        elif op == "finish" and job is not None and built:
            job.finish(snap)
            job = None
        for user in range(6):
            assert snap.following(user).tolist() == truth(snap, user), (op, a, b, user)
    if job is not None:
        job.build()
        job.finish(snap)
    while (job := begin(snap)) is not None:
        job.build()
        job.finish(snap)
    expected = FollowGraph.build(snap.follow_src, snap.follow_dst, 6).matrix
    assert (snap.follow_graph().matrix != expected).nnz == 0
    for user in range(6):
        assert snap.following(user).tolist() == truth(snap, user)


def test_a_failed_build_drops_its_targets_and_the_next_use_builds_them():
    import threading

    snap = tiny(n_interactions=10)
    snap.derived.beside = True
    calls = []

    def build(s: Snapshot) -> int:
        calls.append(len(s.inter_user))
        if len(calls) == 2:
            raise MemoryError("the rebuild beside ran out")
        return len(s.inter_user)

    assert snap.derive_of("n", build, depends_on=(INTERACTIONS_LAG,)) == 10
    catch_up(snap, "interactions", 1_001)
    rebuilder = Rebuilder(threading.RLock())
    assert rebuilder.poke(snap) and rebuilder.wait(30)
    assert rebuilder.stats(snap).failed == 1 and "n" not in snap.derived
    assert snap.derive_of("n", build, depends_on=(INTERACTIONS_LAG,)) == 1_011  # on use


@pytest.fixture
def world(tmp_path):
    store = build_known_world(tmp_path / "w.db")
    yield store
    store.close()


def test_an_engine_that_rebuilds_beside_settles_on_what_rebuilding_on_use_serves(world, caplog):
    """Follows past the lag through the store: the engine keeps answering during the rebuild,
    its thread swaps the structures in, and then every feed equals that of an engine with the
    same history that rebuilt on use (PageRank vectors recomputed on any graph change in both:
    ``ppr_stale_l1=0``; post statistics lag the follows alike in both)."""
    caplog.set_level(logging.INFO, logger="discovery.snapshot.rebuild")
    exact = Settings(ppr_stale_l1=0.0)
    engine = Engine(world, load_snapshot(world, cache=False), exact)
    on_use = Engine(world, load_snapshot(world, cache=False), exact)
    rebuilder = engine.rebuild_beside()
    for e in (engine, on_use):
        for kind in ("timeline", "explore", "blend"):
            e.feed("me", kind=kind)
    graph = engine.snapshot.follow_graph()
    with world.transaction():
        world.add_follows([(2, 7, NOW + 1), (2, 8, NOW + 1)])
    engine.refresh()  # marks the follow structures stale and starts the thread
    on_use.refresh()  # drops them
    assert "follow_graph" not in on_use.snapshot.derived
    engine.feed("me", kind="explore")  # answered whether or not the swap happened yet
    assert rebuilder.wait(60)
    stats = rebuilder.stats(engine.snapshot)
    assert stats.done >= 1 and stats.stale == 0 and stats.failed == 0
    assert engine.snapshot.follow_graph() is not graph
    assert "follow_graph" in rebuilder.last_installed
    # each rebuild is logged with what it rebuilt, how long it took and what it swapped in
    logged = [r.getMessage() for r in caplog.records if r.name == "discovery.snapshot.rebuild"]
    assert any(
        "'follow_graph'" in m and f"swapped in {len(rebuilder.last_installed)}" in m for m in logged
    ), logged
    for user in ("me", "ana", "bo"):
        for kind in ("timeline", "explore", "blend"):
            got = [(i.post_id, i.score) for i in engine.feed(user, kind=kind).items]
            want = [(i.post_id, i.score) for i in on_use.feed(user, kind=kind).items]
            assert got == want, (user, kind)


def test_a_server_rebuilds_beside_and_reports_it_in_metrics(tmp_path):
    """Through the HTTP API: follows past the lag, the next feed marks the follow structures
    stale and starts the rebuild; once it is swapped in, ``/metrics`` counts it and no
    structure is left stale, and the feed reflects the new follow at once either way."""
    import warnings

    from discovery.service import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    db = tmp_path / "w.db"
    build_known_world(db).close()
    app = create_app(db)
    with TestClient(app) as client:
        engine = app.state.service.engine
        assert engine.snapshot.derived.beside and engine.rebuilder is not None
        graph = engine.snapshot.follow_graph()
        events = [{"id": "f1", "user": "me", "kind": "follow", "target": "cy"}]
        assert client.post("/v1/events", json=events).status_code == 200
        timeline = client.get("/v1/users/me/feed", params={"kind": "timeline", "limit": 50})
        assert 201 in [item["post_id"] for item in timeline.json()["items"]]  # cy's post
        assert engine.rebuilder.wait(60)
        assert engine.snapshot.follow_graph() is not graph
        metrics = client.get("/metrics").text
        assert 'discovery_snapshot_rebuilds{state="done"} 1.0' in metrics
        assert 'discovery_snapshot_rebuilds{state="failed"} 0.0' in metrics
        assert "discovery_snapshot_stale_structures 0.0" in metrics


def test_a_rebuild_waits_for_its_turn_and_serves_stale_meanwhile(tmp_path):
    """Two workers of one machine see the same stream and their lags run out together: a
    rebuild holds the machine's turn (an flock on one lock file) from its copy to its swap,
    so while another holder is inside, this one has started but built nothing — the stale
    value keeps serving — and once the turn is free it builds and swaps as usual."""
    snap = tiny(n_interactions=10)
    snap.derived.beside = True
    assert snap.derive_of("n", lambda s: len(s.inter_user), depends_on=(INTERACTIONS_LAG,)) == 10
    catch_up(snap, "interactions", 1_001)
    other = MachineTurns(tmp_path / "turns.lock")  # the other worker, rebuilding
    rebuilder = Rebuilder(threading.RLock(), MachineTurns(tmp_path / "turns.lock"))
    with other:
        assert rebuilder.poke(snap)
        assert not rebuilder.wait(0.5)  # waiting for its turn: not done, nothing built
        assert rebuilder.stats(snap).done == 0 and snap.derived.stale() == ["n"]
        assert snap.derive_of("n", lambda s: -1, depends_on=(INTERACTIONS_LAG,)) == 10
    assert rebuilder.wait(30)
    assert rebuilder.stats(snap).done == 1 and not snap.derived.stale()
    assert snap.derive_of("n", lambda s: -1, depends_on=(INTERACTIONS_LAG,)) == 1_011


def test_a_turn_held_too_long_is_waited_for_at_most_max_wait(tmp_path, caplog):
    """A holder that hangs (a stopped worker) delays a rebuild by ``max_wait`` at most: then
    the rebuild runs beside it, logged."""
    holder = MachineTurns(tmp_path / "turns.lock")
    waiter = MachineTurns(tmp_path / "turns.lock", max_wait=0.3)
    with holder:
        t = time.monotonic()
        with waiter:
            waited = time.monotonic() - t
        assert 0.3 <= waited < 5
    assert "no turn in 0 s" in caplog.text
    with waiter:  # free again: entered at once, and the holder now waits
        assert not holder.try_enter()
    assert holder.try_enter()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_rebuild_runs_below_the_requests_priority_and_leaves_theirs_alone():
    """``nice``: the rebuild thread lowers its own priority (the build function sees it); the
    thread that poked it — a request's — keeps its own."""
    seen = []

    def build(s: Snapshot) -> int:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return len(s.inter_user)

    snap = tiny(n_interactions=10)
    snap.derived.beside = True
    assert snap.derive_of("n", build, depends_on=(INTERACTIONS_LAG,)) == 10
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    catch_up(snap, "interactions", 1_001)
    rebuilder = Rebuilder(threading.RLock(), nice=7)
    assert rebuilder.poke(snap) and rebuilder.wait(30)
    assert rebuilder.stats(snap).done == 1
    assert seen == [mine, min(19, mine + 7)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_turns_object_closes_its_lock_file_when_it_goes(tmp_path):
    """Each server start makes one: its descriptor must not outlive it (tests open hundreds)."""
    import gc

    before = len(os.listdir("/proc/self/fd"))
    turns = MachineTurns(tmp_path / "turns.lock")
    with turns:
        assert len(os.listdir("/proc/self/fd")) == before + 1
    del turns
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before
