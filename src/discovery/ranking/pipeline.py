"""The feed pipeline as functions of a :class:`UserContext`: gather candidates → score →
filter → diversify or blend. A *pick* is ``{"post", "score", "factors", "evidence"}`` where
``evidence`` maps each proposing source to what it knew (likers, tag, PPR and hops)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import sources as src
from .context import UserContext
from .mix import diversify, drop_unwanted, order_by_score, random_mix
from .rankers import Ranker
from .reasons import SOURCE_PRIORITY

__all__ = [
    "EXPLORE_SOURCES",
    "best_per_interest",
    "blend",
    "gather",
    "interest_picks",
    "pool",
    "random_picks",
    "select",
]

EXPLORE_SOURCES = ("ppr_authors", "liked_by_followed", "hashtags")
Pick = dict[str, Any]
Pool = dict[str, Any]


def gather(ctx: UserContext, names: tuple[str, ...]) -> list[src.Candidates]:
    """Run the named candidate sources (built from the registry for these settings)."""
    return [src.SOURCES.build(name, ctx.settings).candidates(ctx) for name in names]


def pool(ctx: UserContext, ranker: Ranker, kind: str) -> Pool:
    """Score every candidate of ``kind`` (timeline or explore) that survives the filters."""
    discovery = kind == "explore"
    names = EXPLORE_SOURCES if discovery else ("following",)
    cands = gather(ctx, names)
    if discovery and sum(len(c.posts) for c in cands) < 30:  # cold start: a popular floor
        cands += gather(ctx, ("popular",))
    proposed = [c.posts for c in cands]
    posts = np.unique(np.concatenate(proposed)) if proposed else np.zeros(0, np.int64)
    posts = drop_unwanted(ctx, posts.astype(np.int64), discovery=discovery)
    scored = ranker.score(ctx, posts, discovery=discovery)
    return {"posts": posts, "scores": scored.scores, "factors": scored.factors, "cands": cands}


def evidence_of(ctx: UserContext, cands: list[src.Candidates], post: int) -> dict[str, Any]:
    """What every source that proposed ``post`` knew about it."""
    author = int(ctx.snap.post_author[post])
    return {c.source: c.why(post, author) for c in cands if post in c}


def _pick(ctx: UserContext, pool: Pool, i: int) -> Pick:
    p = int(pool["posts"][i])
    return {
        "post": p,
        "score": float(pool["scores"][i]),
        "factors": {name: float(v[i]) for name, v in pool["factors"].items()},
        "evidence": evidence_of(ctx, pool["cands"], p),
    }


def select(ctx: UserContext, pool: Pool, k: int) -> list[Pick]:
    """Top ``k`` of a pool by score with at most ``max_per_author`` posts per author per 10."""
    posts, snap = pool["posts"], ctx.snap
    order = order_by_score(pool["scores"], snap.post_id[posts])
    chosen = diversify(order, snap.post_author[posts], k, ctx.settings.max_per_author)
    return [_pick(ctx, pool, i) for i in chosen]


def _primary(evidence: dict[str, Any]) -> str:
    for name in SOURCE_PRIORITY:
        if name in evidence:
            return name
    return next(iter(evidence), "other")


def blend(ctx: UserContext, ranker: Ranker, k: int) -> list[Pick]:
    """Timeline and explore candidates merged by score: one item per post (with the evidence of
    every source that proposed it), explore scores multiplied by ``explore_scale`` first, each
    source at most ``ceil(source_cap · k)`` items, authors limited as in every feed; if the caps
    leave the feed short, the best of the rest fill it.

    Works on the score arrays and builds a pick only for the posts it looks at."""
    pools = [pool(ctx, ranker, kind) for kind in ("timeline", "explore")]
    scale = ctx.settings.explore_scale
    out_of_network = pools[1]
    out_of_network["scores"] = out_of_network["scores"] * scale
    out_of_network["factors"] = {**out_of_network["factors"]}
    out_of_network["factors"]["explore_scale"] = np.full(len(out_of_network["posts"]), scale)
    snap = ctx.snap
    posts = np.concatenate([pl["posts"] for pl in pools])
    scores = np.concatenate([pl["scores"] for pl in pools])
    which = np.concatenate([np.full(len(pl["posts"]), i) for i, pl in enumerate(pools)])
    offset = np.concatenate([np.arange(len(pl["posts"])) for pl in pools])
    order = order_by_score(scores, snap.post_id[posts])
    cap = max(1, math.ceil(ctx.settings.source_cap * k))
    out: list[Pick] = []
    rest: list[Pick] = []
    taken: set[int] = set()
    used: dict[str, int] = {}
    authors: dict[int, int] = {}
    for j in order:
        if len(out) >= k:
            break
        p = int(posts[j])
        if p in taken:  # the same post from the other pool, with a lower score
            continue
        taken.add(p)
        d = _pick(ctx, pools[which[j]], int(offset[j]))
        for other in pools:  # evidence from every source that proposed it
            d["evidence"] = {**evidence_of(ctx, other["cands"], p), **d["evidence"]}
        group = _primary(d["evidence"])
        a = int(snap.post_author[p])
        if used.get(group, 0) >= cap or (
            a >= 0 and authors.get(a, 0) >= ctx.settings.max_per_author
        ):
            rest.append(d)
            continue
        used[group] = used.get(group, 0) + 1
        authors[a] = authors.get(a, 0) + 1
        out.append(d)
    return out + rest[: k - len(out)]


def _interest_orders(
    ctx: UserContext, ranker: Ranker, n_tags: int
) -> tuple[Pool, list[tuple[int, float, np.ndarray]]]:
    """The scored pool of interest candidates and, per interest hashtag, its candidates'
    positions in score order (picks are built later, only for what is shown)."""
    cands = src.HashtagSource(n_tags).candidates(ctx)
    posts = drop_unwanted(ctx, cands.posts, discovery=False)
    scored = ranker.score(ctx, posts, discovery=True)
    pl = {"posts": posts, "scores": scored.scores, "factors": scored.factors, "cands": []}
    # the candidates' own tags, by column: O(candidates), not O(posts carrying the tag)
    by_tag = ctx.snap.post_tags_matrix()[posts].tocsc()
    orders = []
    for tag, weight in src.top_interests(ctx, n_tags):
        idx = by_tag.indices[by_tag.indptr[tag] : by_tag.indptr[tag + 1]]
        orders.append(
            (tag, weight, idx[order_by_score(scored.scores[idx], ctx.snap.post_id[posts[idx]])])
        )
    return pl, orders


def _interest_pick(ctx: UserContext, pl: Pool, i: int, tag: int) -> Pick:
    pick = _pick(ctx, pl, i)
    pick["evidence"] = {"hashtags": tag}
    return pick


def best_per_interest(
    ctx: UserContext, ranker: Ranker, n_tags: int, per_tag: int
) -> list[tuple[int, float, list[Pick]]]:
    """Best unseen recent posts for each interest hashtag, as whole rows — the tutorial's
    ``groupby('tag').max()`` took each column's maximum from different posts."""
    pl, orders = _interest_orders(ctx, ranker, n_tags)
    return [
        (tag, weight, [_interest_pick(ctx, pl, int(i), tag) for i in order[:per_tag]])
        for tag, weight, order in orders
    ]


