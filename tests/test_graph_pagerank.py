"""Exact personalized PageRank: hand-computed answers, networkx, the reference twin, errors."""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings

from discovery.errors import InputError
from discovery.graph import (
    PPRConvergenceError,
    PPRIndex,
    adjacency_from_edges,
    personalized_pagerank,
    push_pagerank,
    tutorial_graph,
)
from graph_fixtures import (
    LASTFM_FRIENDS,
    community_graph,
    graphs,
    lastfm_edges,
    nx_digraph,
    reference_ppr,
)

A = 0.85


def cycle(n: int) -> sp.csr_array:
    return adjacency_from_edges(np.arange(n), (np.arange(n) + 1) % n, n)


def as_edges(n, edges):
    if not edges:
        return adjacency_from_edges([], [], n)
    s, d, w = zip(*edges, strict=True)
    return adjacency_from_edges(list(s), list(d), n, weights=list(w))


# --- known answers, solved by hand ----------------------------------------------------------


def test_directed_cycle_is_uniform_with_uniform_personalization():
    x = personalized_pagerank(cycle(7), list(range(7)))
    np.testing.assert_allclose(x, np.full(7, 1 / 7), atol=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 0.85, 0.99])
def test_cycle_from_one_seed_decays_geometrically(alpha):
    # x_k = (1 - a) a^k / (1 - a^n): the walk restarts at 0 and reaches k after exactly k steps.
    n = 40
    x = personalized_pagerank(cycle(n), 0, alpha=alpha, max_iter=10_000)
    k = np.arange(n)
    np.testing.assert_allclose(x, (1 - alpha) * alpha**k / (1 - alpha**n), atol=1e-9)


def test_two_node_cycle():
    # x0 = 1 - a + a x1, x1 = a x0  =>  x0 = 1 / (1 + a)
    x = personalized_pagerank(adjacency_from_edges([0, 1], [1, 0], 2), 0)
    np.testing.assert_allclose(x, [1 / (1 + A), A / (1 + A)], atol=1e-12)


def test_dangling_mass_returns_to_the_seed():
    # 0 -> 1 and 1 dangling behaves like the 2-cycle: 1's mass goes back to the seed 0.
    x = personalized_pagerank(adjacency_from_edges([0], [1], 2), 0)
    np.testing.assert_allclose(x, [1 / (1 + A), A / (1 + A)], atol=1e-12)


def test_dangling_mass_follows_the_personalization_weights():
    # Only node 2 has an edge (2 -> 0); seeds 1 (weight 3) and 2 (weight 1), nodes 0, 1 dangle.
    # x0 = a x2;  x1 = 3/4 (a (x0 + x1) + 1 - a);  x2 = 1/4 (a (x0 + x1) + 1 - a).
    x = personalized_pagerank(adjacency_from_edges([2], [0], 3), {1: 3.0, 2: 1.0})
    # x0 + x1 = 1 - x2 and x2 = (a (1 - x2) + 1 - a) / 4  =>  x2 = 1 / (4 + a)
    x2 = 1 / (4 + A)
    np.testing.assert_allclose(x, [A * x2, 3 * x2, x2], atol=1e-12)


def test_self_loop_counts_as_an_edge():
    # 0 -> 0, 0 -> 1, 1 -> 0: x0 = 1 - a + a x0 / 2 + a x1, x1 = a x0 / 2.
    x = personalized_pagerank(adjacency_from_edges([0, 0, 1], [0, 1, 0], 2), 0)
    x0 = (1 - A) / (1 - A / 2 - A * A / 2)
    np.testing.assert_allclose(x, [x0, A * x0 / 2], atol=1e-12)


def test_weights_split_the_mass():
    # 0 -> 1 (weight 3), 0 -> 2 (weight 1), both point back to 0.
    a = adjacency_from_edges([0, 0, 1, 2], [1, 2, 0, 0], 3, weights=[3, 1, 1, 1])
    x0 = 1 / (1 + A)
    np.testing.assert_allclose(
        personalized_pagerank(a, 0), [x0, 0.75 * A * x0, 0.25 * A * x0], atol=1e-12
    )
    unweighted = personalized_pagerank(a, 0, weight=False)
    np.testing.assert_allclose(unweighted, [x0, 0.5 * A * x0, 0.5 * A * x0], atol=1e-12)


