"""Per-snapshot statistics shared by every request: computed once, read-only afterwards."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..snapshot import FOLLOWS_LAG, INTERACTIONS_LAG, Snapshot
from ..store.model import KIND_CODE

__all__ = ["PostStats", "follower_counts", "post_stats"]

#: How much each kind of engagement says about liking a post (clicks and views say little).
KIND_WEIGHT = {"like": 1.0, "comment": 2.0, "save": 2.0, "share": 2.0, "tag": 2.0}


@dataclass(frozen=True)
class PostStats:
    """Arrays indexed by post or account or tag.

    Memoised until posts, tags or accounts change, or the interaction log grows by 2 % (so a
    stream of events does not rebuild it on every catch-up): the priors below may lag that
    much. Follower counts, which a follow changes, come fresh from :func:`follower_counts`.

    Attributes
    ----------
    in_degree : followers per account when the statistics were built.
    clicks, inter_likes : clicks and likes per post *seen in the interaction log* (for the
        clickbait signal; ``post_likes`` from the posts table may include likers we do not know).
    df : posts per hashtag.
    idf : probabilistic inverse document frequency per hashtag (Robertson–Spärck Jones, as in
        BM25), ``max(0, log((N - df + 0.5) / (df + 0.5)))``: a tag on half the posts or more
        (#love, #instagood) says nothing and weighs 0; rare topical tags weigh most.
    eng_mean : mean of ``(likes + 2 comments) / (followers + 1)`` over posts, the prior of the
        smoothed engagement rate.
    n_live : posts in the catalogue; ``df``, ``idf`` and ``eng_mean`` leave deleted posts out,
        so they equal what a store that never held them gives.
    """

    in_degree: np.ndarray
    clicks: np.ndarray
    inter_likes: np.ndarray
    idf: np.ndarray
    df: np.ndarray
    eng_mean: float
    mean_in_degree: float
    n_live: int  # posts in the catalogue (deleted ones excluded)


def follower_counts(snap: Snapshot) -> np.ndarray:
    """Followers per account (float), memoised until the follows change."""

    def build(snap: Snapshot) -> np.ndarray:
        return np.bincount(snap.follow_dst, minlength=snap.n_accounts).astype(np.float64)

    return snap.derive_of("follower_counts", build, depends_on=("accounts", FOLLOWS_LAG))


def post_stats(snap: Snapshot) -> PostStats:
    """Compute (once per snapshot, memoised on it) the shared statistics."""

    def build(snap: Snapshot) -> PostStats:
        n_acc, n_posts = snap.n_accounts, snap.n_posts
        in_degree = np.bincount(snap.follow_dst, minlength=n_acc).astype(np.float64)
        kind = snap.inter_kind
        clicks = np.bincount(snap.inter_post[kind == KIND_CODE["click"]], minlength=n_posts)
        likes = np.bincount(snap.inter_post[kind == KIND_CODE["like"]], minlength=n_posts)
        # Deleted posts are out of the catalogue: the statistics match a store without them.
        live = ~snap.post_removed
        n_live = int(live.sum())
        tagged = live[snap.tag_post]
        df = np.bincount(snap.tag_id[tagged], minlength=snap.n_tags).astype(np.float64)
        idf = np.maximum(0.0, np.log((n_live - df + 0.5) / (df + 0.5)))
        if n_live:
            reach = np.where(
                snap.post_author >= 0, in_degree[np.maximum(snap.post_author, 0)], in_degree.mean()
            )
            rate = (snap.post_likes + 2.0 * snap.post_comments) / (reach + 1.0)
            eng_mean = float(max(rate[live].mean(), 1e-6))
        else:
            eng_mean = 1e-3
        mean_in = float(in_degree.mean()) if n_acc else 0.0
        return PostStats(in_degree, clicks, likes, idf, df, eng_mean, mean_in, n_live)

    deps = ("accounts", "posts", "tags", INTERACTIONS_LAG)  # in_degree: as of the build
    return snap.derive_of("post_stats", build, depends_on=deps)
