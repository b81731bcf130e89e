"""Interactions sampled from the ground-truth utility (:mod:`discovery.world.truth`).

For each block of users (streamed; memory stays bounded):

1. **Exposure** — a user with activity :math:`a_u` sees :math:`\\mathrm{Poisson}(I a_u)` posts:
   70 % in-network (a random followee's random post, a few hours after posting) and 30 %
   explore: friends of friends, globally popular posts (weight :math:`\\sqrt{fitness}\\,q`) and
   posts of a topic drawn from the user's interests (days later). Exposure after ``now`` is
   dropped, so young posts have fewer impressions, as in real data.
2. **Engagement** — impression → click with :math:`\\sigma(\\ell + b_c + w_{cb} c_p)`; like with
   total probability :math:`U = \\sigma(\\ell)` (:func:`~discovery.world.truth.utility`);
   comment, save and share given a like; a view with watch seconds for clicked videos; a hide,
   for unclicked poor matches, with probability
   :math:`h (1 - \\theta_{ut}/\\max_s \\theta_{us})^4 (1 - f_{ua})`.
3. **Tags** — people tag mutual friends in a share of their posts (``tag`` interactions).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..seed import child_rng
from ..store.model import KIND_CODE
from .config import WorldConfig
from .graph import FollowGraph
from .posts import Posts
from .stats import unique_sorted
from .truth import Truth, utility_logit

__all__ = ["Batch", "Responses", "responses", "simulate", "tag_batch"]

_K = KIND_CODE


@dataclass
class Batch:
    """Interactions of one user block, sorted by (user, post, kind, created_at)."""

    user: np.ndarray  # account index
    post: np.ndarray  # post index
    kind: np.ndarray
    created_at: np.ndarray
    value: np.ndarray  # NaN when absent

    def __len__(self) -> int:
        return len(self.user)


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(n + 1))


def _pick(rng, order, ptr, groups):  # type: ignore[no-untyped-def]
    """A uniform member of each group (``-1`` where the group is empty)."""
    size = ptr[groups + 1] - ptr[groups]
    j = ptr[groups] + (rng.random(len(groups)) * size).astype(np.int64)
    return np.where(size > 0, order[np.minimum(j, len(order) - 1)], -1)


def _neighbour(rng, graph, deg, nodes):  # type: ignore[no-untyped-def]
    """A uniform followee of each node (``-1`` for nodes that follow no one)."""
    d = deg[nodes]
    j = graph.indptr[nodes] + (rng.random(len(nodes)) * d).astype(np.int64)
    return np.where(d > 0, graph.dst[np.minimum(j, max(len(graph.dst) - 1, 0))], -1).astype(
        np.int64
    )


def simulate(
    cfg: WorldConfig, truth: Truth, graph: FollowGraph, posts: Posts, activity: np.ndarray
) -> Iterator[Batch]:
    """Yield interaction batches, one per block of ``cfg.chunk_users`` accounts."""
    n, m = truth.n_accounts, len(posts)
    by_author = _csr(posts.author, n)
    by_topic = _csr(posts.topic.astype(np.int64), truth.theta.shape[1])
    fitness_w = np.sqrt(truth.popularity[posts.author] + 0.05) * posts.quality
    pop_cum = np.cumsum(fitness_w)
    deg = np.diff(graph.indptr)
    cdf = np.cumsum(truth.theta, axis=1)
    max_theta = truth.theta.max(axis=1)
    for lo in range(0, n, cfg.chunk_users):
        rng = child_rng(cfg.seed, "interactions", lo)
        users = np.arange(lo, min(n, lo + cfg.chunk_users))
        count = rng.poisson(cfg.impressions_per_user * activity[users])
        u = np.repeat(users, count)
        inside = (rng.random(len(u)) < cfg.in_network_share) & (deg[u] > 0)
        source = np.where(inside, 0, rng.integers(1, 4, len(u)))
        p = np.full(len(u), -1, dtype=np.int64)
        # 0: a followee's post; 1: friend of a friend's post; 2: popular; 3: topical.
        followee = _neighbour(rng, graph, deg, u)
        fof = np.full(len(u), -1, dtype=np.int64)
        fof[followee >= 0] = _neighbour(rng, graph, deg, followee[followee >= 0])
        for src_kind, who in ((0, followee), (1, fof)):
            sel = (source == src_kind) & (who >= 0)
            p[sel] = _pick(rng, *by_author, who[sel])
        sel = source == 2
        if m:
            p[sel] = np.minimum(
                np.searchsorted(pop_cum, rng.random(sel.sum()) * pop_cum[-1]), m - 1
            )
        sel = source == 3
        topic = (cdf[u[sel]] < rng.random(sel.sum())[:, None] * cdf[u[sel], -1:]).sum(axis=1)
        p[sel] = _pick(rng, *by_topic, np.minimum(topic, truth.theta.shape[1] - 1))
        ok = p >= 0
        u, p, source = u[ok], p[ok], source[ok]
        ok = posts.author[p] != u
        u, p, source = u[ok], p[ok], source[ok]
        delay = rng.exponential(np.where(source == 0, 8 * 3600.0, 2 * 86_400.0))
        t = posts.taken_at[p] + delay.astype(np.int64)
        ok = t < truth.now
        u, p, t = u[ok], p[ok], t[ok]
        # One impression per (user, post): keep the first.
        order = np.lexsort((t, p, u))
        u, p, t = u[order], p[order], t[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (p[1:] != p[:-1])
        u, p, t = u[first], p[first], t[first]
        yield _engage(rng, cfg, truth, posts, u, p, t, max_theta)


@dataclass
class Responses:
    """Probabilities of the responses to each impression (arrays aligned with the impressions).

    ``like`` is the utility :math:`U = \\sigma(\\ell)`; ``click``
    :math:`\\max(U, \\sigma(\\ell + b_c + w_{cb} c_p))`; ``comment`` and ``save`` are
    conditional on a like, ``hide`` on no click (see the module docstring). Shared by the
    generator and the closed-loop simulator (:mod:`discovery.simulation.behaviour`).
    """

    like: np.ndarray
    click: np.ndarray
    comment: np.ndarray
    save: np.ndarray
    hide: np.ndarray
    interest: np.ndarray
    follow: np.ndarray


def responses(
    truth: Truth,
    quality: np.ndarray,
    u: np.ndarray,
    p: np.ndarray,
    t: np.ndarray,
    max_theta: np.ndarray,
    shift: np.ndarray | None = None,
) -> Responses:
    """Response probabilities of users ``u`` shown posts ``p`` at times ``t`` (pure).

    ``quality`` is indexed by post, ``max_theta`` by user; ``shift`` is added to the utility
    logit before anything is derived from it (the simulator's author fatigue).
    """
    w = truth.params
    terms = utility_logit(truth, u, p, t)
    logit = terms["logit"] if shift is None else terms["logit"] + shift
    p_like = 1.0 / (1.0 + np.exp(-logit))
    p_click = 1.0 / (1.0 + np.exp(-(logit + w.click_bias + w.clickbait_click * terms["bait"])))
    p_click = np.maximum(p_click, p_like)
    p_comment = 1 / (
        1 + np.exp(-(w.comment_bias + w.comment_mutual * terms["mutual"] + terms["interest"]))
    )
    p_save = w.save_base + w.save_quality * quality[p] * terms["interest"]
    match = terms["interest"] / np.maximum(max_theta[u], 1e-9)
    p_hide = w.hide_base * (1 - match) ** 4 * (1 - terms["follow"])
    return Responses(p_like, p_click, p_comment, p_save, p_hide, terms["interest"], terms["follow"])


def _engage(rng, cfg, truth, posts, u, p, t, max_theta):  # type: ignore[no-untyped-def]
    w = cfg.utility
    pr = responses(truth, posts.quality, u, p, t, max_theta)
    p_like = pr.like
    r = rng.random(len(u))
    click = r < pr.click
    like = r < p_like  # like implies click: the same uniform under a smaller threshold
    comment = like & (rng.random(len(u)) < pr.comment)
    save = like & (rng.random(len(u)) < pr.save)
    share = like & (rng.random(len(u)) < w.share)
    video = posts.media_type[p] == 1
    view = click & video
    hide = ~click & (rng.random(len(u)) < pr.hide)
    parts = [(np.ones(len(u), dtype=bool), "impression", 0, 0)]
    parts += [(click, "click", 1, 20), (like, "like", 2, 60), (comment, "comment", 20, 300)]
    parts += [
        (save, "save", 5, 120),
        (share, "share", 5, 300),
        (view, "view", 1, 20),
        (hide, "hide", 1, 10),
    ]
    cols: list[list[np.ndarray]] = [[], [], [], [], []]
    for mask, kind, lo, hi in parts:
        k = int(mask.sum())
        tt = t[mask] + (rng.integers(lo, hi + 1, k) if hi else 0)
        value = (
            rng.exponential(12.0, k) * (1 + 3 * p_like[mask])
            if kind == "view"
            else np.full(k, np.nan)
        )
        for c, arr in zip(
            cols,
            (u[mask], p[mask], np.full(k, _K[kind]), np.minimum(tt, truth.now), value),
            strict=True,
        ):
            c.append(arr)
    uu, pp, kk, tt, vv = (np.concatenate(c) for c in cols)
    order = np.lexsort((tt, kk, pp, uu))
    return Batch(
        uu[order],
        pp[order],
        kk[order].astype(np.int8),
        tt[order].astype(np.int64),
        np.round(vv[order], 1),
    )


def tag_batch(cfg: WorldConfig, graph: FollowGraph, posts: Posts, kind: np.ndarray) -> Batch:
    """``tag`` interactions: an author tags a mutual friend in some posts; ``me`` is tagged often."""
    rng = child_rng(cfg.seed, "tags")
    person_post = np.flatnonzero(kind[posts.author] == 0)
    chosen = person_post[rng.random(len(person_post)) < cfg.tag_rate]
    a = posts.author[chosen].astype(np.int64)
    deg = np.diff(graph.indptr)[a]
    has = deg > 0
    chosen, a, deg = chosen[has], a[has], deg[has]
    friend = graph.dst[graph.indptr[a] + (rng.random(len(a)) * deg).astype(np.int64)].astype(
        np.int64
    )
    mutual = graph.has_edge(friend, a)
    chosen, friend = chosen[mutual], friend[mutual]
    # The demo user's mutual friends tag them in some of their posts.
    me_friends = graph.followees(0)
    me_friends = me_friends[graph.has_edge(me_friends, np.zeros(len(me_friends), dtype=np.int64))]
    theirs = np.flatnonzero(np.isin(posts.author, me_friends))
    theirs = theirs[rng.random(len(theirs)) < 0.08]
    chosen = np.concatenate([chosen, theirs])
    friend = np.concatenate([friend, np.zeros(len(theirs), dtype=np.int64)])
    key = unique_sorted(friend * max(1, len(posts)) + chosen)
    friend, chosen = key // max(1, len(posts)), key % max(1, len(posts))
    k = len(chosen)
    return Batch(
        friend,
        chosen,
        np.full(k, _K["tag"], dtype=np.int8),
        posts.taken_at[chosen],
        np.full(k, np.nan),
    )
