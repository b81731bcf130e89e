"""The ``embedding`` candidate source: fresh posts that look like what the user liked.

The user's taste is a few centroids of the vectors of the posts they liked or saved, each
weighted by recency (half-life :data:`HALF_LIFE_DAYS`): weighted spherical k-means
(Dhillon & Modha 2001, "Concept decompositions for large sparse text data using clustering",
Machine Learning 42) with a deterministic farthest-point start. Posts of the candidate window
nearest to any centroid are proposed — including posts nobody has liked yet, which no
engagement-based source can find. The vectors come from the engine (``artifacts["vectors"]``:
model name → :class:`~discovery.embeddings.similar.PostVectors`), never from the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import numpy as np

from ..embeddings.similar import taste_model
from ..store.model import KIND_CODE
from .candidates import Candidates, always
from .context import UserContext
from .sources import window_posts

__all__ = [
    "EXACT_CELLS",
    "HALF_LIFE_DAYS",
    "MAX_TASTE",
    "EmbeddingSource",
    "LooksLikeLiked",
    "one_blas_thread",
    "taste_centroids",
]

#: A like this many days old counts half as much as one made now.
HALF_LIFE_DAYS = 30.0
#: The most recent likes and saves a taste is made of (older ones weigh little anyway).
MAX_TASTE = 256
#: Windows of at most this many vector entries (posts × dimension, 32 MB of float32) are
#: scored exactly rather than through the nearest-neighbour index.
EXACT_CELLS = 8_000_000

_TASTE = [KIND_CODE[k] for k in ("like", "save")]


@dataclass(frozen=True, slots=True)
class LooksLikeLiked:
    """Proposed because its image (or caption) is near the user's taste (``embedding``)."""

    source: ClassVar[str] = "embedding"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Any) -> str:
        return "looks like photos you liked"

    def to_json(self, names: Any) -> Any:
        return None


def taste_centroids(x: np.ndarray, w: np.ndarray, k: int, iters: int = 10) -> np.ndarray:
    """``min(k, len(x))`` unit centroids of unit rows ``x`` with weights ``w``.

    Spherical k-means: assign each row to the centroid of largest cosine, move each centroid
    to the normalised weighted sum of its rows. Start: the heaviest row, then repeatedly the
    row least similar to every centroid so far (deterministic; ties to the lower row).

    >>> x = np.array([[1.0, 0], [0.96, 0.28], [0, 1.0], [0.28, 0.96]])
    >>> np.round(taste_centroids(x, np.ones(4), 2), 2).tolist()
    [[0.99, 0.14], [0.14, 0.99]]
    """
    x = np.asarray(x, np.float32)
    k = min(k, len(x))
    chosen = [int(np.argmax(w))]
    while len(chosen) < k:
        near = (x @ x[chosen].T).max(axis=1)
        near[chosen] = np.inf
        chosen.append(int(np.argmin(near)))
    c = x[chosen]
    members = np.zeros((k, len(x)), np.float32)
    for _ in range(iters):
        # the weighted sum of each centroid's rows as one product (np.add.at took ~10-90 ms
        # for 50-150 liked posts of 1,280 dimensions)
        members[:] = 0
        members[np.argmax(x @ c.T, axis=1), np.arange(len(x))] = w
        moved = members @ x
        norms = np.linalg.norm(moved, axis=1, keepdims=True)
        c = np.where(norms > 0, moved / np.where(norms > 0, norms, 1), c)
    return c.astype(np.float64)


@cache
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # without it BLAS keeps its own thread count
        return None
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """BLAS on one thread for the duration (the source's products are small: 3 centroids
    against a few hundred likes and a few thousand window posts). On a busy 2-core machine
    OpenBLAS's second thread mostly waits for a descheduled sibling: the k-means of 150 liked
    posts of 1,280 dimensions took 5 ms of CPU on one thread and 158 ms on two, at load ~8."""
    ctl = _blas_controller()
    return nullcontext() if ctl is None else ctl.limit(limits=1, user_api="blas")


