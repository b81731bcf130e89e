"""The ``als`` candidate source: posts people with your taste engage with.

Two halves, both from a trained ALS model (:mod:`discovery.signals.als`, handed to the engine
as ``artifacts["als"]``):

* **factors** — recent posts the model knows, by ``x_u · y_i`` (a user the model has never seen
  is folded in from their engagement);
* **co-likers** — the ``neighbours`` users whose factors are closest to the user's (cosine)
  and the recent posts they liked, commented on or saved. Posts published after the model was
  trained have no factors, so this half is how they are found ("people who like what you
  like also liked").

Without a model (none trained, or a user with no engagement the model knows) the source
proposes nothing and the feed's other sources carry it: a stale model is tolerated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import setops
from ..store.model import KIND_CODE
from .candidates import Candidates, Grouped
from .context import UserContext
from .evidence import Evidence, Names
from .sources import top_k_by, window_posts
from .taste import one_blas_thread

__all__ = ["ALSSource", "Taste", "taste_neighbours"]

_POSITIVE = [KIND_CODE[k] for k in ("like", "comment", "save")]


@dataclass(frozen=True, slots=True)
class Taste:
    """Proposed by ALS: the model's score and the taste neighbours (account indexes) who
    engaged with the post, nearest first."""

    score: float
    likers: tuple[int, ...] = ()
    source: ClassVar[str] = "als"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        if not self.likers:
            return "liked by people with your taste"
        first, others = names.handle(self.likers[0]), len(self.likers) - 1
        if others == 0:
            return f"liked by @{first}, who has your taste"
        return f"liked by @{first} and {others} other{'s' if others > 1 else ''} with your taste"

    def to_json(self, names: Names) -> Any:
        return {"score": round(self.score, 6), "likers": [names.handle(i) for i in self.likers]}


class ALSSource:
    """Top ``n`` recent posts by ALS score, plus the recent posts of the user's ``neighbours``
    nearest taste neighbours (see the module docstring). Either left as None is the request's
    setting, ``als_candidates`` or ``als_neighbours``."""

    name = "als"

    def __init__(
        self, loaded: Any = None, n: int | None = None, neighbours: int | None = None
    ) -> None:
        self.loaded, self.n, self.neighbours = loaded, n, neighbours

    def candidates(self, ctx: UserContext) -> Candidates:
        empty = Candidates(self.name, np.zeros(0, np.int64))
        if self.loaded is None:
            return empty
        snap = ctx.snap
        aligned = self.loaded.aligned(snap)
        x = aligned.user_vector(snap, ctx.user)
        if x is None or not np.any(x):
            return empty
        model = aligned.model
        n = ctx.settings.als_candidates if self.n is None else self.n
        since = int(ctx.now - ctx.settings.window_days * 86_400)
        # the window widened to whole hours: its known posts and their factor rows are
        # gathered once an hour (or when posts arrive), not once per request; the exact
        # window is cut from it below, in the same (time) order
        lo, hi = since // 3600 * 3600, (int(ctx.now) // 3600 + 1) * 3600
        wide, block = aligned.window_block(
            (lo, hi, snap.n_posts), lambda: window_posts(snap, lo, hi)
        )
        taken = snap.post_taken[wide]
        exact = (taken >= since) & (taken <= ctx.now)
        with one_blas_thread():  # a matrix-vector product: a second thread only waits
            scores = (block @ x.astype(np.float32))[exact]
            known = wide[exact]
            if len(known) > n:
                top = top_k_by(scores, snap.post_id[known], n) if n > 0 else np.zeros(0, int)
                known, scores = known[top], scores[top]
            by_factors = dict(zip(known.tolist(), scores.tolist(), strict=True))
            likers = self._co_likers(ctx, aligned, x, since)
        posts = np.array(sorted(set(by_factors) | set(likers)), dtype=np.int64)

        def why(post: int, author: int) -> Evidence | None:
            score = by_factors.get(post)
            if score is None:
                row = aligned.post_row[post] if post < len(aligned.post_row) else -1
                score = float(model.item_factors[row] @ x) if row >= 0 else 0.0
            return Taste(float(score), tuple(likers.get(post, ()))[:3])

        return Candidates(self.name, posts, why)

    def _co_likers(self, ctx: UserContext, aligned: Any, x: np.ndarray, since: int) -> Grouped:
        """Recent posts the nearest taste neighbours engaged with: ``post -> neighbours``."""
        snap = ctx.snap
        k = ctx.settings.als_neighbours if self.neighbours is None else self.neighbours
        near = taste_neighbours(aligned, ctx.user, x, k)
        if len(near) == 0:
            return Grouped(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        rank = np.empty(snap.n_accounts, np.int64)
        rank[near] = np.arange(len(near))
        pos, owner = snap.users_interactions(near)
        keep = np.isin(snap.inter_kind[pos], _POSITIVE) & (snap.inter_time[pos] >= since)
        keep &= snap.inter_time[pos] <= ctx.now
        posts, who = snap.inter_post[pos[keep]].astype(np.int64), near[owner[keep]]
        if len(posts) == 0:
            return Grouped(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        t = snap.post_taken[posts]
        fresh = (t >= since) & (t <= ctx.now)
        posts, who = posts[fresh], who[fresh]
        order = np.lexsort((rank[who], posts))  # per post: nearest neighbour first
        posts, who = posts[order], who[order]
        # distinct (post, neighbour rank) pairs in that order, as one sorted key
        width = max(len(near), 1)
        keys = setops.unique(posts * width + rank[who])
        uniq, first = np.unique(keys // width, return_index=True)
        return Grouped(uniq, first, near[keys % width])


def taste_neighbours(aligned: Any, user: int, x: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` accounts (snapshot indexes) the model knows whose factors are nearest the
    user's factors ``x`` by cosine, ``cos(v, x) = v·x / (|v| |x|)`` (0 for a zero vector),
    nearest first (ties: the smaller index); never ``user`` themselves.

    A model that carries a user index (:mod:`discovery.signals.als_index`, large models) is
    searched through it: about these neighbours, in ~0.1 ms. Otherwise brute force over the
    factors gathered once per alignment (``AlignedALS.known_users``): one float32
    matrix-vector product and a partition, exact (6–8 ms a request for the large world's 858k
    users × 32 factors).
    """
    index = aligned.model.neighbour_index
    if index is not None:
        found = _indexed(aligned, index, user, x, k)
        if found is not None:
            return found
    users, vecs, lengths = aligned.known_users
    me = int(np.searchsorted(users, user))
    has_me = me < len(users) and users[me] == user
    k = min(k, len(users) - int(has_me))
    if k <= 0:
        return np.zeros(0, np.int64)
    norms = lengths * float(np.linalg.norm(x))
    cos = np.divide(vecs @ x.astype(np.float32), norms, out=np.zeros(len(users)), where=norms > 0)
    if has_me:  # never one's own neighbour
        cos[me] = -np.inf
    return users[top_k_by(cos, users, k)]  # type: ignore[no-any-return]


#: Extra rows asked of the index, for the user's own row and rows of accounts since deleted.
_SPARE = 8


def _indexed(aligned: Any, index: Any, user: int, x: np.ndarray, k: int) -> np.ndarray | None:
    """:func:`taste_neighbours` through the model's HNSW index; None (brute force decides) for
    ``k <= 0``, a zero vector, or an answer that, less the user and deleted accounts, is short
    of ``k`` while the model has more rows."""
    if k <= 0 or not np.any(x):
        return None
    rows, cos = index.search(x, k + _SPARE)
    accounts = aligned.account_of_row[rows]
    ok = (accounts >= 0) & (accounts != user)
    if ok.sum() < k and len(rows) < index.size:
        return None
    accounts, cos = accounts[ok], cos[ok]
    return accounts[np.lexsort((accounts, -cos))][:k]  # type: ignore[no-any-return]
