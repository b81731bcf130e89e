"""The PPR cache's staleness bound holds on random graphs under random edge changes, and the
engine keeps a vector a far-away follow cannot move but recomputes the follower's own."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.engine import Engine
from discovery.graph import personalized_pagerank
from discovery.ranking.affinity import follow_adjacency, ppr_state
from discovery.ranking.ppr_cache import GraphLog, PPRCache, row_changes, staleness
from discovery.store import Store
from worlds import NOW, build_known_world

N = 9


def dense_transition(a: np.ndarray) -> np.ndarray:
    """Plain-numpy reference: rows scaled to sum 1, empty rows left empty."""
    out = a.sum(axis=1, keepdims=True)
    return np.divide(a, out, out=np.zeros_like(a), where=out > 0)


edges = st.lists(st.tuples(st.integers(0, N - 1), st.integers(0, N - 1)), max_size=30)
weights = st.floats(0.5, 3.0)


def matrix(pairs, w=1.0) -> np.ndarray:
    a = np.zeros((N, N))
    for s, d in pairs:
        if s != d:
            a[s, d] = w
    return a


@settings(max_examples=80, deadline=None)
@given(edges, edges, weights)
def test_row_changes_against_dense_reference(before, after, w):
    old, new = matrix(before), matrix(after)
    new[::2] *= w  # re-weighted rows: a uniform scale leaves transitions alone, a mix does not
    new[:, ::3] *= w
    rows, delta = row_changes(sp.csr_matrix(old), sp.csr_matrix(new))
    ref = np.abs(dense_transition(new) - dense_transition(old)).sum(axis=1)
    flipped = (old.sum(axis=1) == 0) != (new.sum(axis=1) == 0)
    ref[flipped] = 2.0
    assert rows.tolist() == np.flatnonzero(ref > 1e-15).tolist()
    np.testing.assert_allclose(delta, ref[rows], rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    edges,
    st.lists(st.tuples(edges, edges), min_size=1, max_size=4),
    st.integers(0, N - 1),
    st.sampled_from([0.5, 0.85, 0.95]),
    weights,
)
def test_bound_holds_across_a_sequence_of_changes(start, steps, seed, alpha, w):
    """‖π_k − π_0‖₁ ≤ α/(1−α)·Σ_u π_0(u)·Σ_steps ‖ΔP_u‖₁, for exact PPR on both graphs."""
    a = matrix(start)
    log = GraphLog()
    log.update(sp.csr_matrix(a))
    t0 = log.total.copy()
    pi0 = personalized_pagerank(sp.csr_matrix(a), seed, alpha=alpha, tol=1e-13)
    for added, removed in steps:
        a = a.copy()
        for s, d in removed:
            a[s, d] = 0.0
        for s, d in added:
            if s != d:
                a[s, d] = w
        log.update(sp.csr_matrix(a))
    pik = personalized_pagerank(sp.csr_matrix(a), seed, alpha=alpha, tol=1e-13)
    assert np.abs(pik - pi0).sum() <= staleness(pi0, alpha, log.total - t0) + 1e-9


def test_cache_keeps_within_budget_and_recomputes_past_it():
    log = GraphLog()
    g0 = sp.csr_matrix(matrix([(0, 1), (1, 2), (2, 0), (3, 4), (4, 3)]))
    log.update(g0)
    cache = PPRCache(max_bytes=1 << 20)
    calls = []

    def compute(g):
        return lambda previous: (
            calls.append(1) or personalized_pagerank(g, 0, alpha=0.85, tol=1e-12)
        )

    vec = cache.get((0,), 0, log, 0.85, 1e-3, compute(g0))
    # a change in the other component (rows 3, 4) cannot reach seed 0: kept, bound 0
    g1 = sp.csr_matrix(matrix([(0, 1), (1, 2), (2, 0), (3, 4), (4, 3), (4, 5)]))
    log.update(g1)
    assert cache.get((0,), 0, log, 0.85, 1e-3, compute(g1)) is vec and cache.kept == 1
    # a neighbour's row changes: the bound (5.67 · π(1) · 1) is far above 1e-3, recomputed
    g2 = sp.csr_matrix(matrix([(0, 1), (1, 2), (1, 0), (2, 0), (3, 4), (4, 3), (4, 5)]))
    log.update(g2)
    fresh = cache.get((0,), 0, log, 0.85, 1e-3, compute(g2))
    assert len(calls) == 2 and fresh is not vec
    np.testing.assert_allclose(fresh, personalized_pagerank(g2, 0, alpha=0.85, tol=1e-12))
    # the seed's own row: recomputed whatever the budget
    g3 = sp.csr_matrix(matrix([(0, 1), (0, 3), (1, 2), (1, 0), (2, 0), (3, 4), (4, 3), (4, 5)]))
    log.update(g3)
    assert cache.get((0,), 0, log, 0.85, 10.0, compute(g3)) is not fresh and len(calls) == 3


def test_new_nodes_pad_cached_vectors_with_their_exact_zeros():
    """Accounts added are isolated nodes: no vector reaches them, so a cached vector padded
    with zeros is the new graph's PPR, and the log keeps its generation; a node set that
    shrinks (another graph) starts a new one."""
    log = GraphLog()
    g0 = sp.csr_matrix(matrix([(0, 1), (1, 2), (2, 0), (3, 4)]))
    log.update(g0)
    cache = PPRCache(max_bytes=1 << 20)
    first = cache.get((0,), 0, log, 0.85, 1e-3, lambda previous: ppr(g0))
    bigger = sp.csr_matrix(
        (g0.data, g0.indices, np.r_[g0.indptr, g0.indptr[-1:]]), shape=(N + 1, N + 1)
    )
    log.update(bigger)
    assert log.generation == 1 and log.total.shape == (N + 1,)
    assert log.graph is bigger and not log.dirty  # shared entries: no pass over the edges
    second = cache.get((0,), 0, log, 0.85, 1e-3, lambda previous: pytest.fail("recomputed"))
    assert len(second) == N + 1 and cache.misses == 1 and np.array_equal(second[:N], first)
    np.testing.assert_allclose(second, ppr(bigger), atol=1e-9)
    # the grown graph's rows change later: bounded as usual
    g2 = bigger.tolil()
    g2[N, 0] = 1.0  # the new account follows 0: no vector seeded at 0 moves
    log.update(sp.csr_matrix(g2))
    assert cache.get((0,), 0, log, 0.85, 1e-3, lambda previous: pytest.fail("moved")) is second
    # grown and changed at once (a copy, not sharing): the changed row is counted
    other = GraphLog()
    other.update(g0)
    changed = sp.csr_matrix(matrix([(0, 1), (1, 2), (1, 0), (2, 0), (3, 4)]))
    other.update(sp.csr_matrix(np.pad(changed.toarray(), ((0, 1), (0, 1)))))
    assert other.generation == 1 and other.dirty and other.total[1] > 0
    assert other.total[[0, 2, 3, N]].tolist() == [0, 0, 0, 0]
    smaller = sp.csr_matrix(matrix([(0, 1)])[: N - 1, : N - 1])
    log.update(smaller)
    assert log.generation == 2
    third = cache.get((0,), 0, log, 0.85, 1e-3, lambda previous: ppr(smaller))
    assert len(third) == N - 1 and cache.misses == 2


def ppr(g: sp.csr_matrix) -> np.ndarray:
    return personalized_pagerank(g, 0, alpha=0.85, tol=1e-12)


def test_engine_keeps_far_vectors_and_recomputes_the_followers_own(tmp_path):
    """In the known world 6 and 8 follow each other and nobody reaches them from me (1)."""
    build_known_world(tmp_path / "w.db").close()
    engine = Engine.open(tmp_path / "w.db")
    writer = Store.open(tmp_path / "w.db", create=False)
    assert 301 in {item.post_id for item in engine.feed("me", kind="explore")}  # zed's #hiking
    cache = ppr_state(engine.snapshot).cache
    assert (cache.misses, cache.kept) == (1, 0)
    with writer.transaction():  # far away: 6 follows 5 (my PPR has no mass on 6)
        writer.add_follows([(6, 5, NOW + 7)])
    engine.refresh()
    engine.feed("me", kind="explore")
    assert ppr_state(engine.snapshot).cache is cache  # survived the catch-up
    assert (cache.misses, cache.kept) == (1, 1)
    with writer.transaction():  # my own row: the account I follow moves to my timeline
        writer.add_follows([(1, 6, NOW + 8)])
    engine.refresh()
    feed = engine.feed("me", kind="explore")
    assert (cache.misses, cache.kept) == (2, 1)
    assert 301 not in {item.post_id for item in feed}  # 6's post: now followed, not explore
    ((vec, _, _, _),) = cache.entries.values()
    me = engine.user_index("me")
    exact = personalized_pagerank(follow_adjacency(engine.snapshot, True), me, tol=1e-12)
    assert np.abs(vec - exact).sum() < 1e-4


@settings(max_examples=40, deadline=None)
@given(edges, edges, st.integers(0, N - 1))
def test_warm_start_reaches_the_same_fixed_point(before, after, seed):
    """From the PPR of the old graph, the solver stops within the same error bound."""
    from discovery.graph import PPRIndex

    old, new = PPRIndex(sp.csr_matrix(matrix(before))), PPRIndex(sp.csr_matrix(matrix(after)))
    exact = new.pagerank(seed, alpha=0.85, tol=1e-13)
    warm = new.pagerank(seed, alpha=0.85, tol=1e-6, start=old.pagerank(seed, alpha=0.85))
    assert np.abs(warm - exact).sum() <= 1e-6 * 0.85 / 0.15 + 1e-12


def test_bad_start_vector_is_refused():
    import pytest

    from discovery.errors import InputError
    from discovery.graph import PPRIndex

    index = PPRIndex(sp.csr_matrix(matrix([(0, 1)])))
    for bad in (np.ones(N - 1), np.full(N, np.nan), -np.ones(N)):
        with pytest.raises(InputError, match="start"):
            index.pagerank(0, start=bad)


def test_a_recompute_starts_from_the_stale_vector():
    log = GraphLog()
    log.update(sp.csr_matrix(matrix([(0, 1), (1, 0)])))
    cache = PPRCache(max_bytes=1 << 20)
    seen = []
    first = cache.get(
        (0,), 0, log, 0.85, 1e-3, lambda previous: seen.append(previous) or np.eye(N)[0]
    )
    log.update(sp.csr_matrix(matrix([(0, 1), (0, 2), (1, 0)])))  # the seed's own row
    cache.get((0,), 0, log, 0.85, 1e-3, lambda previous: seen.append(previous) or np.eye(N)[1])
    assert seen[0] is None and seen[1] is first


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 8),
            st.sampled_from([101, 102, 201, 202, 301, 302]),
            st.sampled_from(["like", "comment", "view"]),
        ),
        max_size=25,
    ),
    st.lists(st.tuples(st.integers(1, 8), st.integers(1, 8)), max_size=6),
)
def test_weighted_graph_equals_the_reference_builder(tmp_path_factory, likes, follows):
    """The engine's like-weighted follow graph equals graph.interaction_weights over the raw
    interaction log (likes 1, comments 2, only on followed accounts, base weight 1)."""
    from discovery import graph
    from discovery.snapshot import load_snapshot
    from discovery.store.model import KIND_CODE

    store = build_known_world(tmp_path_factory.mktemp("w") / "w.db")
    with store.transaction():
        store.add_interactions([(u, p, k, NOW + i, None) for i, (u, p, k) in enumerate(likes)])
        store.add_follows([(a, b, NOW) for a, b in follows if a != b])
    snap = load_snapshot(store, cache=False)
    kind = snap.inter_kind
    w = np.where(kind == KIND_CODE["like"], 1.0, np.where(kind == KIND_CODE["comment"], 2.0, 0.0))
    authors = snap.post_author[snap.inter_post]
    keep = (w > 0) & (authors >= 0)
    ref = graph.interaction_weights(
        snap.follow_src,
        snap.follow_dst,
        snap.inter_user[keep],
        authors[keep],
        w[keep],
        snap.n_accounts,
    )
    got = follow_adjacency(snap, True)
    np.testing.assert_array_equal(got.toarray(), ref.toarray())


def _plain_differing_rows(old: sp.csr_matrix, new: sp.csr_matrix) -> list[int]:
    """The reference: row by row, the stored entries as Python lists."""
    out = []
    for u in range(old.shape[0]):
        a = slice(old.indptr[u], old.indptr[u + 1])
        b = slice(new.indptr[u], new.indptr[u + 1])
        if (old.indices[a].tolist(), old.data[a].tolist()) != (
            new.indices[b].tolist(),
            new.data[b].tolist(),
        ):
            out.append(u)
    return out


@settings(max_examples=200, deadline=None)
@given(edges, edges, st.sampled_from([1.0, 2.0]), st.booleans())
def test_the_one_pass_differing_rows_match_a_row_by_row_reference(before, after, w, wide):
    from discovery.ranking._kernels import differing_rows

    old, new = sp.csr_matrix(matrix(before)), sp.csr_matrix(matrix(after, w))
    if wide:  # the adjacency's indices may be 32- or 64-bit on either side
        new.indices = new.indices.astype(np.int64)
    assert differing_rows(old, new).tolist() == _plain_differing_rows(old, new)
    assert differing_rows(old, old.copy()).tolist() == []


@settings(max_examples=200, deadline=None)
@given(edges, st.lists(st.tuples(st.integers(0, N - 1), st.integers(0, N - 1), st.floats(0.5, 9))))
def test_edge_weights_are_each_followers_own_pair(follows, pairs):
    from discovery.ranking._kernels import edge_weights

    f = sp.csr_matrix(matrix(follows))
    for u in range(N):  # columns within a row need not be sorted
        f.indices[f.indptr[u] : f.indptr[u + 1]] = f.indices[f.indptr[u] : f.indptr[u + 1]][::-1]
    eng: dict[tuple[int, int], float] = {}
    for u, a, w in pairs:
        eng[(u, a)] = eng.get((u, a), 0.0) + w
    keys = sorted(eng)
    user = np.array([k[0] for k in keys], np.int64)
    author = np.array([k[1] for k in keys], np.int64)
    got = edge_weights(f, user, author, np.array([eng[k] for k in keys]))
    rows = np.repeat(np.arange(N), np.diff(f.indptr))
    want = [eng.get((int(u), int(a)), 0.0) for u, a in zip(rows, f.indices, strict=True)]
    assert got.tolist() == want


def test_the_weighted_follow_graph_is_the_tutorials_interaction_weights(tmp_path):
    from discovery.graph import interaction_weights
    from discovery.store.model import KIND_CODE

    build_known_world(tmp_path / "k.db").close()
    engine = Engine.open(tmp_path / "k.db")
    snap = engine.snapshot
    kind = snap.inter_kind
    w = np.where(kind == KIND_CODE["like"], 1.0, np.where(kind == KIND_CODE["comment"], 2.0, 0.0))
    author = snap.post_author[snap.inter_post]
    ok = (w > 0) & (author >= 0)
    want = interaction_weights(
        snap.follow_src, snap.follow_dst, snap.inter_user[ok], author[ok], w[ok], snap.n_accounts
    )
    got = follow_adjacency(snap, True)
    assert (got != want).nnz == 0 and got.nnz == want.nnz
    assert got.data.max() > 1  # the world has engagement on followed accounts


def test_a_log_without_changes_is_clean_and_its_baselines_exactly_zero():
    """Until a row changes, ``total`` is all zeros, the log is clean and the cache stores 0 as
    each vector's baseline without a dot product; the first change makes it dirty, and a
    vector cached while it was clean is still bounded by the whole change."""
    log = GraphLog()
    g0 = sp.csr_matrix(matrix([(0, 1), (1, 2), (2, 0), (3, 4), (4, 3)]))
    log.update(g0)
    log.update(sp.csr_matrix(g0.toarray()))  # rebuilt, equal: no row changed
    assert not log.dirty and not log.total.any() and log.epoch == 2
    cache = PPRCache(max_bytes=1 << 20)
    vec = cache.get((0,), 0, log, 0.85, 1e-3, lambda previous: np.full(N, 1.0 / N))
    assert cache.entries[(0,)][3] == 0.0
    g1 = sp.csr_matrix(matrix([(0, 1), (1, 2), (1, 0), (2, 0), (3, 4), (4, 3)]))
    log.update(g1)
    assert log.dirty and log.total[1] > 0
    # moved = π·total - 0 = total[1] / N; the bound 0.85/0.15 · that is far above 1e-3
    again = cache.get((0,), 0, log, 0.85, 1e-3, lambda previous: np.full(N, 2.0 / N))
    assert again is not vec and cache.misses == 2
    log.update(sp.csr_matrix((np.ones(1), ([0], [1])), shape=(N - 1, N - 1)))  # another graph
    assert not log.dirty and log.generation == 2
