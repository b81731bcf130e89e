"""A user's own follows, exact in their PageRank while the follow graph lags.

The follow graph is rebuilt only after a share of its edges changed
(:data:`~discovery.snapshot.FOLLOW_REBUILD_SHARE`); :meth:`Snapshot.following` applies the
changes since, but the PageRank index reads the matrix as of its build. For everyone else's
rows that lag moves a user's vector by a proven, small amount (:mod:`.ppr_cache`); for the
user's own row it does not — all of the walk's first step goes through it, and the feed after
a follow must show it. :func:`own_row` tells whether the user's row in the index differs from
their follows now, and :func:`with_own_row` turns the vector of the lagging graph into the one
with that row exact (:func:`discovery.graph.replace_seed_row`: one or two PPR queries more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import graph
from ..snapshot import Snapshot
from .ppr_vector import PPRVector

__all__ = ["OwnRow", "own_row", "with_own_row"]

Row = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class OwnRow:
    """A user's out-edges in the PageRank index (``old``) and as they are now (``new``), each
    ``(sorted columns, weights)``."""

    user: int
    old: Row
    new: Row

    @property
    def key(self) -> tuple[int, ...]:
        """What tells two rows apart in a cache key: the accounts followed now (their weights
        follow from them and from the engagement pairs, which the cached vector's snapshot
        state bounds)."""
        return tuple(self.new[0].tolist())


Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def _pair_weights(pairs: Pairs, user: int, authors: np.ndarray) -> np.ndarray:
    """The like-weighted graph's edge weight for ``user`` → each of ``authors``: 1 + the
    user's likes (1) and comments (2) on their posts, from the engagement pairs ``(user,
    author, weight)`` (sorted by user, then author; they lag the log by 2 %, the weighted
    graph by :data:`~discovery.snapshot.WEIGHTS_LAG`)."""
    users, pair_authors, weights = pairs
    lo, hi = np.searchsorted(users, [user, user + 1])
    mine, theirs = pair_authors[lo:hi], weights[lo:hi]
    if not len(mine):
        return np.ones(len(authors))
    pos = np.minimum(np.searchsorted(mine, authors), len(mine) - 1)
    return 1.0 + np.where(mine[pos] == authors, theirs[pos], 0.0)


def own_row(
    snap: Snapshot, user: int, index: graph.PPRIndex, pairs: Callable[[], Pairs] | None
) -> OwnRow | None:
    """The user's row when the index's copy of it differs from their follows now, else None
    (the common case: one array comparison). ``pairs`` gives the engagement pairs of a
    like-weighted index (None: every new edge weighs 1)."""
    if user >= index.n:
        return None
    old_cols, old_w = index.row(user)
    now = np.asarray(snap.following(user), np.int64)
    if np.array_equal(old_cols, now):
        return None
    kept = np.isin(now, old_cols, assume_unique=True)
    new_w = np.ones(len(now))
    new_w[kept] = old_w[np.searchsorted(old_cols, now[kept])]
    if pairs is not None and (~kept).any():
        new_w[~kept] = _pair_weights(pairs(), user, now[~kept])
    return OwnRow(user, (old_cols, old_w), (now, new_w))


def with_own_row(
    base: PPRVector,
    row: OwnRow,
    index: graph.PPRIndex,
    alpha: float,
    query: Callable[[dict[int, float]], PPRVector],
) -> PPRVector:
    """``base`` (the user's PPR on the lagging index) with the user's own row exact, at the
    scale of ``base`` (an approximate vector sums to a little under 1, and rankers compare
    values across users as they come). ``query(seeds)`` is the PPR of a personalization on the
    same index, by the same method as ``base``."""

    def solve(seeds: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        vec = query(seeds)
        return vec.nodes, vec.values

    nodes, values = graph.replace_seed_row(
        (base.nodes, base.values), row.user, row.old, row.new, solve, index.dangling, alpha
    )
    return PPRVector(nodes, values * base.sum(), base.n)
