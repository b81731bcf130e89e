"""Exact personalized PageRank: a cached transition matrix and a float64 power iteration.

The personalized PageRank ``x`` of a personalization (restart) vector ``v`` solves

.. math::  x = \\alpha \\left(P^T x + (d^T x)\\, v\\right) + (1 - \\alpha)\\, v

with ``P = D^{-1} A`` the row-stochastic transition matrix (``D`` the out-weight sums), ``d`` the
indicator of dangling nodes (no out-weight), whose mass goes back to ``v`` exactly as in
``networkx.pagerank(G, alpha, personalization=v)`` with its default ``dangling=None``.
Self-loops are ordinary edges. (Page, Brin, Motwani, Winograd 1999, "The PageRank citation
ranking"; Haveliwala 2002 for the personalized form.)
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import DiscoveryError, InputError
from ._validate import Seeds, as_csr, check_alpha, check_positive, seed_vector

__all__ = ["PPRConvergenceError", "PPRIndex", "personalized_pagerank"]


class PPRConvergenceError(DiscoveryError, RuntimeError):
    """The power iteration did not reach ``tol`` within ``max_iter`` iterations."""


class PPRIndex:
    """A graph prepared once for many personalized PageRank queries.

    Holds the out-edge CSR (for push and walks), the transition matrix ``P^T`` as CSR (for the
    power iteration, built on its first use) and the dangling nodes, so a query never rebuilds
    them (``networkx`` rebuilds the matrix from Python dicts on every call, ``igraph``
    re-preprocesses the graph).
    Read-only after construction and safe to share between threads.

    Parameters
    ----------
    adjacency : scipy.sparse matrix or 2-D array
        ``A[source, target] = weight`` (>= 0); explicit zeros are not edges.
    weight : bool
        Use the stored weights (default) or treat every edge as weight 1.
    copy : bool
        Copy the adjacency's arrays (default), or share them when it is already a float64 CSR
        in canonical form: the caller then promises never to change them (a snapshot's derived
        matrices, which are replaced, never written).

    Examples
    --------
    >>> from discovery.graph import adjacency_from_edges
    >>> index = PPRIndex(adjacency_from_edges([0, 1, 2, 3, 4], [1, 2, 3, 4, 0], 5))
    >>> index.n, index.nnz, index.dangling.tolist()
    (5, 5, [])
    >>> [round(float(s), 4) for s in index.pagerank(0)]   # (1 - a) a^k / (1 - a^5) on a cycle
    [0.2696, 0.2292, 0.1948, 0.1656, 0.1408]
    """

    def __init__(self, adjacency: Any, weight: bool = True, *, copy: bool = True) -> None:
        # as_csr's arrays are a copy of the caller's (or, copy=False, the caller's own, which
        # it promises not to change): kept as they are where the dtype fits, not copied again
        # — on the large world's 20 M follow edges the extra copies took 0.9–1.2 s of every
        # follow-graph rebuild and held ~250 MB more in each worker
        a = as_csr(adjacency, weight=weight, copy=copy)
        self.n: int = int(a.shape[0])
        self.nnz: int = int(a.nnz)
        self.weight: bool = bool(weight)
        index_dtype = np.int32 if max(self.n, self.nnz) < 2**31 - 1 else np.int64
        self.indptr = a.indptr.astype(np.int64, copy=False)
        self.indices = a.indices.astype(index_dtype, copy=False)
        #: True when every edge weighs the same (the common unweighted follow graph); the
        #: kernels then never read weights and ``weights`` is empty.
        self.uniform = bool(self.nnz == 0 or np.all(a.data == a.data[0]))
        self.weights = np.empty(0) if self.uniform else a.data
        self._uniform_weight = float(a.data[0]) if self.uniform and self.nnz else 1.0
        out_weight = np.asarray(a.sum(axis=1)).ravel()
        self.dangling = np.flatnonzero(out_weight <= 0).astype(np.int64)
        self._inv_out = np.zeros(self.n)
        np.divide(1.0, out_weight, out=self._inv_out, where=out_weight > 0)
        self._index_dtype = index_dtype
        self._transition_t: sp.csr_array | None = None
        self._transition_lock = threading.Lock()
        self._cumw: np.ndarray | None = None
        self._lock = threading.Lock()
        self._workspaces: list[Any] = []

    @property
    def transition_t(self) -> sp.csr_array:
        """``P^T`` (column-stochastic apart from dangling columns) as CSR, one SpMV per power
        iteration; built on first use and kept. Push and walks read only the out-edges, so an
        index that only serves them never builds it: on the large world's 20 M follow edges
        the transpose took 0.6–0.7 s of every follow-graph rebuild and held ~240 MB."""
        pt = self._transition_t
        if pt is None:
            with self._transition_lock:
                pt = self._transition_t
                if pt is None:
                    pt = self._transition_t = self._build_transition_t()
        return pt

    def _build_transition_t(self) -> sp.csr_array:
        data = np.full(self.nnz, self._uniform_weight) if self.uniform else self.weights.copy()
        data *= np.repeat(self._inv_out, np.diff(self.indptr))
        a = sp.csr_array((data, self.indices, self.indptr), shape=(self.n, self.n))
        # scipy's transpose widens indices to int64; 32-bit ones read a third less per edge.
        pt = sp.csr_array(a.T)
        pt.sort_indices()
        dtype = self._index_dtype
        return sp.csr_array(
            (pt.data, pt.indices.astype(dtype), pt.indptr.astype(dtype)), shape=pt.shape
        )

    def with_nodes(self, n: int) -> PPRIndex:
        """This index with nodes ``self.n … n - 1`` added without edges (dangling): what
        building it on the adjacency padded to ``n`` gives, sharing the edge arrays (a new
        account on the large world: 0.7–1.4 s of rebuild otherwise).

        >>> from discovery.graph import adjacency_from_edges
        >>> grown = PPRIndex(adjacency_from_edges([0, 1], [1, 0], 2)).with_nodes(3)
        >>> grown.n, grown.dangling.tolist(), [round(float(s), 3) for s in grown.pagerank(0)]
        (3, [2], [0.541, 0.459, 0.0])
        """
        if n <= self.n:
            return self
        new = object.__new__(PPRIndex)
        new.__dict__.update(self.__dict__)
        old = self.n
        new.n = n
        new.indptr = np.concatenate([self.indptr, np.full(n - old, self.indptr[-1])])
        new.dangling = np.concatenate([self.dangling, np.arange(old, n, dtype=np.int64)])
        new._inv_out = np.concatenate([self._inv_out, np.zeros(n - old)])
        pt = self._transition_t  # new nodes have no in- nor out-edges: empty rows of P^T too
        if pt is not None:
            indptr = np.concatenate([pt.indptr, np.full(n - old, pt.indptr[-1], pt.indptr.dtype)])
            pt = sp.csr_array((pt.data, pt.indices, indptr), shape=(n, n))
        new._transition_t = pt
        new._transition_lock, new._lock = threading.Lock(), threading.Lock()
        new._workspaces = []  # sized by n
        return new

    def row(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """``node``'s out-edges as the kernels read them: sorted columns and their weights.

        >>> from discovery.graph import adjacency_from_edges
        >>> index = PPRIndex(adjacency_from_edges([0, 0, 1], [2, 1, 0], 3, weights=[2.0, 1.0, 1.0]))
        >>> [a.tolist() for a in index.row(0)], [a.tolist() for a in index.row(2)]
        ([[1, 2], [1.0, 2.0]], [[], []])
        """
        lo, hi = int(self.indptr[node]), int(self.indptr[node + 1])
        cols = self.indices[lo:hi].astype(np.int64)
        if self.uniform:
            return cols, np.full(hi - lo, self._uniform_weight)
        return cols, np.asarray(self.weights[lo:hi], np.float64)

    def __repr__(self) -> str:
        kind = "unweighted" if self.uniform else "weighted"
        return f"PPRIndex(n={self.n}, nnz={self.nnz}, {kind}, dangling={self.dangling.size})"

    def pagerank(
        self,
        seeds: Seeds,
        alpha: float = 0.85,
        tol: float = 1e-10,
        max_iter: int = 1000,
        start: np.ndarray | None = None,
    ) -> np.ndarray:
        """Exact personalized PageRank of ``seeds``; see :func:`personalized_pagerank`.

        ``start``: a distribution to iterate from instead of the seed vector — typically the
        same seed's PPR on a slightly different graph. The fixed point and the stopping rule
        (L1 change < ``tol``, so L1 error ≤ ``tol·alpha/(1-alpha)``) are the same; only fewer
        iterations are needed."""
        alpha = check_alpha(alpha)
        tol = check_positive("tol", tol)
        max_iter = check_positive("max_iter", max_iter, integer=True)
        v_idx, v_w = seed_vector(seeds, self.n)
        if start is not None:
            start = np.asarray(start, dtype=np.float64)
            if start.shape != (self.n,) or not np.all(np.isfinite(start)) or start.min() < 0:
                raise InputError(f"start: expected {self.n} finite values >= 0")
        x, it, err = _power_iteration(self, v_idx, v_w, alpha, tol, max_iter, start)
        if not err < tol:
            raise PPRConvergenceError(
                f"personalized_pagerank: no convergence after {it} iterations "
                f"(L1 change {err:.3g} > tol {tol:g}); raise max_iter or tol"
            )
        total = x.sum()
        return x / total if total > 0 else x


def _power_iteration(
    index: PPRIndex,
    v_idx: np.ndarray,
    v_w: np.ndarray,
    alpha: float,
    tol: float,
    max_iter: int,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, int, float]:
    # x0 = v rather than networkx's uniform start: the same fixed point, and the first
    # iterations already concentrate on the seeds' neighbourhood.
    pt = index.transition_t
    if start is not None and start.sum() > 0:
        x = start / start.sum()
    else:
        x = np.zeros(index.n)
        x[v_idx] = v_w
    err = np.inf
    it = 0
    while it < max_iter:
        it += 1
        y = pt @ x
        y *= alpha
        y[v_idx] += (alpha * x[index.dangling].sum() + (1.0 - alpha)) * v_w
        err = float(np.abs(y - x).sum())
        x = y
        if err < tol:
            break
    return x, it, err


def personalized_pagerank(
    adjacency: Any,
    seeds: Seeds,
    alpha: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
    weight: bool = True,
) -> np.ndarray:
    """Personalized PageRank vector of ``seeds`` on a directed weighted graph.

    Solves :math:`x = \\alpha (P^T x + (d^T x) v) + (1 - \\alpha) v` by power iteration from
    :math:`x_0 = v` until the L1 change :math:`\\|x_{k+1} - x_k\\|_1 < tol`, which bounds the
    L1 error by :math:`tol \\cdot \\alpha / (1 - \\alpha)`. Unlike networkx, ``tol`` is not
    multiplied by the number of nodes. ``P = D^{-1} A`` is row-stochastic; dangling nodes send
    their mass back to ``v`` (networkx's ``dangling=None``); self-loops are ordinary edges.
    (Page et al. 1999; Haveliwala 2002.)

    Parameters
    ----------
    adjacency : scipy.sparse matrix, 2-D array or PPRIndex
        ``A[source, target] = weight``. Pass a :class:`PPRIndex` to answer many queries
        without rebuilding the transition matrix.
    seeds : int, sequence of int or dict int -> float
        The personalization: one node, several nodes with equal weight (repeats add up), or
        node -> weight (>= 0, positive sum; normalized to sum 1).
    alpha : float
        Damping factor: probability of following an edge rather than restarting (0 <= alpha < 1).
    tol : float
        Stop when the L1 change between iterations is below ``tol``.
    max_iter : int
        Raise :class:`PPRConvergenceError` if ``tol`` is not reached after this many iterations.
    weight : bool
        Use edge weights (default) or count every edge as 1.

    Returns
    -------
    numpy.ndarray
        float64 vector of length ``n``, non-negative, summing to 1.

    Raises
    ------
    discovery.errors.InputError
        Bad adjacency (not square, negative or non-finite weight), seeds (out of range,
        negative or all-zero weights) or parameters.

    Examples
    --------
    A 2-cycle solved by hand: ``x0 = 1 - a + a x1`` and ``x1 = a x0`` give ``x0 = 1 / (1 + a)``.

    >>> from discovery.graph import adjacency_from_edges
    >>> two = adjacency_from_edges([0, 1], [1, 0], 2)
    >>> personalized_pagerank(two, 0).round(6).tolist()
    [0.540541, 0.459459]

    Five nodes: 0 -> 1 (weight 3), 0 -> 2, 1 -> 3, 2 -> 3, 3 is dangling, 4 is isolated. By
    hand: ``x1 = 3/4 a x0``, ``x2 = 1/4 a x0``, ``x3 = a (x1 + x2) = a^2 x0`` and, as 3's mass
    returns to the seed, ``x0 = 1 - a + a x3``, so ``x0 = (1 - a) / (1 - a^3)``.

    >>> a = adjacency_from_edges([0, 0, 1, 2], [1, 2, 3, 3], 5, weights=[3, 1, 1, 1])
    >>> personalized_pagerank(a, {0: 1.0}).round(4).tolist()
    [0.3887, 0.2478, 0.0826, 0.2809, 0.0]
    """
    if isinstance(adjacency, PPRIndex):
        if adjacency.weight != bool(weight) and not adjacency.uniform:
            raise InputError(
                f"weight={weight!r} differs from the PPRIndex's weight={adjacency.weight!r}"
            )
        index = adjacency
    else:
        index = PPRIndex(adjacency, weight=weight)
    return index.pagerank(seeds, alpha=alpha, tol=tol, max_iter=max_iter)