def interest_picks(ctx: UserContext, ranker: Ranker, k: int) -> list[Pick]:
    """The interests feed: round-robin over the best posts of each interest hashtag."""
    pl, orders = _interest_orders(ctx, ranker, n_tags=max(k, 10))
    out: list[Pick] = []
    seen: set[int] = set()
    depth = 0
    while len(out) < k and any(len(order) > depth for _, _, order in orders):
        for tag, _, order in orders:
            if depth < len(order) and len(out) < k:
                i = int(order[depth])
                if int(pl["posts"][i]) not in seen:
                    seen.add(int(pl["posts"][i]))
                    out.append(_interest_pick(ctx, pl, i, tag))
        depth += 1
    return out


def random_picks(ctx: UserContext, ranker: Ranker, k: int) -> list[Pick]:
    """The tutorial's step 6: a seeded random sample of the top timeline, discovery and
    interest posts."""
    pools: list[list[int]] = []
    everything: dict[int, Pick] = {}
    for kind in ("timeline", "explore"):
        picks = select(ctx, pool(ctx, ranker, kind), k)
        pools.append([d["post"] for d in picks])
        everything.update({d["post"]: d for d in picks})
    interest = interest_picks(ctx, ranker, k)
    pools.append([d["post"] for d in interest])
    for d in interest:
        everything.setdefault(d["post"], d)
    return [everything[p] for p in random_mix(pools, k, ctx.settings.seed)]
