"""Named candidate sources (as gorse names "latest", "popular", "item-to-item"...).

Each source answers ``candidates(ctx) -> Candidates``: post indexes plus the evidence that
explains them (who liked it, which hashtag, how far the author is). Sources only *propose*;
rankers score and feeds filter and mix.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .. import setops
from ..signals.clusters import snapshot_clusters
from ..snapshot import Snapshot
from ..store.model import KIND_CODE
from .affinity import hop_distance, user_ppr
from .candidates import (
    Candidates,
    Grouped,
    always,
    likers_lookup,
    ppr_lookup,
    tag_lookup,
)
from .context import UserContext
from .evidence import FOLLOWED, POPULAR
from .registry import Registry
from .time_index import posts_by_time, tag_posts_by_time

__all__ = [
    "SOURCES",
    "Candidates",
    "FollowingSource",
    "HashtagSource",
    "LikedByFollowedSource",
    "PPRAuthorsSource",
    "PopularSource",
    "Source",
    "top_interests",
    "window_posts",
]

_POSITIVE = [KIND_CODE[k] for k in ("like", "comment", "save")]


class Source(Protocol):
    name: str

    def candidates(self, ctx: UserContext) -> Candidates: ...


def _since(ctx: UserContext) -> int:
    return int(ctx.now - ctx.settings.window_days * 86_400)


def window_posts(snap: Snapshot, since: int, until: int) -> np.ndarray:
    """Post indexes with ``since <= taken_at <= until`` (binary search on a memoised order)."""
    order, taken = posts_by_time(snap)
    lo, hi = np.searchsorted(taken, since, "left"), np.searchsorted(taken, until, "right")
    return order[lo:hi]


def _recent(snap: Snapshot, posts: np.ndarray, since: int, until: int) -> np.ndarray:
    t = snap.post_taken[posts]
    return posts[(t >= since) & (t <= until)]


class FollowingSource:
    """Recent posts of the accounts the user follows (the timeline)."""

    name = "following"

    def candidates(self, ctx: UserContext) -> Candidates:
        snap = ctx.snap
        posts = snap.authors_posts(ctx.following)[0]
        posts = _recent(snap, posts, _since(ctx), ctx.now)
        return Candidates(self.name, posts, always(FOLLOWED))


class PPRAuthorsSource:
    """Recent posts of the accounts with the highest PPR that the user does not follow yet —
    the tutorial's discovery step (friends of friends, and the big accounts your circle follows)."""

    name = "ppr_authors"

    def candidates(self, ctx: UserContext) -> Candidates:
        snap = ctx.snap
        ppr = user_ppr(ctx)  # the reached accounts only (its support), not all n
        excluded = np.concatenate([[ctx.user], ctx.following, ctx.blocked]).astype(np.int64)
        keep = ~np.isin(ppr.nodes, excluded)
        reached, values = ppr.nodes[keep], ppr.values[keep]
        k = min(ctx.settings.explore_authors, len(reached))
        if k == 0:
            return Candidates(self.name, np.zeros(0, np.int64))
        best = top_k_by(values, reached, k)
        top = reached[best]
        hops = hop_distance(ctx, top)
        cand = _recent(snap, snap.authors_posts(top)[0], _since(ctx), ctx.now)
        return Candidates(self.name, cand, ppr_lookup(top, values[best], hops))