def test_isolated_seed_keeps_everything():
    x = personalized_pagerank(adjacency_from_edges([1, 2], [2, 1], 4), 0)
    np.testing.assert_allclose(x, [1, 0, 0, 0], atol=1e-15)


def test_linear_in_the_personalization():
    a = community_graph(500, 5, 6)
    mix = personalized_pagerank(a, {3: 0.25, 70: 0.75})
    parts = 0.25 * personalized_pagerank(a, 3) + 0.75 * personalized_pagerank(a, 70)
    assert np.abs(mix - parts).sum() < 1e-8


def test_seed_forms_agree():
    a = community_graph(300, 3, 5)
    one = personalized_pagerank(a, 5)
    for seeds in (np.int64(5), [5], (5,), np.array([5]), {5: 2.0}, {5: 1.0, 6: 0.0}):
        np.testing.assert_array_equal(personalized_pagerank(a, seeds), one)
    # repeats add up: [1, 1, 2] is {1: 2, 2: 1}
    np.testing.assert_allclose(
        personalized_pagerank(a, [1, 1, 2]), personalized_pagerank(a, {1: 2, 2: 1}), atol=1e-15
    )


# --- networkx and the reference twin ---------------------------------------------------------


def networkx_vector(n, edges, seeds, alpha=A):
    g = nx_digraph(n, edges)
    got = nx.pagerank(g, alpha=alpha, personalization=seeds, tol=1e-13, max_iter=100_000)
    return np.array([got[u] for u in range(n)])


@settings(max_examples=80, deadline=None)
@given(graphs())
@example((1, [], {0: 1.0}))  # a single isolated node
@example((4, [(1, 1, 1.0)], {0: 1.0, 1: 1.0}))  # isolated seed beside a self-loop
@example((6, [(0, 1, 1.0), (1, 0, 2.0), (3, 4, 1.0), (4, 5, 1.0)], {0: 1.0, 3: 2.0}))
def test_matches_networkx_and_the_reference_twin(case):
    n, edges, seeds = case
    ours = personalized_pagerank(as_edges(n, edges), seeds)
    ref = np.array(reference_ppr(n, edges, seeds))
    assert ours.shape == (n,) and np.all(ours >= 0)
    assert abs(ours.sum() - 1) < 1e-12
    assert np.abs(ours - ref).sum() < 1e-9
    assert np.abs(ours - networkx_vector(n, edges, seeds)).sum() < 1e-6


def test_matches_networkx_on_a_weighted_community_graph():
    coo = community_graph(400, 4, 6).tocoo()
    keep = coo.row != 0  # node 0 dangles
    weights = (np.arange(coo.nnz) % 5 + 1.0)[keep]
    a = adjacency_from_edges(coo.row[keep], coo.col[keep], 400, weights=weights)
    edges = list(zip(coo.row[keep].tolist(), coo.col[keep].tolist(), weights.tolist(), strict=True))
    for seeds in (0, {7: 1.0, 9: 3.0}):
        want = networkx_vector(400, edges, seeds if isinstance(seeds, dict) else {seeds: 1})
        assert np.abs(personalized_pagerank(a, seeds) - want).sum() < 1e-6


@pytest.mark.skipif(not LASTFM_FRIENDS.exists(), reason=f"Last.fm data absent: {LASTFM_FRIENDS}")
def test_matches_networkx_on_lastfm_friends():
    src, dst, n = lastfm_edges()
    index = PPRIndex(adjacency_from_edges(src, dst, n, duplicates="one"))
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    for seeds in (0, {17: 1.0, 400: 2.0}, 1500):
        pers = seeds if isinstance(seeds, dict) else {seeds: 1.0}
        nxv = nx.pagerank(g, alpha=A, personalization=pers, tol=1e-12)
        want = np.array([nxv[u] for u in range(n)])
        assert np.abs(index.pagerank(seeds) - want).sum() < 1e-6
    # and the tutorial's undirected reading of the same rows
    und = nx.Graph(g)
    nxv = nx.pagerank(und, alpha=A, personalization={3: 1.0}, tol=1e-12)
    want = np.array([nxv[u] for u in range(n)])
    ours = personalized_pagerank(tutorial_graph(src, dst, n), 3)
    assert np.abs(ours - want).sum() < 1e-6


