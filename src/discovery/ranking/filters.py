"""Filters: named components that remove candidates a feed must never show, each with the
reason it gives (``explain`` lists the same reasons, from the same components).

A filter answers one vectorised question, ``drops(ctx, posts, authors) -> bool mask``. A feed
kind runs its filters in :data:`FILTERS` order (:func:`run_filters`); a post removed by several
is recorded under the first, so every removed post has exactly one reason in a feed's
:class:`Filtered` and that reason is the first of its ``explain`` reasons that the feed kind
applies.

==========  ===================================  ============================================
name        reason                               removes
==========  ===================================  ============================================
own         own post                             posts by the user
seen        already seen                         posts the user engaged with or opened
shown       shown on an earlier page             posts of the previous pages (cursor)
hidden      hidden                               posts the user hid
blocked     author blocked                       posts by an account the user blocked
followed    followed author (explore only)       posts by an account the user follows
too_old     older than ``window_days`` days      posts before the candidate window
future      taken after now                      posts dated after the snapshot's clock
removed     deleted                              posts deleted (upstream, or by their author)
==========  ===================================  ============================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .context import UserContext

__all__ = ["FILTERS", "Filter", "Filtered", "Removal", "filter_reasons", "run_filters"]

#: ``drops(ctx, posts, authors) -> mask`` of the posts to remove (authors may be -1: unknown).
Drops = Callable[[UserContext, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Filter:
    """One named filter: what it removes and the reason it gives."""

    name: str
    reason: Callable[[UserContext], str]
    drops: Drops


@dataclass(frozen=True)
class Removal:
    """The posts (indexes) one filter removed from a feed's candidates."""

    filter: str
    reason: str
    posts: np.ndarray


@dataclass(frozen=True)
class Filtered:
    """What a feed kind's filters kept, and what each removed (disjoint: first reason wins)."""

    kept: np.ndarray
    removed: tuple[Removal, ...]

    def reason_for(self, post: int) -> str | None:
        """Why ``post`` was removed; ``None`` when it was kept or never a candidate."""
        for r in self.removed:
            if np.any(r.posts == post):
                return r.reason
        return None


def _in(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    return np.isin(values, table) if len(table) else np.zeros(len(values), dtype=bool)


def _since(ctx: UserContext) -> int:
    # the sources' window (``sources._since``): posts before it are never proposed
    return int(ctx.now - ctx.settings.window_days * 86_400)


def _followed(ctx: UserContext, posts: np.ndarray, authors: np.ndarray) -> np.ndarray:
    return ctx.follows_mask()[np.maximum(authors, 0)] & (authors >= 0)  # type: ignore[no-any-return]


_ALL = (
    Filter("own", lambda ctx: "own post", lambda ctx, p, a: a == ctx.user),
    Filter("seen", lambda ctx: "already seen", lambda ctx, p, a: _in(p, ctx.seen)),
    Filter("shown", lambda ctx: "shown on an earlier page", lambda ctx, p, a: _in(p, ctx.shown)),
    Filter("hidden", lambda ctx: "hidden", lambda ctx, p, a: _in(p, ctx.hidden)),
    Filter("blocked", lambda ctx: "author blocked", lambda ctx, p, a: _in(a, ctx.blocked)),
    Filter("followed", lambda ctx: "followed author (explore only)", _followed),
    Filter(
        "too_old",
        lambda ctx: f"older than {ctx.settings.window_days:g} days",
        lambda ctx, p, a: ctx.snap.post_taken[p] < _since(ctx),
    ),
    Filter(
        "future",
        lambda ctx: "taken after now",
        lambda ctx, p, a: ctx.snap.post_taken[p] > ctx.now,
    ),
    Filter("removed", lambda ctx: "deleted", lambda ctx, p, a: ctx.snap.post_removed[p]),
)

#: Every filter by name, in the order feeds run them and ``explain`` lists them.
FILTERS: dict[str, Filter] = {f.name: f for f in _ALL}


def _resolve(filters: Iterable[str | Filter]) -> list[Filter]:
    return [FILTERS[f] if isinstance(f, str) else f for f in filters]


def run_filters(ctx: UserContext, filters: Iterable[str | Filter], posts: np.ndarray) -> Filtered:
    """Run ``filters`` (names or components) over candidate post indexes, in order.

    Vectorised over the whole candidate set; a removed post is recorded once, under the first
    filter that removes it.
    """
    posts = np.asarray(posts, dtype=np.int64)
    authors = ctx.snap.post_author[posts]
    keep = np.ones(len(posts), dtype=bool)
    removed: list[Removal] = []
    for f in _resolve(filters):
        hit = f.drops(ctx, posts, authors) & keep
        if hit.any():
            removed.append(Removal(f.name, f.reason(ctx), posts[hit]))
            keep &= ~hit
    return Filtered(posts[keep], tuple(removed))


def filter_reasons(
    ctx: UserContext, post: int, filters: Iterable[str | Filter] | None = None
) -> list[str]:
    """Every reason ``filters`` (all of :data:`FILTERS` by default) would remove ``post`` for,
    in filter order — what ``explain`` reports as ``filtered_by``."""
    posts = np.array([post], dtype=np.int64)
    authors = ctx.snap.post_author[posts]
    chosen = _resolve(FILTERS.values() if filters is None else filters)
    return [f.reason(ctx) for f in chosen if bool(f.drops(ctx, posts, authors)[0])]
