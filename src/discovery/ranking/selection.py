"""Selections: the last step of a feed kind, from scored pools to the picks shown.

Each selection orders candidates its own way (score; source-capped merge; round-robin over
interests; a seeded draw) and hands that order to the one author-diversity routine,
:func:`~discovery.ranking.diversity.diversify`. Picks are built only for what is shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..signals.clusters import snapshot_clusters
from .diversity import AuthorBudget, diversify
from .evidence import Evidence, InterestTag
from .mix import fatigue_order, order_by_score, random_order
from .picks import Pick, Pool, evidence_of
from .reasons import primary_source
from .sources import top_interests

if TYPE_CHECKING:
    from .feedkinds import FeedKind
    from .pipeline import Pipeline

__all__ = ["Blend", "ByScore", "InterestRow", "RandomMix", "RoundRobin", "best_per_interest"]


def page_fatigue(run: Pipeline) -> tuple[float, str]:
    """How much an author's further posts on a page lose, and on which scale: a trained
    ranker's fitted fatigue in logits; the default ranker's ``author_discount`` ``d`` as
    ``-ln d`` on the log of its scores (each earlier post multiplies a score by ``d``); none
    for the tutorial's formula, kept exactly."""
    fatigue = getattr(run.ranker, "fatigue", None)
    if fatigue is not None:
        return float(fatigue), "logit"
    if run.ranker.name == "default":
        return -math.log(run.ctx.settings.author_discount), "log"
    return 0.0, "log"


def page_explore_scale(run: Pipeline) -> float:
    """The blend's multiplier on explore scores: the setting a ranker names in its
    ``explore_setting`` (the learned ranker: ``learned_explore_scale``, its scores being
    calibrated values), else ``explore_scale`` (a handicap on the default ranker's scores)."""
    name = getattr(run.ranker, "explore_setting", "explore_scale")
    return float(getattr(run.ctx.settings, name))


@dataclass(frozen=True)
class ByScore:
    """Best score first (ties: post id; under a ranker's author fatigue, the order of
    :func:`~discovery.ranking.mix.fatigue_order`), under the author rule."""

    def choose(self, run: Pipeline, kind: FeedKind, k: int, budget: AuthorBudget) -> list[Pick]:
        pool, snap = run.pool(kind), run.ctx.snap
        authors, ids = snap.post_author[pool.posts], snap.post_id[pool.posts]
        order = fatigue_order(pool.scores, authors, ids, *page_fatigue(run))
        chosen = diversify(order, snap.post_author[pool.posts], k, budget=budget)
        return pool.picks(run.ctx, [int(i) for i in chosen], factors=run.factors)


@dataclass(frozen=True)
class Blend:
    """The parts' pools merged by score, one item per post (carrying the evidence of every
    source that proposed it), the ``scaled`` parts' scores multiplied by
    :func:`page_explore_scale` first (with an ``explore_scale`` factor), each primary source at most
    ``ceil(source_cap · k)`` items of a page, under the author rule (a ranker's author
    fatigue orders the merged posts as :func:`~discovery.ranking.mix.fatigue_order` does)."""

    scaled: tuple[str, ...] = ("explore",)

    def choose(self, run: Pipeline, kind: FeedKind, k: int, budget: AuthorBudget) -> list[Pick]:
        ctx, snap, scale = run.ctx, run.ctx.snap, page_explore_scale(run)
        pools = [self._scaled(run.pool(part), scale) for part in kind.parts]
        posts = np.concatenate([pl.posts for pl in pools])
        scores = np.concatenate([pl.scores for pl in pools])
        which = np.concatenate([np.full(len(pl), j) for j, pl in enumerate(pools)])
        offset = np.concatenate([np.arange(len(pl)) for pl in pools])
        proposals = [c for pl in pools for c in pl.proposals]

        # each post once: the same post from a later pool has a lower score
        best = order_by_score(scores, snap.post_id[posts])
        first = best[np.sort(np.unique(posts[best], return_index=True)[1])]
        ids = snap.post_id[posts[first]]
        authors = snap.post_author[posts[first]]
        first = first[fatigue_order(scores[first], authors, ids, *page_fatigue(run))]

        def group(j: int) -> str:
            p = int(posts[j])
            return primary_source([c.source for c in proposals if p in c]) or "other"

        cap = max(1, math.ceil(ctx.settings.source_cap * k))
        chosen = diversify(
            first,
            snap.post_author[posts],
            k,
            budget=budget,
            group=group,
            group_cap=cap,
        )
        picks = []
        for j in chosen:
            own = pools[which[j]]
            p = int(posts[j])
            evidence = {**evidence_of(ctx, proposals, p), **evidence_of(ctx, own.proposals, p)}
            picks.append(own.pick(ctx, int(offset[j]), evidence))
        return picks

    def _scaled(self, pool: Pool, scale: float) -> Pool:
        if pool.kind not in self.scaled:
            return pool
        factors = {**pool.factors, "explore_scale": np.full(len(pool), scale)}
        return replace(pool, scores=pool.scores * scale, factors=factors)


