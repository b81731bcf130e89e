"""Build follow-graph adjacency matrices: directed, the tutorial's undirected one, and weighted.

Convention everywhere in :mod:`discovery.graph`: row = source (the follower), column = target
(the followed account), value = edge weight; a ``scipy.sparse.csr_array`` of float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InputError
from ._validate import edge_arrays

__all__ = ["adjacency_from_edges", "interaction_weights", "tutorial_graph"]


def adjacency_from_edges(
    src: Any, dst: Any, n: int, weights: Any = None, *, duplicates: str = "sum"
) -> sp.csr_array:
    """Directed adjacency matrix ``A[src, dst] = weight`` from edge arrays.

    Parameters
    ----------
    src, dst : array_like of int
        Edge endpoints, node indices in ``[0, n)``; ``src`` follows ``dst``.
    n : int
        Number of nodes (nodes without edges are allowed: they are dangling).
    weights : array_like of float or scalar, optional
        Edge weights (>= 0), 1 when omitted. Zero-weight edges are dropped.
    duplicates : {"sum", "max", "one"}
        What a repeated ``(src, dst)`` pair becomes: the sum of its weights (default, natural for
        interaction counts), their maximum, or a single edge of weight 1 (``"one"``, the
        networkx ``DiGraph`` reading of an edge list without weights).

    Returns
    -------
    scipy.sparse.csr_array
        ``n x n`` float64, sorted indices, no explicit zeros.

    Examples
    --------
    >>> a = adjacency_from_edges([0, 0, 0, 1, 4], [1, 1, 2, 2, 0], 5)
    >>> a.toarray()[0].tolist(), a.nnz
    ([0.0, 2.0, 1.0, 0.0, 0.0], 4)
    >>> adjacency_from_edges([0, 0], [1, 1], 5, duplicates="one")[[0], [1]].tolist()
    [1.0]
    """
    s, d, w = edge_arrays(src, dst, n, weights)
    if duplicates not in ("sum", "max", "one"):
        raise InputError(f"duplicates: expected 'sum', 'max' or 'one', got {duplicates!r}")
    n = int(n)
    if duplicates == "one":
        w = None
    data = np.ones(s.size) if w is None else w
    if duplicates == "max" and s.size:
        key = s * max(n, 1) + d
        order = np.lexsort((-data, key))
        first = np.ones(order.size, dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        keep = order[first]
        s, d, data = s[keep], d[keep], data[keep]
    a = sp.csr_array(sp.coo_array((data, (s, d)), shape=(n, n)))
    a.sum_duplicates()
    if duplicates == "one":
        a.data[:] = 1.0
    a.eliminate_zeros()
    a.sort_indices()
    return a


def tutorial_graph(src: Any, dst: Any, n: int) -> sp.csr_array:
    """The tutorial's graph: undirected, every follow edge in both directions, weight 1.

    ``nx.from_pandas_dataframe(df, 'src_id', 'dst_id')`` built an ``nx.Graph``: direction is lost,
    duplicate and reciprocal follows collapse into one edge, and a self-loop stays one edge
    (networkx's adjacency has 1 on the diagonal). This returns that graph's adjacency matrix, so
    :func:`~discovery.graph.personalized_pagerank` on it equals the tutorial's
    ``nx.pagerank(G, personalization=...)``.

    Examples
    --------
    >>> tutorial_graph([0, 1, 2], [1, 0, 2], 5).toarray()[:3, :3].tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    s, d, _ = edge_arrays(src, dst, n)
    both_s = np.concatenate([s, d])
    both_d = np.concatenate([d, s])
    return adjacency_from_edges(both_s, both_d, n, duplicates="one")


def interaction_weights(
    follow_src: Any,
    follow_dst: Any,
    inter_user: Any,
    inter_author: Any,
    inter_kind_weight: Any,
    n: int,
    base: float = 1.0,
) -> sp.csr_array:
    """Follow graph whose edge weights grow with the follower's engagement with the target.

    The tutorial's first improvement: ``w(u -> v) = base + sum_i k_i`` over the interactions
    ``i`` of user ``u`` on posts authored by ``v`` (``k_i`` = the weight of that interaction's
    kind, for instance like = 1, comment = 2). Only existing follow edges get weights;
    interactions with accounts ``u`` does not follow are ignored (as the tutorial counted
    "only likes from people I follow"), and repeated follows collapse into one edge.

    Parameters
    ----------
    follow_src, follow_dst : array_like of int
        Follow edges ``follow_src[j] -> follow_dst[j]``.
    inter_user, inter_author : array_like of int
        Who interacted, and the author of the post they interacted with.
    inter_kind_weight : array_like of float or scalar
        Weight of each interaction (>= 0), usually looked up from its kind.
    n : int
        Number of nodes.
    base : float
        Weight of a follow edge without interactions (>= 0; edges whose weight is 0 are dropped).

    Examples
    --------
    >>> a = interaction_weights([0, 0, 1], [1, 2, 0], [0, 0, 0, 1], [1, 1, 3, 2], [1, 2, 5, 7], 5)
    >>> a.toarray()[:2, :3].tolist()   # 0->1: 1 + like 1 + comment 2; 0->3 not followed
    [[0.0, 4.0, 1.0], [1.0, 0.0, 0.0]]
    """
    b = float(base)
    if not (np.isfinite(b) and b >= 0):
        raise InputError(f"base: must be finite and >= 0, got {base!r}")
    fs, fd, _ = edge_arrays(follow_src, follow_dst, n, prefix="follow_")
    iu, ia, iw = edge_arrays(inter_user, inter_author, n, inter_kind_weight, prefix="inter_")
    follows = adjacency_from_edges(fs, fd, n, duplicates="one")
    engagement = adjacency_from_edges(iu, ia, n, iw, duplicates="sum")
    out = sp.csr_array(follows * b + follows.multiply(engagement))
    out.eliminate_zeros()
    out.sort_indices()
    return out
