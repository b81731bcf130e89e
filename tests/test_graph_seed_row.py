"""PPR after the seed's own row changed (graph/seed_row.py): the Sherman–Morrison update from
the vector on the old graph must equal PageRank recomputed on the changed graph — by hand, by
the slow dict reference, and with forward push as the query."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.errors import InputError
from discovery.graph import PPRIndex, adjacency_from_edges, push_pagerank_sparse, replace_seed_row
from graph_fixtures import community_graph, graphs, reference_ppr

A = 0.85


def exact_solver(index: PPRIndex):  # type: ignore[no-untyped-def]
    def solve(seeds):  # type: ignore[no-untyped-def]
        x = index.pagerank(seeds, alpha=A, tol=1e-14, max_iter=100_000)
        return np.flatnonzero(x), x[x > 0]

    return solve


def row_of(n: int, edges, seed: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The seed's out-edges as the index holds them (repeated edges summed, zeros dropped)."""
    w = np.zeros(n)
    for u, v, weight in edges:
        if u == seed:
            w[v] += weight
    cols = np.flatnonzero(w)
    return cols, w[cols]


def dense(vec, n: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros(n)
    out[vec[0]] = vec[1]
    return out


def test_a_hand_computed_switch_and_a_first_follow():
    """Path 0 → 1 → 2 → 0 … 0 switches to 2: a 2-cycle, (1/(1+α), α/(1+α)). A seed that followed
    nobody (dangling: its PPR is itself) follows 1 on the cycle 1 ⇄ 2: it never comes back, so
    x0 = 1-α, and x1 = (1-α)·α·(1 + α² + α⁴ …) = α/(1+α), x2 = α²/(1+α)."""
    index = PPRIndex(adjacency_from_edges([0, 1, 2], [1, 2, 0], 3))
    solve = exact_solver(index)
    nodes, values = replace_seed_row(
        solve({0: 1.0}), 0, ([1], [1.0]), ([2], [1.0]), solve, index.dangling, A
    )
    assert nodes.tolist() == [0, 2]
    assert values == pytest.approx([1 / (1 + A), A / (1 + A)], abs=1e-12)

    index = PPRIndex(adjacency_from_edges([1, 2], [2, 1], 3))
    solve = exact_solver(index)
    assert dense(solve({0: 1.0}), 3).tolist() == [1.0, 0.0, 0.0]
    x = dense(
        replace_seed_row(solve({0: 1.0}), 0, ([], []), ([1], [1.0]), solve, index.dangling, A), 3
    )
    assert x == pytest.approx([1 - A, A / (1 + A), A * A / (1 + A)], abs=1e-12)


def test_unfollowing_everyone_keeps_the_mass_home():
    index = PPRIndex(adjacency_from_edges([0, 0, 1], [1, 2, 0], 3))
    solve = exact_solver(index)
    nodes, values = replace_seed_row(
        solve({0: 1.0}), 0, ([1, 2], [1.0, 1.0]), ([], []), solve, index.dangling, A
    )
    assert nodes.tolist() == [0] and values.tolist() == [1.0]


@st.composite
def changes(draw):  # type: ignore[no-untyped-def]
    n, edges, _ = draw(graphs(max_nodes=10))
    seed = draw(st.integers(0, n - 1))
    new = draw(
        st.dictionaries(
            st.integers(0, n - 1), st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.5]), max_size=n
        )
    )
    return n, edges, seed, new


