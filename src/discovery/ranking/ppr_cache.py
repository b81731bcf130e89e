"""A per-snapshot cache of PPR vectors that outlives small changes of the graph.

Every follow, unfollow and (for the like-weighted graph) every rebuild of edge weights changes
every personalized PageRank vector — but almost all of them by far less than a ranking can
see. Dropping the whole cache on each change made a stream of follow events cost one full PPR
per later feed request. Instead, each cached vector carries a *proven* bound on how far it is
from the PPR of the current graph, and is recomputed only when that bound passes
``settings.ppr_stale_l1``.

The bound
---------
With damping α (the probability of following an edge) and row-stochastic transition matrix
``P``, the PPR of seed ``s`` solves ``π (I - αP) = (1 - α) e_s``. For a new matrix ``P'``,
subtracting the two equations gives ``π' - π = α π (P' - P) (I - αP')⁻¹``, and since
``(1 - α)(I - αP')⁻¹ = (1 - α) Σ αᵗ P'ᵗ`` is row-stochastic,

    ‖π' - π‖₁ ≤ α / (1 - α) · Σ_u π(u) · ‖P'_u - P_u‖₁ .

Only the rows ``u`` that changed count, each weighted by the mass the seed puts on ``u``. Applied
from the graph the vector was computed on to the current one, with ``‖P'_u - P_u‖₁`` summed over
the intermediate changes (triangle inequality), the bound does not compound. A row that becomes
or stops being dangling (dangling mass returns to the seed) counts the largest change, 2. This
is the residual that dynamic push methods repair locally (Zhang, Lofgren and Goel, "Approximate
personalized PageRank on dynamic graphs", KDD 2016); here it only decides what to recompute.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["GraphLog", "PPRCache", "PPRState", "row_changes", "staleness"]


def _entries(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``m.data`` of the entries of ``rows`` (in row order) and, for each, the
    position of its row in ``rows``."""
    lens = m.indptr[rows + 1] - m.indptr[rows]  # not np.diff of all 1M rows for a few
    offset = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    return np.repeat(m.indptr[rows], lens) + offset, np.repeat(np.arange(len(rows)), lens)


def _differing_rows(old: sp.csr_matrix, new: sp.csr_matrix) -> np.ndarray:
    """Rows whose stored entries differ: one numba pass over both matrices
    (:func:`._kernels.differing_rows`; loaded on first use, not with the engine)."""
    from ._kernels import differing_rows

    return differing_rows(old, new)


