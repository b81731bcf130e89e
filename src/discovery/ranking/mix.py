"""Orders a selection draws from: by score (ties by post id), and the seeded random draw."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import setops

__all__ = ["order_by_score", "random_mix", "random_order"]


def order_by_score(scores: np.ndarray, post_ids: np.ndarray) -> np.ndarray:
    """Positions sorted by score descending, ties broken by post id (stable across caches).

    >>> order_by_score(np.array([0.5, 0.9, 0.5]), np.array([30, 10, 20])).tolist()
    [1, 2, 0]
    """
    return np.lexsort((post_ids, -scores))


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
