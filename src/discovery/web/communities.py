"""Communities of the network view: Louvain modularity optimisation on a small undirected graph.

Louvain (Blondel, Guillaume, Lambiotte & Lefebvre 2008, "Fast unfolding of communities in large
networks") repeats two phases: move each node to the neighbouring community with the largest
modularity gain until nothing moves, then merge each community into one node. Modularity is

    Q = 1/(2m) Σ_ij [A_ij − γ k_i k_j / (2m)] δ(c_i, c_j),

and moving an isolated node ``i`` into community ``C`` gains (up to the constant 1/m)
``k_{i,C} − γ Σ_tot(C) k_i / (2m)``. Nodes are visited in index order and ties go to the smallest
community, so the result is deterministic. Pure Python: meant for ego networks of a few hundred
nodes (the network view), not for the whole graph.

>>> louvain(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]).tolist()
[0, 0, 0, 1, 1, 1]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

__all__ = ["louvain", "modularity"]

Adjacency = list[dict[int, float]]


def _adjacency(n: int, edges: Iterable[tuple[int, int]]) -> Adjacency:
    """Symmetric weights; a directed pair in both directions counts twice (a mutual follow is a
    stronger tie). Self-loops are dropped."""
    adj: Adjacency = [defaultdict(float) for _ in range(n)]
    for i, j in edges:
        if i != j:
            adj[i][j] += 1.0
            adj[j][i] += 1.0
    return adj


def _move(adj: Adjacency, resolution: float) -> tuple[list[int], bool]:
    """Phase 1: local moves until no node changes community."""
    n = len(adj)
    k = [sum(row.values()) for row in adj]
    m2 = sum(k)
    com = list(range(n))
    tot = list(k)
    moved_any, improved = False, True
    while improved:
        improved = False
        for i in range(n):
            ci = com[i]
            links: dict[int, float] = defaultdict(float)
            for j, w in adj[i].items():
                if j != i:
                    links[com[j]] += w
            tot[ci] -= k[i]
            best, gain = ci, links.get(ci, 0.0) - resolution * tot[ci] * k[i] / m2
            for c in sorted(links):
                g = links[c] - resolution * tot[c] * k[i] / m2
                if g > gain + 1e-12:
                    best, gain = c, g
            tot[best] += k[i]
            if best != ci:
                com[i] = best
                improved = moved_any = True
    return com, moved_any


def _aggregate(adj: Adjacency, com: list[int]) -> tuple[Adjacency, list[int]]:
    """Phase 2: one node per community (renumbered 0.. in order of first member)."""
    ids: dict[int, int] = {}
    for c in com:
        ids.setdefault(c, len(ids))
    new: Adjacency = [defaultdict(float) for _ in range(len(ids))]
    for i, row in enumerate(adj):
        for j, w in row.items():
            new[ids[com[i]]][ids[com[j]]] += w
    return new, [ids[c] for c in com]


def louvain(
    n: int, edges: Iterable[tuple[int, int]], resolution: float = 1.0, max_levels: int = 20
) -> np.ndarray:
    """Community label of each of ``n`` nodes (0.. numbered by first member); isolated nodes
    keep their own community."""
    adj = _adjacency(n, edges)
    labels = np.arange(n)
    if n == 0 or not any(adj):
        return labels
    for _ in range(max_levels):
        com, moved = _move(adj, resolution)
        if not moved:
            break
        adj, mapping = _aggregate(adj, com)
        labels = np.asarray(mapping)[labels]
    _, first = np.unique(labels, return_index=True)
    order = {int(labels[f]): r for r, f in enumerate(sorted(first))}
    return np.array([order[int(c)] for c in labels], dtype=np.int64)


def modularity(n: int, edges: Iterable[tuple[int, int]], labels: np.ndarray) -> float:
    """``Q`` of a partition (the formula in the module docstring, γ = 1), on the same weights
    :func:`louvain` optimises."""
    adj = _adjacency(n, edges)
    k = np.array([sum(row.values()) for row in adj])
    m2 = k.sum()
    if m2 == 0:
        return 0.0
    inside = sum(w for i, row in enumerate(adj) for j, w in row.items() if labels[i] == labels[j])
    tot = np.bincount(labels, weights=k)
    return float(inside / m2 - np.sum(tot**2) / m2**2)
