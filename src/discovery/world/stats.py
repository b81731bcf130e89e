"""Graph statistics used by ``discovery info`` and the world tests (pure functions).

All functions take edge arrays ``src → dst`` over nodes ``0..n-1`` and use scipy.sparse, so they
run on the million-account world. :mod:`networkx` serves as the reference in the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "average_clustering",
    "degree_summary",
    "in_degrees",
    "random_graph_clustering",
    "reciprocity",
    "same_group_share",
    "summarize",
    "undirected_adjacency",
    "undirected_keys",
    "unique_sorted",
]


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array: ``np.unique`` without its slow path.

    numpy 2.4's ``np.unique`` on int64 goes through a hash table and is ~70x slower than
    sort-and-compare on 20M values (39 s vs 0.5 s), which matters on the large world.

    >>> unique_sorted(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    x = np.sort(np.asarray(values), kind="stable")
    if len(x) == 0:
        return x
    keep = np.empty(len(x), dtype=bool)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def in_degrees(dst: np.ndarray, n: int) -> np.ndarray:
    """Number of followers of each node.

    >>> in_degrees(np.array([1, 1, 2]), 3).tolist()
    [0, 2, 1]
    """
    return np.bincount(np.asarray(dst, dtype=np.int64), minlength=n)


def degree_summary(dst: np.ndarray, n: int) -> dict[str, float]:
    """Max, median and mean in-degree over all ``n`` nodes."""
    deg = in_degrees(dst, n)
    if n == 0:
        return {"max_in_degree": 0, "median_in_degree": 0.0, "mean_in_degree": 0.0}
    return {
        "max_in_degree": int(deg.max()),
        "median_in_degree": float(np.median(deg)),
        "mean_in_degree": float(deg.mean()),
    }


def undirected_adjacency(src: np.ndarray, dst: np.ndarray, n: int) -> sp.csr_matrix:
    """Symmetric 0/1 CSR adjacency of the graph with directions dropped and self-loops removed."""
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    keep = s != d
    rows, cols = np.concatenate([s[keep], d[keep]]), np.concatenate([d[keep], s[keep]])
    a = sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n, n))
    a.data[:] = 1.0  # duplicates (reciprocal edges) were summed
    return a


def undirected_keys(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Sorted unique ``u * n + v`` for both directions of every edge, self-loops dropped.

    >>> undirected_keys(np.array([0, 1]), np.array([1, 0]), 2).tolist()
    [1, 2]
    """
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    keep = s != d
    s, d = s[keep], d[keep]
    return unique_sorted(np.concatenate([s * n + d, d * n + s]))


def average_clustering(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    *,
    sample: int | None = None,
    wedges: int = 400,
    seed: int = 0,
) -> float:
    """Average local clustering coefficient of the undirected graph (Watts & Strogatz 1998).

    .. math:: C = \\frac{1}{|S|}\\sum_{i \\in S} \\frac{2 T_i}{d_i (d_i - 1)},
       \\qquad T_i = \\tfrac12 (A^2 \\circ A)_{i\\cdot}\\mathbf 1

    where nodes with degree < 2 count as 0 (as in ``networkx.average_clustering``).

    Without ``sample`` the sum runs over every node with the sparse product above (exact). With
    ``sample`` it runs over that many nodes drawn without replacement with ``seed``
    (deterministic), and each node's coefficient is the closed share of its neighbour pairs:
    all pairs when it has at most ``wedges`` of them, else ``wedges`` random pairs (wedge
    sampling, Schank & Wagner 2005) — a brand with 100,000 followers costs no more than anyone.

    >>> average_clustering(np.array([0, 1, 2]), np.array([1, 2, 0]), 3)
    1.0
    """
    if n == 0:
        return 0.0
    if sample is None:
        a = undirected_adjacency(src, dst, n)
        tri2 = np.asarray((a @ a).multiply(a).sum(axis=1)).ravel()  # 2 * triangles
        deg = np.diff(a.indptr).astype(np.float64)
        pairs = deg * (deg - 1)
        local = np.divide(tri2, pairs, out=np.zeros_like(tri2), where=pairs > 0)
        return float(local.mean())
    rng = np.random.default_rng(seed)
    nodes = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    # Sorted undirected keys u * n + v double as CSR (row starts by binary search) and as the
    # edge-membership index: no scipy matrix of the whole graph is built.
    keys = undirected_keys(src, dst, n)
    indptr = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) * n)
    total = 0.0
    for lo in range(0, len(nodes), 4096):
        total += _wedge_closure(indptr, keys, n, nodes[lo : lo + 4096], wedges, rng).sum()
    return total / len(nodes)