# --- peer pitfalls ---------------------------------------------------------------------------


def test_tol_bounds_the_l1_error_whatever_the_size():
    # Pitfall 1 (networkx stops at L1 < N * tol) and 5 (an L2 rule): our tol is an L1 change,
    # and a contraction by alpha bounds the error by tol * alpha / (1 - alpha).
    a = community_graph(3000, 30, 10)
    index = PPRIndex(a)
    tight = index.pagerank(11, tol=1e-14)
    for tol in (1e-4, 1e-6, 1e-8):
        assert np.abs(index.pagerank(11, tol=tol) - tight).sum() <= tol * A / (1 - A)


def test_running_out_of_iterations_raises_instead_of_returning_a_guess():
    # Pitfall 2 (scikit-network silently stops after n_iter=10) and 3 (silent wrong answers).
    with pytest.raises(PPRConvergenceError, match="no convergence after 3 iterations"):
        personalized_pagerank(cycle(50), 0, alpha=0.99, max_iter=3)


def test_slow_mixing_graph_still_converges_to_the_right_answer():
    # alpha = 0.99 on a 300-cycle needs thousands of iterations; the answer is known exactly.
    n, alpha = 300, 0.99
    x = personalized_pagerank(cycle(n), 0, alpha=alpha, max_iter=20_000)
    k = np.arange(n)
    np.testing.assert_allclose(x, (1 - alpha) * alpha**k / (1 - alpha**n), atol=1e-9)


def test_index_is_built_once_and_reused():
    # Pitfalls 1 and 4 (networkx and igraph rebuild the transition matrix on every call).
    a = community_graph(2000, 20, 10)
    index = PPRIndex(a)
    matrix = index.transition_t
    start = time.perf_counter()
    first = index.pagerank(3)
    again = personalized_pagerank(index, 3)
    assert index.transition_t is matrix
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, personalized_pagerank(a, 3))
    assert time.perf_counter() - start < 5
    # P^T is column-stochastic: every column of a non-dangling node sums to 1
    sums = np.asarray(matrix.sum(axis=0)).ravel()
    np.testing.assert_allclose(sums[np.diff(a.indptr) > 0], 1.0, atol=1e-12)


def test_index_refuses_a_different_weight_setting():
    a = adjacency_from_edges([0, 1], [1, 0], 2, weights=[2.0, 1.0])
    with pytest.raises(InputError, match="weight"):
        personalized_pagerank(PPRIndex(a), 0, weight=False)


def test_accepts_every_scipy_format_and_dense_arrays():
    a = adjacency_from_edges([0, 0, 1, 2], [1, 2, 0, 1], 3, weights=[1, 2, 3, 4])
    want = personalized_pagerank(a, 0)
    for other in (
        sp.csr_matrix(a),
        sp.coo_array(a),
        sp.csc_matrix(a),
        a.toarray(),
        a.toarray().tolist(),
    ):
        np.testing.assert_allclose(personalized_pagerank(other, 0), want, atol=1e-15)


def test_an_index_that_shares_the_adjacency_answers_as_a_copying_one():
    # copy=False (a snapshot's derived matrices): the index reads the caller's arrays
    g = sp.csr_matrix(community_graph(500, 10, 5))
    weights = 1.0 + np.arange(g.nnz) % 7  # weighted, 32-bit indices: nothing to convert
    a = sp.csr_matrix((weights, g.indices.astype(np.int32), g.indptr.astype(np.int32)), g.shape)
    shared, copied = PPRIndex(a, copy=False), PPRIndex(a)
    assert np.shares_memory(shared.indices, a.indices) and np.shares_memory(shared.weights, a.data)
    assert not np.shares_memory(copied.weights, a.data)
    for seed in (0, 17, 499):
        np.testing.assert_array_equal(shared.pagerank(seed), copied.pagerank(seed))


