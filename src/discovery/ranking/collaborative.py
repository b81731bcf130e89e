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

from collections.abc import Mapping, Sequence
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

__all__ = [
    "ALSSource",
    "Taste",
    "exact_scores",
    "preselect",
    "prime_window_scores",
    "product_error",
    "taste_neighbours",
]

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
        since, key, win = _window(ctx, aligned)
        rows = win.between(since, int(ctx.now))  # the exact window, cut from the wide one
        block, x32 = win.factors[rows], x.astype(np.float32)
        with one_blas_thread():  # a matrix-vector product: a second thread only waits
            rough = aligned.primed(key, ctx.user, x32)
            rough = block @ x32 if rough is None else rough[rows]
            pool = preselect(rough, n, product_error(win.largest, x32))
            exact = exact_scores(block[pool], x32)
            at = win.posts[rows][pool]
            top = top_k_by(exact, snap.post_id[at], n)
            by_factors = dict(zip(at[top].tolist(), exact[top].tolist(), strict=True))
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


def _window(ctx: UserContext, aligned: Any) -> tuple[int, Any, Any]:
    """``(since, key, block)``: the start of the user's candidate window, and the window
    widened to whole hours with its key and :class:`~discovery.signals.als.WindowBlock` (known
    posts, their times and factor rows), gathered once an hour (or when posts arrive), not
    once per request; the exact window is a slice of it."""
    snap = ctx.snap
    since = int(ctx.now - ctx.settings.window_days * 86_400)
    lo, hi = since // 3600 * 3600, (int(ctx.now) // 3600 + 1) * 3600
    key = (lo, hi, snap.n_posts)
    block = aligned.window_block(key, lambda: window_posts(snap, lo, hi), snap.post_taken)
    return since, key, block


#: Users whose window scores are one matrix product in :func:`prime_window_scores` (their
#: scores, 4 bytes per window post each: 81 MB for the large world's 637k posts).
PRIME_USERS = 32


def prime_window_scores(contexts: Sequence[UserContext], loaded: Any) -> None:
    """Score the ALS windows of a block of users in one matrix product, for their
    :class:`ALSSource` requests that follow.

    A request multiplies its window's factor block by the user's vector: a matrix-vector
    product that reads the whole block (81 MB for the large world's week) per user. A batch
    of users shares the block, and a matrix-matrix product reads it once for all of them:
    1 ms a user instead of 6–7 in a measurement on the large world's shape (637k × 32, one
    thread). Summed in another order, its values can differ from the request's in the last
    bits; :func:`preselect` and :func:`exact_scores` make the source's answer the same bits
    either way. Call with the contexts of at most :data:`PRIME_USERS` users (the scores are
    kept in memory until used).
    """
    if loaded is None or not contexts:
        return
    snap = contexts[0].snap
    aligned = loaded.aligned(snap)
    by_key: dict[Any, tuple[np.ndarray, list[int], list[np.ndarray]]] = {}
    for ctx in contexts:
        x = aligned.user_vector(snap, ctx.user)
        if x is None or not np.any(x):
            continue
        _, key, win = _window(ctx, aligned)
        held = by_key.setdefault(key, (win.factors, [], []))
        held[1].append(ctx.user)
        held[2].append(x.astype(np.float32))
    for key, (block, users, xs) in by_key.items():
        stacked = np.stack(xs)
        with one_blas_thread():
            scores = stacked @ block.T  # one row of window scores per user
        aligned.prime(key, np.asarray(users), stacked, scores)


def product_error(largest: float, x: np.ndarray) -> float:
    """A bound on the rounding error of any float32 dot product of ``x`` with a row of norm at
    most ``largest``, summed in any order, with or without fused multiply-adds:
    ``|fl(a·x) - a·x| <= gamma_f sum_i |a_i x_i| <= gamma_f |a| |x|`` with
    ``gamma_f = f u / (1 - f u)``, ``u = 2^-24`` (Higham, *Accuracy and Stability of Numerical
    Algorithms*, 2nd ed., §3.1, eq. 3.5, and Cauchy–Schwarz)."""
    f = max(len(x), 1)
    gamma = f * 2.0**-24 / (1.0 - f * 2.0**-24)
    return gamma * largest * float(np.linalg.norm(x.astype(np.float64)))


def preselect(rough: np.ndarray, n: int, error: float) -> np.ndarray:
    """Positions of ``rough`` (products, each within ``error`` of its true value) that can be
    among the ``n`` best by :func:`exact_scores` (also within ``error`` of the truth, so the
    two differ by at most ``2 error``): everything within ``4 error`` of the ``n``-th largest
    ``rough`` value ``t`` (all positions when ``n >= len(rough)``).

    ``n`` positions have ``rough >= t``, so their exact scores are ``>= t - 2 error``, and so
    is the ``n``-th best exact score; a position among the best therefore has
    ``rough >= exact - 2 error >= t - 4 error``. ``t`` is found in two steps: the smallest of
    the maxima of ``n`` disjoint chunks is at most ``t`` (those ``n`` maxima are all at least
    it), so one pass keeps what reaches it and the partition runs on those only (it costs
    about 5 ns a value: over the large world's 637k window posts, a millisecond a request).
    """
    if n <= 0:
        return np.zeros(0, np.int64)
    if len(rough) <= n:
        return np.arange(len(rough))
    size = len(rough) // n
    floor = rough[: size * n].reshape(n, size).max(axis=1).min()
    near = np.flatnonzero(rough >= floor)  # holds the n best: t >= floor
    cut = np.partition(rough[near], len(near) - n)[len(near) - n]
    # a little over the margin, for the rounding of the bound and of the subtraction
    return np.flatnonzero(rough >= cut - 4.0 * error * (1 + 1e-3) - 1e-30)


def exact_scores(rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``rows @ x`` in float32, summed in factor order with every product and sum rounded:
    the same bits on every machine and for every way the rows were chosen, unlike a BLAS
    product, whose order depends on its kernel and on the other columns of the call. Written
    as numpy operations because a BLAS call fixes no order; it costs one pass per factor over
    the few hundred rows :func:`preselect` leaves."""
    acc = np.zeros(len(rows), np.float32)
    x = x.astype(np.float32)
    for j in range(rows.shape[1] if rows.ndim == 2 else 0):
        acc += rows[:, j] * x[j]
    return acc


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
