"""Orders a selection draws from: by score (ties by post id), and the seeded random draw."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import setops
from ..signals.fatigue import group_rank

__all__ = ["fatigue_order", "order_by_score", "random_mix", "random_order"]


def order_by_score(scores: np.ndarray, post_ids: np.ndarray) -> np.ndarray:
    """Positions sorted by score descending, ties broken by post id (stable across caches).

    >>> order_by_score(np.array([0.5, 0.9, 0.5]), np.array([30, 10, 20])).tolist()
    [1, 2, 0]
    """
    return np.lexsort((post_ids, -scores))


def fatigue_order(
    scores: np.ndarray,
    authors: np.ndarray,
    post_ids: np.ndarray,
    fatigue: float,
    link: str = "logit",
) -> np.ndarray:
    """Positions in the order that greedily maximises expected engagement when the
    :math:`j`-th post of one author (0 for the first) loses ``fatigue`` on the ``link`` scale:
    logits when ``scores`` are probabilities (a trained ranker's fitted fatigue,
    :mod:`discovery.signals.fatigue`), or ``link="log"`` for positive scores, where losing
    :math:`f = -\\ln d` is multiplying the score by :math:`d` per earlier post (the default
    ranker's ``author_discount``).

    The greedy step takes the largest :math:`g(s) - f \\cdot c_a` (:math:`g` the link), with
    :math:`c_a` the author's posts taken so far. An author's posts are taken in their own score
    order, so the one of own rank :math:`j` is taken at :math:`c_a = j`, and each author's
    adjusted scores :math:`g(s_j) - f j` fall with :math:`j`: merging the authors greedily is
    sorting every post by its adjusted score. Ties by post id; with ``fatigue`` 0,
    :func:`order_by_score`. Authors below 0 (unknown) are never tired of.

    >>> fatigue_order(np.array([0.5, 0.4, 0.3]), np.array([7, 7, 8]), np.array([1, 2, 3]), 1.0).tolist()
    [0, 2, 1]
    >>> d = 0.8   # 0.4 · 0.8 = 0.32 > 0.3: the author's second post stays second
    >>> fatigue_order(np.array([0.5, 0.4, 0.3]), np.array([7, 7, 8]), np.array([1, 2, 3]),
    ...               -np.log(d), link="log").tolist()
    [0, 1, 2]
    """
    if link not in ("logit", "log"):
        raise ValueError(f"link must be 'logit' or 'log', not {link!r}")
    if fatigue <= 0 or len(scores) == 0:
        return order_by_score(scores, post_ids)
    if link == "logit":
        s = np.clip(np.asarray(scores, np.float64), 1e-9, 1 - 1e-9)
        adjusted = np.log(s / (1 - s))
    else:
        s = np.maximum(np.asarray(scores, np.float64), 1e-300)
        adjusted = np.log(s)
    by_own = order_by_score(s, post_ids)  # each author's posts, best first
    place = np.empty(len(s), np.int64)
    place[by_own] = np.arange(len(s))
    authors = np.asarray(authors, np.int64)
    j = np.where(authors >= 0, group_rank(authors, order=place), 0)
    return np.lexsort((post_ids, -(adjusted - fatigue * j)))


def random_order(pools: Sequence[Sequence[int]], k: int, seed: int) -> list[int]:
    """The union of the pools in a seeded random order whose first ``k`` are a uniform sample
    of ``k`` of them (the tutorial's step 6); the rest follow, shuffled, for when a drawn
    post has to give way (author diversity).

    >>> random_order([[1, 2], [2, 3]], 5, seed=0) == random_mix([[1, 2], [2, 3]], 5, seed=0)
    True
    >>> sorted(random_order([[1, 2], [3, 4]], 2, seed=0))
    [1, 2, 3, 4]
    """
    from ..seed import rng

    union = list(dict.fromkeys(int(p) for pool in pools for p in pool))
    gen = rng(seed)
    if len(union) <= k:
        return [union[i] for i in gen.permutation(len(union))]
    drawn = gen.choice(len(union), size=k, replace=False)
    rest = setops.setdiff(np.arange(len(union)), drawn)
    return [union[i] for i in [*drawn.tolist(), *gen.permutation(rest).tolist()]]


def random_mix(pools: Sequence[Sequence[int]], k: int, seed: int) -> list[int]:
    """A uniform random sample of ``k`` posts of the union of the pools (seeded).

    >>> sorted(random_mix([[1, 2], [3]], 3, seed=0))
    [1, 2, 3]
    """
    return random_order(pools, k, seed)[:k]
