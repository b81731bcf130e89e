"""Personalized PageRank after the seed's own out-edges changed, from the vector before.

A served graph lags: rebuilding a million-account follow matrix takes seconds, so it is rebuilt
only after a share of its edges changed. A user's *own* follows must not lag — the feed after a
follow has to show it — and the seed's row is the one row that moves its own vector most (all
of the walk's first step goes through it). This module gives the PPR of the graph with only the
seed's row replaced, from quantities on the lagging graph: the seed's vector there and one PPR
query per side of the change (the accounts added, the accounts removed). No matrix is copied.

The update
----------
Let ``P₀`` be the transition matrix with dangling rows left empty and ``M = (I - αP₀)⁻¹``. A PPR
whose dangling mass returns to its personalization ``v`` (networkx's convention, and this
package's) solves ``x = (1 - α)v + αxP₀ + α(x·d)v``, so ``x = (1 - α + αD)·vM`` with ``D = x·d``
the mass on dangling nodes: ``vM = x / (1 - α + αD)``, a normalised ``vM``.

Replacing the seed ``s``'s row ``p`` by ``r`` is the rank-one change ``P₀' = P₀ + e_s(r - p)ᵀ``.
By Sherman–Morrison, with ``u = e_sM``, ``z = (r - p)M``,

    u' = e_sM' = u + α·u_s / (1 - α·z_s) · z .

From ``M = I + αP₀M``, ``pM = (u - e_s)/α`` needs nothing new. Writing the new row as
``r = c·p + a - b`` (``c = S/S'``, the old and new row sums: the kept edges scaled, ``a ≥ 0``
the weight added, ``b ≥ 0`` the weight removed, each over ``S'``), ``aM`` and ``bM`` are two
ordinary PPR queries seeded at ``a`` and ``b``, normalised as above, and

    z = (c - 1)(u - e_s)/α + aM - bM ,   x' = u' / Σu' .

Exact in exact arithmetic (the tests compare with a power iteration on the changed graph);
with approximate queries (forward push) the error is that of the queries. A seed that follows
nobody afterwards gets ``x' = e_s``, as a dangling seed does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import setops
from ..errors import InputError
from ._validate import check_alpha

__all__ = ["SparseVector", "replace_seed_row"]

#: ``(nodes, values)``: sorted distinct node indices and the vector's values there.
SparseVector = tuple[np.ndarray, np.ndarray]

#: Values of the normalised result at or below this are cancellation noise, not mass.
_ROUNDING = 1e-13


def _add(*terms: tuple[float, SparseVector]) -> SparseVector:
    """``Σ coef·vector`` over sparse vectors: the union of their nodes, sorted."""
    nodes = np.concatenate([np.asarray(v[0], np.int64) for _, v in terms])
    values = np.concatenate([c * np.asarray(v[1], np.float64) for c, v in terms])
    out, inverse = np.unique(nodes, return_inverse=True)
    return out, np.bincount(inverse, weights=values, minlength=len(out))


def _at(vec: SparseVector, node: int) -> float:
    nodes, values = vec
    i = int(np.searchsorted(nodes, node))
    return float(values[i]) if i < len(nodes) and nodes[i] == node else 0.0


def _unit_solve(vec: SparseVector, dangling: np.ndarray, alpha: float) -> SparseVector:
    """``vM`` from a PPR ``x`` of personalization ``v`` (any positive scale): ``x`` normalised,
    divided by ``1 - α + α·D`` (``D``: its mass on the sorted ``dangling`` nodes)."""
    nodes, values = vec
    total = float(values.sum())
    if total <= 0:
        raise InputError("replace_seed_row: a PPR vector with no mass")
    x = values / total
    pos = np.minimum(np.searchsorted(dangling, nodes), max(len(dangling) - 1, 0))
    on_dangling = (dangling[pos] == nodes) if len(dangling) else np.zeros(len(nodes), bool)
    return nodes, x / (1.0 - alpha + alpha * float(x[on_dangling].sum()))


def _row(cols: np.ndarray, weights: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    cols = np.asarray(cols, np.int64)
    weights = np.asarray(weights, np.float64)
    if cols.shape != weights.shape or len(setops.unique(cols)) != len(cols):
        raise InputError(f"replace_seed_row: {name}: distinct columns and one weight each")
    if not np.all(np.isfinite(weights)) or (weights < 0).any():
        raise InputError(f"replace_seed_row: {name}: weights must be finite and >= 0")
    return cols, weights


def replace_seed_row(
    base: SparseVector,
    seed: int,
    old_row: tuple[np.ndarray, np.ndarray],
    new_row: tuple[np.ndarray, np.ndarray],
    solve: Callable[[dict[int, float]], SparseVector],
    dangling: np.ndarray,
    alpha: float = 0.85,
) -> SparseVector:
    """The PPR of ``seed`` once its out-edges are ``new_row``, from ``base``, its PPR on a graph
    where they were ``old_row`` and every other row is the same (see the module's formula).

    Parameters
    ----------
    base : the seed's PPR on the old graph, as sorted ``(nodes, values)`` (any positive scale).
    seed : the seed node.
    old_row, new_row : ``(columns, weights)`` of the seed's out-edges before and after (weights
        ``>= 0``; empty when the seed follows nobody).
    solve : ``solve({node: weight})`` → the PPR of that personalization on the old graph, as
        ``(nodes, values)``: the same kernel that computed ``base``.
    dangling : the old graph's dangling nodes, sorted (the seed's own status does not matter).
    alpha : damping.

    Returns
    -------
    The new PPR, sorted ``(nodes, values)`` summing to 1, zeros dropped.

    Examples
    --------
    A cycle 0 → 1 → 2 → 0 where 0 now follows 2 instead of 1: 0 → 2 → 0, a 2-cycle, whose PPR
    from 0 is ``(1/(1+α), α/(1+α))``.

    >>> from discovery.graph import PPRIndex, adjacency_from_edges
    >>> index = PPRIndex(adjacency_from_edges([0, 1, 2], [1, 2, 0], 3))
    >>> def solve(seeds):
    ...     x = index.pagerank(seeds, tol=1e-13)
    ...     return np.flatnonzero(x), x[x > 0]
    >>> nodes, values = replace_seed_row(
    ...     solve({0: 1.0}), 0, ([1], [1.0]), ([2], [1.0]), solve, index.dangling
    ... )
    >>> nodes.tolist(), values.round(6).tolist(), round(1 / 1.85, 6), round(0.85 / 1.85, 6)
    ([0, 2], [0.540541, 0.459459], 0.540541, 0.459459)
    """
    alpha = check_alpha(alpha)
    seed = int(seed)
    dangling = np.asarray(dangling, np.int64)
    old_cols, old_w = _row(*old_row, "old_row")
    new_cols, new_w = _row(*new_row, "new_row")
    u = _unit_solve(base, dangling, alpha)
    s_old, s_new = float(old_w.sum()), float(new_w.sum())
    e_s: SparseVector = (np.array([seed]), np.array([1.0]))
    if s_new <= 0:  # the seed follows nobody now: its mass stays home
        return e_s
    cols, inverse = np.unique(np.concatenate([old_cols, new_cols]), return_inverse=True)
    # r = c·p + delta: the kept weight rescaled, and what each column gained or lost (an old
    # row of zero weight is dangling, p = 0, and then c is anything: 0)
    delta = np.bincount(inverse, np.concatenate([-old_w, new_w]), minlength=len(cols)) / s_new
    c = s_old / s_new
    terms: list[tuple[float, SparseVector]] = [((c - 1.0) / alpha, _add((1.0, u), (-1.0, e_s)))]
    for sign in (1.0, -1.0):
        part = sign * delta > 0
        if part.any():
            weights = sign * delta[part]
            seeds = dict(zip(cols[part].tolist(), weights.tolist(), strict=True))
            vm = _unit_solve(solve(seeds), dangling, alpha)
            terms.append((sign * float(weights.sum()), vm))
    z = _add(*terms)
    u_s = _at(u, seed)
    nodes, values = _add((1.0, u), (alpha * u_s / (1.0 - alpha * _at(z, seed)), z))
    values = values / values.sum()
    # where the update cancels a node's mass (a removed edge's target that nothing else
    # reaches) rounding leaves ±1e-17, and an approximate query a hair below zero: dropped
    keep = values > _ROUNDING
    return nodes[keep], values[keep] / values[keep].sum()
