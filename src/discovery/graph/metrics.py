"""Top-k extraction and the two agreement measures used to judge approximate PPR.

Set overlap alone is tie-sensitive: two nodes with equal scores around rank ``k`` swap places
between methods and cost overlap without costing relevance. ``mass_ratio`` measures what the
chosen ``k`` nodes are worth under the exact vector, relative to the best possible ``k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import setops
from ..errors import InputError

__all__ = ["mass_ratio", "top_k", "topk_overlap"]


def top_k(scores: Any, k: int, *, nodes: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest positive scores, best first, ties broken by the lower node index.

    Parameters
    ----------
    scores : array_like of float
        A dense score vector, or the scores of ``nodes`` (a sparse result).
    k : int
        How many to return (fewer when fewer scores are positive).
    nodes : array_like of int, optional
        Node ids aligned with ``scores``; default ``arange(len(scores))``.

    Examples
    --------
    >>> top_k([0.1, 0.4, 0.0, 0.4, 0.1], 3)
    (array([1, 3, 0]), array([0.4, 0.4, 0.1]))
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise InputError(f"k: must be a non-negative integer, got {k!r}")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    ids = np.arange(s.size) if nodes is None else np.asarray(nodes, dtype=np.int64).reshape(-1)
    if ids.shape != s.shape:
        raise InputError(f"nodes: length {ids.size} differs from scores length {s.size}")
    pos = np.flatnonzero(s > 0)
    if pos.size > k > 0:
        vals = s[pos]
        cut = np.partition(vals, pos.size - k)[pos.size - k]
        above = pos[vals > cut]
        tied = pos[vals == cut]
        tied = tied[np.argsort(ids[tied], kind="stable")][: k - above.size]
        pos = np.concatenate([above, tied])
    elif k == 0:
        pos = pos[:0]
    order = np.lexsort((ids[pos], -s[pos]))
    return ids[pos][order], s[pos][order]


def topk_overlap(candidates: Any, exact: Any, k: int | None = None) -> float:
    """``|candidates ∩ top_k(exact)| / k``, with ``k = len(candidates)`` by default.

    >>> topk_overlap([0, 2], [0.5, 0.2, 0.2, 0.1])   # 2 ties with 1, which wins the tie-break
    0.5
    """
    cand = np.asarray(candidates, dtype=np.int64).reshape(-1)
    k = cand.size if k is None else int(k)
    if k <= 0:
        raise InputError("k: must be positive")
    best, _ = top_k(exact, k)
    return float(setops.intersect(cand[:k], best).size / k)


def mass_ratio(candidates: Any, exact: Any, k: int | None = None) -> float:
    """Exact PPR mass of ``candidates`` over the largest mass any ``k`` nodes hold.

    >>> mass_ratio([0, 2], [0.5, 0.2, 0.2, 0.1])   # the tie swap costs nothing
    1.0
    """
    cand = setops.unique(np.asarray(candidates, dtype=np.int64).reshape(-1)[:k])
    x = np.asarray(exact, dtype=np.float64).reshape(-1)
    k = cand.size if k is None else int(k)
    best = np.sort(x)[::-1][:k].sum()
    return float(x[cand].sum() / best) if best > 0 else 1.0
