"""Ego networks: the BFS neighbourhood, its cap, and PPR on it (the tutorial's per-user graph)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.errors import InputError
from discovery.graph import (
    PPRIndex,
    adjacency_from_edges,
    ego_pagerank,
    ego_subgraph,
    personalized_pagerank,
    tutorial_graph,
)
from graph_fixtures import community_graph, graphs

# 0 follows 1, 2, 3; 1 follows 4, 5; 2 follows 5, 6; 3 follows 0; 4 follows 7 (3 hops);
# 5 follows 2 (an edge between hop-1 and hop-2 nodes); 6 follows 4; 8 is unrelated.
SRC = [0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6]
DST = [1, 2, 3, 4, 5, 5, 6, 0, 7, 2, 4]
N = 9


@pytest.fixture
def adj():
    return adjacency_from_edges(SRC, DST, N)


def test_two_hops_in_bfs_order(adj):
    sub, nodes = ego_subgraph(adj, 0)
    assert nodes.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert ego_subgraph(adj, 0, depth=1)[1].tolist() == [0, 1, 2, 3]
    assert ego_subgraph(adj, 0, depth=3)[1].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    # induced: every edge among the kept nodes (4 -> 7 leaves the set)
    local = {(int(nodes[i]), int(nodes[j])) for i, j in zip(*sub.nonzero(), strict=True)}
    assert local == {(s, d) for s, d in zip(SRC, DST, strict=True) if d != 7}


def test_tutorial_edges_only_leave_nearer_nodes(adj):
    # induced=False keeps the edges the tutorial downloaded: out of the user and hop-1 nodes.
    sub, nodes = ego_subgraph(adj, 0, induced=False)
    local = {(int(nodes[i]), int(nodes[j])) for i, j in zip(*sub.nonzero(), strict=True)}
    assert local == {(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (2, 5), (2, 6), (3, 0)}


def test_cap_keeps_nearer_then_most_followed_nodes(adj):
    # hop-2 candidates 4, 5, 6: 5 has two in-edges from expanded nodes (1, 2), 4 and 6 one each
    # (6 -> 4 comes from a hop-2 node, which is not expanded at depth 2).
    assert ego_subgraph(adj, 0, max_nodes=5)[1].tolist() == [0, 1, 2, 3, 5]
    assert ego_subgraph(adj, 0, max_nodes=6)[1].tolist() == [0, 1, 2, 3, 4, 5]  # tie: lower id
    assert ego_subgraph(adj, 0, max_nodes=3)[1].tolist() == [0, 1, 2]
    assert ego_subgraph(adj, 0, max_nodes=1)[1].tolist() == [0]


def test_center_without_follows_is_alone(adj):
    sub, nodes = ego_subgraph(adj, 8)
    assert nodes.tolist() == [8] and sub.shape == (1, 1)
    assert ego_pagerank(adj, 8)[1].tolist() == [1.0]


def test_ego_pagerank_is_networkx_on_the_subgraph(adj):
    nodes, scores = ego_pagerank(adj, 0)
    g = nx.DiGraph()
    g.add_nodes_from(nodes.tolist())
    g.add_edges_from((s, d) for s, d in zip(SRC, DST, strict=True) if s in nodes and d in nodes)
    want = nx.pagerank(g, personalization={0: 1}, tol=1e-12, max_iter=1000)
    np.testing.assert_allclose(scores, [want[int(u)] for u in nodes], atol=1e-9)


def test_ego_pagerank_reproduces_the_tutorial_graph(adj):
    # Tutorial step 4: rows (me -> followed) and (followed -> their follows), then an undirected
    # nx.Graph and nx.pagerank personalized on me.
    rows = [(s, d) for s, d in zip(SRC, DST, strict=True) if s in (0, 1, 2, 3)]
    want = nx.pagerank(nx.Graph(rows), personalization={0: 1}, tol=1e-12, max_iter=1000)
    nodes, scores = ego_pagerank(adj, 0, induced=False, undirected=True)
    assert set(nodes.tolist()) == set(want)
    np.testing.assert_allclose(scores, [want[int(u)] for u in nodes], atol=1e-9)
    # the same via tutorial_graph on the downloaded rows
    s, d = zip(*rows, strict=True)
    full = personalized_pagerank(tutorial_graph(s, d, N), 0)
    np.testing.assert_allclose(full[nodes], scores, atol=1e-9)


def test_accepts_an_index_and_other_formats(adj):
    want = ego_pagerank(adj, 0)
    for other in (PPRIndex(adj), adj.tocoo(), adj.toarray()):
        nodes, scores = ego_pagerank(other, 0)
        np.testing.assert_array_equal(nodes, want[0])
        np.testing.assert_allclose(scores, want[1], atol=1e-15)


def test_weighted_ego_subgraph_keeps_weights():
    a = adjacency_from_edges([0, 0, 1], [1, 2, 2], 3, weights=[2.0, 5.0, 3.0])
    sub, _ = ego_subgraph(a, 0)
    assert sub.toarray().tolist() == [[0, 2, 5], [0, 0, 3], [0, 0, 0]]
    assert ego_subgraph(PPRIndex(a), 0)[0].toarray().tolist() == sub.toarray().tolist()


def test_large_graph_ego_is_small_and_deterministic():
    a = community_graph(3000, 30, 12)
    sub, nodes = ego_subgraph(a, 10, max_nodes=50)
    assert nodes.size == 50 and nodes[0] == 10 and sub.shape == (50, 50)
    assert ego_subgraph(a, 10)[1].size > 50
    again = ego_subgraph(a, 10, max_nodes=50)
    np.testing.assert_array_equal(nodes, again[1])
    assert (sub != again[0]).nnz == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"center": 99}, "center: node index 99 out of range"),
        ({"center": 1.5}, "center: node index must be an integer"),
        ({"center": 0, "depth": 0}, "depth"),
        ({"center": 0, "max_nodes": 0}, "max_nodes"),
    ],
)
def test_bad_arguments_raise_input_error(adj, kwargs, message):
    with pytest.raises(InputError, match=message):
        ego_subgraph(adj, **kwargs)


@settings(max_examples=60, deadline=None)
@given(graphs(max_nodes=15), st.integers(1, 3), st.booleans())
def test_matches_networkx_bfs_and_subgraph(case, depth, induced):
    n, edges, _ = case
    a = (
        adjacency_from_edges(*zip(*[(u, v) for u, v, _ in edges], strict=True), n)
        if edges
        else adjacency_from_edges([], [], n)
    )
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((u, v) for u, v, _ in edges)
    dist = nx.single_source_shortest_path_length(g, 0, cutoff=depth)
    sub, nodes = ego_subgraph(a, 0, depth=depth, induced=induced)
    assert sorted(nodes.tolist()) == sorted(dist)
    assert [dist[int(u)] for u in nodes] == sorted(dist[int(u)] for u in nodes)
    got = {(int(nodes[i]), int(nodes[j])) for i, j in zip(*sub.nonzero(), strict=True)}
    want = {(u, v) for u, v in g.subgraph(dist).edges if induced or dist[u] < depth}
    assert got == want
