"""Filters, diversity and blending: the last steps between scored candidates and a feed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .context import UserContext

__all__ = ["diversify", "drop_unwanted", "order_by_score", "random_mix"]


def drop_unwanted(ctx: UserContext, posts: np.ndarray, *, discovery: bool) -> np.ndarray:
    """Remove the user's own posts, seen and hidden posts, blocked authors, and (discovery)
    followed authors. Future posts (taken after ``now``) never pass."""
    snap = ctx.snap
    authors = snap.post_author[posts]
    keep = authors != ctx.user
    keep &= snap.post_taken[posts] <= ctx.now
    keep &= ~np.isin(posts, ctx.seen)
    keep &= ~np.isin(posts, ctx.hidden)
    if len(ctx.blocked):
        keep &= ~np.isin(authors, ctx.blocked)
    if discovery:
        keep &= ~ctx.follows_mask()[np.maximum(authors, 0)] | (authors < 0)
    return posts[keep]


def order_by_score(scores: np.ndarray, post_ids: np.ndarray) -> np.ndarray:
    """Positions sorted by score descending, ties broken by post id (stable across caches)."""
    return np.lexsort((post_ids, -scores))


def diversify(
    order: Sequence[int] | np.ndarray, authors: np.ndarray, k: int, max_per_author: int
) -> list[int]:
    """Greedy pick in score order with at most ``max_per_author`` posts per author in every
    window of 10 picks; if that leaves the feed short, the skipped posts fill it in order.

    >>> diversify([0, 1, 2, 3], np.array([7, 7, 7, 8]), k=3, max_per_author=2)
    [0, 1, 3]
    """
    picked: list[int] = []
    skipped: list[int] = []
    counts: dict[int, int] = {}
    for i in order:
        i = int(i)
        if len(picked) >= k:
            break
        a = int(authors[i])
        if a >= 0 and counts.get(a, 0) >= max_per_author:
            skipped.append(i)
            continue
        picked.append(i)
        if a >= 0:
            counts[a] = counts.get(a, 0) + 1
        if len(picked) % 10 == 0:
            counts.clear()
    for i in skipped:
        if len(picked) >= k:
            break
        picked.append(i)
    return picked


def random_mix(pools: Sequence[Sequence[int]], k: int, seed: int) -> list[int]:
    """The tutorial's step 6: a uniform random sample of the union of the pools.

    >>> sorted(random_mix([[1, 2], [3]], 3, seed=0))
    [1, 2, 3]
    """
    from ..seed import rng

    union = list(dict.fromkeys(int(p) for pool in pools for p in pool))
    if len(union) <= k:
        return [union[i] for i in rng(seed).permutation(len(union))]
    return [union[i] for i in rng(seed).choice(len(union), size=k, replace=False)]
