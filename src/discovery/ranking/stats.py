"""Per-snapshot statistics shared by every request: computed once, read-only afterwards."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..snapshot import FOLLOWS_LAG, INTERACTIONS_LAG, Grows, LogAt, Sizes, Snapshot
from ..snapshot.grow import pad
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
        smoothed engagement rate (``rate_sum``: the sum, which a new post adds to).
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
    rate_sum: float = 0.0


def follower_counts(snap: Snapshot) -> np.ndarray:
    """Followers per account (float), memoised until the follows change."""

    def build(snap: Snapshot) -> np.ndarray:
        return np.bincount(snap.follow_dst, minlength=snap.n_accounts).astype(np.float64)

    return snap.derive_of(
        "follower_counts",
        build,
        depends_on=(Grows("accounts"), FOLLOWS_LAG),
        extend=lambda counts, snap, since: pad(counts, snap.n_accounts),
    )


def post_stats(snap: Snapshot) -> PostStats:
    """Compute (once per snapshot, memoised on it) the shared statistics; a new post is
    added to them (its tags' ``df``, every ``idf``, ``n_live`` and the engagement prior)."""

    def build(snap: Snapshot) -> PostStats:
        return _stats(snap, *_logged(snap, 0))

    def catch_up(st: PostStats, snap: Snapshot, at: LogAt) -> PostStats:
        # a build with the log's counts taken from st and the rows changed since: the rest
        # reads the tables, not the log
        clicks, likes = _logged(snap, at.rows)
        gone, kinds = snap.withdrawn_since(at)
        n, post = snap.n_posts, snap.inter_post[gone]
        clicks -= np.bincount(post[kinds == KIND_CODE["click"]], minlength=n)
        likes -= np.bincount(post[kinds == KIND_CODE["like"]], minlength=n)
        clicks[: len(st.clicks)] += st.clicks
        likes[: len(st.inter_likes)] += st.inter_likes
        return _stats(snap, clicks, likes)

    def extend(st: PostStats, snap: Snapshot, since: Sizes) -> PostStats | None:
        links = slice(since.tag_links, None)
        if snap.tag_post[links].min(initial=since.posts) < since.posts:
            return None  # a hashtag added to an old post
        if snap.n_accounts > since.accounts:  # a new account follows and is followed by none
            if (snap.post_author[: since.posts] < 0).any():
                return None  # posts without an author reach the mean follower count, now lower
            st = replace(st, in_degree=pad(st.in_degree, snap.n_accounts))
        live = ~snap.post_removed[since.posts :]
        tagged = ~snap.post_removed[snap.tag_post[links]]
        df = pad(st.df, snap.n_tags) + np.bincount(
            snap.tag_id[links][tagged], minlength=snap.n_tags
        )
        rates = _rates(snap, st.in_degree, since.posts)[live]
        n = snap.n_posts  # no interaction with a new post is counted: the log lags as built
        return _finish(
            st.in_degree, pad(st.clicks, n), pad(st.inter_likes, n), df,
            st.n_live + int(live.sum()), st.rate_sum + float(rates.sum()),
        )  # fmt: skip

    deps = (
        Grows("accounts"),
        Grows("posts"),
        Grows("tags"),
        INTERACTIONS_LAG,
    )  # in_degree: as built
    return snap.derive_of("post_stats", build, depends_on=deps, extend=extend, catch_up=catch_up)


def _logged(snap: Snapshot, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Clicks and likes per post in the log's rows from ``first`` on."""
    kind, post = snap.inter_kind[first:], snap.inter_post[first:]
    n = snap.n_posts
    clicks = np.bincount(post[kind == KIND_CODE["click"]], minlength=n)
    return clicks, np.bincount(post[kind == KIND_CODE["like"]], minlength=n)


def _stats(snap: Snapshot, clicks: np.ndarray, likes: np.ndarray) -> PostStats:
    """The statistics of ``snap`` with the log's counts per post given."""
    n_acc = snap.n_accounts
    in_degree = np.bincount(snap.follow_dst, minlength=n_acc).astype(np.float64)
    # Deleted posts are out of the catalogue: the statistics match a store without them.
    live = ~snap.post_removed
    tagged = live[snap.tag_post]
    df = np.bincount(snap.tag_id[tagged], minlength=snap.n_tags).astype(np.float64)
    rates = _rates(snap, in_degree, 0)[live]
    return _finish(in_degree, clicks, likes, df, int(live.sum()), float(rates.sum()))


def _rates(snap: Snapshot, in_degree: np.ndarray, first: int) -> np.ndarray:
    """``(likes + 2 comments) / (followers + 1)`` of the posts from ``first`` on (posts
    without an author: the mean follower count)."""
    author = snap.post_author[first:]
    if len(in_degree) == 0:  # no accounts: no post has an author, and no follower (reach 0)
        return snap.post_likes[first:] + 2.0 * snap.post_comments[first:]
    reach = np.where(author >= 0, in_degree[np.maximum(author, 0)], in_degree.mean())
    return (snap.post_likes[first:] + 2.0 * snap.post_comments[first:]) / (reach + 1.0)


def _finish(
    in_degree: np.ndarray,
    clicks: np.ndarray,
    likes: np.ndarray,
    df: np.ndarray,
    n_live: int,
    rate_sum: float,
) -> PostStats:
    idf = np.maximum(0.0, np.log((n_live - df + 0.5) / (df + 0.5)))
    eng_mean = max(rate_sum / n_live, 1e-6) if n_live else 1e-3
    mean_in = float(in_degree.mean()) if len(in_degree) else 0.0
    return PostStats(in_degree, clicks, likes, idf, df, eng_mean, mean_in, n_live, rate_sum)
