"""Approximate personalized PageRank for serving: forward push, Monte Carlo walks, and both.

All three estimate the solution of :math:`x = \\alpha (P^T x + (d^T x) v) + (1 - \\alpha) v`
(:func:`~discovery.graph.personalized_pagerank`) in time that depends on the part of the graph
they touch rather than on its size. The numba kernel lives in :mod:`discovery.graph._kernels`,
imported on first use (``import discovery.graph`` stays free of numba); call :func:`warmup`
when a service starts so that no request pays for compilation.

* Forward push (Andersen, Chung, Lang 2006, "Local graph partitioning using PageRank vectors",
  FOCS): an estimate ``p`` and a residual ``r`` (initially ``v``) keep the invariant
  :math:`x = p + \\mathrm{PPR}(r)`; pushing ``u`` moves :math:`(1 - \\alpha) r_u` into ``p_u``
  and :math:`\\alpha r_u` to its out-neighbours by weight (to ``v`` if ``u`` is dangling), while
  :math:`r_u \\ge \\epsilon \\max(\\mathrm{outdeg}(u), 1)`. So ``0 <= p <= x`` and
  :math:`\\|x - p\\|_1 = \\sum_u r_u`.
* Monte Carlo (Fogaras, Racz, Csalogany, Sarlos 2005, "Towards scaling fully personalized
  PageRank", Internet Mathematics): walks start at nodes drawn from ``v`` and stop with
  probability :math:`1 - \\alpha` per step; every visit counts ("complete path" estimator).
* FORA (Wang, Tang, Xiao, Yang, Li 2017, "FORA: simple and effective approximate single-source
  personalized PageRank", KDD): push to a coarse ``eps``, then walks from the residuals:
  :math:`\\hat x = p + \\sum_u r_u \\widehat{\\mathrm{PPR}}_u`, the walks' variance scaled down
  by the residual mass left.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InputError
from ..seed import child_rng
from ._validate import Seeds, check_alpha, check_positive, seed_vector
from .metrics import top_k
from .pagerank import PPRIndex

__all__ = [
    "fora_pagerank",
    "monte_carlo_pagerank",
    "ppr_monte_carlo",
    "ppr_push",
    "push_pagerank",
    "warmup",
]

_Result = np.ndarray | tuple[np.ndarray, np.ndarray]


class _Workspace:
    """Scratch arrays for one query at a time; the kernel leaves them zeroed for the next.
    Push-only queries use the packed node state of :mod:`._packed` (built on first use, its
    thresholds for the last ``eps``), the others ``r`` and ``mark``."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.p = np.zeros(n)
        self.queue = np.empty(max(n, 1), dtype=np.int64)
        self.touched = np.empty(max(n, 1), dtype=np.int64)
        self._split: tuple[np.ndarray, np.ndarray] | None = None
        self._state: np.ndarray | None = None
        self._eps = -1.0

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        if self._split is None:
            self._split = (np.zeros(self.n), np.zeros(self.n, dtype=np.uint8))
        return self._split

    def state(self, ip: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
        from ._packed import row_totals, thresholds

        if self._state is None:  # a workspace serves one index: its weights never change
            self._state = np.zeros((self.n, 4))
            row_totals(ip, w, self._state)
        if eps != self._eps:
            thresholds(ip, eps, self._state)
            self._eps = eps
        return self._state


def _run(
    ip: np.ndarray,
    ix: np.ndarray,
    w: np.ndarray,
    cumw: np.ndarray,
    seeds: Seeds,
    alpha: float,
    eps: float,
    n_walks: int,
    seed: Any,
    ws: _Workspace | None,
) -> tuple[np.ndarray, np.ndarray]:
    from . import _kernels

    n = ip.size - 1
    v_idx, v_w = seed_vector(seeds, n)
    alpha = check_alpha(alpha)
    gen = seed if isinstance(seed, np.random.Generator) else child_rng(seed, "ppr-walks")
    state = np.array([gen.integers(0, 2**64, dtype=np.uint64)], dtype=np.uint64)
    if ws is not None and n_walks == 0 and ip.size == ws.n + 1:  # a served index's query
        from ._packed import push_packed

        st = ws.state(ip, w, eps)
        nodes, vals, _pushes, _left = push_packed(
            ip, ix, w, v_idx, v_w, alpha, ws.p, st, ws.queue, ws.touched
        )
        return nodes, vals
    ws = ws or _Workspace(n)
    r, mark = ws.split()
    nodes, vals, _pushes, _walks, _left = _kernels.approximate(
        ip, ix, w, cumw, v_idx, v_w, alpha, eps, n_walks, state,
        ws.p, r, mark, ws.queue, ws.touched,
    )  # fmt: skip
    return nodes, vals


def _csr_arrays(indptr: Any, indices: Any, weights: Any) -> tuple[np.ndarray, ...]:
    ip = np.ascontiguousarray(indptr, dtype=np.int64).reshape(-1)
    if ip.size < 1 or ip[0] != 0 or np.any(np.diff(ip) < 0):
        raise InputError("indptr: must start at 0 and never decrease")
    n = ip.size - 1
    dtype = np.int32 if max(n, int(ip[-1])) < 2**31 - 1 else np.int64
    ix = np.ascontiguousarray(indices, dtype=dtype).reshape(-1)
    if ix.size != ip[-1]:
        raise InputError(f"indices: length {ix.size} differs from indptr[-1] = {int(ip[-1])}")
    if ix.size and (ix.min() < 0 or ix.max() >= n):
        raise InputError(f"indices: node ids must lie in [0, {n})")
    if weights is None:
        return ip, ix, np.empty(0)
    w = np.ascontiguousarray(weights, dtype=np.float64).reshape(-1)
    if w.size != ix.size:
        raise InputError(f"weights: length {w.size} differs from indices length {ix.size}")
    if w.size and (not np.all(np.isfinite(w)) or w.min() < 0):
        raise InputError("weights: must be finite and >= 0")
    return ip, ix, w


def _cumulative(ip: np.ndarray, w: np.ndarray) -> np.ndarray:
    from . import _kernels

    return _kernels.row_cumsum(ip, w) if w.size else w


def ppr_push(
    indptr: Any,
    indices: Any,
    weights: Any,
    seeds: Seeds,
    alpha: float = 0.85,
    eps: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Forward-push approximation of personalized PageRank on raw out-edge CSR arrays.

    Parameters
    ----------
    indptr, indices : array_like of int
        Out-edge CSR structure: the targets of ``u`` are ``indices[indptr[u]:indptr[u + 1]]``.
    weights : array_like of float or None
        Edge weights aligned with ``indices`` (None: every edge weighs 1).
    seeds : int, sequence of int or dict int -> float
        The personalization vector ``v`` (see :func:`personalized_pagerank`).
    alpha : float
        Damping factor.
    eps : float
        Push threshold per unit of out-degree: smaller is more accurate and slower (at most
        :math:`1 / ((1 - \\alpha) \\epsilon)` pushes, whatever the size of the graph).

    Returns
    -------
    nodes, scores : numpy.ndarray
        Nodes with a positive estimate (in no particular order) and their estimates, which never
        exceed the exact values and sum to one minus the residual left.

    Notes
    -----
    Checks the arrays (O(edges)) and allocates O(n) scratch space on every call; for serving,
    build a :class:`PPRIndex` once and call :func:`push_pagerank`, which does neither.

    Examples
    --------
    >>> nodes, scores = ppr_push([0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 0], None, 0, eps=1e-9)
    >>> [round(float(s), 4) for s in scores[np.argsort(nodes)]]   # (1 - a) a^k / (1 - a^5)
    [0.2696, 0.2292, 0.1948, 0.1656, 0.1408]
    """
    ip, ix, w = _csr_arrays(indptr, indices, weights)
    eps = check_positive("eps", eps)
    return _run(ip, ix, w, w[:0], seeds, alpha, eps, 0, 0, None)


def ppr_monte_carlo(
    indptr: Any,
    indices: Any,
    weights: Any,
    seeds: Seeds,
    alpha: float = 0.85,
    n_walks: int = 10_000,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo approximation of personalized PageRank: random walks with restart.

    About ``n_walks`` walks start at nodes drawn from ``v`` (exactly ``n_walks`` for one seed);
    each step ends the walk with probability ``1 - alpha``, else follows an out-edge drawn by
    weight (from a dangling node: jumps to a node drawn from ``v``, networkx's rule). The
    estimate of ``x_u`` is the share of all visits that landed on ``u``; its standard error
    shrinks like ``1 / sqrt(n_walks)``. The same ``seed`` gives the same walks (through
    :func:`discovery.seed.child_rng`).

    Returns ``(nodes, scores)``: visited nodes in no particular order, scores summing to 1.
    Arguments as in :func:`ppr_push`; weighted graphs pay O(edges) per call for cumulative
    weights, which :func:`monte_carlo_pagerank` on a :class:`PPRIndex` computes once.

    Examples
    --------
    >>> nodes, scores = ppr_monte_carlo([0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 0], None, 0,
    ...                                 n_walks=100_000, seed=1)
    >>> [round(float(s), 2) for s in scores[np.argsort(nodes)]]   # exact .270 .229 .195 .166 .141
    [0.27, 0.23, 0.19, 0.17, 0.14]
    """
    ip, ix, w = _csr_arrays(indptr, indices, weights)
    n_walks = check_positive("n_walks", n_walks, integer=True)
    nodes, vals = _run(ip, ix, w, _cumulative(ip, w), seeds, alpha, np.inf, n_walks, seed, None)
    return nodes, vals / vals.sum()


def _serve(
    adjacency: Any,
    seeds: Seeds,
    alpha: float,
    eps: float,
    n_walks: int,
    seed: Any,
    k: int | None,
    normalize: bool,
    sparse: bool = False,
) -> _Result:
    index = adjacency if isinstance(adjacency, PPRIndex) else PPRIndex(adjacency)
    cumw = index.weights[:0]
    if n_walks:
        with index._lock:
            if index._cumw is None:
                index._cumw = _cumulative(index.indptr, index.weights)
        cumw = index._cumw
    try:  # list.pop/append are atomic: concurrent queries each get their own workspace
        ws = index._workspaces.pop()
    except IndexError:
        ws = _Workspace(index.n)
    try:
        nodes, scores = _run(
            index.indptr, index.indices, index.weights, cumw, seeds, alpha, eps, n_walks, seed, ws
        )
    finally:
        index._workspaces.append(ws)
    if normalize:
        scores = scores / scores.sum()
    if k is not None:
        return top_k(scores, k, nodes=nodes)
    if sparse:
        keep = np.flatnonzero(scores != 0)
        order = keep[np.argsort(nodes[keep], kind="stable")]
        return nodes[order].astype(np.int64), scores[order]
    dense = np.zeros(index.n)
    dense[nodes] = scores
    return dense


def push_pagerank_sparse(
    adjacency: Any, seeds: Seeds, alpha: float = 0.85, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`push_pagerank`'s estimate as its support: the nodes it gives mass to, sorted,
    and their values — without the dense vector (8 MB to zero at a million nodes, where a
    served query reaches a few thousand).

    >>> from discovery.graph import adjacency_from_edges
    >>> path = adjacency_from_edges([0, 1], [1, 2], 4)
    >>> nodes, values = push_pagerank_sparse(path, 0, eps=1e-9)
    >>> nodes.tolist(), bool((values > 0).all())
    ([0, 1, 2], True)
    """
    eps = check_positive("eps", eps)
    out = _serve(adjacency, seeds, alpha, eps, 0, 0, None, normalize=False, sparse=True)
    return out  # type: ignore[return-value]


def push_pagerank(
    adjacency: Any, seeds: Seeds, alpha: float = 0.85, eps: float = 1e-6, k: int | None = None
) -> _Result:
    """Forward-push PPR on an adjacency matrix or a :class:`PPRIndex`; see :func:`ppr_push`.

    Returns the dense estimate vector, or with ``k`` the top-``k`` ``(nodes, scores)``, best
    first, ties by lower index. A :class:`PPRIndex` keeps its scratch arrays between queries.

    Examples
    --------
    A star: hub 0 <-> leaves 1..4, seeded at leaf 1. By hand the hub gets ``a / (1 + a)`` and
    the seed ``1 - a + a / 4 * a / (1 + a)``.

    >>> from discovery.graph import adjacency_from_edges
    >>> star = PPRIndex(adjacency_from_edges([0, 0, 0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 0, 0, 0, 0], 5))
    >>> nodes, scores = push_pagerank(star, 1, k=2, eps=1e-9)
    >>> nodes.tolist(), scores.round(4).tolist()
    ([0, 1], [0.4595, 0.2476])
    """
    eps = check_positive("eps", eps)
    return _serve(adjacency, seeds, alpha, eps, 0, 0, k, normalize=False)


def monte_carlo_pagerank(
    adjacency: Any,
    seeds: Seeds,
    alpha: float = 0.85,
    n_walks: int = 10_000,
    seed: int | np.random.Generator | None = None,
    k: int | None = None,
) -> _Result:
    """Monte Carlo PPR on an adjacency matrix or a :class:`PPRIndex`; see :func:`ppr_monte_carlo`.

    Returns the dense estimate (summing to 1), or with ``k`` the top-``k`` ``(nodes, scores)``.

    Examples
    --------
    >>> from discovery.graph import adjacency_from_edges
    >>> star = PPRIndex(adjacency_from_edges([0, 0, 0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 0, 0, 0, 0], 5))
    >>> nodes, scores = monte_carlo_pagerank(star, 1, k=2, n_walks=50_000, seed=3)
    >>> nodes.tolist(), scores.round(2).tolist()   # exact 0.4595, 0.2476
    ([0, 1], [0.46, 0.25])
    """
    n_walks = check_positive("n_walks", n_walks, integer=True)
    return _serve(adjacency, seeds, alpha, np.inf, n_walks, seed, k, normalize=True)


def fora_pagerank(
    adjacency: Any,
    seeds: Seeds,
    alpha: float = 0.85,
    eps: float = 1e-4,
    n_walks: int = 20_000,
    seed: int | np.random.Generator | None = None,
    k: int | None = None,
) -> _Result:
    """Push to ``eps``, then walks from what is left (FORA, Wang et al. 2017).

    Each residual node ``u`` starts ``floor(r_u W)`` walks, plus one with probability equal to
    the fractional part (``W = n_walks``), and every visit adds ``(1 - alpha) / W``: an unbiased
    estimate of :math:`\\sum_u r_u \\mathrm{PPR}_u`, added to the push estimate ``p``. About
    ``W * sum(r)`` walks run, so the walks cost a fraction of plain Monte Carlo's with ``W``
    walks at better accuracy. Returns the dense estimate or, with ``k``, the top-``k``.

    With the defaults, on the benchmark graphs of bench/ppr.py (fast-mixing, celebrity-heavy):
    top-100 overlap with the exact vector 0.95 (100k nodes) to 0.96 (1M nodes), top-100 mass
    ratio >= 0.999, 8-45 ms per query on a shared 2-core machine, 12-320x less than exact.

    Examples
    --------
    >>> from discovery.graph import adjacency_from_edges
    >>> star = PPRIndex(adjacency_from_edges([0, 0, 0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 0, 0, 0, 0], 5))
    >>> fora_pagerank(star, 1, eps=1e-3, n_walks=50_000, seed=3).round(2).tolist()
    [0.46, 0.25, 0.1, 0.1, 0.1]
    """
    eps = check_positive("eps", eps)
    n_walks = check_positive("n_walks", n_walks, integer=True)
    return _serve(adjacency, seeds, alpha, eps, n_walks, seed, k, normalize=False)


def warmup() -> float:
    """Compile (or load from numba's on-disk cache) every kernel; returns the seconds it took.

    Services call this at start, so the first request does not pay 1-5 s of compilation.
    """
    start = time.perf_counter()
    # A 3-node graph with a dangling node, unweighted then weighted: both kernel paths.
    for weights in ([1.0, 1.0, 1.0], [1.0, 2.0, 1.0]):
        index = PPRIndex(sp.csr_array((weights, [1, 2, 0], [0, 2, 3, 3]), shape=(3, 3)))
        push_pagerank(index, 0)
        monte_carlo_pagerank(index, 0, n_walks=10, seed=0)
        fora_pagerank(index, 0, n_walks=10, seed=0)
    return time.perf_counter() - start
