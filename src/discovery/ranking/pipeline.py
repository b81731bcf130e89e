"""The feed pipeline: run a declared feed kind (:mod:`.feedkinds`) for one request.

``sources → filters → ranker → selection``: the kind's sources (built from the
:data:`~discovery.ranking.sources.SOURCES` registry) propose post indexes, the kind's filters
remove what must never be shown (recording why), the ranker scores the rest as columns (a
:class:`~discovery.ranking.picks.Pool`), and the kind's selection orders them and applies the
author rule; :class:`~discovery.ranking.picks.Pick` records are built only for what is shown.
:meth:`Engine.feed <discovery.engine.Engine.feed>` is ``Pipeline(ctx, ranker).picks(kind, k)``
with the cursor's posts in ``ctx.shown``; ``Pipeline(ctx, ranker).pool(kind).filtered`` says
what the filters removed, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import setops
from .candidates import Candidates
from .context import UserContext
from .diversity import AuthorBudget
from .feedkinds import KINDS, FeedKind
from .filters import run_filters
from .picks import Pick, Pool
from .precomputed import STORED_KINDS
from .rankers import Ranker
from .registry import NO_ARTIFACTS
from .selection import InterestRow
from .selection import best_per_interest as _best_per_interest
from .sources import SOURCES

__all__ = ["Pipeline", "best_per_interest", "feed_picks", "gather"]


def gather(
    ctx: UserContext,
    names: tuple[str, ...],
    artifacts: Mapping[str, Any] | None = None,
    **options: Any,
) -> list[Candidates]:
    """Run the named candidate sources (built from the registry for this request)."""
    return [SOURCES.build(n, ctx.settings, artifacts, **options).candidates(ctx) for n in names]


class Pipeline:
    """One request's run: the user's context, the ranker, the engine's artifacts, and the
    pools computed so far (a blend and a random mix reuse the parts' pools)."""

    def __init__(
        self,
        ctx: UserContext,
        ranker: Ranker,
        artifacts: Mapping[str, Any] | None = None,
        *,
        factors: bool = True,
    ) -> None:
        self.ctx, self.ranker = ctx, ranker
        self.artifacts = NO_ARTIFACTS if artifacts is None else artifacts
        #: False: picks carry no factors (a stored candidate list keeps none; ~0.5 ms a
        #: user of a 200-long batch list)
        self.factors = factors
        self._pools: dict[tuple[str, tuple[tuple[str, Any], ...]], Pool] = {}

    def kind(self, kind: str | FeedKind) -> FeedKind:
        return KINDS[kind] if isinstance(kind, str) else kind

    def budget(self) -> AuthorBudget:
        """The author budget of this page, after the posts of the earlier pages."""
        ctx = self.ctx
        if ctx.open_block is not None:  # the cursor kept the open block: exact counts
            block = ctx.open_block
            authors = np.where(block >= 0, ctx.snap.post_author[np.maximum(block, 0)], -1)
            return AuthorBudget.exact(ctx.settings.max_per_author, authors, ctx.n_shown)
        authors = ctx.snap.post_author[ctx.shown]
        return AuthorBudget.after(ctx.settings.max_per_author, authors, ctx.n_shown)

    def proposals(self, kind: FeedKind, **options: Any) -> list[Candidates]:
        """What the kind's sources propose (and its floor source, when they propose few); a
        fresh stored list stands in for the sources of the kinds it covers."""
        stored = self.ctx.precomputed
        if stored is not None and kind.name in STORED_KINDS and not options:
            return list(stored.candidates(self.ctx.snap))
        cands = gather(self.ctx, kind.sources, self.artifacts, **options)
        floor = kind.floor
        if floor is not None and sum(len(c.posts) for c in cands) < floor.below:
            cands += gather(self.ctx, (floor.source,), self.artifacts)
        return cands

    def pool(self, kind: str | FeedKind, **options: Any) -> Pool:
        """Proposals of ``kind`` through its filters, scored by the ranker (memoised per
        request). ``options`` go to the kind's sources."""
        fk = self.kind(kind)
        key = (fk.name, tuple(sorted(options.items())))
        if key not in self._pools:
            cands = self.proposals(fk, **options)
            proposed = [c.posts for c in cands]
            posts = setops.unique(np.concatenate(proposed)) if proposed else np.zeros(0, np.int64)
            filtered = run_filters(self.ctx, fk.filters, posts.astype(np.int64))
            # a ranker that reads which sources proposed each post (the learned one) gets them
            extra = {"proposals": cands} if getattr(self.ranker, "uses_proposals", False) else {}
            scored = self.ranker.score(self.ctx, filtered.kept, discovery=fk.discovery, **extra)
            self._pools[key] = Pool(
                fk.name, filtered.kept, scored.scores, scored.factors, tuple(cands), filtered
            )
        return self._pools[key]

    def picks(self, kind: str | FeedKind, k: int, budget: AuthorBudget | None = None) -> list[Pick]:
        """The ``k`` picks of ``kind`` (this page's author budget by default)."""
        fk = self.kind(kind)
        return fk.selection.choose(self, fk, k, self.budget() if budget is None else budget)


def feed_picks(
    ctx: UserContext,
    kind: str,
    ranker: Ranker,
    k: int,
    artifacts: Mapping[str, Any] | None = None,
) -> list[Pick]:
    """The picks of one page of a feed of ``kind`` (a name in :data:`KINDS`)."""
    return Pipeline(ctx, ranker, artifacts).picks(kind, k)


def best_per_interest(
    ctx: UserContext,
    ranker: Ranker,
    n_tags: int,
    per_tag: int,
    artifacts: Mapping[str, Any] | None = None,
) -> list[InterestRow]:
    """Best unseen recent posts for each of the user's ``n_tags`` interest hashtags."""
    run = Pipeline(ctx, ranker, artifacts)
    return _best_per_interest(run, KINDS["interests"], n_tags, per_tag)