def _probabilities(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row position, column, transition probability)`` of every entry of ``rows``."""
    pos, which = _entries(m, rows)
    data = m.data[pos].astype(np.float64)
    sums = np.bincount(which, weights=data, minlength=len(rows))
    prob = np.divide(data, sums[which], out=np.zeros_like(data), where=sums[which] > 0)
    return which, m.indices[pos].astype(np.int64), prob


def row_changes(old: sp.csr_matrix, new: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose transition probabilities differ between adjacency ``old`` and ``new`` (same
    shape; no duplicate entries), and ``‖P'_u - P_u‖₁`` for each (2 where a row becomes or
    stops being empty). Work is proportional to the changed rows' entries.

    >>> old = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]], float))
    >>> new = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [1, 0, 0]], float))
    >>> rows, delta = row_changes(old, new)
    >>> rows.tolist(), delta.tolist()
    ([0, 2], [1.0, 2.0])
    """
    rows = _differing_rows(old, new)
    if len(rows) == 0:
        return rows, np.zeros(0)
    wo, co, po = _probabilities(old, rows)
    wn, cn, pn = _probabilities(new, rows)
    n = max(old.shape[1], 1)
    keys, inverse = np.unique(np.concatenate([wo * n + co, wn * n + cn]), return_inverse=True)
    net = np.abs(np.bincount(inverse, weights=np.concatenate([-po, pn])))
    delta = np.bincount(keys // n, weights=net, minlength=len(rows))
    flipped = (np.diff(old.indptr)[rows] == 0) != (np.diff(new.indptr)[rows] == 0)
    delta[flipped] = 2.0
    keep = delta > 1e-15
    return rows[keep], delta[keep]


@dataclass
class GraphLog:
    """The current graph (PPR's adjacency) and, per row, the running sum of its changes.

    ``total[u]`` is ``Σ ‖P'_u - P_u‖₁`` over every change so far, so the bound for a vector
    computed when the totals were ``t₀`` is linear: ``α/(1-α) · π·(total - t₀)`` — each cached
    vector keeps only the number ``π·t₀``, and no log of changes grows. ``changed_at[u]`` is
    the epoch of row ``u``'s last change."""

    epoch: int = 0
    graph: sp.csr_matrix | None = None
    total: np.ndarray = field(default_factory=lambda: np.zeros(0))
    changed_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    generation: int = 0  # bumped when the node set is replaced: nothing older can be bounded
    # (accounts added keep it: a new node has no edges, so no vector reaches it)
    #: whether any row changed in this generation; while none has, ``total`` is all zeros and
    #: every ``π·total`` is exactly 0 (a batch over a fixed graph skips a 1M-long dot product
    #: per user: 0.4 ms on the large world)
    dirty: bool = False

    def update(self, adj: sp.csr_matrix) -> int:
        """Record ``adj`` as the current graph; returns its epoch."""
        if self.graph is adj:
            return self.epoch
        self.epoch += 1
        old = self.graph
        if old is not None and old.shape[0] < adj.shape[0] and adj.shape[0] == adj.shape[1]:
            # accounts added: isolated nodes, which no vector reaches (their PPR is 0, exactly)
            self.total = np.concatenate([self.total, np.zeros(adj.shape[0] - len(self.total))])
            grown = np.zeros(adj.shape[0] - len(self.changed_at), dtype=np.int64)
            self.changed_at = np.concatenate([self.changed_at, grown])
            if _extends(adj, old):  # the same entries, rows added: nothing to compare
                self.graph = adj
                return self.epoch
            self.graph = _with_rows(old, adj.shape[0])
        if self.graph is not None and self.graph.shape == adj.shape:
            rows, delta = row_changes(self.graph, adj)
            self.total[rows] += delta
            self.changed_at[rows] = self.epoch
            self.dirty = self.dirty or len(rows) > 0
        else:
            self.generation += 1
            self.dirty = False
            self.total = np.zeros(adj.shape[0])
            self.changed_at = np.zeros(adj.shape[0], dtype=np.int64)
        self.graph = adj
        return self.epoch


def _extends(new: sp.csr_matrix, old: sp.csr_matrix) -> bool:
    """Whether ``new`` is ``old`` with empty rows added, sharing its entries (what a sign-up's
    extension of the adjacency makes): O(rows) instead of a pass over every edge, which took
    0.2–0.4 s on the large world."""

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        return len(a) == len(b) and (len(a) == 0 or a.ctypes.data == b.ctypes.data)

    n = old.shape[0]
    return (
        new.nnz == old.nnz
        and same(new.indices[: new.nnz], old.indices[: old.nnz])
        and same(new.data[: new.nnz], old.data[: old.nnz])
        and np.array_equal(new.indptr[: n + 1], old.indptr)
        and bool((new.indptr[n:] == old.indptr[-1]).all())
    )


def _with_rows(m: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """``m`` (square) with empty rows and columns up to ``n``."""
    indptr = np.concatenate([m.indptr, np.full(n - m.shape[0], m.indptr[-1], m.indptr.dtype)])
    return sp.csr_matrix((m.data, m.indices, indptr), shape=(n, n))


def staleness(vec: Any, alpha: float, moved: np.ndarray) -> float:
    """The module's bound on ``‖π_now - vec‖₁`` when row ``u`` of the transition matrix moved
    by ``moved[u]`` (L1, summed over changes) since ``vec`` was exact.

    >>> round(staleness(np.array([0.5, 0.3, 0.2]), 0.8, np.array([0.0, 0.5, 0.0])), 12)
    0.6
    """
    return alpha / (1.0 - alpha) * float(vec @ moved)


@dataclass
class PPRCache:
    """LRU of PPR vectors, each with the graph totals it was computed at (as ``π·t₀``).

    A vector is reused while its bound stays within ``budget``, unless the seed's own row
    changed (the user followed or unfollowed someone): that one is always recomputed. Vectors
    are dense arrays or :class:`~.ppr_vector.PPRVector` (what ranking keeps): anything with
    ``len``, ``nbytes`` and ``vec @ dense``."""

    max_bytes: int
    entries: OrderedDict[tuple, tuple[Any, int, int, float]] = field(default_factory=OrderedDict)
    hits: int = 0
    kept: int = 0  # hits on a vector of an older graph, within the staleness budget
    misses: int = 0

    def get(
        self,
        key: tuple,
        seed: int,
        log: GraphLog,
        alpha: float,
        budget: float,
        compute: Callable[[Any], Any],
    ) -> Any:
        """The cached vector of ``key`` (seeded at ``seed``) if still within ``budget``, else
        ``compute(previous)``, where ``previous`` is the stale vector (a warm start) or None."""
        entry = self.entries.get(key)
        previous = None
        if entry is not None:
            vec, generation, epoch, base = entry
            if len(vec) < len(log.total):  # accounts added since: they hold no mass
                vec = _padded(vec, len(log.total))
                self.entries[key] = (vec, generation, epoch, base)
            previous = vec if generation == log.generation else None
            if generation == log.generation and log.changed_at[seed] <= epoch:
                moved = _dot(vec, log) - base
                if alpha / (1.0 - alpha) * moved <= budget:
                    self.entries.move_to_end(key)
                    self.hits += 1
                    self.kept += epoch != log.epoch
                    return vec
        self.misses += 1
        vec = compute(previous)
        self.entries[key] = (vec, log.generation, log.epoch, _dot(vec, log))
        self.entries.move_to_end(key)
        while len(self.entries) > max(4, self.max_bytes // max(1, vec.nbytes)):
            self.entries.popitem(last=False)
        return vec

    def stats(self) -> dict[str, Any]:
        return {
            "size": len(self.entries),
            "hits": self.hits,
            "kept": self.kept,
            "misses": self.misses,
        }


def _padded(vec: Any, n: int) -> Any:
    """``vec`` over ``n`` accounts: a dense array with zeros appended, or a
    :class:`~.ppr_vector.PPRVector` with a larger ``n``."""
    if isinstance(vec, np.ndarray):
        return np.concatenate([vec, np.zeros(n - len(vec))])
    return vec.padded(n)


def _dot(vec: Any, log: GraphLog) -> float:
    """``π·total``: exactly 0.0 while nothing changed (``total`` is all zeros)."""
    return float(vec @ log.total) if log.dirty else 0.0


@dataclass
class PPRState:
    """What a snapshot's PPR look-ups keep across catch-ups: one :class:`GraphLog` per kind of
    adjacency (plain or like-weighted) and the LRU of vectors. Held by ranking as the derived
    structure ``ppr_state`` (see :func:`~.affinity.ppr_state`), which depends on the accounts
    only: graph changes are what each vector's staleness bound accounts for."""

    cache: PPRCache
    logs: dict[bool, GraphLog] = field(default_factory=dict)

    def log(self, weighted: bool) -> GraphLog:
        return self.logs.setdefault(weighted, GraphLog())