class EmbeddingSource:
    """Up to ``n`` window posts nearest to the user's ``centroids`` taste centroids (by the
    vectors of the first model the user has liked posts with, image models first), each with
    a cosine above 0 to one of them: a post unrelated to everything liked is not "like" it,
    however few posts the window holds.

    A window of at most ``exact_cells`` vector entries (posts × dimension) is scored exactly,
    one product with the centroids — cheaper than asking the index for many neighbours and
    discarding those outside the window (13 % of a demo world's posts are in it); a larger
    window asks the index for the ``4 n`` nearest posts of each centroid and keeps the recent
    ones. Both give the same posts wherever the index's answer holds ``n`` window posts.
    """

    name = "embedding"

    def __init__(
        self,
        vectors: Mapping[str, Any] | None,
        n: int = 200,
        centroids: int = 3,
        exact_cells: int = EXACT_CELLS,
    ):
        self.vectors = vectors or {}
        self.n, self.k, self.exact_cells = n, centroids, exact_cells

    def candidates(self, ctx: UserContext) -> Candidates:
        snap = ctx.snap
        none = Candidates(self.name, np.zeros(0, np.int64))
        if not self.vectors or self.n <= 0:
            return none
        rows = snap.user_interactions(ctx.user)
        rows = rows[np.isin(snap.inter_kind[rows], _TASTE)]
        rows = rows[np.argsort(snap.inter_time[rows], kind="stable")[-MAX_TASTE:]]
        found = taste_model(self.vectors, snap.post_id[snap.inter_post[rows]])
        if found is None:
            return none
        held, at = found
        with one_blas_thread():
            return self._near(ctx, held, rows, at)

    def _near(self, ctx: UserContext, held: Any, rows: np.ndarray, at: np.ndarray) -> Candidates:
        """The window posts near the taste of the liked posts ``rows`` (interaction rows;
        ``at``: their rows in ``held``, -1 where a post has no vector)."""
        snap = ctx.snap
        age = np.maximum(ctx.now - snap.inter_time[rows[at >= 0]], 0) / 86_400
        taste = taste_centroids(held.data[at[at >= 0]], 0.5 ** (age / HALF_LIFE_DAYS), self.k)
        since = int(ctx.now - ctx.settings.window_days * 86_400)
        # the window widened to whole hours: its block of vectors is gathered once an hour
        # (or when posts arrive), not once per request; the exact window is filtered below
        lo, hi = since // 3600 * 3600, (int(ctx.now) // 3600 + 1) * 3600
        window = window_posts(snap, lo, hi)
        if len(window) * held.dim <= self.exact_cells:
            key = (id(snap), snap.n_posts, lo, hi)
            has, block = held.block(key, snap.post_id[window])
            p, s = window[has], (block @ taste.T.astype(np.float32)).max(axis=1)
        elif held.index is not None:
            p, s = self._nearest(held.index, taste, snap)
        else:
            return Candidates(self.name, np.zeros(0, np.int64))
        ok = (s > 0) & ~snap.post_removed[p] & (snap.post_taken[p] >= since)
        ok &= snap.post_taken[p] <= ctx.now
        p, s = p[ok], s[ok]
        order = np.lexsort((snap.post_id[p], -s))  # best cosine first; a post kept once
        p = p[order]
        _, first = np.unique(p, return_index=True)
        best = p[np.sort(first)][: self.n]
        return Candidates(self.name, np.sort(best).astype(np.int64), always(LooksLikeLiked()))

    def _nearest(self, index: Any, taste: np.ndarray, snap: Any) -> tuple[np.ndarray, np.ndarray]:
        """The index's ``4 n`` nearest posts of each centroid (snapshot indexes, cosines)."""
        posts, scores = [], []
        for c in taste:
            keys, sims = index.search(c.astype(np.float32), 4 * self.n)
            posts.append(snap.posts.lookup(keys))
            scores.append(sims)
        p, s = np.concatenate(posts), np.concatenate(scores)
        return p[p >= 0], s[p >= 0]
