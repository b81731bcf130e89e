"""Every feed kind, declared in one place: sources → filters → ranker → selection.

=========  ==============================================  =================================
kind       candidates (sources, then filters)              selection
=========  ==============================================  =================================
timeline   ``following``; common filters                   by score
explore    ``ppr_authors``, ``liked_by_followed``,          by score
           ``hashtags``, ``als`` (when a model is
           trained), ``embedding`` (when post vectors
           exist); + ``popular`` when they propose
           fewer than 30 posts; common filters +
           ``followed``
interests  ``hashtags`` of the top ``max(k, 10)``          round-robin over hashtags
           interests; common filters
blend      the timeline and explore pools                  merged by score, explore scaled by
                                                           ``explore_scale``, sources capped
                                                           at ``source_cap``
random     top ``k`` of timeline, explore, interests       seeded draw (``mix="random"``)
=========  ==============================================  =================================

Common filters: ``own``, ``seen``, ``shown``, ``hidden``, ``blocked``, ``too_old``,
``future`` (:mod:`.filters`). The ranker is the request's (``default`` or ``tutorial``, from
:data:`~discovery.ranking.rankers.RANKERS`); ``discovery`` picks its out-of-network variant.
Every selection ends in the one author rule (:mod:`.diversity`).

A new kind is one more :class:`FeedKind` in :data:`KINDS`; a new source or ranker is one
``register`` call (:mod:`.registry`) and its name in a declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .diversity import AuthorBudget
from .filters import FILTERS, run_filters
from .picks import Pick
from .selection import Blend, ByScore, RandomMix, RoundRobin

if TYPE_CHECKING:
    from .context import UserContext
    from .pipeline import Pipeline

__all__ = [
    "COMMON_FILTERS",
    "EXPLORE",
    "KINDS",
    "PUBLIC_KINDS",
    "TIMELINE",
    "FeedKind",
    "Floor",
    "Selection",
    "drop_unwanted",
    "explained_sources",
]


class Selection(Protocol):
    """The last step of a feed kind: ``k`` picks, the author rule applied with ``budget``."""

    def choose(self, run: Pipeline, kind: FeedKind, k: int, budget: AuthorBudget) -> list[Pick]: ...


@dataclass(frozen=True)
class Floor:
    """Add ``source`` when the kind's own sources propose fewer than ``below`` posts."""

    source: str
    below: int


@dataclass(frozen=True)
class FeedKind:
    """One feed kind: the sources it asks (or the kinds it is made of), the filters that
    remove candidates, the ranker variant, and the selection."""

    name: str
    selection: Selection
    sources: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    discovery: bool = False
    floor: Floor | None = None
    parts: tuple[str, ...] = ()


COMMON_FILTERS = ("own", "seen", "shown", "hidden", "blocked", "too_old", "future", "removed")


def _in_order(*names: str) -> tuple[str, ...]:
    # a kind runs its filters in FILTERS order, so its first reason is explain's first
    return tuple(n for n in FILTERS if n in names)


TIMELINE = FeedKind(
    "timeline", ByScore(), sources=("following",), filters=_in_order(*COMMON_FILTERS)
)
EXPLORE = FeedKind(
    "explore",
    ByScore(),
    # als and embedding propose nothing without a trained model / stored vectors
    sources=("ppr_authors", "liked_by_followed", "hashtags", "als", "embedding"),
    filters=_in_order(*COMMON_FILTERS, "followed"),
    discovery=True,
    floor=Floor("popular", 30),
)
INTERESTS = FeedKind(
    "interests",
    RoundRobin(min_tags=10),
    sources=("hashtags",),
    filters=_in_order(*COMMON_FILTERS),
    discovery=True,
)
BLEND = FeedKind("blend", Blend(scaled=("explore",)), parts=("timeline", "explore"))
RANDOM = FeedKind("random", RandomMix(), parts=("timeline", "explore", "interests"))

#: Every feed kind by name.
KINDS: dict[str, FeedKind] = {k.name: k for k in (TIMELINE, EXPLORE, INTERESTS, BLEND, RANDOM)}

#: The kinds a client asks for by name (``random`` is ``mix="random"`` of any of them).
PUBLIC_KINDS = ("blend", "timeline", "explore", "interests")


def explained_sources() -> tuple[str, ...]:
    """Every source a feed kind asks, in declaration order (``explain`` asks them all)."""
    names: list[str] = []
    for kind in KINDS.values():
        for name in (*kind.sources, *([kind.floor.source] if kind.floor else [])):
            if name not in names:
                names.append(name)
    return tuple(names)


def drop_unwanted(ctx: UserContext, posts: np.ndarray, *, discovery: bool) -> np.ndarray:
    """The posts that survive the explore (``discovery``) or the timeline filters."""
    return run_filters(ctx, (EXPLORE if discovery else TIMELINE).filters, posts).kept