@settings(max_examples=300, deadline=None)
@given(changes())
def test_equals_the_reference_on_the_changed_graph(case):
    """Any graph (dangling nodes, self-loops, weights), any seed, any new row (added, removed,
    reweighted edges, a self-loop, an empty row): the update equals the slow reference's PPR
    of the changed graph."""
    n, edges, seed, new = case
    src, dst, w = zip(*edges, strict=True) if edges else ((), (), ())
    index = PPRIndex(adjacency_from_edges(list(src), list(dst), n, weights=list(w)))
    solve = exact_solver(index)
    old_row = row_of(n, edges, seed)
    cols = np.array(sorted(new), dtype=np.int64)
    new_row = (cols, np.array([new[c] for c in cols.tolist()], dtype=np.float64))
    got = replace_seed_row(solve({seed: 1.0}), seed, old_row, new_row, solve, index.dangling, A)
    changed = [e for e in edges if e[0] != seed] + [(seed, c, w) for c, w in new.items()]
    want = reference_ppr(n, changed, {seed: 1.0}, alpha=A)
    assert np.abs(dense(got, n) - np.array(want)).sum() < 1e-9
    assert np.all(got[1] > 0) and np.all(np.diff(got[0]) > 0)


def test_with_forward_push_as_the_query_the_error_is_the_queries():
    """On a 3,000-node community graph, a seed adds 5 follows and drops 3: the update with
    push queries (eps 1e-7) is as close to the exact PPR of the changed graph as one push on the
    changed graph itself (within 2×), while the old vector is far from it."""
    adj = community_graph(n=3000).tocsr()
    index = PPRIndex(adj)
    seed = 17
    old_cols = adj.indices[adj.indptr[seed] : adj.indptr[seed + 1]]
    keep = old_cols[3:]
    added = np.array([c for c in range(2000, 2100, 20) if c not in set(old_cols.tolist())])
    new_cols = np.concatenate([keep, added])
    rows = adj.tolil()
    rows.rows[seed] = sorted(new_cols.tolist())
    rows.data[seed] = [1.0] * len(new_cols)
    truth = PPRIndex(rows.tocsr()).pagerank(seed, alpha=A, tol=1e-13)

    def solve(seeds):  # type: ignore[no-untyped-def]
        return push_pagerank_sparse(index, seeds, alpha=A, eps=1e-7)

    base = solve({seed: 1.0})
    assert np.abs(dense(base, 3000) / base[1].sum() - truth).sum() > 0.05
    got = replace_seed_row(
        base,
        seed,
        (old_cols, np.ones(len(old_cols))),
        (new_cols, np.ones(len(new_cols))),
        solve,
        index.dangling,
        A,
    )
    error = np.abs(dense(got, 3000) - truth).sum()
    direct = push_pagerank_sparse(PPRIndex(rows.tocsr()), seed, alpha=A, eps=1e-7)
    direct_error = np.abs(dense(direct, 3000) / direct[1].sum() - truth).sum()
    assert error < 3e-3 and error < 2 * direct_error


@pytest.mark.parametrize(
    ("old_row", "new_row", "message"),
    [
        (([1, 1], [1.0, 1.0]), ([2], [1.0]), "old_row: distinct columns"),
        (([1], [1.0]), ([2], [-1.0]), "new_row: weights must be finite"),
        (([1], [float("nan")]), ([2], [1.0]), "old_row: weights must be finite"),
        (([1], [1.0, 2.0]), ([2], [1.0]), "old_row: distinct columns and one weight each"),
    ],
)
def test_hostile_rows_are_refused(old_row, new_row, message):
    index = PPRIndex(adjacency_from_edges([0, 1, 2], [1, 2, 0], 3))
    solve = exact_solver(index)
    with pytest.raises(InputError, match=message):
        replace_seed_row(solve({0: 1.0}), 0, old_row, new_row, solve, index.dangling)


def test_a_vector_without_mass_or_a_bad_alpha_is_refused():
    index = PPRIndex(adjacency_from_edges([0, 1, 2], [1, 2, 0], 3))
    solve = exact_solver(index)
    empty = (np.zeros(0, np.int64), np.zeros(0))
    with pytest.raises(InputError, match="a PPR vector with no mass"):
        replace_seed_row(empty, 0, ([1], [1.0]), ([2], [1.0]), solve, index.dangling)
    for alpha in (1.0, -0.1, float("nan")):
        with pytest.raises(InputError, match="alpha"):
            replace_seed_row(solve({0: 1.0}), 0, ([1], [1.0]), ([2], [1.0]), solve, [], alpha)
