"""The snapshot: incremental catch-up equals a full reload, the cache is keyed correctly,
and ``as_of`` lets nothing from after the cut through."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discovery.snapshot import IdIndex, cache_path, load_snapshot, refresh_snapshot
from discovery.store import Store, StoreError
from worlds import NOW, build_known_world


def canonical(snap):
    """Content of a snapshot independent of index order (ids, not indexes)."""
    acc, post = snap.account_id, snap.post_id
    follows = sorted(zip(acc[snap.follow_src].tolist(), acc[snap.follow_dst].tolist(), strict=True))
    live = ~snap.post_removed  # a deleted post and a withdrawn interaction are simply gone
    posts = sorted(
        zip(
            post[live].tolist(),
            [int(acc[a]) if a >= 0 else -1 for a in snap.post_author[live]],
            snap.post_likes[live].tolist(),
            snap.post_comments[live].tolist(),
            strict=True,
        )
    )
    t = live[snap.tag_post]
    tags = sorted(
        zip(post[snap.tag_post[t]].tolist(), snap.tag_name[snap.tag_id[t]].tolist(), strict=True)
    )
    i = snap.inter_kind >= 0
    inter = sorted(
        zip(
            acc[snap.inter_user[i]].tolist(),
            post[snap.inter_post[i]].tolist(),
            snap.inter_kind[i].tolist(),
            snap.inter_time[i].tolist(),
            strict=True,
        )
    )
    handles = sorted(zip(acc.tolist(), snap.handle.tolist(), strict=True))
    return handles, follows, posts, tags, inter, snap.counter


ops = st.lists(
    st.one_of(
        st.tuples(st.just("account"), st.integers(20, 30)),
        st.tuples(st.just("follow"), st.integers(1, 8), st.integers(1, 8)),
        st.tuples(st.just("unfollow"), st.integers(1, 8), st.integers(1, 8)),
        st.tuples(st.just("post"), st.integers(600, 620), st.integers(1, 8)),
        st.tuples(st.just("like"), st.integers(1, 8), st.sampled_from([101, 201, 302, 600])),
        st.tuples(st.just("unlike"), st.integers(1, 8), st.sampled_from([101, 201, 302, 600])),
        st.tuples(st.just("delete"), st.sampled_from([101, 201, 302, 600, 601])),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(ops, min_size=1, max_size=3))
def test_incremental_refresh_equals_full_reload(tmp_path_factory, batches):
    path = tmp_path_factory.mktemp("snap") / "w.db"
    store = build_known_world(path)
    live = load_snapshot(store)
    t = NOW + 10
    for batch in batches:
        # a like on a post that does not exist yet makes the whole batch roll back
        with contextlib.suppress(StoreError):
            apply(store, batch, t)
        t += len(batch)
        refresh_snapshot(store, live)
        cached = load_snapshot(store)  # cache written by the previous load + delta
        full = load_snapshot(store, cache=False)
        assert canonical(live) == canonical(full) == canonical(cached)
    store.close()


def apply(store, batch, t):
    with store.transaction():
        for op in batch:
            t += 1
            if op[0] == "account":
                store.add_accounts([(op[1], f"user{op[1]}", "", "person", t)])
            elif op[0] == "follow":
                store.add_follows([(op[1], op[2], t)])
            elif op[0] == "unfollow":
                store.remove_follows([(op[1], op[2])])
            elif op[0] == "post":
                store.add_posts([(op[1], op[2], t, f"#tag{op[1] % 3} new", "photo", None, 0, 0)])
            elif op[0] == "unlike":
                store.remove_interactions([(op[1], op[2], "like")])
            elif op[0] == "delete":
                store.remove_posts([op[1]])
            else:
                store.add_interactions([(op[1], op[2], "like", t, None)], update_counts=True)


def test_cache_is_rebuilt_for_a_different_database(tmp_path):
    path = tmp_path / "w.db"
    store = build_known_world(path)
    first = load_snapshot(store)
    assert cache_path(store).exists()
    store.close()
    path.unlink()
    path.with_name("w.db-wal").unlink(missing_ok=True)
    other = Store.open(path)  # a new file at the same path, same change counter
    with other.transaction():
        other.add_accounts([(1, "solo", "", "person", 0)])
    again = load_snapshot(other)
    assert again.n_accounts == 1 and first.n_accounts == 8


def test_damaged_cache_is_ignored(tmp_path):
    store = build_known_world(tmp_path / "w.db")
    good = canonical(load_snapshot(store))
    cache_path(store).write_bytes(b"not a zip file")
    assert canonical(load_snapshot(store)) == good


def test_as_of_keeps_nothing_from_after_the_cut(tmp_path):
    store = build_known_world(tmp_path / "w.db")
    snap = load_snapshot(store)
    cut = NOW - 3 * 3600 + 1
    past = snap.as_of(cut)
    assert past.now == cut
    assert (past.inter_time <= cut).all() and (past.follow_time <= cut).all()
    # ana liked 301 two hours before NOW: after the cut, so gone, and 301's count rewinds
    liked = snap.posts.lookup(301)[0]
    assert snap.post_likes[liked] - past.post_likes[liked] == 1
    # posts taken after the cut have no engagement yet
    fresh = snap.post_taken > cut
    assert (past.post_likes[fresh] == 0).all() and (past.post_comments[fresh] == 0).all()


def test_id_index_lookup_against_a_dict():
    rng = np.random.default_rng(3)
    ids = rng.choice(10_000, size=500, replace=False)
    index = IdIndex.build(ids)
    ref = {int(v): i for i, v in enumerate(ids)}
    query = rng.integers(0, 10_000, size=1000)
    assert index.lookup(query).tolist() == [ref.get(int(q), -1) for q in query]


@pytest.mark.parametrize("ranker", ["default", "tutorial"])
def test_ranker_contract(tmp_path, ranker):
    """Every scorer: one finite non-negative score per post, deterministic, batch == single."""
    from discovery.ranking import get_ranker, user_context
    from discovery.settings import Settings

    store = build_known_world(tmp_path / "w.db")
    snap = load_snapshot(store)
    ctx = user_context(snap, snap.account_index("me"), Settings())
    posts = np.arange(snap.n_posts)
    rk = get_ranker(ranker)
    batch = rk.score(ctx, posts, discovery=False)
    assert batch.scores.shape == (snap.n_posts,)
    assert np.isfinite(batch.scores).all() and (batch.scores >= 0).all()
    again = rk.score(ctx, posts, discovery=False)
    assert np.array_equal(batch.scores, again.scores)
    single = np.array([rk.score(ctx, np.array([p]), discovery=False).scores[0] for p in posts])
    np.testing.assert_allclose(single, batch.scores, rtol=1e-12)
    for values in batch.factors.values():
        assert values.shape == (snap.n_posts,)


def test_new_interactions_keep_graph_indexes_and_reach_the_user(tmp_path):
    store = build_known_world(tmp_path / "w.db")
    snap = load_snapshot(store)
    me = snap.account_index("me")
    graph = snap.follow_matrix()
    tags = snap.post_tags_matrix()
    before = len(snap.user_interactions(me))
    with store.transaction():
        store.add_interactions([(1, 302, "hide", NOW + 5, None)])
    refresh_snapshot(store, snap)
    assert snap.follow_matrix() is graph and snap.post_tags_matrix() is tags  # kept
    mine = snap.user_interactions(me)  # the unindexed tail is scanned
    assert len(mine) == before + 1 and snap.post_id[snap.inter_post[mine[-1]]] == 302
    pos, owner = snap.users_interactions(np.array([me]))
    assert sorted(pos.tolist()) == sorted(mine.tolist()) and set(owner.tolist()) == {0}
    with store.transaction():
        store.add_follows([(1, 4, NOW + 6)])
    refresh_snapshot(store, snap)
    assert snap.follow_matrix() is not graph and snap.post_tags_matrix() is tags
    assert snap.account_index("cy") in snap.following(me)


def test_interaction_on_a_missing_post_is_refused(tmp_path):
    store = build_known_world(tmp_path / "w.db")
    counter = store.change_counter
    with pytest.raises(StoreError, match="no such post 999"), store.transaction():
        store.add_interactions([(1, 999, "like", NOW, None)])
    with pytest.raises(StoreError, match="no such account 77"), store.transaction():
        store.add_interactions([(77, 101, "like", NOW, None)], update_counts=True)
    assert store.change_counter == counter


def test_catch_up_appends_into_the_same_buffers(tmp_path):
    """A catch-up of a few rows writes into spare capacity: the second and third refresh
    reuse the buffers of the first (no copy of whole columns), and ids still resolve."""
    store = build_known_world(tmp_path / "w.db")
    snap = load_snapshot(store)
    bases = []
    for i in range(3):
        with store.transaction():
            store.add_interactions([(1, 101, "view", NOW + 10 + i, None)], update_counts=True)
        refresh_snapshot(store, snap)
        cols = (snap.inter_user, snap.inter_time, snap.post_likes)
        bases.append([c.__array_interface__["data"][0] for c in cols])
    assert bases[1] == bases[0] and bases[2] == bases[0]
    assert canonical(snap) == canonical(load_snapshot(store, cache=False))


def test_follow_matrix_lags_but_following_stays_exact(tmp_path):
    """2,000 edges: the follow matrix is rebuilt only after more than 2 changes (0.1 %); in
    between, following() applies the changes, and the arrays always equal a full reload."""
    from discovery.snapshot import FOLLOW_REBUILD_SHARE

    store = Store.open(tmp_path / "f.db", create=True)
    with store.transaction():
        store.add_accounts((i, f"u{i}", f"U{i}", "person", NOW) for i in range(1, 202))
        store.add_follows((i, 1 + (i + j) % 201, NOW) for i in range(1, 201) for j in range(1, 11))
    snap = load_snapshot(store)
    assert FOLLOW_REBUILD_SHARE * len(snap.follow_src) == pytest.approx(2.0)
    u, m0 = snap.account_index("u1"), snap.follow_matrix()
    ids = lambda idx: sorted(int(snap.account_id[i]) for i in idx)  # noqa: E731
    before = ids(snap.following(u))
    assert 201 not in before and 3 in before

    def step(write):
        with store.transaction():
            write()
        refresh_snapshot(store, snap)
        assert canonical(snap) == canonical(load_snapshot(store, cache=False))

    step(lambda: store.add_follows([(1, 201, NOW + 1)]))  # 1 change: the matrix lags
    assert snap.follow_matrix() is m0 and ids(snap.following(u)) == sorted([*before, 201])
    step(lambda: store.remove_follows([(1, 3)]))  # 2 changes: still lags
    assert snap.follow_matrix() is m0
    assert ids(snap.following(u)) == sorted(set(before) - {3} | {201})
    step(lambda: store.add_follows([(1, 201, NOW + 2)]))  # re-stamped: neither new nor twice
    assert snap.follow_matrix() is m0 and ids(snap.following(u)).count(201) == 1
    step(lambda: store.add_follows([(1, 3, NOW + 3)]))  # 3 changes > 2: rebuilt
    m1 = snap.follow_matrix()
    assert m1 is not m0 and snap.follow_graph().overlay == {}
    assert ids(snap.following(u)) == sorted(set(before) | {201})
