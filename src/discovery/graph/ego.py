"""Ego networks: personalized PageRank on a user's 1st + 2nd degree out-neighbourhood.

The tutorial never ran PageRank on the whole network: it collected the accounts the user
follows and the accounts *they* follow, and ran ``nx.pagerank`` on that small graph. The cost
of a query then depends on the user's neighbourhood, not on the network's size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import setops
from ..errors import InputError
from ._validate import as_csr, check_positive
from .pagerank import PPRIndex

__all__ = ["ego_pagerank", "ego_subgraph"]


def _out_csr(adjacency: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    if isinstance(adjacency, PPRIndex):
        w = None if adjacency.uniform else adjacency.weights
        return adjacency.indptr, adjacency.indices, w, adjacency.n
    a = adjacency if sp.issparse(adjacency) and adjacency.format == "csr" else as_csr(adjacency)
    if a.shape[0] != a.shape[1]:
        raise InputError(f"adjacency: expected a square matrix, got shape {a.shape}")
    return a.indptr, a.indices, a.data, int(a.shape[0])


def _edge_positions(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``indices`` of the out-edges of ``rows``, and the row (0..len-1) of each."""
    starts = indptr[rows].astype(np.int64)
    lengths = indptr[rows + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    owner = np.repeat(np.arange(rows.size), lengths)
    # position = start of the owner's row + rank of the edge within that row
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return offsets + np.arange(total), owner


def ego_subgraph(
    adjacency: Any,
    center: int,
    depth: int = 2,
    max_nodes: int | None = None,
    *,
    induced: bool = True,
) -> tuple[sp.csr_array, np.ndarray]:
    """The subgraph of nodes within ``depth`` out-hops of ``center``.

    Parameters
    ----------
    adjacency : scipy.sparse matrix, 2-D array or PPRIndex
        ``A[source, target] = weight``; out-edges are "follows".
    center : int
        The ego node.
    depth : int
        Hops to expand (2 = accounts followed, and accounts they follow).
    max_nodes : int, optional
        Keep at most this many nodes: nearer hops first; within a hop the nodes with more
        in-edges from the expanded nodes (the most-followed by the ego network), ties by lower
        index. Deterministic.
    induced : bool
        Keep every edge among the kept nodes (default), or only edges leaving nodes closer than
        ``depth`` (``False``: exactly the edges the tutorial downloaded).

    Returns
    -------
    sub_adjacency : scipy.sparse.csr_array
        ``len(nodes) x len(nodes)``; local index ``i`` is global node ``nodes[i]``.
    nodes : numpy.ndarray
        Global ids: ``nodes[0] == center``, then hop 1, hop 2... each in increasing id order.

    Examples
    --------
    >>> from discovery.graph import adjacency_from_edges
    >>> a = adjacency_from_edges([0, 0, 1, 2, 3, 4], [1, 2, 3, 3, 4, 0], 6)
    >>> sub, nodes = ego_subgraph(a, 0)
    >>> nodes.tolist(), sub.nnz
    ([0, 1, 2, 3], 4)
    >>> ego_subgraph(a, 0, max_nodes=2)[1].tolist()
    [0, 1]
    """
    indptr, indices, data, n = _out_csr(adjacency)
    if isinstance(center, bool) or not isinstance(center, int | np.integer):
        raise InputError(f"center: node index must be an integer, got {center!r}")
    if not 0 <= int(center) < n:
        raise InputError(f"center: node index {center} out of range for a graph of {n} nodes")
    depth = check_positive("depth", depth, integer=True)
    if max_nodes is not None:
        max_nodes = check_positive("max_nodes", max_nodes, integer=True)
    seen = np.zeros(n, dtype=bool)  # O(n) bits once; everything else is O(neighbourhood)
    seen[center] = True
    layers = [np.array([int(center)], dtype=np.int64)]
    reached = []
    for _ in range(depth):
        nbrs = indices[_edge_positions(indptr, layers[-1])[0]].astype(np.int64)
        reached.append(nbrs)
        fresh = setops.unique(nbrs[~seen[nbrs]])
        seen[fresh] = True
        if fresh.size == 0:
            break
        layers.append(fresh)
    if max_nodes is not None and sum(layer.size for layer in layers) > max_nodes:
        followed, counts = np.unique(np.concatenate(reached), return_counts=True)
        kept, room = [], max_nodes
        for layer in layers:
            if room <= 0:
                break
            if layer.size > room:
                ego_in = counts[np.searchsorted(followed, layer)]
                layer = np.sort(layer[np.lexsort((layer, -ego_in))[:room]])
            kept.append(layer)
            room -= layer.size
        layers = kept
    nodes = np.concatenate(layers)
    # induced=False: only edges out of nodes closer than depth (the first `depth` layers)
    sources = nodes if induced else np.concatenate(layers[:depth])
    pos, rows = _edge_positions(indptr, sources)
    targets = indices[pos].astype(np.int64)
    order = np.argsort(nodes)
    slot = np.minimum(np.searchsorted(nodes[order], targets), nodes.size - 1)
    inside = nodes[order][slot] == targets
    weights = np.ones(int(inside.sum())) if data is None else data[pos][inside]
    coo = sp.coo_array(
        (weights, (rows[inside], order[slot[inside]])), shape=(nodes.size, nodes.size)
    )
    return as_csr(coo, name="ego subgraph"), nodes


def ego_pagerank(
    adjacency: Any,
    center: int,
    depth: int = 2,
    max_nodes: int | None = None,
    alpha: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
    weight: bool = True,
    *,
    induced: bool = True,
    undirected: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Personalized PageRank of ``center`` computed on its ego subgraph only.

    The tutorial's recipe: take :func:`ego_subgraph` and solve
    :math:`x = \\alpha (P^T x + (d^T x) e_c) + (1 - \\alpha) e_c` there. Nodes outside the ego
    network get no score; edges leaving it are ignored, so scores differ from the full-graph
    PPR (they are the PPR of a smaller world, not an approximation of the big one).

    Parameters
    ----------
    adjacency, center, depth, max_nodes, induced
        As in :func:`ego_subgraph`.
    alpha, tol, max_iter, weight
        As in :func:`~discovery.graph.personalized_pagerank`.
    undirected : bool
        Symmetrize the subgraph with weight 1 per edge, as the tutorial's
        ``nx.from_pandas_dataframe`` did (with ``induced=False`` this is the tutorial's graph).

    Returns
    -------
    nodes, scores : numpy.ndarray
        Global ids (``nodes[0] == center``) and their PPR on the subgraph (sums to 1).

    Examples
    --------
    >>> from discovery.graph import adjacency_from_edges
    >>> a = adjacency_from_edges([0, 0, 1, 2, 3, 4], [1, 2, 3, 3, 4, 0], 6)
    >>> nodes, scores = ego_pagerank(a, 0)   # 3 -> 4 is cut: 3 dangles, x0 = (1-a)/(1-a^3)
    >>> nodes.tolist(), scores.round(4).tolist()
    ([0, 1, 2, 3], [0.3887, 0.1652, 0.1652, 0.2809])
    """
    sub, nodes = ego_subgraph(adjacency, center, depth, max_nodes, induced=induced)
    if undirected:
        sym = sp.csr_array(sub + sub.T)
        sym.data[:] = 1.0
        sub = sym
    index = PPRIndex(sub, weight=weight)
    return nodes, index.pagerank(0, alpha=alpha, tol=tol, max_iter=max_iter)
