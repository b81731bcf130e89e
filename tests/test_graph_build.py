"""Graph construction: directed edge lists, the tutorial's undirected graph, weighted follows."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.errors import InputError
from discovery.graph import adjacency_from_edges, interaction_weights, tutorial_graph


def test_duplicates_sum_by_default_and_can_collapse():
    src, dst, w = [0, 0, 0, 1], [1, 1, 2, 0], [1.0, 2.5, 4.0, 0.0]
    summed = adjacency_from_edges(src, dst, 3, weights=w)
    assert summed.toarray().tolist() == [[0, 3.5, 4], [0, 0, 0], [0, 0, 0]]  # zero weight dropped
    assert adjacency_from_edges(src, dst, 3, weights=w, duplicates="max")[0, 1] == 2.5
    one = adjacency_from_edges(src, dst, 3, weights=w, duplicates="one")
    assert one.toarray().tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert summed.has_sorted_indices and summed.dtype == np.float64


def test_nodes_without_edges_are_kept():
    a = adjacency_from_edges([], [], 4)
    assert a.shape == (4, 4) and a.nnz == 0


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 10).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30),
        )
    )
)
def test_tutorial_graph_is_networkx_graph_adjacency(case):
    # nx.from_pandas_dataframe(df, 'src_id', 'dst_id') built an undirected nx.Graph.
    n, edges = case
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    want = nx.to_scipy_sparse_array(g, nodelist=range(n)).toarray()
    src = [u for u, _ in edges]
    dst = [v for _, v in edges]
    np.testing.assert_array_equal(tutorial_graph(src, dst, n).toarray(), want)


def test_interaction_weights_by_hand():
    # follows: 0->1, 0->2, 1->0, 2->1 (twice: collapses)
    # interactions of 0 on 1's posts: like (1), like (1), comment (2); 0 on 3: not followed;
    # 2 on 1: comment (2); 1 on 2: like, but 1 does not follow 2.
    a = interaction_weights(
        follow_src=[0, 0, 1, 2, 2],
        follow_dst=[1, 2, 0, 1, 1],
        inter_user=[0, 0, 0, 0, 2, 1],
        inter_author=[1, 1, 1, 3, 1, 2],
        inter_kind_weight=[1, 1, 2, 1, 2, 1],
        n=4,
        base=0.5,
    )
    assert a.toarray().tolist() == [
        [0, 4.5, 0.5, 0],
        [0.5, 0, 0, 0],
        [0, 2.5, 0, 0],
        [0, 0, 0, 0],
    ]


def test_interaction_weights_scalar_kind_weight_and_zero_base():
    a = interaction_weights([0, 0], [1, 2], [0, 0], [1, 1], 3.0, 3, base=0.0)
    # 0 -> 2 has no interactions and base 0: the edge disappears
    assert a.toarray().tolist() == [[0, 6, 0], [0, 0, 0], [0, 0, 0]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: adjacency_from_edges([0, 1], [1], 2), "lengths differ"),
        (lambda: adjacency_from_edges([0, 5], [1, 1], 2), r"src\[1\]: node index 5 out of range"),
        (lambda: adjacency_from_edges([0], [-1], 2), r"dst\[0\]"),
        (lambda: adjacency_from_edges([0.5], [1], 2), "integers"),
        (lambda: adjacency_from_edges([0], [1], 2, weights=[-1]), r"weights\[0\]"),
        (lambda: adjacency_from_edges([0], [1], 2, weights=[np.inf]), "finite"),
        (lambda: adjacency_from_edges([0], [1], 2, duplicates="mean"), "duplicates"),
        (lambda: adjacency_from_edges([0], [1], -1), "n: must be >= 0"),
        (lambda: interaction_weights([0], [1], [0], [9], [1], 2), r"inter_dst\[0\]"),
        (lambda: interaction_weights([0], [1], [0], [1], [-1], 2), r"inter_weights\[0\]"),
        (lambda: interaction_weights([0], [1], [0], [1], [1], 2, base=-1), "base"),
        (lambda: tutorial_graph([0, 1], [1, 3], 3), "out of range"),
    ],
)
def test_bad_edges_raise_input_error(call, message):
    with pytest.raises(InputError, match=message):
        call()
