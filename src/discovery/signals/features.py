"""The features a learned ranker reads, hydrated apart from scoring.

:func:`hydrate` turns (user context, candidate posts, which sources proposed them, the engine's
artifacts) into a typed matrix, one row per post and one column per name in :data:`FEATURES`.
Scoring (:mod:`discovery.ranking.learned`), training (:mod:`.learned`) and the impression log
all read this one function, so what the model was trained on is what it is served.

============================  ========================================================
feature                       what
============================  ========================================================
recency … demote              the default ranker's factors (:class:`DefaultRanker`)
default_score                 the default ranker's score (its weighted sum of them): a
                              learned ranker starts from the hand-tuned one instead of
                              re-learning its weights from a few hundred lists
src_<source>                  1 when that candidate source proposed the post
als_score                     ``x_u · y_i`` of the trained ALS model (0: no model, or a
                              user or post it does not know)
item_cosine                   item-based collaborative filtering (Sarwar et al., WWW
                              2001): ``Σ_j cos(e_i, e_j)`` over the posts *j* the user
                              engaged with, ``e_i`` post *i*'s 0/1 column of who
                              engaged with it (any kind but impression and hide)
embedding_sim                 cosine of the post's embedding with the mean embedding of
                              the user's last 50 liked/saved posts (0 without vectors)
author_followers, author_     ``ln(1 + ·)`` of the author's followers, posts, and mean
posts, author_mean_likes      likes per post
follows_author, author_       whether the user follows the author, and the author the
follows_user, author_hidden   user (reciprocity: a mutual follow is a closer tie); how
                              many of the author's posts they hid
age_hours, likes, comments    ``ln(1 + ·)`` of the post's age in hours and its counts
recent_likes                  ``ln(1 + ·)`` of the post's likes in the last 90 days
cluster_match                 the share of the user's interest weight (by hashtag
                              cluster) that the post's clusters carry
user_activity                 ``ln(1 + ·)`` of the user's interactions (lets trees
                              condition on how much is known about the user)
author_like_rate              likes per impression of the author's posts, all users:
                              ``(L_a + n0·m) / (I_a + n0)``, ``m`` the snapshot's
                              likes per impression (:mod:`.exposure`: distinct
                              user–post pairs, a like counted only when shown;
                              ``n0`` = :data:`~.exposure.PRIOR_STRENGTH`)
post_like_rate                the post's ``(L_p + n0·r_a) / (I_p + n0)``, shrunk toward
                              its author's rate ``r_a`` (a fresh post has its
                              author's): quality and clickbait, which draws looks
                              and few likes
post_hide_rate                the post's ``(H_p + n0·h) / (I_p + n0)``, ``h`` the
                              snapshot's hides per impression
post_click_rate               likewise its clicks per impression (against its like
                              rate: clickbait draws clicks and few likes)
user_like_rate                the user's ``(L_u + n0·m) / (I_u + n0)``
user_author_like_rate         the user's likes per impression of this author's posts,
                              ``(L_ua + n0·r_u) / (I_ua + n0)``, ``r_u`` the
                              user's rate: the tie, as their responses show it
user_cluster_like_rate        the same over the posts shown to the user that share a
                              hashtag cluster with the post (counted per shared
                              cluster): their interest in its topic, per exposure
topic_match, topic_share      ``Σ_k θ̂_u(k)·P(k | post)`` over the interest topics
                              (:mod:`.topics`: the post's topic from its tags with
                              its author's mix as prior and its engagers' interests
                              as evidence; :mod:`.interest`: the user's from what
                              they engaged with and posted), and the same over
                              ``max_k θ̂_u(k)``
user_topic_like_rate          the user's likes per impression on the post's topics,
                              soft-counted by ``P(k | post)`` (:func:`.interest.
                              topic_columns`)
============================  ========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from .. import setops
from ..ranking.candidates import Candidates
from ..ranking.context import UserContext
from ..ranking.rankers import DefaultRanker
from ..ranking.stats import follower_counts
from ..snapshot import Grows, Sizes, Snapshot
from ..snapshot.derived import INTERACTIONS_LAG
from ..snapshot.grow import pad
from ..store.model import KIND_CODE
from . import exposure
from .clusters import snapshot_clusters
from .engaged import column_affinity, engaged_columns, engaging
from .exposure import (
    UserExposure,
    beta_rate,
    exposure_counts,
    latest,
    post_labels,
    user_exposure,
)
from .interest import topic_columns

if TYPE_CHECKING:
    from ..engine import Engine
    from ..feeds import FeedItem

__all__ = ["FEATURES", "SOURCE_FEATURES", "FeatureMatrix", "hydrate", "served_features"]

DEFAULT_FACTORS = ("recency", "popularity", "affinity", "interest", "ppr", "weight", "demote")
#: The candidate sources a ``src_`` feature is kept for (in registry order).
SOURCE_FEATURES = ("following", "ppr_authors", "liked_by_followed", "hashtags", "popular", "als")
FEATURES: tuple[str, ...] = (
    *DEFAULT_FACTORS,
    "default_score",
    *(f"src_{s}" for s in SOURCE_FEATURES),
    "als_score",
    "item_cosine",
    "embedding_sim",
    "author_followers",
    "author_posts",
    "author_mean_likes",
    "follows_author",
    "author_follows_user",
    "author_hidden",
    "age_hours",
    "likes",
    "comments",
    "recent_likes",
    "cluster_match",
    "user_activity",
    "author_like_rate",
    "post_like_rate",
    "post_hide_rate",
    "post_click_rate",
    "user_like_rate",
    "user_author_like_rate",
    "user_cluster_like_rate",
    "user_tag_like_rate",
    "user_tag_click_rate",
    "topic_match",
    "topic_share",
    "user_topic_like_rate",
)
#: The window of ``recent_likes``, days.
RECENT_DAYS = 90.0
_TASTE_KINDS = [KIND_CODE[k] for k in ("like", "save")]


@dataclass(frozen=True)
class FeatureMatrix:
    """``values[i, j]``: feature ``names[j]`` of ``posts[i]``."""

    names: tuple[str, ...]
    posts: np.ndarray
    values: np.ndarray  # float32, len(posts) × len(names)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]  # type: ignore[no-any-return]

    def row(self, i: int) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.values[i], strict=True)}


def hydrate(
    ctx: UserContext,
    posts: np.ndarray,
    proposals: Sequence[Candidates] | Mapping[str, np.ndarray] = (),
    artifacts: Mapping[str, Any] | None = None,
) -> FeatureMatrix:
    """Every feature of ``posts`` (snapshot indexes) for the context's user.

    ``proposals``: the candidate sources' answers, or ``source -> bool mask over posts``."""
    snap = ctx.snap
    posts = np.asarray(posts, dtype=np.int64)
    arts = artifacts or {}
    default = DefaultRanker().score(ctx, posts, discovery=True)
    cols: dict[str, np.ndarray] = {**default.factors, "default_score": default.scores}
    for name, mask in _source_masks(posts, proposals).items():
        cols[f"src_{name}"] = mask.astype(np.float64)
    cols["als_score"] = _als_scores(ctx, posts, arts.get("als"))
    cols["item_cosine"] = _item_cosine(ctx, posts)
    cols["embedding_sim"] = _embedding_sim(ctx, posts, arts.get("vectors"))
    authors = snap.post_author[posts]
    has = authors >= 0
    a = np.maximum(authors, 0)
    n_posts, mean_likes = _author_stats(snap).at(a)
    cols["author_followers"] = np.where(has, np.log1p(follower_counts(snap)[a]), 0.0)
    cols["author_posts"] = np.where(has, np.log1p(n_posts), 0.0)
    cols["author_mean_likes"] = np.where(has, np.log1p(mean_likes), 0.0)
    cols["follows_author"] = np.where(has, ctx.follows_mask()[a], False).astype(np.float64)
    back = snap.follow_graph().follow_user(a, ctx.user)
    cols["author_follows_user"] = (has & back).astype(np.float64)
    hidden = np.array([ctx.hidden_authors.get(int(x), 0) for x in authors.tolist()], np.float64)
    cols["author_hidden"] = hidden
    age = np.maximum(ctx.now - snap.post_taken[posts], 0) / 3600.0
    cols["age_hours"] = np.log1p(age)
    cols["likes"] = np.log1p(np.maximum(snap.post_likes[posts], 0))
    cols["comments"] = np.log1p(np.maximum(snap.post_comments[posts], 0))
    cols["recent_likes"] = np.log1p(_recent_likes(snap)[posts])
    member = snapshot_clusters(snap).membership(snap.n_tags)
    cols["cluster_match"] = _cluster_match(ctx, posts, member)
    cols["user_activity"] = np.full(len(posts), np.log1p(len(snap.user_interactions(ctx.user))))
    cols.update(_rates(ctx, posts))
    values = np.zeros((len(posts), len(FEATURES)), np.float32)
    for j, name in enumerate(FEATURES):
        if name in cols:
            values[:, j] = cols[name]
    return FeatureMatrix(FEATURES, posts, values)


