"""What the engine knows about one user for one request, gathered once from the snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import setops
from ..settings import Settings
from ..snapshot import Snapshot
from ..store.model import KIND_CODE
from .stats import KIND_WEIGHT, PostStats, post_stats

__all__ = ["UserContext", "passed_over", "user_context"]

_YEAR = 365 * 86_400
_INTEREST_HALF_LIFE = 60 * 86_400
_SEEN_KINDS = [KIND_CODE[k] for k in ("like", "comment", "save", "share", "click", "view", "hide")]


@dataclass
class UserContext:
    """Per-request view of a user.

    Attributes
    ----------
    following : sorted account indexes the user follows.
    seen : post indexes the user engaged with or opened (likes, clicks, views, hides...),
        and those shown ``seen_after_impressions`` times (impression events) when that
        setting is on; with it at 0 impressions alone never count, so a post scrolled past
        comes back.
    hidden : post indexes the user hid; ``hidden_authors`` counts hides per author.
    author_likes : the tutorial's ``weight``: likes on each author's posts in the last 365 days.
    profile : hashtag interest vector (one float per tag, IDF-weighted, time-decayed).
    shown : post indexes served on the earlier pages of the feed being paged (a cursor);
        ``n_shown`` counts those pages' items (posts since deleted included), the position
        at which this page starts; ``open_block`` (when known) the post indexes, in order,
        served in the block of ten still open (-1: since deleted).
    """

    snap: Snapshot
    user: int
    settings: Settings
    stats: PostStats
    following: np.ndarray
    seen: np.ndarray
    hidden: np.ndarray
    hidden_authors: dict[int, int]
    blocked: np.ndarray
    author_likes: dict[int, int]
    profile: np.ndarray
    shown: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_shown: int = 0
    open_block: np.ndarray | None = None
    #: The user's stored candidate list (:class:`~.precomputed.StoredList`) when it is fresh:
    #: explore takes its candidates from it instead of running its sources.
    precomputed: Any = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> int:
        return self.snap.now

    def follows_mask(self) -> np.ndarray:
        if "fmask" not in self._cache:
            mask = np.zeros(self.snap.n_accounts, dtype=bool)
            mask[self.following] = True
            self._cache["fmask"] = mask
        return self._cache["fmask"]  # type: ignore[no-any-return]


def user_context(
    snap: Snapshot, user: int, settings: Settings, blocked: np.ndarray | None = None
) -> UserContext:
    """Gather everything per-user that ranking needs (no SQL: snapshot arrays only)."""
    stats = post_stats(snap)
    pos = snap.user_interactions(user)
    kinds, posts, times = snap.inter_kind[pos], snap.inter_post[pos], snap.inter_time[pos]
    seen = setops.unique(posts[np.isin(kinds, _SEEN_KINDS)])
    if settings.seen_after_impressions > 0:
        seen = setops.union(seen, passed_over(kinds, posts, settings.seen_after_impressions))
    hidden = setops.unique(posts[kinds == KIND_CODE["hide"]])
    authors = snap.post_author[hidden]
    hidden_authors = dict(zip(*np.unique(authors[authors >= 0], return_counts=True), strict=True))

    like = (kinds == KIND_CODE["like"]) & (times >= snap.now - _YEAR)
    like_authors = snap.post_author[posts[like]]
    like_authors = like_authors[like_authors >= 0]
    author_likes = dict(zip(*np.unique(like_authors, return_counts=True), strict=True))

    return UserContext(
        snap=snap,
        user=user,
        settings=settings,
        stats=stats,
        following=setops.unique(snap.following(user)),
        seen=seen,
        hidden=hidden,
        hidden_authors={int(a): int(c) for a, c in hidden_authors.items()},
        blocked=np.zeros(0, np.int64) if blocked is None else np.asarray(blocked, np.int64),
        author_likes={int(a): int(c) for a, c in author_likes.items()},
        profile=interest_profile(snap, stats, kinds, posts, times),
    )


def passed_over(kinds: np.ndarray, posts: np.ndarray, times: int) -> np.ndarray:
    """Posts with at least ``times`` impression events among one user's interactions.

    A feed that serves again what the user scrolled past spends a slot on a post they already
    judged: in the closed-loop simulator 14-18 % of the engine's impressions were such repeats,
    and a repeat draws no response (README, "Closed-loop simulation"). Engaged posts are seen
    anyway; this adds the ones only looked at.

    >>> imp, like = KIND_CODE["impression"], KIND_CODE["like"]
    >>> kinds = np.array([imp, imp, imp, like])
    >>> passed_over(kinds, np.array([7, 7, 9, 4]), 1).tolist()
    [7, 9]
    >>> passed_over(kinds, np.array([7, 7, 9, 4]), 2).tolist()
    [7]
    """
    shown = posts[kinds == KIND_CODE["impression"]]
    if len(shown) == 0:
        return np.zeros(0, np.int64)
    uniq, count = np.unique(shown, return_counts=True)
    return uniq[count >= times].astype(np.int64)


def interest_profile(
    snap: Snapshot, stats: PostStats, kinds: np.ndarray, posts: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Hashtag interests from the posts a user liked, commented, saved or was tagged in.

    Each engagement weighs ``w(kind) · 2^(-(now - time) / 60 days)``; ``tf[t]`` sums the weights
    of engaged posts carrying tag ``t`` and ``W`` all weights. A tag matters when it is more
    frequent in what the user engages with than in the whole catalogue (the "significant terms"
    idea; Elasticsearch's JLH score is a cousin):

    ``profile[t] = tf[t] · max(0, ln(P̂(t | user) / P(t)))``, with ``P(t) = df[t] / N`` and
    ``P̂(t | user) = (tf[t] + m·P(t)) / (W + m)``, ``m = 5`` pseudo-engagements of prior.

    Generic tags (#love, #instagood) ride along with every topic, so ``P̂(t | user) ≈ P(t)`` and
    they weigh ~0 however often they are liked. Fixes the tutorial's first bug too: its loop over
    liked posts never appended their hashtags, so only posts you were tagged in counted.
    """
    weight = np.zeros(len(kinds))
    for name, w in KIND_WEIGHT.items():
        weight[kinds == KIND_CODE[name]] = w
    keep = weight > 0
    if not keep.any() or snap.n_tags == 0 or stats.n_live == 0:
        return np.zeros(snap.n_tags)
    decay = np.minimum(np.exp2(-(snap.now - times[keep]) / _INTEREST_HALF_LIFE), 1.0)
    # Only the engaged posts' rows: O(engagements), never O(catalogue) per request.
    engaged, inverse = np.unique(posts[keep], return_inverse=True)
    post_w = np.bincount(inverse, weights=weight[keep] * decay, minlength=len(engaged))
    tf = np.asarray(snap.post_tags_matrix()[engaged].T @ post_w).ravel()
    total = float(post_w.sum())
    base = stats.df / stats.n_live
    m = 5.0
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.log((tf + m * base) / (total + m) / base)
    return np.where((tf > 0) & (base > 0), tf * np.maximum(lift, 0.0), 0.0)  # type: ignore[no-any-return]
