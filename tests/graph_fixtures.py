"""Shared fixtures for the graph tests: a slow reference twin, tiny worlds, hypothesis graphs.

``reference_ppr`` is the obviously-correct, dict-based personalized PageRank (networkx's
semantics written out in plain Python) that the fast scipy / numba code is compared against.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from discovery.graph import adjacency_from_edges
from discovery.seed import child_rng

__all__ = [
    "LASTFM_FRIENDS",
    "community_graph",
    "graphs",
    "lastfm_edges",
    "nx_digraph",
    "reference_ppr",
]

ROOT = Path(__file__).resolve().parents[1]
LASTFM_FRIENDS = ROOT.parent / "shared" / "data" / "lastfm-2k" / "user_friends.dat"

Edge = tuple[int, int, float]


def reference_ppr(
    n: int,
    edges: list[Edge],
    personalization: dict[int, float],
    alpha: float = 0.85,
    tol: float = 1e-14,
    max_iter: int = 100_000,
) -> list[float]:
    """Personalized PageRank by the textbook iteration over dicts of dicts.

    ``x <- alpha * (sum over edges u->v of x[u] w(u,v) / W(u)  +  dangling mass * p) + (1 -
    alpha) * p`` where a node is dangling when its out-weights sum to 0, repeated edges add
    their weights, and ``p`` is the personalization normalized to sum 1.
    """
    out: dict[int, dict[int, float]] = {u: {} for u in range(n)}
    for u, v, w in edges:
        out[u][v] = out[u].get(v, 0.0) + float(w)
    total = {u: sum(nbrs.values()) for u, nbrs in out.items()}
    psum = sum(personalization.values())
    p = {u: w / psum for u, w in personalization.items()}
    x = {u: p.get(u, 0.0) for u in range(n)}
    for _ in range(max_iter):
        new = dict.fromkeys(range(n), 0.0)
        dangling = 0.0
        for u in range(n):
            if total[u] > 0:
                for v, w in out[u].items():
                    new[v] += alpha * x[u] * w / total[u]
            else:
                dangling += x[u]
        for u, pu in p.items():
            new[u] += (alpha * dangling + 1.0 - alpha) * pu
        err = sum(abs(new[u] - x[u]) for u in range(n))
        x = new
        if err < tol:
            break
    else:
        raise AssertionError("reference PPR did not converge")
    return [x[u] for u in range(n)]


def nx_digraph(n: int, edges: list[Edge]):  # type: ignore[no-untyped-def]
    """The same graph as a networkx DiGraph (repeated edges add their weights)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for u, v, w in edges:
        old = g.get_edge_data(u, v, {"weight": 0.0})["weight"]
        g.add_edge(u, v, weight=old + float(w))
    return g


@st.composite
def graphs(draw, max_nodes: int = 12):  # type: ignore[no-untyped-def]
    """(n, edges, personalization): dangling nodes, self-loops, isolated seeds, components."""
    n = draw(st.integers(1, max_nodes))
    node = st.integers(0, n - 1)
    weight = st.sampled_from([0.5, 1.0, 1.0, 2.0, 3.0, 7.5])
    edges = draw(st.lists(st.tuples(node, node, weight), max_size=4 * n))
    seeds = draw(
        st.dictionaries(node, st.sampled_from([0.0, 0.25, 1.0, 4.0]), min_size=1, max_size=3)
    )
    if sum(seeds.values()) == 0:
        seeds[next(iter(seeds))] = 1.0
    return n, edges, seeds


def lastfm_edges() -> tuple[np.ndarray, np.ndarray, int]:
    """The Last.fm-2k friends graph as 0-based directed edges (as listed in the file)."""
    raw = np.loadtxt(LASTFM_FRIENDS, dtype=np.int64, skiprows=1, ndmin=2)
    ids, flat = np.unique(raw.reshape(-1), return_inverse=True)
    pairs = flat.reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1], int(ids.size)


def community_graph(n: int = 3000, communities: int = 30, degree: int = 12, seed: int = 0):  # type: ignore[no-untyped-def]
    """A directed graph of ``communities`` blocks: 80 % of follows inside the block, targets
    drawn with Pareto popularity (a few celebrities), every node follows someone."""
    rng = child_rng(seed, "graph-test-community", n)
    block = np.arange(n) % communities
    popularity = rng.pareto(1.3, n) + 1.0
    src = np.repeat(np.arange(n), degree)
    local = rng.random(src.size) < 0.8
    dst = np.empty(src.size, dtype=np.int64)
    prob = popularity / popularity.sum()
    dst[~local] = rng.choice(n, size=int((~local).sum()), p=prob)
    for c in range(communities):
        members = np.flatnonzero(block == c)
        rows = local & (block[src] == c)
        w = popularity[members] / popularity[members].sum()
        dst[rows] = rng.choice(members, size=int(rows.sum()), p=w)
    keep = src != dst
    return adjacency_from_edges(src[keep], dst[keep], n, duplicates="one")