@dataclass(frozen=True)
class InterestRow:
    """One interest hashtag, its weight and its best posts."""

    tag: int
    weight: float
    picks: list[Pick]


def _interest_orders(
    run: Pipeline, kind: FeedKind, n_tags: int
) -> tuple[Pool, list[tuple[int, float, np.ndarray]]]:
    """The scored pool of interest candidates and, per interest hashtag, its candidates'
    positions in score order."""
    pool, snap = run.pool(kind, n_tags=n_tags), run.ctx.snap
    # the candidates' own interest clusters, by column: O(candidates), not O(posts tagged)
    clusters = snapshot_clusters(snap)
    by_cluster = (snap.post_tags_matrix()[pool.posts] @ clusters.membership(snap.n_tags)).tocsc()
    orders = []
    for tag, weight in top_interests(run.ctx, n_tags):
        c = int(clusters.cluster_of(tag)[0])
        idx = by_cluster.indices[by_cluster.indptr[c] : by_cluster.indptr[c + 1]]
        orders.append(
            (tag, weight, idx[order_by_score(pool.scores[idx], snap.post_id[pool.posts[idx]])])
        )
    return pool, orders


def _tagged(tag: int) -> dict[str, Evidence]:
    # an interest pick is explained by the hashtag that reached it, not by its sources
    return {"hashtags": InterestTag(tag)}


@dataclass(frozen=True)
class RoundRobin:
    """The interests feed: round-robin over the best posts of each of the user's top
    ``max(k, min_tags)`` interest hashtags, each post once (under the hashtag that reached it
    first), under the author rule."""

    min_tags: int = 10

    def choose(self, run: Pipeline, kind: FeedKind, k: int, budget: AuthorBudget) -> list[Pick]:
        pool, orders = _interest_orders(run, kind, n_tags=max(k, self.min_tags))
        tag_of: dict[int, int] = {}

        def rounds() -> Iterator[int]:
            depth = 0
            while any(len(order) > depth for _, _, order in orders):
                for tag, _, order in orders:
                    if depth < len(order):
                        i = int(order[depth])
                        if i not in tag_of:
                            tag_of[i] = tag
                            yield i
                depth += 1

        chosen = diversify(rounds(), run.ctx.snap.post_author[pool.posts], k, budget=budget)
        return [pool.pick(run.ctx, i, _tagged(tag_of[i])) for i in chosen]


def best_per_interest(
    run: Pipeline, kind: FeedKind, n_tags: int, per_tag: int
) -> list[InterestRow]:
    """Best unseen recent posts for each interest hashtag, as whole rows — the tutorial's
    ``groupby('tag').max()`` took each column's maximum from different posts. (Not a feed:
    no author rule, a post may serve several hashtags.)"""
    pool, orders = _interest_orders(run, kind, n_tags)
    return [
        InterestRow(
            tag,
            weight,
            [pool.pick(run.ctx, int(i), _tagged(tag)) for i in order[:per_tag]],
        )
        for tag, weight, order in orders
    ]


@dataclass(frozen=True)
class RandomMix:
    """The tutorial's step 6: a seeded uniform draw from the union of the parts' top ``k``
    picks (each part under the author rule), then the author rule on the draw's order (a
    drawn post over the cap gives way to the next drawn)."""

    def choose(self, run: Pipeline, kind: FeedKind, k: int, budget: AuthorBudget) -> list[Pick]:
        everything: dict[int, Pick] = {}
        pools: list[list[int]] = []
        for part in kind.parts:
            picks = run.picks(part, k, AuthorBudget(budget.per_block))
            pools.append([d.post for d in picks])
            for d in picks:
                everything.setdefault(d.post, d)
        order = random_order(pools, k, run.ctx.settings.seed)
        authors = run.ctx.snap.post_author[np.array(order, dtype=np.int64)]
        chosen = diversify(range(len(order)), authors, k, budget=budget)
        return [everything[order[i]] for i in chosen]
