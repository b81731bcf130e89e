"""Forward push with each node's state packed in one row: the serving path's kernel.

:func:`discovery.graph._kernels.approximate` keeps a node's residual, its mark and (through
``indptr``) its push threshold in three arrays, so each edge of a push reads three random
places of memory: the residual (8 MB at a million nodes), the mark (1 MB) and the target's
degree (``indptr``, 8 MB). On the million-account world the push is bound by those reads
(~40 ns an edge, ~120,000 edges a query). Here ``state[u]`` is one 32-byte row — residual,
threshold :math:`\\epsilon \\max(\\mathrm{outdeg}(u), 1)`, mark, total out-weight — so an edge
reads one cache line (columns 0, 1, 2; literals in the kernel), and a push reads its node's
total from column 3 (:func:`row_totals`, summed once per index in the push's own order)
instead of summing the weights again. Same pushes in the same order with the same arithmetic (the threshold is the same
product, computed once per ``eps``): the result is bit-identical to ``approximate`` with no
walks (tested with hypothesis). numba has no struct-of-arrays layout switch and scipy no push,
hence the hand-written kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["push_packed", "row_totals", "thresholds"]


def thresholds(indptr: np.ndarray, eps: float, out: np.ndarray) -> None:
    """Write each node's push threshold ``eps * max(outdeg, 1)`` into column 1 of the state
    (the split kernel's own product: int degree times float ``eps``)."""
    out[:, 1] = eps * np.maximum(np.diff(indptr), 1)


@njit(cache=True, nogil=True)
def row_totals(indptr, weights, out):
    """Write each node's total out-weight into column 3 of the state: the weights summed left
    to right from 0.0 (the push's own sum, so its shares are bit-identical), or the
    out-degree when ``weights`` is empty (unweighted)."""
    weighted = weights.shape[0] > 0
    for u in range(indptr.shape[0] - 1):
        lo = indptr[u]
        hi = indptr[u + 1]
        if weighted:
            total = 0.0
            for k in range(lo, hi):
                total += weights[k]
            out[u, 3] = total
        else:
            out[u, 3] = np.float64(hi - lo)


@njit(cache=True, nogil=True)
def push_packed(indptr, indices, weights, v_idx, v_w, alpha, p, state, queue, touched):
    """Forward push until no residual reaches its threshold; ``state`` (n × 4 float64) holds
    the thresholds and the totals (:func:`row_totals`) and zeros elsewhere, ``p`` zeros, and
    both are left so. Returns (nodes, estimates, pushes, residual left), as
    :func:`~discovery.graph._kernels.approximate`."""
    n = queue.shape[0]
    weighted = weights.shape[0] > 0
    nt = 0
    head = 0
    tail = 0
    size = 0
    for k in range(v_idx.shape[0]):
        u = v_idx[k]
        state[u, 0] += v_w[k]
        if state[u, 2] == 0.0:
            state[u, 2] = 1.0
            touched[nt] = u
            nt += 1
    for k in range(v_idx.shape[0]):
        u = v_idx[k]
        if state[u, 2] == 1.0 and state[u, 0] >= state[u, 1]:
            state[u, 2] = 2.0
            queue[tail] = u
            tail = tail + 1 if tail + 1 < n else 0
            size += 1
    pushes = 0
    while size > 0:
        u = queue[head]
        head = head + 1 if head + 1 < n else 0
        size -= 1
        state[u, 2] = 1.0
        ru = state[u, 0]
        state[u, 0] = 0.0
        p[u] += (1.0 - alpha) * ru
        pushes += 1
        lo = indptr[u]
        hi = indptr[u + 1]
        total = state[u, 3]
        if total > 0.0:
            share = alpha * ru / total
            for k in range(lo, hi):
                w = indices[k]
                rw = state[w, 0] + (share * weights[k] if weighted else share)
                state[w, 0] = rw
                m = state[w, 2]
                if m == 0.0:
                    state[w, 2] = 1.0
                    touched[nt] = w
                    nt += 1
                    m = 1.0
                if m == 1.0 and rw >= state[w, 1]:
                    state[w, 2] = 2.0
                    queue[tail] = w
                    tail = tail + 1 if tail + 1 < n else 0
                    size += 1
        else:  # dangling: networkx sends this mass back to the personalization vector
            for k in range(v_idx.shape[0]):
                w = v_idx[k]
                state[w, 0] += alpha * ru * v_w[k]
                if state[w, 2] == 1.0 and state[w, 0] >= state[w, 1]:
                    state[w, 2] = 2.0
                    queue[tail] = w
                    tail = tail + 1 if tail + 1 < n else 0
                    size += 1
    left = 0.0
    for t in range(nt):
        left += state[touched[t], 0]
    nodes = np.empty(nt, dtype=np.int64)
    vals = np.empty(nt, dtype=np.float64)
    m = 0
    for t in range(nt):
        u = touched[t]
        if p[u] > 0.0:
            nodes[m] = u
            vals[m] = p[u]
            m += 1
        p[u] = 0.0
        state[u, 0] = 0.0
        state[u, 2] = 0.0
    return nodes[:m], vals[:m], pushes, left