def served_features(
    engine: Engine,
    user: int,
    items: Sequence[FeedItem],
    context: UserContext | None = None,
) -> list[dict[str, float]]:
    """Every feature of each served item (snapshot user ``user``), as the impression log
    records them (:func:`discovery.experiments.logging.impression_features`); the sources
    are the ones that proposed each item. Caller holds the engine's lock. ``context``: the one
    the feed was ranked in, when it had the engine's own settings for the user (no arm or
    preview override), so its PageRank and profile are not built twice; else a fresh one."""
    if not items:
        return []
    snap = engine.snapshot
    posts = snap.posts.lookup(np.array([it.post_id for it in items], dtype=np.int64))
    ok = posts >= 0
    proposed = {s: np.array([s in it.sources for it in items])[ok] for s in SOURCE_FEATURES}
    ctx = context if context is not None else engine.context(user)
    fm = hydrate(ctx, posts[ok], proposed, engine.request_artifacts())
    rows = iter(range(len(fm.posts)))
    return [fm.row(next(rows)) if good else {} for good in ok.tolist()]


def _source_masks(
    posts: np.ndarray, proposals: Sequence[Candidates] | Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    if isinstance(proposals, Mapping):
        return {k: np.asarray(v, bool) for k, v in proposals.items() if k in SOURCE_FEATURES}
    out: dict[str, np.ndarray] = {}
    for c in proposals:
        if c.source in SOURCE_FEATURES:
            mask = np.isin(posts, c.posts)
            out[c.source] = out[c.source] | mask if c.source in out else mask
    return out


def _als_scores(ctx: UserContext, posts: np.ndarray, loaded: Any) -> np.ndarray:
    out = np.zeros(len(posts))
    if loaded is None or len(posts) == 0:
        return out
    aligned = loaded.aligned(ctx.snap)
    x = aligned.user_vector(ctx.snap, ctx.user)
    if x is None:
        return out
    inside = posts < len(aligned.post_row)
    rows = np.where(inside, aligned.post_row[np.where(inside, posts, 0)], -1)
    known = rows >= 0
    out[known] = aligned.model.item_factors[rows[known]] @ x
    return out


def _embedding_sim(ctx: UserContext, posts: np.ndarray, vectors: Any) -> np.ndarray:
    """Cosine with the mean unit vector of the user's last 50 liked or saved posts;
    ``vectors`` is ``artifacts["vectors"]`` (model name →
    :class:`discovery.embeddings.similar.PostVectors`; the model is chosen as the
    ``embedding`` source chooses it, :func:`~discovery.embeddings.similar.taste_model`)."""
    from ..embeddings.similar import taste_model

    out = np.zeros(len(posts))
    if not vectors or len(posts) == 0:
        return out
    snap = ctx.snap
    pos = snap.user_interactions(ctx.user)
    liked = snap.inter_post[pos[np.isin(snap.inter_kind[pos], _TASTE_KINDS)]][-50:]
    found = taste_model(vectors, snap.post_id[liked])
    if found is None:
        return out
    vectors, rows = found
    rows = rows[rows >= 0]
    if len(rows) == 0:
        return out
    taste = vectors.data[rows].astype(np.float64).mean(axis=0)
    norm = float(np.linalg.norm(taste))
    if norm == 0:
        return out
    mine = vectors.rows(snap.post_id[posts])
    has = mine >= 0
    out[has] = vectors.data[mine[has]] @ (taste / norm)
    return out


@dataclass(frozen=True)
class AuthorStats:
    """Posts per account and their likes, as built, and the posts added since per author
    (``added``: author -> (posts, likes)): a new post adds to a small dict, not to copies of
    three million-long arrays."""

    posts: np.ndarray
    likes: np.ndarray
    added: dict[int, tuple[int, float]]

    def at(self, authors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(posts, mean likes per post)`` of ``authors`` (account indexes >= 0)."""
        a = np.asarray(authors, dtype=np.int64)
        inside = a < len(self.posts)
        n = np.where(inside, self.posts[np.where(inside, a, 0)], 0.0)
        likes = np.where(inside, self.likes[np.where(inside, a, 0)], 0.0)
        if self.added:
            more = np.array([self.added.get(int(x), (0, 0.0)) for x in a.tolist()]).reshape(-1, 2)
            n, likes = n + more[:, 0], likes + more[:, 1]
        return n, np.divide(likes, n, out=np.zeros_like(likes), where=n > 0)


def _author_stats(snap: Snapshot) -> AuthorStats:
    """Posts per account and mean likes per post (memoised; may lag the likes by 2 %; a new
    post is added to its author's)."""

    def build(snap: Snapshot) -> AuthorStats:
        a = snap.post_author
        ok = a >= 0
        n = np.bincount(a[ok], minlength=snap.n_accounts).astype(np.float64)
        w = snap.post_likes[ok].astype(np.float64)
        return AuthorStats(n, np.bincount(a[ok], weights=w, minlength=snap.n_accounts), {})

    def extend(st: AuthorStats, snap: Snapshot, since: Sizes) -> AuthorStats | None:
        added = dict(st.added)
        new = slice(since.posts, None)
        for a, likes in zip(
            snap.post_author[new].tolist(), snap.post_likes[new].tolist(), strict=True
        ):
            if a >= 0:
                n, total = added.get(a, (0, 0.0))
                added[a] = (n + 1, total + likes)
        return None if len(added) > 10_000 else AuthorStats(st.posts, st.likes, added)

    return snap.derive_of(  # type: ignore[no-any-return]
        "author_stats",
        build,
        depends_on=(Grows("accounts"), Grows("posts"), INTERACTIONS_LAG),
        extend=extend,
    )


def _item_cosine(ctx: UserContext, posts: np.ndarray) -> np.ndarray:
    snap = ctx.snap
    pos = snap.user_interactions(ctx.user)
    rows = pos[engaging(snap.inter_kind[pos])]
    rows = rows[latest(snap.inter_time[rows], exposure.RECENT)]  # the latest engagements
    mine = setops.unique(snap.inter_post[rows])
    if len(mine) == 0 or len(posts) == 0:
        return np.zeros(len(posts))
    return column_affinity(engaged_columns(snap), mine, posts)


def _recent_likes(snap: Snapshot, days: float = RECENT_DAYS) -> np.ndarray:
    """Likes per post in ``(now - days, now]`` (memoised like :func:`_author_stats`)."""

    def build(snap: Snapshot) -> np.ndarray:
        m = (snap.inter_kind == KIND_CODE["like"]) & (snap.inter_time > snap.now - days * 86_400)
        return np.bincount(snap.inter_post[m], minlength=snap.n_posts).astype(np.float64)

    return snap.derive_of(  # type: ignore[no-any-return]
        "recent_likes",
        build,
        depends_on=(Grows("posts"), INTERACTIONS_LAG),
        extend=lambda likes, snap, since: pad(likes, snap.n_posts),
    )


def _rates(ctx: UserContext, posts: np.ndarray) -> dict[str, np.ndarray]:
    """The per-impression rates of the docstring's table (:mod:`.exposure`)."""
    snap = ctx.snap
    counts = exposure_counts(snap)
    authors = snap.post_author[posts]
    has = authors >= 0
    a = np.maximum(authors, 0)
    author_rate = np.where(has, counts.author_like_rate(a), counts.like_rate)
    mine = _user_exposure(ctx)
    r_u = mine.rate(mine.liked, counts.like_rate)
    c_u = mine.rate(mine.clicked, counts.click_rate)
    seen_a, liked_a = mine.author_counts(snap, np.where(has, authors, -1))
    by_cluster, by_tag = post_labels(snap, "clusters"), post_labels(snap, "tags")
    seen_c, liked_c = mine.shared_counts(posts, by_cluster, mine.seen, mine.liked)
    seen_t, liked_t, clicked_t = mine.shared_counts(
        posts, by_tag, mine.seen, mine.liked, mine.clicked
    )
    seen_p = counts.post_seen[posts]
    return {
        "author_like_rate": author_rate,
        "post_like_rate": beta_rate(counts.post_liked[posts], seen_p, author_rate),
        "post_hide_rate": beta_rate(counts.post_hidden[posts], seen_p, counts.hide_rate),
        "post_click_rate": beta_rate(counts.post_clicked[posts], seen_p, counts.click_rate),
        "user_like_rate": np.full(len(posts), r_u),
        "user_author_like_rate": beta_rate(liked_a, seen_a, r_u),
        "user_cluster_like_rate": beta_rate(liked_c, seen_c, r_u),
        "user_tag_like_rate": beta_rate(liked_t, seen_t, r_u),
        "user_tag_click_rate": beta_rate(clicked_t, seen_t, c_u),
        **topic_columns(ctx, posts, mine.seen, mine.liked, r_u),
    }


def _user_exposure(ctx: UserContext) -> UserExposure:
    """:func:`.exposure.user_exposure` once per request: a feed's pools each hydrate their
    candidates, and the scan grows with the user's history."""
    if "exposure" not in ctx._cache:
        ctx._cache["exposure"] = user_exposure(ctx.snap, ctx.user)
    return ctx._cache["exposure"]  # type: ignore[no-any-return]


def _cluster_match(ctx: UserContext, posts: np.ndarray, member: sp.csr_matrix) -> np.ndarray:
    prof = ctx.profile
    total = float(prof.sum())
    if total <= 0 or len(posts) == 0:
        return np.zeros(len(posts))
    snap = ctx.snap
    weight = np.asarray(member.T @ prof).ravel() / total  # share of interest per cluster
    hit = (snap.post_tags_matrix()[posts] @ member).tocsr()
    hit.data[:] = 1.0
    return np.asarray(hit @ weight).ravel()  # type: ignore[no-any-return]