def _wedge_closure(
    indptr: np.ndarray,
    keys: np.ndarray,
    n: int,
    nodes: np.ndarray,
    wedges: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Closed share of neighbour pairs of each node (all pairs, or ``wedges`` sampled ones)."""
    deg = (indptr[nodes + 1] - indptr[nodes]).astype(np.int64)
    full = deg * (deg - 1) // 2 <= wedges
    # Exact nodes: enumerate the d*d ordered position pairs, keep p < q.
    d_f = np.where(full, deg, 0)
    owner = np.repeat(np.arange(len(nodes)), d_f * d_f)
    local = np.arange(len(owner)) - np.repeat(np.cumsum(d_f * d_f) - d_f * d_f, d_f * d_f)
    p, q = local // d_f[owner], local % d_f[owner]
    keep = p < q
    owner, p, q = owner[keep], p[keep], q[keep]
    # Big nodes: `wedges` random distinct pairs each.
    big = np.flatnonzero(~full)
    b_owner = np.repeat(big, wedges)
    bp = (rng.random(len(b_owner)) * deg[b_owner]).astype(np.int64)
    bq = (rng.random(len(b_owner)) * (deg[b_owner] - 1)).astype(np.int64)
    bq += bq >= bp
    owner = np.concatenate([owner, b_owner])
    p, q = np.concatenate([p, bp]), np.concatenate([q, bq])
    start = indptr[nodes][owner]
    j, k = keys[start + p] % n, keys[start + q] % n
    query = j * n + k
    order = np.argsort(query)  # sorted needles keep the binary searches cache-friendly
    pos = np.minimum(np.searchsorted(keys, query[order]), len(keys) - 1)
    closed = np.empty(len(query), dtype=bool)
    closed[order] = keys[pos] == query[order]
    hits = np.bincount(owner, weights=closed, minlength=len(nodes))
    tried = np.bincount(owner, minlength=len(nodes))
    return np.divide(hits, tried, out=np.zeros(len(nodes)), where=tried > 0)


def random_graph_clustering(src: np.ndarray, dst: np.ndarray, n: int) -> float:
    """Expected clustering of an Erdős–Rényi graph with the same nodes and undirected edges.

    For G(n, p) the local clustering equals *p*, the undirected density
    :math:`2m / (n (n-1))`.

    >>> random_graph_clustering(np.array([0, 1]), np.array([1, 0]), 3)
    0.3333333333333333
    """
    if n < 2:
        return 0.0
    m = len(undirected_keys(src, dst, n)) / 2
    return float(2 * m / (n * (n - 1)))


def reciprocity(src: np.ndarray, dst: np.ndarray, n: int) -> float:
    """Share of distinct directed edges whose reverse also exists (``networkx.overall_reciprocity``).

    >>> reciprocity(np.array([0, 1, 1]), np.array([1, 0, 2]), 3)
    0.6666666666666666
    """
    keys = unique_sorted(np.asarray(src, dtype=np.int64) * n + np.asarray(dst, dtype=np.int64))
    return _mutual_count(keys, n) / len(keys) if len(keys) else 0.0


def _mutual_count(keys: np.ndarray, n: int) -> int:
    """How many distinct non-loop edges in sorted unique ``keys`` have their reverse too."""
    s, d = keys // n, keys % n
    rev = np.sort(d[s != d] * n + s[s != d])
    # Sorted-merge membership: a key present in both sets shows up twice after one sort.
    both = np.sort(np.concatenate([keys[s != d], rev]))
    return int(np.count_nonzero(both[1:] == both[:-1]))


def same_group_share(src: np.ndarray, dst: np.ndarray, group: np.ndarray) -> tuple[float, float]:
    """Share of edges inside one group, and the share expected if endpoints were random.

    Only nodes with ``group >= 0`` count. The chance level is :math:`\\sum_c p_c^2` with
    :math:`p_c` the share of nodes in group *c* — a homophily check (McPherson et al. 2001).

    >>> same_group_share(np.array([0, 2]), np.array([1, 3]), np.array([0, 0, 1, 0]))
    (0.5, 0.625)
    """
    g = np.asarray(group)
    ok = (g[src] >= 0) & (g[dst] >= 0)
    within = float((g[src][ok] == g[dst][ok]).mean()) if ok.any() else 0.0
    p = np.bincount(g[g >= 0]) / max(1, int((g >= 0).sum()))
    return within, float((p**2).sum())


#: Graphs with more nodes than this get a sampled clustering coefficient in :func:`summarize`.
CLUSTERING_EXACT_LIMIT = 50_000
CLUSTERING_SAMPLE = 20_000


def summarize(snap: Any, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The statistics ``discovery info`` reports, from a snapshot's arrays.

    ``snap`` needs ``n_accounts``, ``follow_src``/``follow_dst`` (dense indexes),
    ``post_taken``, ``inter_kind``, ``inter_time`` and ``tag_name``
    (:class:`discovery.snapshot.Snapshot` has them).
    """
    from ..store.model import to_iso

    n = int(snap.n_accounts)
    src, dst = np.asarray(snap.follow_src), np.asarray(snap.follow_dst)
    live = snap.inter_kind[snap.inter_kind >= 0]  # withdrawn interactions (unlikes) are -1
    by_kind = np.bincount(np.asarray(live, dtype=np.int64), minlength=len(kinds))
    times = [t for t in (np.asarray(snap.post_taken), np.asarray(snap.inter_time)) if len(t)]
    first = min(int(t.min()) for t in times) if times else None
    last = max(int(t.max()) for t in times) if times else None
    sample = CLUSTERING_SAMPLE if n > CLUSTERING_EXACT_LIMIT else None
    deg = degree_summary(dst, n)
    # One pass over the distinct edges gives reciprocity and the random-graph density.
    keys = unique_sorted(src.astype(np.int64) * n + dst.astype(np.int64))
    mutual = _mutual_count(keys, n) if len(keys) else 0
    loops = int(np.count_nonzero(keys // n == keys % n)) if len(keys) else 0
    undirected = len(keys) - loops - mutual // 2
    density = 2 * undirected / (n * (n - 1)) if n > 1 else 0.0
    return {
        "accounts": n,
        "follows": len(src),
        "posts": len(snap.post_taken),
        "interactions": {
            "total": int(by_kind.sum()),
            "by_kind": {k: int(c) for k, c in zip(kinds, by_kind, strict=False)},
        },
        "hashtags": len(snap.tag_name),
        "time_span": {
            "first": None if first is None else to_iso(first),
            "last": None if last is None else to_iso(last),
        },
        "graph": {
            **deg,
            "clustering": round(average_clustering(src, dst, n, sample=sample), 4),
            "clustering_random_graph": float(f"{density:.3g}"),
            "clustering_sampled_nodes": sample,
            "reciprocity": round(mutual / len(keys), 4) if len(keys) else 0.0,
        },
    }