@pytest.mark.parametrize(
    ("rows", "cols", "weights", "why"),
    [
        ([0, 0, 1], [1, 1, 0], [1.0, 2.0, 1.0], "a duplicate edge"),
        ([0, 0, 1], [2, 1, 0], [1.0, 2.0, 1.0], "unsorted columns"),
        ([0, 0, 1], [1, 2, 0], [0.0, 2.0, 1.0], "an explicit zero"),
    ],
)
def test_an_index_that_may_share_copies_what_it_must_change(rows, cols, weights, why):
    # not canonical: sharing would sort, sum or drop in the caller's arrays
    a = sp.csr_matrix((3, 3))
    a.indptr = np.array([0, 2, 3, 3], np.int32)
    a.indices, a.data = np.array(cols, np.int32), np.array(weights)
    before = (a.indices.copy(), a.data.copy())
    index = PPRIndex(a, copy=False)
    np.testing.assert_array_equal(a.indices, before[0], err_msg=why)
    np.testing.assert_array_equal(a.data, before[1], err_msg=why)
    want = sp.coo_array((weights, (rows, cols)), shape=(3, 3))  # the same graph, canonical
    np.testing.assert_allclose(index.pagerank(0), PPRIndex(want).pagerank(0), atol=1e-12)
    unweighted = PPRIndex(a, weight=False, copy=False)  # writes 1s: into a copy
    assert a.data.tolist() == weights
    want_unweighted = PPRIndex(want, weight=False).pagerank(0)
    np.testing.assert_allclose(unweighted.pagerank(0), want_unweighted, atol=1e-12)


# --- input errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        (5, "node index 5 out of range for a graph of 3 nodes"),
        (-1, "node index -1 out of range"),
        ([0, 9], "node index 9 out of range"),
        ({0: -1.0}, "weight of node 0 must be finite and >= 0"),
        ({0: float("nan")}, "must be finite"),
        ({0: 0.0, 1: 0.0}, "weights sum to 0.0"),
        ([], "empty"),
        ({}, "empty"),
        (1.0, "expected a node index"),
        (True, "expected a node index"),
        ("0", "expected a node index"),
        ([0.5], "must be an integer"),
        ({0: "x"}, "is not a number"),
        (None, "expected a node index"),
    ],
)
def test_bad_seeds_raise_input_error(seeds, message):
    a = adjacency_from_edges([0, 1], [1, 2], 3)
    with pytest.raises(InputError, match=message):
        personalized_pagerank(a, seeds)


@pytest.mark.parametrize(
    ("adjacency", "message"),
    [
        (sp.csr_array(np.ones((2, 3))), "square"),
        (sp.csr_array(np.array([[0.0, -1.0], [1.0, 0.0]])), r"edge 0 -> 1 has weight -1.0"),
        (sp.csr_array(np.array([[0.0, np.nan], [1.0, 0.0]])), "finite"),
        (np.ones(3), "2-D"),
        ("graph", "expected a scipy.sparse matrix"),
    ],
)
def test_bad_adjacency_raises_input_error(adjacency, message):
    with pytest.raises(InputError, match=message):
        personalized_pagerank(adjacency, 0)
    before = adjacency.copy() if hasattr(adjacency, "copy") else adjacency
    with pytest.raises(InputError, match=message):  # an index that would share: checked first
        PPRIndex(adjacency, copy=False)
    if sp.issparse(adjacency):  # and left as it was
        np.testing.assert_array_equal(adjacency.toarray(), before.toarray())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"tol": 0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
    ],
)
def test_bad_parameters_raise_input_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        personalized_pagerank(cycle(3), 0, **kwargs)


def test_alpha_zero_is_the_personalization_itself():
    np.testing.assert_array_equal(
        personalized_pagerank(cycle(4), {1: 1, 2: 3}, alpha=0), [0, 0.25, 0.75, 0]
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_the_transition_matrix_is_built_only_for_the_power_iteration(weighted: bool) -> None:
    # push and walks read the out-edges only: a large graph served by push never pays the
    # transpose (0.6 s and ~240 MB at 20 M edges); the power iteration builds it once, equal
    # to (D^-1 A)^T computed directly
    a = community_graph(300, 10, 6).astype(np.float64)
    if weighted:
        a.data = np.random.default_rng(1).integers(1, 5, a.nnz).astype(np.float64)
    else:
        a.data[:] = 3.0  # every edge the same weight, not 1
    index = PPRIndex(a)
    push_pagerank(index, 4, eps=1e-6)
    assert index._transition_t is None
    out = np.asarray(a.sum(axis=1)).ravel()
    want = (sp.diags(np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)) @ a).T.tocsr()
    got = index.transition_t
    assert index.transition_t is got
    np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(index.pagerank(4), personalized_pagerank(a, 4), atol=1e-12)
