"""A user's own row of the follow graph, exact in their PageRank while the graph lags.

The follow graph is rebuilt only after a share of its edges changed
(:data:`~discovery.snapshot.FOLLOW_REBUILD_SHARE`), and the like-weighted one only after a
share of the interaction log (:data:`~discovery.snapshot.WEIGHTS_LAG`);
:meth:`Snapshot.following` applies the follows since, but the PageRank index reads the matrix
as of its build. For everyone else's rows that lag moves a user's vector by a proven, small
amount (:mod:`.ppr_cache`); for the user's own row it does not — all of the walk's first step
goes through it, and the feed after a follow, or after liking a followed account's posts, must
show it. :func:`own_row` tells whether the user's row in the index differs from their follows
(and their likes and comments on them) now, and :func:`with_own_row` turns the vector of the
lagging graph into the one with that row exact (:func:`discovery.graph.replace_seed_row`: one
or two PPR queries more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import graph
from ..snapshot import Snapshot
from ..store.model import KIND_CODE
from .ppr_vector import PPRVector

__all__ = ["OwnRow", "own_row", "own_weights", "with_own_row"]

Row = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class OwnRow:
    """A user's out-edges in the PageRank index (``old``) and as they are now (``new``), each
    ``(sorted columns, weights)``."""

    user: int
    old: Row
    new: Row

    @property
    def key(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """What tells two rows apart in a cache key: the accounts followed now and their
        weights."""
        return tuple(self.new[0].tolist()), tuple(self.new[1].tolist())


def own_weights(snap: Snapshot, user: int, authors: np.ndarray) -> np.ndarray:
    """The like-weighted graph's edge weight for ``user`` → each of ``authors`` as of now:
    1 + the user's live likes (1) and comments (2) on their posts — the weights
    :func:`~.affinity.follow_adjacency` gives the edges, read from the user's own
    interactions (:meth:`Snapshot.user_interactions`, which never lag) instead of the
    engagement pairs (2 % behind the log) or the graph (:data:`WEIGHTS_LAG` behind).

    >>> from discovery.snapshot import Snapshot
    >>> snap = Snapshot.empty()
    >>> snap.account_id, snap.post_author = np.arange(3), np.array([1, 1, 2], np.int32)
    >>> snap.inter_user, snap.inter_post = np.zeros(3, np.int32), np.array([0, 1, 2], np.int32)
    >>> snap.inter_kind = np.array([KIND_CODE[k] for k in ("like", "comment", "view")], np.int8)
    >>> snap.inter_time = np.zeros(3, np.int64)
    >>> own_weights(snap, 0, np.array([1, 2])).tolist()
    [4.0, 1.0]
    """
    rows = snap.user_interactions(user)
    kinds = snap.inter_kind[rows]
    w = np.where(kinds == KIND_CODE["like"], 1.0, 0.0)
    w[kinds == KIND_CODE["comment"]] = 2.0
    rows, w = rows[w != 0], w[w != 0]
    out = np.ones(len(authors))
    if not len(rows):
        return out
    theirs = snap.post_author[snap.inter_post[rows]]
    keep = theirs >= 0
    liked, inverse = np.unique(theirs[keep], return_inverse=True)
    sums = np.bincount(inverse, weights=w[keep], minlength=len(liked))
    pos = np.minimum(np.searchsorted(liked, authors), max(len(liked) - 1, 0))
    hit = (liked[pos] == authors) if len(liked) else np.zeros(len(authors), dtype=bool)
    out[hit] += sums[pos[hit]]
    return out


def own_row(snap: Snapshot, user: int, index: graph.PPRIndex, weighted: bool) -> OwnRow | None:
    """The user's row when the index's copy of it differs from their follows now (and, in a
    ``weighted`` index, from their likes and comments on them now), else None (the common
    case: an array comparison or two)."""
    if user >= index.n:
        return None
    old_cols, old_w = index.row(user)
    now = np.asarray(snap.following(user), np.int64)
    same = np.array_equal(old_cols, now)
    if weighted:
        new_w = own_weights(snap, user, now)
        if same and np.array_equal(new_w, old_w):
            return None
    elif same:
        return None
    else:  # the unweighted index's weight for every edge (1, or its uniform value)
        new_w = np.full(len(now), old_w[0] if len(old_w) else 1.0)
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
