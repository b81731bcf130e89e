"""world/stats.py against networkx (the slow, obviously-correct reference) and hand answers."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.world import stats


@st.composite
def digraphs(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 25))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120))
    pairs = sorted({(a, b) for a, b in pairs if a != b})
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    return n, src, dst


def _nx(n: int, src: np.ndarray, dst: np.ndarray) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    return g


@settings(max_examples=60, deadline=None)
@given(digraphs())
def test_clustering_matches_networkx(graph) -> None:  # type: ignore[no-untyped-def]
    n, src, dst = graph
    want = nx.average_clustering(_nx(n, src, dst).to_undirected())
    assert stats.average_clustering(src, dst, n) == pytest.approx(want, abs=1e-12)
    # Sampling every node with enough wedges enumerates all pairs: the same exact answer.
    got = stats.average_clustering(src, dst, n, sample=n, wedges=10_000)
    assert got == pytest.approx(want, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(digraphs())
def test_reciprocity_degrees_and_density_match_networkx(graph) -> None:  # type: ignore[no-untyped-def]
    n, src, dst = graph
    g = _nx(n, src, dst)
    if len(src):
        assert stats.reciprocity(src, dst, n) == pytest.approx(nx.overall_reciprocity(g))
    deg = [d for _, d in sorted(g.in_degree())]
    assert stats.in_degrees(dst, n).tolist() == deg
    summary = stats.degree_summary(dst, n)
    assert summary["max_in_degree"] == max(deg)
    assert summary["median_in_degree"] == float(np.median(deg))
    assert stats.random_graph_clustering(src, dst, n) == pytest.approx(
        nx.density(g.to_undirected()) if n > 1 else 0.0
    )


def test_wedge_sampling_estimates_a_big_star_with_triangles() -> None:
    # Hub 0 linked to 1..200; spokes paired (1-2, 3-4, ...): hub clustering = 100 / C(200, 2).
    spokes = np.arange(1, 201)
    src = np.concatenate([np.zeros(200, dtype=np.int64), spokes[::2]])
    dst = np.concatenate([spokes, spokes[1::2]])
    exact = stats.average_clustering(src, dst, 201)
    # Every spoke has degree 2 and a closed pair: C = 1; the hub has 100/19900.
    assert exact == pytest.approx((200 + 100 / 19_900) / 201)
    sampled = stats.average_clustering(src, dst, 201, sample=201, wedges=50, seed=3)
    assert sampled == pytest.approx(exact, abs=0.01)


def test_clustering_of_known_graphs() -> None:
    # A directed 4-cycle has no triangles; a complete graph has clustering 1.
    cyc = np.array([0, 1, 2, 3]), np.array([1, 2, 3, 0])
    assert stats.average_clustering(*cyc, 4) == 0.0
    k = np.array([(a, b) for a in range(5) for b in range(5) if a != b])
    assert stats.average_clustering(k[:, 0], k[:, 1], 5) == 1.0
    assert stats.average_clustering(k[:, 0], k[:, 1], 5, sample=3) == 1.0
    assert stats.reciprocity(k[:, 0], k[:, 1], 5) == 1.0


def test_same_group_share_by_hand() -> None:
    group = np.array([0, 0, 1, 1, -1])
    within, chance = stats.same_group_share(np.array([0, 2, 0, 4]), np.array([1, 3, 2, 0]), group)
    assert within == pytest.approx(2 / 3)  # the edge touching node 4 (no group) is ignored
    assert chance == pytest.approx(0.5)


@settings(max_examples=40, deadline=None)
@given(digraphs(), st.booleans())
def test_summarize_matches_the_single_functions(graph, loops) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from discovery.store import to_iso

    n, src, dst = graph
    if loops and n:  # duplicate edges and a self-loop
        src, dst = np.concatenate([src, src[:3], [0]]), np.concatenate([dst, dst[:3], [0]])
    snap = SimpleNamespace(
        n_accounts=n,
        follow_src=src,
        follow_dst=dst,
        post_taken=np.array([5, 9]),
        inter_kind=np.array([0, 0, 2]),
        inter_time=np.array([3, 11]),
        tag_name=np.array(["a"]),
    )
    body = stats.summarize(snap, ("like", "comment", "save"))
    assert body["follows"] == len(src) and body["posts"] == 2 and body["hashtags"] == 1
    assert body["interactions"] == {"total": 3, "by_kind": {"like": 2, "comment": 0, "save": 1}}
    assert body["time_span"] == {"first": to_iso(3), "last": to_iso(11)}
    g = body["graph"]
    assert g["reciprocity"] == round(stats.reciprocity(src, dst, n), 4)
    want = stats.random_graph_clustering(src, dst, n)
    assert g["clustering_random_graph"] == pytest.approx(float(f"{want:.3g}"))
    assert g["clustering"] == round(stats.average_clustering(src, dst, n), 4)