class LikedByFollowedSource:
    """Posts that accounts the user follows liked, commented or saved recently ("liked by people
    you follow", Twitter's UTEG in miniature). Evidence: the likers.

    At most ``limit`` posts, those with the most distinct likers (ties: newest post), as UTEG
    returns its top-k: under a heavy event stream the followed accounts' likes pile up, and
    every candidate costs scoring time. (On the demo world's own history no user has more
    than 72, so the cap only bounds live growth.)"""

    name = "liked_by_followed"
    limit = 200

    def candidates(self, ctx: UserContext) -> Candidates:
        snap, since = ctx.snap, _since(ctx)
        pos, owner = snap.users_interactions(ctx.following)
        keep = np.isin(snap.inter_kind[pos], _POSITIVE) & (snap.inter_time[pos] >= since)
        posts, likers = snap.inter_post[pos[keep]], ctx.following[owner[keep]]
        if len(posts) == 0:
            return Candidates(self.name, np.zeros(0, np.int64))
        # one (post, liker) pair per liker, grouped by post: likers in index order
        n = max(snap.n_accounts, 1)
        pairs = setops.unique(posts.astype(np.int64) * n + likers)
        uniq, first = np.unique(pairs // n, return_index=True)
        evidence = Grouped(uniq, first, pairs % n)
        likers_per_post = np.diff(np.append(first, len(pairs)))
        t = snap.post_taken[uniq]
        recent = (t >= since) & (t <= ctx.now)
        cand, count = uniq[recent], likers_per_post[recent]
        if len(cand) > self.limit:
            cand = np.sort(cand[top_k_by(count * 2**40 + snap.post_taken[cand], cand, self.limit)])
        return Candidates(self.name, cand, likers_lookup(evidence))


def top_interests(ctx: UserContext, n: int = 10) -> list[tuple[int, float]]:
    """The user's ``n`` strongest interests as ``(tag index, weight)``, weights summing to 1.

    An interest is a hashtag cluster (:mod:`discovery.signals.clusters`: ``#climbing``,
    ``#bouldering`` and ``#🧗`` are one), named by its head tag and weighing the sum of its
    member tags' profile weights."""
    prof = ctx.profile
    if not (prof > 0).any():
        return []
    clusters = snapshot_clusters(ctx.snap)
    weight = np.bincount(clusters.cluster_of(np.arange(len(prof))), weights=prof)
    nz = np.flatnonzero(weight > 0)
    heads = clusters.heads(nz)
    top = np.lexsort((heads, -weight[nz]))[:n]
    total = float(weight[nz].sum())
    return [(int(heads[j]), float(weight[nz[j]] / total)) for j in top]


class HashtagSource:
    """Recent, well-liked posts carrying the user's interests ("because you like #x"): for each
    interest cluster the ``per_tag`` most liked posts carrying any of its member tags."""

    name = "hashtags"
    per_tag = 60

    def __init__(self, n_tags: int = 8) -> None:
        self.n_tags = n_tags

    def candidates(self, ctx: UserContext) -> Candidates:
        snap = ctx.snap
        since = _since(ctx)
        clusters = snapshot_clusters(snap)
        by_head = cluster_top_memo(snap)
        evidence: dict[int, tuple[int, int]] = {}
        for head, _ in top_interests(ctx, self.n_tags):
            # the cluster's best posts depend on its members (the clusters object, held with
            # the entry so that a swapped clustering never matches) and the window
            key = (head, since, int(ctx.now), self.per_tag)
            held = by_head.get(key)
            if held is None or held[0] is not clusters:
                held = (clusters, *self._cluster_top(snap, clusters, head, since, ctx.now))
                if len(by_head) < _MEMO_LIMIT:
                    by_head[key] = held
            posts, tags = held[1], held[2]
            for p, t in zip(posts.tolist(), tags.tolist(), strict=True):
                evidence.setdefault(p, (head, -1 if t == head else t))
        posts = np.array(sorted(evidence), dtype=np.int64)
        return Candidates(self.name, posts, tag_lookup(evidence))

    def _cluster_top(
        self, snap: Snapshot, clusters: Any, head: int, since: int, now: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The cluster's ``per_tag`` best posts in ``[since, now]`` and the member tag that
        reached each (:func:`best_tagged`), each member's window top taken from (or added to)
        :func:`tag_top_memo`."""
        index = tag_posts_by_time(snap)
        memo = tag_top_memo(snap)
        slices = []
        for tag in clusters.members_of(head).tolist():
            window, where = index.window(tag, since, now)
            key = (tag, *where, self.per_tag)
            top = memo.get(key)
            if top is None:
                top = _top_liked(window, snap, self.per_tag)
                if len(memo) < _MEMO_LIMIT:
                    memo[key] = top
            slices.append((tag, top))
        return best_tagged(slices, snap.post_likes, snap.post_id, self.per_tag)


#: Entries kept in a snapshot's :func:`tag_top_memo` (about 0.5 KB each).
_MEMO_LIMIT = 200_000


def tag_top_memo(snap: Snapshot) -> dict[tuple[int, ...], np.ndarray]:
    """``(tag, a, b, c, d, k) ->`` the ``k`` most liked of the tag's posts ``a:b`` (and ``c:d``
    of the index's tail) in time order
    (:func:`tag_posts_by_time`), shared by every request on this snapshot state.

    Exact, never stale: it is dropped whenever posts, tags or interactions change (like
    counts move with them). So a batch job or a simulated day, which rank many users on one
    state, choose each tag's top posts once (users share interests); a live server between
    events does too, and after each event starts again."""
    return snap.derive("tag_top_memo", dict, depends_on=("posts", "tags", "interactions"))


def cluster_top_memo(snap: Snapshot) -> dict[tuple[int, int, int, int], tuple[Any, ...]]:
    """``(head, since, now, k) -> (clusters, posts, tags)``: an interest cluster's ``k`` best
    posts in a window and the member tag that reached each (:func:`best_tagged`), shared by
    the requests on this snapshot state that rank at the same clock (a batch job, a simulated
    day). Exact as :func:`tag_top_memo` is, and an entry counts only for the clusters object
    it was computed with."""
    return snap.derive("cluster_top_memo", dict, depends_on=("posts", "tags", "interactions"))


def _top_liked(posts: np.ndarray, snap: Snapshot, k: int) -> np.ndarray:
    """The ``k`` most liked of ``posts`` (ties: smaller id), or all of them when fewer."""
    if len(posts) <= k:
        return posts
    from ._kernels import top_k_of  # numba: loaded on first use, not with the engine

    return top_k_of(posts, snap.post_likes, snap.post_id, k)  # type: ignore[no-any-return]


def best_tagged(
    slices: list[tuple[int, np.ndarray]], likes: np.ndarray, ids: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most liked posts (ties: smaller id) carrying any of a cluster's member tags,
    best first, each with the first member tag that carries it: ``slices`` is ``(tag, its
    posts in the window)`` per member, most used tag first.

    Each member's own top ``k`` first, then the best of their union: a post among the union's
    top ``k`` is among the top ``k`` of every member carrying it (whatever outranks it there
    outranks it in the union), so this is the union's top ``k`` with the same tags — without
    sorting every post of the cluster's window (a large world's popular tag holds 10^5 of
    them; 9 % of a serving worker's samples went to that sort); each member's top ``k`` in
    one pass (:func:`._kernels.top_k_of`).

    >>> best_tagged([(7, np.array([1, 2, 3])), (8, np.array([3, 4]))],
    ...             np.array([0, 5, 1, 9, 9]), np.arange(5), 2)
    (array([3, 4]), array([7, 8]))
    """
    from ._kernels import top_k_of  # numba: loaded on first use, not with the engine

    found, via = [], []
    for tag, posts in slices:
        if len(posts) > k:
            posts = top_k_of(posts, likes, ids, k)
        found.append(posts)
        via.append(np.full(len(posts), tag))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # first occurrence in member order: the most used member tag that reached the post
    posts, first = np.unique(np.concatenate(found), return_index=True)
    tags = np.concatenate(via)[first]
    order = top_k_by(likes[posts], ids[posts], k)
    return posts[order], tags[order]


def top_k_by(values: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest ``values`` (ties: smaller id), best first, in O(n).

    >>> top_k_by(np.array([5, 9, 9, 1]), np.array([10, 30, 20, 40]), 2).tolist()
    [2, 1]
    """
    if len(values) <= k:
        return np.lexsort((ids, -values))
    cut = np.partition(values, len(values) - k)[len(values) - k]
    pool = np.flatnonzero(values >= cut)
    return pool[np.lexsort((ids[pool], -values[pool]))][:k]


class PopularSource:
    """The most liked recent posts (cold start, and a floor under every explore feed)."""

    name = "popular"

    def __init__(self, n: int = 200) -> None:
        self.n = n

    def candidates(self, ctx: UserContext) -> Candidates:
        snap = ctx.snap
        posts = window_posts(snap, _since(ctx), ctx.now)
        if len(posts) > self.n:
            score = snap.post_likes[posts] + 2 * snap.post_comments[posts]
            posts = posts[np.lexsort((snap.post_id[posts], -score))[: self.n]]
        return Candidates(self.name, posts, always(POPULAR))


#: Candidate sources by name: ``SOURCES.build(name, settings, artifacts, **options)``.
SOURCES: Registry[Source] = Registry("source")
SOURCES.register("following", lambda settings, artifacts: FollowingSource())
SOURCES.register("ppr_authors", lambda settings, artifacts: PPRAuthorsSource())
SOURCES.register("liked_by_followed", lambda settings, artifacts: LikedByFollowedSource())
SOURCES.register("hashtags", lambda settings, artifacts, n_tags=8: HashtagSource(n_tags))
SOURCES.register("popular", lambda settings, artifacts, n=200: PopularSource(n))


def _als(
    settings: Any, artifacts: Any, n: int | None = None, neighbours: int | None = None
) -> Source:
    from .collaborative import ALSSource  # it builds on this module

    return ALSSource(artifacts.get("als"), n, neighbours)


SOURCES.register("als", _als)


def _embedding(settings: Any, artifacts: Any, n: int = 200, centroids: int = 3) -> Source:
    from .taste import EmbeddingSource  # it builds on this module

    return EmbeddingSource(artifacts.get("vectors"), n, centroids)


SOURCES.register("embedding", _embedding)
