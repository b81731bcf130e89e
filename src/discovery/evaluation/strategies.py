"""Strategies compared by the harness, behind one interface: ``fit(training)`` on a fold's
training view, then ``recommend(user, k) -> list[post index]`` (view indexes, best first).

Every strategy ranks the same catalog (posts of the settings' window at serving time) and drops
what the engine drops for every feed (the user's own posts, posts they already opened or hid,
blocked authors), through :func:`discovery.ranking.drop_unwanted`. Single candidate sources
reuse :mod:`discovery.ranking.sources` with the default ranker and the engine's author
diversity; the blended engine and the tutorial ranker go through :meth:`Engine.feed` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import setops
from ..engine import Engine
from ..errors import InputError
from ..ranking import (
    SOURCES,
    DefaultRanker,
    Source,
    UserContext,
    diversify,
    drop_unwanted,
    order_by_score,
    user_context,
)
from ..seed import child_rng
from ..settings import Settings
from ..signals.als import ALSParams
from ..store import Store
from .split import Fold

__all__ = ["STRATEGIES", "Strategy", "Training", "make_strategy"]


@dataclass
class Training:
    """What a strategy may use: the fold (its training view and catalog), the settings, the
    store (read only for per-user settings and display fields), a seed, and for the oracle the
    ground truth of a synthetic world."""

    fold: Fold
    settings: Settings
    store: Store | None
    seed: int
    truth: Any = None


class Strategy:
    """Base: per-user context on the training view and the candidates every strategy may rank.

    Subclasses set ``name``, a one-line ``describe`` and implement :meth:`rank`.
    """

    name = "strategy"
    describe = ""

    def fit(self, training: Training) -> None:
        self.training = training
        self.view = training.fold.view
        self.catalog = training.fold.catalog

    def context(self, user: int) -> UserContext:
        return user_context(self.view, user, self.training.settings)

    def source(self, name: str, **options: Any) -> Source:
        """The engine's candidate source ``name``, built for this fold's settings."""
        return SOURCES.build(name, self.training.settings, **options)

    def allowed(self, ctx: UserContext) -> np.ndarray:
        """Catalog posts that survive the engine's per-user filters."""
        return drop_unwanted(ctx, self.catalog, discovery=False)

    def recommend(self, user: int, k: int) -> list[int]:
        return [int(p) for p in self.rank(self.context(user), k)[:k]]

    def rank(self, ctx: UserContext, k: int) -> np.ndarray:
        raise NotImplementedError

    def by_score(self, posts: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Posts by score descending, ties by post id (as the engine orders)."""
        return posts[order_by_score(np.asarray(scores, dtype=np.float64), self.view.post_id[posts])]


class RandomStrategy(Strategy):
    name = "random"
    describe = "uniform random catalog posts (seeded per fold and user)"

    def rank(self, ctx: UserContext, k: int) -> np.ndarray:
        posts = self.allowed(ctx)
        gen = child_rng(self.training.seed, "random", self.training.fold.cut, ctx.user)
        return posts[gen.permutation(len(posts))[:k]]


class PopularStrategy(Strategy):
    name = "popular"
    describe = "most liked + 2 x commented posts of the window (the `popular` source)"

    def rank(self, ctx: UserContext, k: int) -> np.ndarray:
        cands = self.source("popular", n=max(500, 10 * k)).candidates(ctx)
        posts = drop_unwanted(ctx, cands.posts, discovery=False)
        snap = self.view
        return self.by_score(posts, snap.post_likes[posts] + 2.0 * snap.post_comments[posts])


class RecencyStrategy(Strategy):
    name = "recency"
    describe = "reverse-chronological posts of followed accounts, then the newest of the rest"

    def rank(self, ctx: UserContext, k: int) -> np.ndarray:
        cands = self.source("following").candidates(ctx)
        mine = drop_unwanted(ctx, cands.posts, discovery=False)
        rest = setops.setdiff(self.allowed(ctx), mine)
        taken = self.view.post_taken
        return np.concatenate([self.by_score(mine, taken[mine]), self.by_score(rest, taken[rest])])


class SourceStrategy(Strategy):
    """One candidate source of the engine, scored by the default ranker, with the engine's
    per-author cap (:func:`discovery.ranking.diversify`)."""

    def __init__(self, name: str, source: str, describe: str) -> None:
        self.name, self.source_name, self.describe = name, source, describe

    def rank(self, ctx: UserContext, k: int) -> np.ndarray:
        cands = self.source(self.source_name).candidates(ctx)
        posts = drop_unwanted(ctx, cands.posts, discovery=False)
        scored = DefaultRanker().score(ctx, posts, discovery=self.source_name != "following")
        order = order_by_score(scored.scores, self.view.post_id[posts])
        chosen = diversify(
            order, self.view.post_author[posts], k, self.training.settings.max_per_author
        )
        return posts[np.asarray(chosen, dtype=np.int64)]


class EngineStrategy(Strategy):
    """A feed of :class:`discovery.engine.Engine` built on the training view."""

    def __init__(self, name: str, kind: str, ranker: str, describe: str) -> None:
        self.name, self.kind, self.ranker, self.describe = name, kind, ranker, describe

    def fit(self, training: Training) -> None:
        super().fit(training)
        if training.store is None:
            raise InputError(f"strategy {self.name} needs the store (per-user settings)")
        self.engine = Engine(training.store, self.view, training.settings)

    def recommend(self, user: int, k: int) -> list[int]:
        feed = self.engine.feed(user, k=k, kind=self.kind, ranker=self.ranker)
        ids = np.array([item.post_id for item in feed], dtype=np.int64)
        return [int(p) for p in self.view.posts.lookup(ids)]


class ALSStrategy(Strategy):
    """The catalog ranked by ``x_u · y_p`` of implicit-feedback ALS fitted on the training
    view (:func:`discovery.signals.als.train_als`, which states the model; a post nobody
    engaged with scores 0)."""

    name = "als"

    @property
    def describe(self) -> str:  # type: ignore[override]
        p = self.params
        return (
            f"implicit ALS ({p.factors} factors, {p.iterations} iterations, α {p.alpha:g}, "
            f"λ {p.regularization:g}, views {p.views:g}, {p.weighting}) on training engagement"
        )

    def __init__(self, params: ALSParams | None = None) -> None:
        self.params = params or ALSParams()

    def fit(self, training: Training) -> None:
        from ..signals.training import als_as_of

        super().fit(training)
        self.model = als_as_of(self.view, replace(self.params, seed=training.seed)).aligned(
            self.view
        )

    def rank(self, ctx: UserContext, k: int) -> np.ndarray:
        posts = self.allowed(ctx)
        x = self.model.user_vector(self.view, ctx.user)
        if x is None:
            return self.by_score(posts, np.zeros(len(posts)))
        rows = self.model.post_row[posts]
        scores = np.where(rows >= 0, self.model.model.item_factors[rows] @ x, 0.0)
        return self.by_score(posts, scores)


class OracleStrategy(Strategy):
    """Ground truth: the catalog ranked by the utility the synthetic world's likes were drawn
    from (:func:`discovery.world.utility`) at serving time."""

    name = "oracle"
    describe = "catalog ranked by the world's ground-truth P(like | shown)"

    def fit(self, training: Training) -> None:
        super().fit(training)
        if training.truth is None:
            raise InputError("strategy oracle needs a synthetic world (meta 'world' missing)")

    def rank(self, ctx: UserContext, k: int) -> np.ndarray:
        from ..world import utility

        posts = self.allowed(ctx)
        snap, fold = self.view, self.training.fold
        user_ix = int(snap.account_id[ctx.user]) - 1
        post_ix = snap.post_id[posts] - 1
        return self.by_score(posts, utility(self.training.truth, user_ix, post_ix, fold.serve_at))


STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "random": RandomStrategy,
    "popular": PopularStrategy,
    "recency": RecencyStrategy,
    "timeline": lambda: SourceStrategy(
        "timeline", "following", "posts of followed accounts, default ranker"
    ),
    "ppr_authors": lambda: SourceStrategy(
        "ppr_authors", "ppr_authors", "posts of top-PPR accounts not followed, default ranker"
    ),
    "liked_by_followed": lambda: SourceStrategy(
        "liked_by_followed", "liked_by_followed", "posts liked by followed accounts, default ranker"
    ),
    "hashtags": lambda: SourceStrategy(
        "hashtags", "hashtags", "posts with the user's interest hashtags, default ranker"
    ),
    "tutorial": lambda: EngineStrategy(
        "tutorial", "blend", "tutorial", "the tutorial's ranker over timeline + discovery"
    ),
    "als": ALSStrategy,
    "blend": lambda: EngineStrategy(
        "blend", "blend", "default", "the engine: Engine.feed(kind='blend'), default ranker"
    ),
    "oracle": OracleStrategy,
}


def make_strategy(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise InputError(f"--strategies: unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    return STRATEGIES[name]()
